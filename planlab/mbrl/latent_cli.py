"""``planlab latent``: model-based RL from pixels (Algorithm 26 / PlaNet's loop) from the command line.

``planlab latent --env planlab/PendulumSwingup-v0 --model rssm --episodes K [--size 32] [--rgb]
[--action-repeat 4] [--json] [--out DIR]`` (or ``planlab mbrl --pixels ...``) prints one row per
episode (return, losses, prediction errors, planning time), writes the JSON rows, a learning-curve PNG
and per-episode PNG strips (true frames, reconstructions, open-loop predictions) to ``--out`` (default
``runs/latent-<env>-seed<seed>``), and resumes a run found there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["add_latent_parser", "add_latent_arguments", "pixels_alias", "run_latent"]


def pixels_alias(argv: list) -> list:
    """``planlab mbrl --pixels ARGS`` -> ``planlab latent ARGS`` (other command lines unchanged)."""
    if argv and argv[0] == "mbrl" and "--pixels" in argv[1:]:
        return ["latent"] + [a for a in argv[1:] if a != "--pixels"]
    return argv


class LatentCLIError(Exception):
    """A user error (message, exit status 2)."""


def add_latent_parser(subparsers):
    """Add the ``latent`` sub-command to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser("latent", help="model-based RL from pixels: latent model + planning in latent space")
    add_latent_arguments(p)
    p.set_defaults(func=run_latent)
    return p


