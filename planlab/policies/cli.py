"""``planlab train``: train a model-free baseline from the command line.

::

    planlab train --algo ppo --env CartPole-v1 --steps 50000 [--seed 0] [--json] [--out runs/ppo]

The ``planlab`` command line wires this in with ``add_train_parser(subparsers)`` and dispatches to
``run_train(args)`` (which returns the exit code).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

__all__ = ["add_train_parser", "run_train", "TRAIN_ALGOS"]

#: ``--algo`` choices and the trainer each one runs.
TRAIN_ALGOS = ("reinforce", "a2c", "ppo", "ac", "sac")


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to an ``argparse`` subparsers object and return its parser."""
    p = subparsers.add_parser("train", help="train a model-free baseline (REINFORCE, A2C, PPO, AC, SAC)",
                              description="Train a model-free baseline on a gymnasium environment.")
    p.add_argument("--algo", required=True, help=f"one of {', '.join(TRAIN_ALGOS)}")
    p.add_argument("--env", required=True, help="gymnasium id, e.g. CartPole-v1 or Pendulum-v1")
    p.add_argument("--steps", type=int, default=None, help="environment steps to train for (model-free trainers)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=None, help="evaluate every this many env steps")
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--target", type=float, default=None, help="stop once the evaluation return reaches this")
    p.add_argument("--out", default=None, help="directory for progress.jsonl, learning_curve.png and the model")
    p.add_argument("--no-preset", action="store_true", help="use the algorithm's defaults, not the tuned preset")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    # --- guided policy search and distillation (registry.RUNNERS) ---
    p.add_argument("--iterations", type=int, default=None, help="gps: GPS iterations (15); distill: rounds incl. DAgger (2)")
    p.set_defaults(func=run_train)
    return p


def _fail(msg: str) -> int:
    print(f"planlab train: error: {msg}", file=sys.stderr)
    return 2


def run_train(args: argparse.Namespace) -> int:
    """Run ``planlab train`` for parsed ``args``; returns the process exit code (0 = success)."""
    algo = args.algo
    # --- guided policy search and distillation: their own runners (registry.RUNNERS) ---
    from .registry import RUNNERS

    if algo in RUNNERS:
        import importlib

        module, fn = RUNNERS[algo].split(":")
        return getattr(importlib.import_module(module), fn)(args)
    # ---
    if algo not in TRAIN_ALGOS:
        return _fail(f"--algo: expected one of {list(TRAIN_ALGOS) + sorted(RUNNERS)}, got {algo!r}")
    if args.steps is None or args.steps < 1:
        return _fail(f"--steps: expected an integer >= 1, got {args.steps!r}")
    import gymnasium as gym
    import torch

    from .registry import algorithm_class
    from .presets import preset

    if args.env not in gym.registry:
        return _fail(f"--env: expected a registered gymnasium id (e.g. CartPole-v1, Pendulum-v1), got {args.env!r}")
    cls = algorithm_class(algo)
    overrides = {} if getattr(args, "no_preset", False) else preset(algo, args.env)
    torch.set_num_threads(1)
    try:
        trainer = cls(args.env, seed=args.seed, eval_every=args.eval_every, eval_episodes=args.eval_episodes,
                      target_return=args.target, log_dir=args.out, **overrides)
    except TypeError as exc:
        return _fail(str(exc).replace("env: ", "--env: ", 1) if str(exc).startswith("env:") else str(exc))
    except ValueError as exc:
        return _fail(str(exc))
    return learn_and_report(trainer, algo, args)


def learn_and_report(trainer, algo: str, args) -> int:
    """Train for ``args.steps``, save under ``args.out`` if given, print the summary; exit code 0.

    The one tail of every ``planlab train`` algorithm (model-free here, policies learned from a
    model in :mod:`planlab.mbrl.train_cli`).
    """
    t0 = time.perf_counter()
    trainer.learn(args.steps)
    seconds = time.perf_counter() - t0
    last = trainer.curve[-1] if trainer.curve else None
    summary = {
        "algo": algo,
        "env": args.env,
        "seed": args.seed,
        "steps": trainer.num_timesteps,
        "seconds": round(seconds, 2),
        "eval_return": None if last is None else last["eval_mean"],
        "eval_std": None if last is None else last["eval_std"],
        "solved_at": trainer.solved_at,
        "out": str(trainer.save(f"{args.out}/model")) if args.out is not None else None,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        width = max(len(k) for k in summary)
        for k, v in summary.items():
            print(f"{k:<{width}}  {v}")
    return 0
