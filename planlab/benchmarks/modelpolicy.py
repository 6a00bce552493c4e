"""Benchmark: policies learned from a model (MBPO, back-propagation through the model) in the
model-free benchmark's table, and how fast the learned policy acts next to a PETS plan step.

Solved means what it means in :mod:`planlab.benchmarks.modelfree`: the mean return of 10
deterministic evaluation episodes (fixed reset seeds) reaches the threshold; each run stops at
the first evaluation that solves or at its real-step budget.

::

    python -m planlab.benchmarks.modelpolicy [--json PATH] [--seeds 3] [--algos mbpo mbpo-g5 mbpo-swingup sac-swingup bptt bptt-ensemble] [--quick]

Rows ``{algo, env, seed, solved, steps_to_solve, seconds_to_solve, final_return, ...}`` (the
model-free benchmark's keys; ``cpu_seconds_to_solve`` is this process's CPU time, the figure that
does not depend on how many other jobs share the machine) are appended to ``PATH`` the moment
each run finishes, and a rerun skips runs already in the file (``--fresh`` starts over); a run is deterministic given its seed,
so an interrupted benchmark resumed later gives the rows of an uninterrupted one (up to the wall
times). Each run also times its policy: ``act_ms`` is the median wall time of one
``predict(obs)`` call. Rows ``{kind: "act_vs_plan", env, pets_plan_ms, act_ms, speedup}`` put it
next to the median time of one PETS MPC step (CEM through planlab's default ensemble, the
configuration of ``planlab mbrl``) on the same env, measured in the same process.
``--quick`` runs tiny budgets and models (a smoke test: its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from ..mbrl.train_cli import PRESETS as MODEL_TRAIN_PRESETS
from .common import write_row
from .modelfree import result_row

__all__ = ["TASKS", "QUICK_OVERRIDES", "run_one", "pets_plan_ms", "main"]

#: algo -> (trainer name, env id, solve threshold, real-step budget, evaluate every, config overrides)
TASKS = {
    "mbpo": ("mbpo", "Pendulum-v1", -200.0, 1_500, 100, {}),
    # half the SAC updates per real step: about 0.6x the CPU per run for a few hundred more real steps
    "mbpo-g5": ("mbpo", "Pendulum-v1", -200.0, 1_500, 100, {"gradient_steps": 5}),
    # cart-pole swing-up: solved = return >= the true-model CEM return / 0.9 (median CEM return -1432,
    # docs/mbrl.md). Per-step costs reach ~100 (pole down) and grow with the cart's distance without
    # bound (no termination, no track limit), so the critic's rewards are scaled by 0.01 and
    # symlog-compressed (still monotone: clipping made all far carts alike); the pole angle is
    # observed unwrapped, so the networks see its sin/cos; model rollouts stop where the ensemble
    # disagrees (rollout_uncertainty). "sac-swingup" is planlab's SAC
    # with the same critic options: the real steps MBPO's are compared with.
    "mbpo-swingup": ("mbpo", "planlab/CartPoleSwingup-v0", -1591.0, 8_000, 500,
                     MODEL_TRAIN_PRESETS[("mbpo", "planlab/CartPoleSwingup-v0")]),
    "sac-swingup": ("sac", "planlab/CartPoleSwingup-v0", -1591.0, 40_000, 1000,
                    {"reward_scale": 0.01, "reward_symlog": True, "angle_features": (2,)}),
    "bptt": ("bptt", "Pendulum-v1", -200.0, 3_000, 200, {"model": "exact"}),
    "bptt-ensemble": ("bptt", "Pendulum-v1", -200.0, 3_000, 200,
                      {"model": "ensemble", "random_steps": 200, "horizon": 25, "batch_size": 64, "lr": 3e-3,
                       "updates_per_iteration": 40, "reset_starts": 0.5, "value_updates": 5}),
}

#: ``--quick``: tiny models and budgets per trainer (smoke sizes)
QUICK_OVERRIDES = {
    "mbpo": dict(learning_starts=20, model_train_freq=20, rollout_freq=10, rollout_batch_size=20, gradient_steps=1,
                 batch_size=16, model_epochs=1, model_hidden=(8,), model_members=2, model_elites=1, hidden=(8,),
                 rollout_schedule=(1, 2, 20, 40)),
    "sac": dict(learning_starts=20, batch_size=16, hidden=(8,)),
    "bptt": dict(horizon=2, batch_size=4, steps_per_iteration=20, updates_per_iteration=1, hidden=(8,),
                 model_epochs=1, model_hidden=(8,), model_members=2, random_steps=0),
}


def _act_ms(trainer, repeats: int = 200) -> float:
    obs = trainer.env_fn().reset(seed=0)[0]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        trainer.predict(obs)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def run_one(algo: str, seed: int, *, budget: int | None = None, quick: bool = False, checkpoint_dir=None) -> dict:
    """Train ``algo`` on its task; return the benchmark row.

    With ``checkpoint_dir``, the run writes a resumable checkpoint (:mod:`planlab.mbrl.resume`) to
    ``checkpoint_dir/<algo>-seed<seed>`` after every iteration and, if one is there already,
    continues from it; the row's ``resumed_at`` is then that step, and its seconds count only the
    resumed part.
    """
    import torch

    from planlab.mbrl import BPTT, MBPO
    from planlab.policies.offpolicy import SAC
    from planlab.mbrl.resume import RESUME_FILE, checkpoint_callback, resume

    torch.set_num_threads(1)
    trainer_name, env_id, threshold, default_budget, eval_every, overrides = TASKS[algo]
    cls = {"bptt": BPTT, "mbpo": MBPO, "sac": SAC}[trainer_name]
    if checkpoint_dir is not None and not hasattr(cls, "_resume_state"):
        raise ValueError(f"checkpoint_dir: {algo!r} ({cls.__name__}) cannot be checkpointed mid-run; "
                         "run it without --checkpoints")
    overrides = dict(overrides)
    eval_episodes = 10
    if quick:
        overrides.update(QUICK_OVERRIDES[trainer_name])
        default_budget, eval_every, eval_episodes = 40, 20, 1
    t0, c0 = time.perf_counter(), time.process_time()
    opts = dict(eval_every=eval_every, eval_episodes=eval_episodes, target_return=threshold)
    ckpt = Path(checkpoint_dir) / f"{algo}-seed{seed}" if checkpoint_dir is not None else None
    if ckpt is not None and (ckpt / RESUME_FILE).is_file():
        trainer = resume(cls, ckpt, **opts)
    else:
        trainer = cls(env_id, seed=seed, **opts, **overrides)
    resumed_at = trainer.num_timesteps
    setup = time.perf_counter() - t0
    cpu_at_solve = []
    save = checkpoint_callback(ckpt) if ckpt is not None else None

    def note_cpu(tr, info):
        if save is not None:
            save(tr, info)
        if tr.solved_at is not None and not cpu_at_solve:
            cpu_at_solve.append(time.process_time() - c0)

    remaining = (budget or default_budget) - trainer.num_timesteps
    if remaining > 0 and trainer.solved_at is None:
        trainer.learn(remaining, callback=note_cpu)
    return {
        **result_row(trainer, algo, env_id, seed, setup_s=setup, t0=t0),
        "resumed_at": resumed_at or None,
        "cpu_seconds_to_solve": round(cpu_at_solve[0], 2) if cpu_at_solve else None,
        "cpu_seconds_run": round(time.process_time() - c0, 2),
        "act_ms": round(_act_ms(trainer, 20 if quick else 200), 4),
    }


def pets_plan_ms(env_id: str, *, quick: bool = False, repeats: int = 7) -> float:
    """Median wall time (ms) of one PETS MPC step on ``env_id``: CEM through planlab's default
    ensemble (briefly trained on random transitions; the weights do not change the time)."""
    import torch

    from ..envs.models import model_for
    from ..planners import make_planner
    from .mbrl import _config, _planner_options, _trained_model

    import gymnasium

    torch.set_num_threads(1)
    cfg = _config("quick" if quick else "default")
    model, cost = _trained_model(env_id, cfg, threads=1)
    dyn, _ = model_for(env_id)
    x0 = dyn.state_from_observation(gymnasium.make(env_id).reset(seed=0)[0])
    planner = make_planner("cem", model, cost, horizon=cfg["horizon"], seed=0, **_planner_options(cfg))
    planner.plan(x0)  # warm-up
    wall = []
    for _ in range(2 if quick else repeats):
        t0 = time.perf_counter()
        planner.plan(x0)
        wall.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(wall)


def _table(rows: list[dict]) -> str:
    head = f"{'algo':<14} {'env':<12} {'seed':>4} {'solved':>6} {'steps':>8} {'seconds':>8} {'final':>9} {'act_ms':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        def f(v):
            return "-" if v is None else v
        lines.append(f"{r['algo']:<14} {r['env']:<12} {r['seed']:>4} {str(r['solved']):>6} "
                     f"{f(r['steps_to_solve']):>8} {f(r['seconds_to_solve']):>8} {f(r['final_return']):>9} "
                     f"{r['act_ms']:>7.3f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m planlab.benchmarks.modelpolicy", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", default=None, help="append JSON-line rows here (resumes: finished runs are skipped)")
    p.add_argument("--seeds", type=int, default=None, help="seeds 0 .. N-1 per algorithm (default 3; 1 with --quick)")
    p.add_argument("--algos", nargs="+", default=list(TASKS), help=f"subset of {list(TASKS)}")
    p.add_argument("--budget", type=int, default=None, help="override every run's real-step budget")
    p.add_argument("--quick", action="store_true", help="tiny budgets and models, one seed (smoke test)")
    p.add_argument("--no-pets", action="store_true", help="skip the PETS plan-step timing")
    p.add_argument("--fresh", action="store_true", help="truncate --json instead of resuming")
    p.add_argument("--checkpoints", default=None,
                   help="checkpoint each run here after every iteration; an interrupted run continues from it")
    args = p.parse_args(argv)
    bad = [a for a in args.algos if a not in TASKS]
    if bad:
        print(f"--algos: expected names from {list(TASKS)}, got {bad}", file=sys.stderr)
        return 2
    if args.seeds is None:
        args.seeds = 1 if args.quick else 3
    if args.seeds < 1:
        print(f"--seeds: expected an integer >= 1, got {args.seeds}", file=sys.stderr)
        return 2
    if args.budget is not None and args.budget < 1:
        print(f"--budget: expected an integer >= 1, got {args.budget}", file=sys.stderr)
        return 2
    seeds = args.seeds
    done: dict[tuple, dict] = {}
    out = None
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not args.fresh:
            for line in path.read_text().splitlines():
                if line.strip():
                    r = json.loads(line)
                    done[(r.get("kind", "run"), r.get("algo", r.get("env")), r.get("seed"))] = r
        out = open(path, "w" if args.fresh else "a")
    rows, timing = [], []
    try:
        for algo in args.algos:
            for seed in range(seeds):
                key = ("run", algo, seed)
                if key in done:
                    rows.append(done[key])
                    continue
                row = run_one(algo, seed, budget=args.budget, quick=args.quick, checkpoint_dir=args.checkpoints)
                rows.append(row)
                print(f"{algo} seed {seed}: solved={row['solved']} steps={row['steps_to_solve']} "
                      f"seconds={row['seconds_to_solve']} final={row['final_return']}", file=sys.stderr, flush=True)
                write_row(out, row)
        if not args.no_pets:
            for env_id in dict.fromkeys(r["env"] for r in rows):
                key = ("act_vs_plan", env_id, None)
                if key in done:
                    timing.append(done[key])
                    continue
                plan_ms = pets_plan_ms(env_id, quick=args.quick)
                act = float(np.median([r["act_ms"] for r in rows if r["env"] == env_id]))
                row = {"kind": "act_vs_plan", "env": env_id, "seed": None, "pets_plan_ms": round(plan_ms, 3),
                       "act_ms": round(act, 4), "speedup": round(plan_ms / act, 1)}
                timing.append(row)
                write_row(out, row)
    finally:
        if out is not None:
            out.close()
    print(_table(rows))
    for t in timing:
        print(f"\n{t['env']}: PETS plan step {t['pets_plan_ms']:.1f} ms, learned policy {t['act_ms']:.3f} ms "
              f"per action -> {t['speedup']:.0f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
