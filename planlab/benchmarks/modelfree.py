"""Benchmark: environment steps and wall seconds for the model-free baselines to solve their task.

Solved means: the mean return of 10 deterministic evaluation episodes (fixed reset seeds)
reaches the threshold — 475 on gymnasium ``CartPole-v1``, -200 on ``Pendulum-v1``. Each run
stops at the first evaluation that solves or at its step budget.

::

    python -m planlab.benchmarks.modelfree [--json PATH] [--seeds 3] [--algos ppo a2c ac reinforce sac]

Rows ``{algo, env, seed, solved, steps_to_solve, seconds_to_solve, final_return}`` are appended
to ``PATH`` as JSON lines the moment each run finishes (a crash loses at most the run in flight)
and a rerun skips the runs already in the file (``--fresh`` starts over). ``seconds_to_solve``
is wall time from building the trainer to the end of the solving evaluation, evaluations
included, with ``torch.set_num_threads(1)``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from .common import write_row

__all__ = ["TASKS", "run_one", "result_row", "main"]

#: algo -> (env id, solve threshold, env-step budget, evaluate every).
TASKS = {
    "ppo": ("CartPole-v1", 475.0, 50_000, 1_000),
    "a2c": ("CartPole-v1", 475.0, 50_000, 1_000),
    "ac": ("CartPole-v1", 475.0, 100_000, 1_000),
    "reinforce": ("CartPole-v1", 475.0, 200_000, 5_000),
    "sac": ("Pendulum-v1", -200.0, 6_000, 500),
}


def run_one(algo: str, seed: int, *, budget: int | None = None) -> dict:
    """Train ``algo`` on its task with the tuned preset; return the benchmark row."""
    import torch

    from planlab.policies import algorithm_class, preset

    torch.set_num_threads(1)
    env_id, threshold, default_budget, eval_every = TASKS[algo]
    t0 = time.perf_counter()
    trainer = algorithm_class(algo)(env_id, seed=seed, eval_every=eval_every, eval_episodes=10,
                                     target_return=threshold, **preset(algo, env_id))
    setup = time.perf_counter() - t0
    trainer.learn(budget or default_budget)
    return result_row(trainer, algo, env_id, seed, setup_s=setup, t0=t0)


def result_row(trainer, algo: str, env_id: str, seed: int, *, setup_s: float, t0: float) -> dict:
    """The benchmark's row for a finished ``trainer`` (``t0``: ``time.perf_counter()`` before it was built).

    The format every learner's row shares (model-free, and policies learned from a model).
    """
    solved = trainer.solved_at is not None
    return {
        "algo": algo,
        "env": env_id,
        "seed": seed,
        "solved": solved,
        "steps_to_solve": trainer.solved_at,
        "seconds_to_solve": round(setup_s + trainer.solved_seconds, 2) if solved else None,
        "final_return": round(trainer.curve[-1]["eval_mean"], 2) if trainer.curve else None,
        "steps_run": trainer.num_timesteps,
        "seconds_run": round(time.perf_counter() - t0, 2),
    }


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _table(rows: list[dict]) -> str:
    head = f"{'algo':<10} {'env':<12} {'seed':>4} {'solved':>6} {'steps':>8} {'seconds':>8} {'final':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['algo']:<10} {r['env']:<12} {r['seed']:>4} {str(r['solved']):>6} "
                     f"{r['steps_to_solve'] if r['steps_to_solve'] is not None else '-':>8} "
                     f"{r['seconds_to_solve'] if r['seconds_to_solve'] is not None else '-':>8} "
                     f"{r['final_return']:>8}")
    lines += ["", f"{'algo':<10} {'env':<12} {'solved':>7} {'median steps':>13} {'median s':>9} {'max s':>7}"]
    for algo in dict.fromkeys(r["algo"] for r in rows):
        rs = [r for r in rows if r["algo"] == algo]
        ok = [r for r in rs if r["solved"]]
        med_steps = _median([r["steps_to_solve"] for r in ok])
        med_s = _median([r["seconds_to_solve"] for r in ok])
        max_s = max((r["seconds_to_solve"] for r in ok), default=None)
        lines.append(f"{algo:<10} {rs[0]['env']:<12} {len(ok):>3}/{len(rs):<3} "
                     f"{'-' if med_steps is None else int(med_steps):>13} {'-' if med_s is None else med_s:>9} "
                     f"{'-' if max_s is None else max_s:>7}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run this benchmark from the command line (`--help` lists its options); returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m planlab.benchmarks.modelfree", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", default=None, help="append JSON-line rows here (resumes: finished runs are skipped)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 per algorithm")
    p.add_argument("--algos", nargs="+", default=["ppo", "a2c", "ac", "reinforce", "sac"], help=f"subset of {sorted(TASKS)}")
    p.add_argument("--budget", type=int, default=None, help="override every run's step budget")
    p.add_argument("--fresh", action="store_true", help="truncate --json instead of resuming")
    args = p.parse_args(argv)
    bad = [a for a in args.algos if a not in TASKS]
    if bad:
        print(f"--algos: expected names from {sorted(TASKS)}, got {bad}", file=sys.stderr)
        return 2
    if args.seeds < 1:
        print(f"--seeds: expected an integer >= 1, got {args.seeds}", file=sys.stderr)
        return 2
    done: dict[tuple, dict] = {}
    out = None
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not args.fresh:
            for line in path.read_text().splitlines():
                if line.strip():
                    r = json.loads(line)
                    done[(r["algo"], r["seed"])] = r
        out = open(path, "w" if args.fresh else "a")
    rows = []
    try:
        for algo in args.algos:
            for seed in range(args.seeds):
                if (algo, seed) in done:
                    rows.append(done[(algo, seed)])
                    continue
                row = run_one(algo, seed, budget=args.budget)
                rows.append(row)
                print(f"{algo} seed {seed}: solved={row['solved']} steps={row['steps_to_solve']} "
                      f"seconds={row['seconds_to_solve']} final={row['final_return']}", file=sys.stderr, flush=True)
                if out is not None:
                    write_row(out, row)
    finally:
        if out is not None:
            out.close()
    print(_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
