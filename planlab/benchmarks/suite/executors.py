"""Executors: run jobs and hand each finished row back as it completes.

* :class:`LocalExecutor` — worker processes on this machine (default one per core), started with
  ``spawn`` and reused across jobs. A job whose episode runs past ``timeout`` seconds (counted
  once its planner is built and compiled) is killed and recorded (``status = "timeout"``); a
  worker that dies (a segfault, the OOM killer) is recorded
  (``status = "crashed"``) and replaced; the other jobs go on.
* :class:`RayExecutor` — Ray tasks (``pip install planlab[distributed]``), one CPU each, on a running
  cluster (``address="auto"`` or ``"ray://host:10001"``) or on a single-node instance it starts
  and stops itself. Rows are the same as the local executor's: the job alone decides its result.

Both call ``on_result(row)`` in the calling process, which is where rows are written.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from multiprocessing.connection import wait

from .jobs import Job, run_job

__all__ = ["LocalExecutor", "RayExecutor", "make_executor", "failure_row"]


def failure_row(job: Job, status: str, error: str, wall_s: float | None = None) -> dict:
    """The row of a job that produced no result of its own (timeout, crashed worker)."""
    return {"task": job.task, "planner": job.key, "seed": job.seed, "config_hash": job.config_hash,
            "planner_class": job.planner, "status": status, "error": error, "success": False, "return": None,
            "plan_ms_p50": None, "plan_ms_p90": None, "wall_s": wall_s}


def _worker(conn) -> None:  # pragma: no cover - runs in a child process
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    from ... import episodes, planners  # noqa: F401 — imported before the first job's clock starts

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            conn.send(("row", run_job(job, on_start=lambda: conn.send(("start", None)))))
        except (BrokenPipeError, OSError):
            return


class LocalExecutor:
    """Worker processes on this machine.

    Parameters
    ----------
    workers : int, optional
        Processes (default: ``os.cpu_count()``).
    timeout : float, optional
        Seconds a job may run before it is killed and recorded as ``timeout``.
    """

    name = "local"

    def __init__(self, workers: int | None = None, timeout: float | None = None):
        workers = (os.cpu_count() or 1) if workers is None else workers
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers: expected an integer >= 1, got {workers!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout: expected seconds > 0, got {timeout!r}")
        self.workers, self.timeout = workers, timeout
        self._ctx = mp.get_context("spawn")

    def _start(self):
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker, args=(child,), daemon=True)
        proc.start()
        child.close()
        return {"proc": proc, "conn": parent, "job": None, "t0": 0.0}

    @staticmethod
    def _stop(slot, kill=False):
        if kill:
            slot["proc"].kill()
        else:
            try:
                slot["conn"].send(None)
            except (BrokenPipeError, OSError):
                pass
        slot["proc"].join(5)
        if slot["proc"].is_alive():
            slot["proc"].kill()
            slot["proc"].join(5)
        slot["conn"].close()

    def run(self, jobs, on_result) -> None:
        """Run ``jobs``; ``on_result(row)`` is called here as each finishes."""
        queue = list(jobs)[::-1]
        if not queue:
            return
        slots = [self._start() for _ in range(min(self.workers, len(queue)))]
        try:
            for s in slots:
                self._give(s, queue)
            while any(s["job"] is not None for s in slots):
                busy = [s for s in slots if s["job"] is not None]
                ready = wait([s["conn"] for s in busy] + [s["proc"].sentinel for s in busy], timeout=0.5)
                now = time.perf_counter()
                for i, s in enumerate(slots):
                    if s["job"] is None:
                        continue
                    job, row = s["job"], None
                    if s["conn"] in ready:
                        try:
                            while s["conn"].poll():
                                kind, row = s["conn"].recv()
                                if kind == "start":
                                    s["t0"] = time.perf_counter()
                        except (EOFError, OSError):
                            row = None
                    if row is not None:
                        s["job"] = None
                        on_result(row)
                        self._give(s, queue)
                        continue
                    dead = not s["proc"].is_alive()
                    late = self.timeout is not None and s["t0"] is not None and now - s["t0"] > self.timeout
                    if dead or late:
                        code = s["proc"].exitcode
                        self._stop(s, kill=True)
                        took = None if s["t0"] is None else now - s["t0"]
                        if late and not dead:
                            on_result(failure_row(job, "timeout", f"killed after {self.timeout:g} s", took))
                        else:
                            on_result(failure_row(job, "crashed", f"worker process died (exit code {code})", took))
                        slots[i] = self._start()
                        self._give(slots[i], queue)
        finally:
            for s in slots:
                self._stop(s, kill=s["job"] is not None)

    def _give(self, slot, queue) -> None:
        if queue:
            slot["job"] = queue.pop()
            slot["t0"] = None  # set when the worker starts the job (after its imports)
            slot["conn"].send(slot["job"])


class RayExecutor:
    """Ray tasks, one CPU each.

    Parameters
    ----------
    address : str, optional
        A running cluster (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``). Without it a
        single-node instance is started with ``num_cpus`` CPUs on 127.0.0.1 and stopped at the end.
    num_cpus : int, optional
        CPUs of the instance started here (default: all).
    init_kwargs : dict, optional
        More ``ray.init`` arguments (e.g. ``runtime_env``).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, init_kwargs: dict | None = None):
        if address is None:  # Ray reads this on import; it keeps a single-node instance on 127.0.0.1
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ImportError("executor 'ray': ray is not installed; pip install 'planlab[distributed]'") from None
        self.address, self.num_cpus, self.init_kwargs = address, num_cpus, dict(init_kwargs or {})

    def _init(self) -> bool:
        import ray

        if ray.is_initialized():
            return False
        kw = dict(self.init_kwargs)
        kw.setdefault("include_dashboard", False)
        kw.setdefault("log_to_driver", False)
        if self.address is not None:
            ray.init(address=self.address, **kw)
        else:
            kw.setdefault("num_cpus", self.num_cpus)
            ray.init(**kw)
            off = [n["NodeManagerAddress"] for n in ray.nodes() if n["NodeManagerAddress"] != "127.0.0.1"]
            if off:
                print(f"planlab bench: warning: the local Ray instance is at {off[0]}, not 127.0.0.1 (ray was "
                      "imported before RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 was set)", file=sys.stderr)
        return True

    def run(self, jobs, on_result) -> None:
        import ray

        jobs = list(jobs)
        if not jobs:
            return
        started = self._init()
        try:
            remote = ray.remote(num_cpus=1, max_retries=0)(run_job)
            pending = {remote.remote(job): job for job in jobs}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        row = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 — a lost worker is a result
                        row = failure_row(job, "crashed", f"{type(exc).__name__}: {str(exc)[:500]}")
                    on_result(row)
        finally:
            if started:
                ray.shutdown()


def make_executor(name: str = "local", *, workers: int | None = None, timeout: float | None = None,
                  address: str | None = None):
    """An executor by name: ``"local"`` or ``"ray"``."""
    if name == "local":
        return LocalExecutor(workers, timeout)
    if name == "ray":
        if timeout is not None:
            raise ValueError("timeout: not supported by the ray executor (use the local executor)")
        return RayExecutor(address, workers)
    raise ValueError(f"executor: expected 'local' or 'ray', got {name!r}")
