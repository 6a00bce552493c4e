"""Benchmark of ``planlab bench`` itself: report time, and executor throughput with 1 and 2 workers.

``python -m planlab.benchmarks.sweeps [--json PATH] [--rows 1000] [--jobs 8] [--ray] [--quick]``

1. **Report**: ``report.md`` and the five figures regenerated from ``--rows`` synthetic result
   rows (5 tasks x 4 planners x seeds, one trajectory per task and planner) — wall and CPU seconds.
   Target: 1,000 rows in under 10 s.
2. **Throughput**: a CPU-bound grid (``--jobs`` CEM episodes on ``Pendulum-v1``, population 1000,
   horizon 30, 100 steps) run by the local executor with 1 and with 2 worker processes, and with
   ``--ray`` on a single-node Ray instance (127.0.0.1) with 1 and with 2 CPUs; jobs per second and
   the 2-vs-1 ratio (target >= 1.6 on 2 cores). The first job of a worker includes its imports;
   the Ray instance is started before the clock.

JSON rows: ``{part: "report", rows, wall_s, cpu_s}`` and ``{part: "throughput", executor,
workers, jobs, wall_s, jobs_per_s}``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import write_row

__all__ = ["main", "synthetic_rows"]


def synthetic_rows(n_tasks=5, planners=("cem", "mppi", "ilqr", "uct"), seeds=50, seed=0) -> list[dict]:
    """Result rows shaped like ``planlab bench``'s (returns, plan times, histograms, trajectories)."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        for i, p in enumerate(planners):
            for s in range(seeds):
                ret = float(rng.normal(-100 + 10 * i, 5))
                row = {"task": f"task{t}", "planner": p, "seed": s, "config_hash": f"{t}-{p}-{s}", "status": "ok",
                       "success": ret > -85, "return": ret, "plan_ms_p50": 2.0 * (i + 1), "plan_ms_p90": 3.0 * (i + 1),
                       "plan_ms_hist": np.bincount(rng.integers(8, 14, 200), minlength=40).tolist(), "steps": 200}
                if s == 0:
                    row["states"] = np.cumsum(rng.normal(size=(201, 4)), axis=0).tolist()
                rows.append(row)
    return rows


def bench_report(n_rows: int) -> dict:
    from .suite.report import write_report

    planners = ("cem", "mppi", "ilqr", "uct")
    seeds = max(1, n_rows // (5 * len(planners)))
    rows = synthetic_rows(5, planners, seeds)
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401 — imported before the clock starts, like a warm CLI

        t, c = time.perf_counter(), time.process_time()
        write_report(d)
        return {"part": "report", "rows": len(rows), "wall_s": time.perf_counter() - t,
                "cpu_s": time.process_time() - c}


def bench_throughput(executor: str, workers: int, n_jobs: int, steps: int) -> dict:
    from .suite import PlannerEntry, Suite, Task, run_suite

    suite = Suite([Task("Pendulum-v1", "upright", steps=steps)],
                  [PlannerEntry("cem", {"horizon": 30, "population": 1000, "elites": 50, "iterations": 5})],
                  seeds=n_jobs, name="throughput")
    ray = None
    if executor == "ray":  # start the instance before the clock: the ratio is about running jobs
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        import ray

        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            run_suite(suite, d, executor=executor, workers=workers, progress=False, report=False,
                      log=lambda m: None)
            wall = time.perf_counter() - t
    finally:
        if ray is not None:
            ray.shutdown()
    return {"part": "throughput", "executor": executor, "workers": workers, "jobs": n_jobs, "steps": steps,
            "wall_s": wall, "jobs_per_s": n_jobs / wall}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None, help="append JSON rows here")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--ray", action="store_true", help="also measure the Ray executor")
    ap.add_argument("--quick", action="store_true", help="100 rows, 2 jobs of 5 steps, local executor only")
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.jobs, args.steps, args.ray = 100, 2, 5, False
    fh = open(args.json, "a") if args.json else None
    try:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        r = bench_report(args.rows)
        r["load"] = load
        write_row(fh, r)
        print(f"report from {r['rows']} rows: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU (load {load})")
        executors = ["local"] + (["ray"] if args.ray else [])
        for ex in executors:
            res = {}
            for w in (1, 2):
                row = bench_throughput(ex, w, args.jobs, args.steps)
                row["load"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
                write_row(fh, row)
                res[w] = row
                print(f"{ex:<6} {w} worker(s): {args.jobs} jobs in {row['wall_s']:.1f} s "
                      f"({row['jobs_per_s']:.3f} jobs/s)")
            print(f"{ex:<6} 2 vs 1: {res[2]['jobs_per_s'] / res[1]['jobs_per_s']:.2f}x")
    finally:
        if fh:
            fh.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
