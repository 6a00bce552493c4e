"""Jobs: one (task, planner, seed) episode, its configuration hash, and running it to a result row.

A job's :func:`config_hash` covers everything that determines its result — env, planner (name or
import path), every constructor option, seed, episode length, success test, replanning — in a
canonical JSON form (sorted keys), so it changes when any setting changes and not otherwise (not
with the order options were written in, nor with a display label).

:func:`run_job` never raises: an exception becomes a row with ``status = "error"`` and the message,
a non-finite state or return ``status = "diverged"``. Rows carry at least ``{task, planner, seed,
success, return, plan_ms_p50, plan_ms_p90, config_hash}``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import traceback
from dataclasses import asdict, dataclass, field

import numpy as np

from ...episodes import run_episode
from ...planners import MPC
from .imports import import_path
from .spec import make_env, resolve_planner, task_model
from .success import SUCCESS_TESTS, success_test

__all__ = ["Job", "config_hash", "make_jobs", "run_job", "LATENCY_BINS_MS", "TRAJECTORY_SEEDS"]

#: edges (ms) of the plan-time histogram stored in every row: log-spaced 1 us .. 100 s
LATENCY_BINS_MS = np.logspace(-3, 5, 41)

#: rows of these seeds keep their state trajectory (for the report's example trajectories)
TRAJECTORY_SEEDS = (0,)


@dataclass(frozen=True)
class Job:
    """One episode of a suite: everything that determines its result."""

    task: str
    planner: str
    options: dict
    seed: int
    success: str = "env"
    steps: int | None = None
    replan_every: int = 1
    label: str = ""
    extra: dict = field(default_factory=dict)

    def config(self) -> dict:
        """The configuration the hash covers (``label`` is for display and is not part of it)."""
        d = asdict(self)
        d.pop("label")
        return d

    @property
    def config_hash(self) -> str:
        return config_hash(self.config())

    @property
    def key(self) -> str:
        return self.label or self.planner


def _canonical(v):
    if isinstance(v, dict):
        return {str(k): _canonical(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, (list, tuple)):
        return [_canonical(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else str(f)
    if isinstance(v, np.ndarray):
        return _canonical(v.tolist())
    if v is None or isinstance(v, (str, int, bool)):
        return v
    raise TypeError(f"config: value {v!r} of type {type(v).__name__} cannot be hashed; use numbers, strings, lists")


def config_hash(config: dict) -> str:
    """SHA-256 (first 16 hex digits) of ``config`` in canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(_canonical(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_jobs(suite) -> list[Job]:
    """Every job of a validated suite, in task, planner, seed order."""
    jobs = []
    for task, entry in suite.pairs():
        opts = {**task.settings_for(entry.name), **entry.options}
        for seed in range(suite.seeds):
            jobs.append(Job(task.env, entry.name, opts, seed, task.success, task.steps, suite.replan_every,
                            entry.key))
    return jobs


class _InfoRecorder:
    """Wraps an env to keep the last ``info`` dict of ``step``."""

    def __init__(self, env):
        self.env, self.info = env, {}

    def __getattr__(self, name):
        return getattr(self.env, name)

    def reset(self, **kw):
        obs, self.info = self.env.reset(**kw)
        return obs, self.info

    def step(self, a):
        obs, r, term, trunc, self.info = self.env.step(a)
        return obs, r, term, trunc, self.info


def resolve_options(options: dict) -> dict:
    """Options whose values are ``{"import": "pkg.mod:Name", "kwargs": {...}}`` become the object built."""
    out = {}
    for k, v in options.items():
        if isinstance(v, dict) and set(v) <= {"import", "kwargs"} and "import" in v:
            out[k] = import_path(v["import"], f"option {k!r}")(**v.get("kwargs", {}))
        else:
            out[k] = v
    return out


def build_planner(job: Job):
    """The planner of ``job`` on planlab's model of its task (``cost`` option: a planning cost)."""
    dynamics, cost = task_model(job.task)
    opts = resolve_options(job.options)
    cost = opts.pop("cost", cost)
    cls = resolve_planner(job.planner)
    return cls(dynamics, cost, seed=job.seed, **opts)


def run_job(job: Job, on_start=None) -> dict:
    """Run one job and return its result row (never raises).

    ``on_start()``, when given, is called once the planner is built and its kernels compiled, just
    before the episode (executors start a job's timeout there).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    row = {"task": job.task, "planner": job.key, "seed": job.seed, "config_hash": job.config_hash,
           "planner_class": job.planner, "options": _canonical(job.options)}
    try:
        row.update(_episode(job, on_start))
    except Exception as exc:  # noqa: BLE001 — a failing job is a result, the sweep goes on
        row.update(status="error", error=f"{type(exc).__name__}: {exc}", success=False, **{"return": None},
                   plan_ms_p50=None, plan_ms_p90=None,
                   traceback="".join(traceback.format_exception(exc))[-2000:])
    row["wall_s"] = time.perf_counter() - t0
    row["cpu_s"] = time.process_time() - c0  # this process's CPU time: the job's cost on a busy machine too
    return row


def _episode(job: Job, on_start=None) -> dict:
    planner = build_planner(job)
    planner.dynamics.warmup(planner.cost)
    mpc = MPC(planner, replan_every=job.replan_every)
    kwargs = {"max_episode_steps": job.steps} if job.steps is not None else {}
    env = make_env(job.task, **kwargs)
    rec = _InfoRecorder(env)
    if on_start is not None:
        on_start()
    try:
        res = run_episode(rec, mpc, seed=job.seed)
    finally:
        env.close()
    ret = res.total_return
    finite = bool(np.isfinite(ret) and np.all(np.isfinite(res.states)))
    test = SUCCESS_TESTS.get(job.success) or success_test(job.success)
    success = bool(test(res, rec.info, env)) if finite else False
    pt_ms = res.plan_times * 1e3
    hist = np.histogram(np.clip(pt_ms, LATENCY_BINS_MS[0], LATENCY_BINS_MS[-1]), LATENCY_BINS_MS)[0]
    row = {"status": "ok" if finite else "diverged", "success": success, "return": ret if finite else None,
           "steps": res.steps, "terminated": res.terminated,
           "plan_ms_p50": res.plan_ms(50), "plan_ms_p90": res.plan_ms(90), "plan_ms_p99": res.plan_ms(99),
           "plans": int(len(pt_ms)), "plan_ms_hist": hist.tolist()}
    if not finite:
        row["error"] = "non-finite state or return"
    if job.seed in TRAJECTORY_SEEDS:
        row["states"] = res.states[:1001].tolist()
    return row