def add_latent_arguments(p):
    """The options of ``planlab latent`` (also taken by ``planlab mbrl --pixels``); defaults from the configs."""
    from ..dynamics.latent.config import LatentConfig, LatentTrainConfig
    from .latent import DEFAULT_PLANNER_OPTIONS, LatentLoopConfig

    m, t, loop = LatentConfig(), LatentTrainConfig(), LatentLoopConfig()
    p.add_argument("--env", default="planlab/PendulumSwingup-v0", help="gymnasium id that renders rgb_array frames")
    p.add_argument("--model", default="rssm", help="rssm | deterministic")
    p.add_argument("--size", type=int, default=loop.image_size, help="image size, 32 or 64")
    p.add_argument("--encoder-size", type=int, default=m.encoder_size,
                   help="frame size the encoder reads: 32 with --size 64 encodes a 2x2-averaged copy (default: --size)")
    p.add_argument("--rgb", action="store_true", help="RGB frames (default grayscale)")
    p.add_argument("--action-repeat", type=int, default=loop.action_repeat)
    p.add_argument("--frame-stack", type=int, default=1)
    p.add_argument("--episodes", type=int, default=10, help="MPC episodes after the random ones")
    p.add_argument("--random-episodes", type=int, default=2)
    p.add_argument("--steps", type=int, default=None, help="env steps per episode (default: the env's limit)")
    p.add_argument("--deter", type=int, default=m.deter, help="RSSM recurrent units")
    p.add_argument("--stoch", type=int, default=m.stoch, help="latent size")
    p.add_argument("--free-nats", type=float, default=m.free_nats)
    p.add_argument("--kl-balance", type=_float_or_none, default=m.kl_balance,
                   help="share of the KL gradient given to the prior; none: the plain KL")
    p.add_argument("--overshooting", type=int, default=0, help="extra prediction distance of the multi-step loss")
    p.add_argument("--reward-overshooting", type=int, default=m.reward_overshooting,
                   help="decisions of the open-loop reward loss (0: off)")
    p.add_argument("--members", type=int, default=1, help="transition heads (ensemble)")
    p.add_argument("--updates", type=int, default=loop.train.steps, help="gradient updates per refit")
    p.add_argument("--batch", type=int, default=loop.train.batch)
    p.add_argument("--length", type=int, default=loop.train.length)
    p.add_argument("--planner", default="cem")
    p.add_argument("--horizon", type=int, default=loop.horizon)
    p.add_argument("--population", type=int, default=DEFAULT_PLANNER_OPTIONS["population"])
    p.add_argument("--iterations", type=int, default=DEFAULT_PLANNER_OPTIONS["iterations"])
    p.add_argument("--exploration-noise", type=float, default=loop.exploration_noise,
                   help="std of the action noise of MPC episodes, relative to the half-width of the action box")
    p.add_argument("--test-every", type=int, default=loop.test_every,
                   help="every k-th MPC episode without exploration noise, row marked test (0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="checkpoint/output directory (resumes a run found there)")
    p.add_argument("--lr", type=float, default=t.lr, help="Adam learning rate")
    p.add_argument("--recon-fraction", type=float, default=t.recon_fraction,
                   help="share of each update's frames that are decoded (0 < f <= 1)")
    p.add_argument("--fresh-optimizer", action="store_true", help="a new Adam per refit (default: one kept)")
    p.add_argument("--json", action="store_true", help="print JSON rows (one per line) instead of a table")
    return p


def _float_or_none(text: str):
    return None if text.lower() == "none" else float(text)


def build_latent_config(args):
    """The :class:`~planlab.mbrl.latent.LatentLoopConfig` of parsed arguments."""
    from ..dynamics.latent import LatentConfig, LatentTrainConfig
    from ..planners import PLANNERS, planner_class
    from .latent import LatentLoopConfig

    if args.planner not in PLANNERS:
        raise LatentCLIError(f"--planner: expected one of {', '.join(sorted(PLANNERS))}, got {args.planner!r}")
    accepted = set(getattr(planner_class(args.planner), "cli_options", ()))
    opts = {k: getattr(args, k) for k in ("population", "iterations") if k in accepted}
    if "elites" in accepted:
        opts["elites"] = max(2, args.population // 10)
    try:
        model = LatentConfig(kind=args.model, deter=args.deter, stoch=args.stoch, free_nats=args.free_nats,
                             kl_balance=args.kl_balance, overshooting=args.overshooting, members=args.members,
                             reward_overshooting=args.reward_overshooting, image_size=args.size,
                             encoder_size=args.encoder_size)
        train = LatentTrainConfig(steps=args.updates, batch=args.batch, length=args.length, lr=args.lr,
                                  recon_fraction=args.recon_fraction, progress=not args.json)
        return LatentLoopConfig(env_id=args.env, image_size=args.size, grayscale=not args.rgb,
                                action_repeat=args.action_repeat, frame_stack=args.frame_stack, episodes=args.episodes,
                                random_episodes=args.random_episodes, steps=args.steps, model=model, train=train,
                                planner=args.planner, horizon=args.horizon, planner_options=opts, seed=args.seed,
                                threads=args.threads, keep_optimizer=not args.fresh_optimizer,
                                exploration_noise=args.exploration_noise, test_every=args.test_every)
    except (ValueError, TypeError) as exc:
        raise LatentCLIError(str(exc).replace("kind:", "--model:").replace("image_size:", "--size:")
                             .replace("encoder_size:", "--encoder-size:")
                             .replace("exploration_noise:", "--exploration-noise:").replace("test_every:", "--test-every:")
                             .replace("recon_fraction:", "--recon-fraction:")
                             .replace("kl_balance:", "--kl-balance:")
                             .replace("reward_overshooting:", "--reward-overshooting:")) from None


_COLUMNS = (("episode", 7, "d"), ("phase", 6, "s"), ("return", 9, ".1f"), ("loss", 8, ".1f"), ("pred_mse", 9, ".0f"),
            ("copy_mse", 9, ".0f"), ("train_s", 7, ".1f"), ("plan_ms_median", 14, ".1f"), ("wall_s", 7, ".1f"))


def run_latent(args) -> int:
    """Run the ``latent`` command for parsed ``args``; returns the exit status (2 on bad input)."""
    import gymnasium

    try:
        config = build_latent_config(args)
        if args.env not in gymnasium.registry:
            import planlab.envs  # noqa: F401  (registers planlab's ids)
        if args.env not in gymnasium.registry:
            raise LatentCLIError(f"--env: expected a registered gymnasium id, got {args.env!r}")
    except LatentCLIError as exc:
        print(f"planlab latent: error: {exc}", file=sys.stderr)
        return 2
    from .cli import plot_curve
    from .latent import run_latent_loop

    out = Path(args.out) if args.out else Path("runs") / f"latent-{args.env.replace('/', '_')}-seed{args.seed}"
    if not args.json:
        print("  ".join(f"{k[:14]:>{w}}" for k, w, _ in _COLUMNS))

    def emit(row):
        if args.json:
            print(json.dumps({"env": args.env, "seed": args.seed, "observation": "pixels", **row}), flush=True)
        else:
            print("  ".join("-".rjust(w) if row.get(k) is None else f"{row[k]:>{w}{s}}" for k, w, s in _COLUMNS),
                  flush=True)

    try:
        result = run_latent_loop(config, out_dir=out, progress=not args.json, callback=emit)
    except ValueError as exc:
        print(f"planlab latent: error: {exc}", file=sys.stderr)
        return 2
    rows_path = out / "rows.jsonl"
    with open(rows_path, "w") as f:
        for row in result.rows:
            f.write(json.dumps({"env": args.env, "seed": args.seed, "observation": "pixels", **row}) + "\n")
    png = plot_curve(result.rows, out / "learning_curve.png",
                     f"{args.env} from {args.size}x{args.size} pixels: {args.model} + {args.planner}, seed {args.seed}")
    if not args.json:
        print(f"rows: {rows_path}\nplot: {png}\nstrips: {out}/strip-ep*.png")
    return 0
