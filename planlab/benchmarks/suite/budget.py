"""Equal-compute comparisons: scale each planner's size option to the same CPU budget per MPC step.

For every (task, planner) of a suite, :func:`calibrate` times ``plan`` from the env's reset state
(seed 0) with the suite's settings — thread CPU time, so the calibration holds on a busy machine —
and scales the planner's size option (population of the sampling planners, simulations of UCT,
iteration limit of iLQR and the NLP planner) by ``budget / measured``, rounded and kept >= its
minimum. The scaled settings are stored in ``calibration.json`` in the results folder and reused
by a rerun, so resumed jobs keep their config hashes.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

from .jobs import Job, build_planner
from .spec import PlannerEntry, Suite, SuiteError, make_env

__all__ = ["SIZE_OPTION", "calibrate", "equal_compute_suite"]

#: planner -> (option scaled to the budget, its default, its smallest value)
SIZE_OPTION = {
    "shooting": ("population", 1000, 8),
    "cem": ("population", 500, 16),
    "icem": ("population", 500, 16),
    "mppi": ("population", 1000, 8),
    "uct": ("simulations", 200, 8),
    "ilqr": ("max_iterations", 200, 1),
    "nlp": ("max_iterations", 1000, 1),
}


def _plan_cpu_ms(job: Job, repeats: int = 5) -> float:
    planner = build_planner(job)
    planner.dynamics.warmup(planner.cost)
    env = make_env(job.task)
    obs, _ = env.reset(seed=0)
    x0 = planner.dynamics.state_from_observation(obs) if hasattr(planner.dynamics, "state_from_observation") \
        else obs
    planner.plan(x0)  # compile / load kernels
    times = []
    for _ in range(repeats):
        planner.reset()
        c = time.thread_time()
        planner.plan(x0)
        times.append((time.thread_time() - c) * 1e3)
    env.close()
    return statistics.median(times)


def calibrate(suite: Suite, budget_ms: float, out) -> dict:
    """``{"task|planner": options}`` scaled to ``budget_ms`` CPU ms per plan (read from / written to
    ``out/calibration.json``)."""
    if not budget_ms > 0:
        raise ValueError(f"budget_ms: expected a positive number, got {budget_ms!r}")
    path = Path(out) / "calibration.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    key_b = f"{float(budget_ms):g}"
    table = stored.setdefault(key_b, {})
    for task, entry in suite.pairs():
        key = f"{task.env}|{entry.key}"
        if key in table or entry.name not in SIZE_OPTION:
            continue
        opt, default, lo = SIZE_OPTION[entry.name]
        opts = {**task.settings_for(entry.name), **entry.options}
        size = int(opts.get(opt, default))
        ms = _plan_cpu_ms(Job(task.env, entry.name, opts, 0, task.success, task.steps))
        opts[opt] = max(lo, int(round(size * budget_ms / max(ms, 1e-6))))
        table[key] = {"options": opts, "measured_ms": ms, "from_size": size}
    Path(out).mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=1))
    return {k: v["options"] for k, v in table.items()}


def equal_compute_suite(suite: Suite, budget_ms: float, out) -> Suite:
    """``suite`` with every (task, planner) size option scaled to ``budget_ms`` CPU ms per plan.

    Planners without a size option keep their settings. Each (task, planner) becomes its own
    planner entry labelled like the original, so results group as before.
    """
    names = [p.name for p in suite.planners if p.name in SIZE_OPTION]
    if len(names) != len(set(names)):
        raise SuiteError("planners: an equal-compute suite takes each planner name once (its size option "
                         f"is what the budget sets), got {names}")
    table = calibrate(suite, budget_ms, out)
    tasks = []
    for t in suite.tasks:
        settings = dict(t.settings)
        for p in suite.planners:
            key = f"{t.env}|{p.key}"
            if key in table:
                settings[p.name] = table[key]
        tasks.append(replace(t, settings=settings))
    planners = tuple(PlannerEntry(p.name, {}, p.label) if p.name in SIZE_OPTION else p for p in suite.planners)
    return replace(suite, tasks=tuple(tasks), planners=planners, name=f"{suite.name}@{float(budget_ms):g}ms")
