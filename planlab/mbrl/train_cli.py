"""``planlab train --algo bptt|mbpo``: the model-based policy learners on the ``train`` command.

::

    planlab train --algo mbpo --env Pendulum-v1 --steps 1500 --target -200 [--seed 0] [--out runs/mbpo]
    planlab train --algo bptt --env Pendulum-v1 --steps 3000 --model exact|ensemble

The ``train`` command belongs to :mod:`planlab.policies.cli`; :func:`extend_train_parser` adds the
``--model`` option and routes these two names here, every other name to the model-free trainers.
Importing this module imports neither torch nor a trainer.
"""

from __future__ import annotations

import sys

from ..policies.cli import learn_and_report

__all__ = ["MODEL_TRAIN_ALGOS", "PRESETS", "extend_train_parser", "run_model_train"]

#: ``--algo`` names handled here
MODEL_TRAIN_ALGOS = ("bptt", "mbpo")

#: (algo, env id) -> config overrides tuned for the benchmark tasks
PRESETS: dict[tuple[str, str], dict] = {
    ("mbpo", "Pendulum-v1"): {},
    ("bptt", "Pendulum-v1"): {},
    # the benchmark task mbpo-swingup (planlab.benchmarks.modelpolicy, docs/model-policies.md): rewards
    # scaled and symlog-compressed in the critic, sin/cos of the pole angle, rollouts stopped off the data
    ("mbpo", "planlab/CartPoleSwingup-v0"): dict(rollout_schedule=(1, 5, 400, 2000), learning_starts=400,
                                                 model_train_freq=400, reward_scale=0.01, reward_symlog=True,
                                                 angle_features=(2,), rollout_uncertainty=2.0),
}


def extend_train_parser(train_parser) -> None:
    """Add ``--model`` to the ``train`` parser and route ``--algo bptt|mbpo`` to :func:`run_model_train`."""
    previous = train_parser.get_default("func")
    for action in train_parser._actions:  # name the model-based choices in `planlab train --help`
        if action.dest == "algo" and action.help:
            action.help += ", " + ", ".join(MODEL_TRAIN_ALGOS)
    train_parser.add_argument("--model", default=None,
                              help="bptt only: differentiate through the env's exact model (default) or a learned "
                                   "'ensemble'")

    def dispatch(args):
        if args.algo in MODEL_TRAIN_ALGOS:
            return run_model_train(args)
        if args.model is not None:
            return _fail(f"--model: only for --algo bptt, got --algo {args.algo!r}")
        return previous(args)

    train_parser.set_defaults(func=dispatch)


def _fail(msg: str) -> int:
    print(f"planlab train: error: {msg}", file=sys.stderr)
    return 2


def run_model_train(args) -> int:
    """Run ``planlab train`` for ``--algo bptt|mbpo``; returns the exit code (2 on bad input)."""
    algo = args.algo
    if algo not in MODEL_TRAIN_ALGOS:
        return _fail(f"--algo: expected one of {list(MODEL_TRAIN_ALGOS)}, got {algo!r}")
    if args.steps is None or args.steps < 1:
        return _fail(f"--steps: expected an integer >= 1, got {args.steps!r}")
    if args.model is not None and algo != "bptt":
        return _fail(f"--model: only for --algo bptt, got --algo {algo!r}")
    from ..envs.models import model_for

    try:
        model_for(args.env)
    except (ValueError, TypeError) as exc:
        return _fail(f"--env: {str(exc).removeprefix('env: ')}")
    import torch

    from . import bptt, mbpo

    cls = bptt.BPTT if algo == "bptt" else mbpo.MBPO
    overrides = {} if getattr(args, "no_preset", False) else dict(PRESETS.get((algo, args.env), {}))
    if args.model is not None:
        overrides["model"] = args.model
    torch.set_num_threads(1)
    try:
        trainer = cls(args.env, seed=args.seed, eval_every=args.eval_every, eval_episodes=args.eval_episodes,
                      target_return=args.target, log_dir=args.out, **overrides)
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        return _fail("--" + msg if msg.startswith(("env:", "model:")) else msg)
    return learn_and_report(trainer, algo, args)
