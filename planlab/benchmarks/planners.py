"""Benchmark of the sampling planners: plan time per MPC step and closed-loop episode returns.

``python -m planlab.benchmarks.planners [--json PATH] [--seeds 5] [--planners cem,mppi] [--quick]``

Two parts, in one run so the ratios compare like with like on a noisy machine:

1. **Speed** on gymnasium ``Pendulum-v1`` dynamics (through :func:`planlab.envs.models.model_for`),
   population 1000, horizon 30: a timing loop of ``--repeats`` rounds; in each round every planner
   makes one MPC-style plan (warm-started from its previous plan, from the state its previous plan
   leads to) and the floor is measured once (the fused rollout kernel,
   :mod:`planlab.dynamics.compiled.rollout`, evaluating 30k env-steps of fixed actions, no sampling;
   scaled by the iterations). Medians and p90 in ms. Targets: CEM (5 iterations) <= 4 ms, MPPI
   (1 iteration) <= 1.2 ms.
2. **Episodes**: every planner in closed loop (replanning every step, warm start) on gymnasium's
   real ``Pendulum-v1`` started hanging (theta = pi, theta_dot = 0; ``start = "hanging"``) and from
   its random resets (``start = "reset"``), on ``planlab/CartPoleSwingup-v0`` and on
   ``planlab/Quadrotor2DHover-v0``, 200 steps (150 for the quadrotor: its time limit), ``--seeds``
   seeds each. ``success`` is: Pendulum upright (|theta| < 0.1) for the last 20 steps; CartPole
   ``|theta| < 0.2`` for the last 2 s (40 steps); Quadrotor within 0.1 of the origin at the end.

JSON rows (one per line, flushed as they complete) carry ``{planner, env, seed, start, return,
plan_ms_median, plan_ms_p90, success, ...}``; speed rows have ``kind = "speed"``.

Planner settings (shared by both parts): horizon 30, population 1000; CEM/iCEM 5 iterations with
50 elites (5%; with 100 elites CEM lost ~15 return on one of ten hanging Pendulum seeds); MPPI one
iteration, temperature 1, noise std 0.5 of the half box; shooting population 1000. The plan times
are wall-clock medians; the speed table also gives thread CPU time, which excludes time the process
spent descheduled on a busy machine.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .common import write_row

__all__ = ["main", "PLANNER_SETTINGS"]

HORIZON = 30
POPULATION = 1000

#: planner CLI name -> constructor options used throughout the benchmark
PLANNER_SETTINGS = {
    "shooting": dict(population=POPULATION),
    "cem": dict(population=POPULATION, elites=50, iterations=5),
    "icem": dict(population=POPULATION, elites=50, iterations=5),
    "mppi": dict(population=POPULATION, iterations=1, temperature=1.0),
}

EPISODES = [  # (env id, start, steps)
    ("Pendulum-v1", "hanging", 200),
    ("Pendulum-v1", "reset", 200),
    ("planlab/CartPoleSwingup-v0", "reset", 200),
    ("planlab/Quadrotor2DHover-v0", "reset", 150),
]


def _wrap(a):
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def _success(env_id: str, states: np.ndarray) -> bool:
    if env_id == "Pendulum-v1":
        return bool(np.all(np.abs(_wrap(states[-20:, 0])) < 0.1))
    if env_id == "planlab/CartPoleSwingup-v0":
        return bool(np.all(np.abs(_wrap(states[-40:, 2])) < 0.2))
    if env_id == "planlab/Quadrotor2DHover-v0":
        return bool(np.linalg.norm(states[-1, :2]) < 0.1)
    return False


def _load() -> float | None:
    try:
        import os

        return float(os.getloadavg()[0])
    except (OSError, AttributeError):
        return None


class _Writer:
    def __init__(self, path):
        self.f = open(path, "a") if path else None

    def row(self, r):
        write_row(self.f, r)

    def close(self):
        if self.f:
            self.f.close()


def speed(planners, repeats: int, writer: _Writer) -> list[dict]:
    """Timing loop on Pendulum-v1 dynamics; returns the rows."""
    from ..envs.models import model_for
    from ..planners import make_planner

    dyn, cost = model_for("Pendulum-v1")
    dyn.warmup(cost)
    x0 = np.array([np.pi, 0.0])
    rows = []
    # The planners and the floor (the fused rollout of fixed actions, 30k env-steps)
    # take turns, one plan each per round, so that a busy spell on the shared machine slows all of
    # them alike and the ratios stay comparable.
    U = np.random.default_rng(0).uniform(-2, 2, (POPULATION, HORIZON, 1))
    state = {}
    for name in planners:
        p = make_planner(name, dyn, cost, horizon=HORIZON, seed=0, **PLANNER_SETTINGS[name])
        plan = p.plan(x0)  # compile / load kernels
        state[name] = [p, plan, x0, [], []]
    floor, floor_cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.thread_time()
        dyn.rollout_cost(x0, U, cost)
        floor.append(time.perf_counter() - t)
        floor_cpu.append(time.thread_time() - c)
        for name in planners:
            p, plan, x, ts, cpu = state[name]
            ws = np.concatenate([plan.actions[1:], plan.actions[-1:]])
            t, c = time.perf_counter(), time.thread_time()
            p.advance(1)  # as the MPC loop does before a warm-started replan
            plan = p.plan(x, warm_start=ws)
            ts.append(time.perf_counter() - t)
            cpu.append(time.thread_time() - c)
            state[name][1] = plan
            state[name][2] = dyn.step(x, plan.actions[0])
    floor_ms = float(np.median(floor) * 1e3)
    floor_cpu_ms = float(np.median(floor_cpu) * 1e3)
    for name in planners:
        opts = PLANNER_SETTINGS[name]
        ts, cpu = state[name][3], state[name][4]
        iters = opts.get("iterations", 1)
        r = {"kind": "speed", "planner": name, "env": "Pendulum-v1", "horizon": HORIZON, **opts,
             "env_steps": POPULATION * HORIZON * iters,
             "plan_ms_median": float(np.median(ts) * 1e3), "plan_ms_p90": float(np.percentile(ts, 90) * 1e3),
             "plan_cpu_ms_median": float(np.median(cpu) * 1e3),
             "rollout_floor_ms": floor_ms * iters, "rollout_floor_cpu_ms": floor_cpu_ms * iters,
             "load_average_1min": _load(),
             "msteps_per_s": POPULATION * HORIZON * iters / np.median(ts) / 1e6}
        rows.append(r)
        writer.row(r)
    return rows


def episodes(planners, seeds, writer: _Writer, progress: bool = True, max_steps: int | None = None) -> list[dict]:
    """Closed-loop episodes (each at most ``max_steps`` long when given); returns the rows."""
    import gymnasium

    import planlab.envs  # noqa: F401  (registers planlab's ids)

    from ..episodes import mpc_for_env, run_episode
    from ..planners import make_planner

    rows = []
    jobs = [(name, env_id, start, min(steps, max_steps or steps), seed) for name in planners
            for env_id, start, steps in EPISODES for seed in seeds]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), unit="episode", disable=not sys.stderr.isatty(), leave=False)
    try:
        for name, env_id, start, steps, seed in jobs:
            env = gymnasium.make(env_id)
            from ..envs.models import model_for

            dyn, cost = model_for(env_id)
            p = make_planner(name, dyn, cost, horizon=HORIZON, seed=seed, **PLANNER_SETTINGS[name])
            mpc = mpc_for_env(env, p)
            x0 = np.array([np.pi, 0.0]) if start == "hanging" else None
            res = run_episode(env, mpc, steps=steps, seed=seed, x0=x0)
            r = {"kind": "episode", "planner": name, "env": env_id, "seed": seed, "start": start,
                 "return": res.total_return, "plan_ms_median": res.plan_ms(50), "plan_ms_p90": res.plan_ms(90),
                 "success": _success(env_id, res.states), "steps": res.steps,
                 "x0": [float(v) for v in res.states[0]]}
            rows.append(r)
            writer.row(r)
            env.close()
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return rows


def main(argv=None) -> int:
    """Run this benchmark from the command line (`--help` lists its options); returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m planlab.benchmarks.planners", description=__doc__.split("\n")[0])
    ap.add_argument("--json", default=None, help="append JSON rows (one per line) to this file")
    ap.add_argument("--planners", default="shooting,cem,icem,mppi", help="comma-separated planner names")
    ap.add_argument("--seeds", type=int, default=5, help="episode seeds 0..N-1 per env (default 5)")
    ap.add_argument("--repeats", type=int, default=200, help="plans per planner in the timing loop (default 200)")
    ap.add_argument("--no-episodes", action="store_true", help="only the speed part")
    ap.add_argument("--quick", action="store_true", help="1 seed, 30 repeats (a smoke run)")
    ap.add_argument("--episode-steps", type=int, default=None,
                    help="cut every episode to this many steps (smoke runs; success is then meaningless)")
    args = ap.parse_args(argv)
    planners = [p.strip() for p in args.planners.split(",") if p.strip()]
    for p in planners:
        if p not in PLANNER_SETTINGS:
            ap.error(f"--planners: expected names from {', '.join(PLANNER_SETTINGS)}, got {p!r}")
    seeds = range(1 if args.quick else args.seeds)
    repeats = 30 if args.quick else args.repeats
    writer = _Writer(args.json)
    try:
        rows = speed(planners, repeats, writer)
        print(f"Speed on Pendulum-v1 dynamics, population {POPULATION}, horizon {HORIZON} "
              f"(median of {repeats} warm-started plans; floor = the fused rollout of fixed actions, "
              f"same env-steps; cpu = thread CPU time; 1-min load average {_load()})")
        print(f"{'planner':<10}{'iters':>6}{'env-steps':>11}{'median ms':>11}{'p90 ms':>9}{'cpu ms':>8}"
              f"{'floor ms':>10}{'floor cpu':>10}{'ratio':>7}{'Msteps/s':>10}")
        for r in rows:
            print(f"{r['planner']:<10}{r.get('iterations', 1):>6}{r['env_steps']:>11}{r['plan_ms_median']:>11.3f}"
                  f"{r['plan_ms_p90']:>9.3f}{r['plan_cpu_ms_median']:>8.3f}{r['rollout_floor_ms']:>10.3f}"
                  f"{r['rollout_floor_cpu_ms']:>10.3f}{r['plan_ms_median'] / r['rollout_floor_ms']:>7.2f}"
                  f"{r['msteps_per_s']:>10.1f}")
        if args.no_episodes:
            return 0
        erows = episodes(planners, seeds, writer, max_steps=args.episode_steps)
        print(f"\nEpisodes (seeds 0..{len(seeds) - 1}; mean return, success count, plan ms median/p90 over all steps)")
        print(f"{'planner':<10}{'env':<30}{'start':<9}{'return':>10}{'success':>9}{'ms med':>8}{'ms p90':>8}")
        for name in planners:
            for env_id, start, _ in EPISODES:
                sel = [r for r in erows if r["planner"] == name and r["env"] == env_id and r["start"] == start]
                if not sel:
                    continue
                ret = np.mean([r["return"] for r in sel])
                succ = sum(r["success"] for r in sel)
                med = np.median([r["plan_ms_median"] for r in sel])
                p90 = np.median([r["plan_ms_p90"] for r in sel])
                print(f"{name:<10}{env_id:<30}{start:<9}{ret:>10.1f}{succ:>5}/{len(sel):<3}{med:>8.2f}{p90:>8.2f}")
    finally:
        writer.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
