"""Run a suite into a results folder, resuming what is there; estimate a sweep's time from stored rows."""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import asdict

from .executors import make_executor
from .jobs import make_jobs
from .results import ResultStore, read_rows

__all__ = ["run_suite", "estimate_seconds", "suite_config"]


def suite_config(suite) -> dict:
    """The suite as plain data (stored in ``meta.json``)."""
    return {"name": suite.name, "seeds": suite.seeds, "replan_every": suite.replan_every,
            "tasks": [asdict(t) for t in suite.tasks], "planners": [asdict(p) for p in suite.planners]}


def estimate_seconds(jobs, rows, workers: int) -> tuple[float, int]:
    """Wall-time estimate of ``jobs`` on ``workers`` processes from measured ``rows``.

    Each job costs the median ``cpu_s`` (CPU seconds of the job's process; ``wall_s`` in rows
    without it) of rows with its task and planner; without such rows, the median of its task's
    rows; without those, the median of all rows. CPU time is used because it does not grow when
    other work shares the machine; the estimate assumes one idle core per worker.

    Returns
    -------
    seconds : float
    measured : int
        Jobs whose (task, planner) had measured rows.
    """
    by_pair, by_task, every = {}, {}, []
    for r in rows:
        w = r.get("cpu_s", r.get("wall_s"))
        if w is None or r.get("status") not in ("ok", "diverged"):
            continue
        by_pair.setdefault((r["task"], r.get("planner_class", r["planner"])), []).append(w)
        by_task.setdefault(r["task"], []).append(w)
        every.append(w)
    if not every:
        return float("nan"), 0
    total, measured, fallback = 0.0, 0, statistics.median(every)
    for j in jobs:
        if (j.task, j.planner) in by_pair:
            total += statistics.median(by_pair[(j.task, j.planner)])
            measured += 1
        else:
            total += statistics.median(by_task[j.task]) if j.task in by_task else fallback
    return total / max(1, workers), measured


def run_suite(suite, out, *, executor: str = "local", workers: int | None = None, timeout: float | None = None,
              address: str | None = None, retry_failed: bool = False, progress: bool = True, report: bool = True,
              log=None) -> list[dict]:
    """Run every job of ``suite`` not yet in ``out/results.jsonl``; returns all rows of the folder.

    Parameters
    ----------
    suite : Suite
        Validated first (a bad entry raises :class:`~planlab.benchmarks.suite.spec.SuiteError`
        before any job starts).
    out : path
        Results folder (``results.jsonl``, ``meta.json``, ``report.md``, ``plots/``).
    executor : {"local", "ray"}
    workers : int, optional
        Local processes (default: one per core) or CPUs of a Ray instance started here.
    timeout : float, optional
        Seconds per job (local executor).
    address : str, optional
        Ray cluster address.
    retry_failed : bool
        Run failed jobs (error, timeout, crash, diverged) again.
    report : bool
        Write ``report.md`` and the plots at the end.
    log : callable, optional
        Receives progress messages (default: print to stderr).
    """
    log = log or (lambda m: print(m, file=sys.stderr))
    jobs = make_jobs(suite)
    ex = make_executor(executor, workers=workers, timeout=timeout, address=address)
    store = ResultStore(out)
    done = store.done(retry_failed=retry_failed)
    todo = [j for j in jobs if j.config_hash not in done]
    log(f"planlab bench: {len(jobs)} jobs, {len(jobs) - len(todo)} already in {store.path}, {len(todo)} to run "
        f"({executor} executor)")
    store.record_run(suite_config(suite), executor=executor, jobs=len(jobs), skipped=len(jobs) - len(todo))
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), unit="job", disable=not sys.stderr.isatty())
    failed = [0]
    t0 = time.perf_counter()

    def on_result(row):
        store.append(row)
        if row.get("status") != "ok":
            failed[0] += 1
            log(f"  {row['task']} {row['planner']} seed {row['seed']}: {row.get('status')}: {row.get('error')}")
        if bar is not None:
            bar.update(1)
            bar.set_postfix(failed=failed[0])

    try:
        ex.run(todo, on_result)
    finally:
        store.close()
        if bar is not None:
            bar.close()
        store.finish_run(seconds=time.perf_counter() - t0, failed=failed[0])
    rows = read_rows(store.path)
    if report:
        from .report import write_report

        write_report(out)
    return rows
