"""``planlab mbrl``: model-based RL (PETS by default) from the command line.

``planlab mbrl --env ID --model ensemble --planner cem --episodes K [--json] [--out DIR]``
prints one row per episode (return, data size, fit status, planning time), writes the JSON rows
and a learning-curve PNG to ``--out`` (default ``runs/mbrl-<env>-seed<seed>``) and resumes a run
found there. The lead wires :func:`add_mbrl_parser` / :func:`run_mbrl` into ``planlab.cli``.

Defaults are planlab's PETS configuration (see :data:`DEFAULTS`), sized for a CPU: a 5-member
probabilistic ensemble of 3 x 64 SiLU layers, TS∞ with 10 particles, CEM with population 200,
20 elites and 5 iterations over a horizon of 15, one random episode first, retraining after each
episode (about 13x fewer network FLOPs per MPC step than mbrl-lib's 5 x 4 x 200, 20 particles,
population 350 configuration).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["add_mbrl_parser", "run_mbrl", "DEFAULTS", "build_config", "plot_curve"]

#: planlab's default PETS configuration (what the CLI uses)
DEFAULTS = {
    "env": "Pendulum-v1",
    "model": "ensemble",
    "planner": "cem",
    "episodes": 10,
    "random_episodes": 1,
    "members": 5,
    "hidden": "64,64,64",
    "particles": 10,
    "propagation": "tsinf",
    "horizon": 15,
    "population": 200,
    "iterations": 5,
    "epochs": 50,
    "algorithm": "v1.5",
    "threads": 1,
}


class MBRLCLIError(Exception):
    """A user error (message, exit status 2)."""


def add_mbrl_parser(subparsers):
    """Add the ``mbrl`` sub-command to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser("mbrl", help="model-based RL: learn a model, plan through it (PETS)")
    d = DEFAULTS
    p.add_argument("--env", default=d["env"], help=f"gymnasium id planlab models (default {d['env']})")
    p.add_argument("--model", default=d["model"], help="ensemble | deterministic-ensemble | gaussian | mlp")
    p.add_argument("--planner", default=d["planner"], help=f"planner name (default {d['planner']})")
    p.add_argument("--algorithm", default=d["algorithm"], help="v0.5 (fit once) | v1.0 (refit per episode) | v1.5 (MPC, PETS)")
    p.add_argument("--episodes", type=int, default=d["episodes"], help="episodes after the random ones")
    p.add_argument("--random-episodes", type=int, default=d["random_episodes"], help="random-policy episodes first")
    p.add_argument("--steps", type=int, default=None, help="episode length (default: the env's limit)")
    p.add_argument("--members", type=int, default=d["members"], help="ensemble size")
    p.add_argument("--hidden", default=d["hidden"], help="hidden widths, comma-separated")
    p.add_argument("--particles", type=int, default=d["particles"], help="particles per action sequence")
    p.add_argument("--propagation", default=d["propagation"], help="tsinf | ts1 | expectation")
    p.add_argument("--horizon", type=int, default=d["horizon"], help="planning horizon")
    p.add_argument("--population", type=int, default=None,
                   help=f"planner population (default {d['population']} for CEM-like planners)")
    p.add_argument("--iterations", type=int, default=None,
                   help=f"planner iterations (default {d['iterations']} for CEM-like planners)")
    p.add_argument("--epochs", type=int, default=d["epochs"], help="max training epochs per fit")
    p.add_argument("--retrain-every", type=int, default=None, help="v1.5: retrain every this many steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=d["threads"],
                   help=f"torch threads for the model (default {d['threads']}; more help large models on idle cores)")
    p.add_argument("--out", default=None, help="checkpoint/output directory (resumes a run found there)")
    p.add_argument("--json", action="store_true", help="print JSON rows (one per line) instead of a table")
    p.set_defaults(func=run_mbrl)
    return p


def _hidden(text: str):
    try:
        vals = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise MBRLCLIError(f"--hidden: expected comma-separated integers like 64,64, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise MBRLCLIError(f"--hidden: expected positive integers, got {text!r}")
    return vals


def build_config(args):
    """The :class:`~planlab.mbrl.MBRLConfig` of parsed arguments (raises ``MBRLCLIError`` on bad input)."""
    from ..dynamics.learned import TrainConfig
    from ..planners import PLANNERS, planner_class
    from .loop import MODEL_KINDS, MBRLConfig, model_config

    if args.planner not in PLANNERS:
        raise MBRLCLIError(f"--planner: expected one of {', '.join(sorted(PLANNERS))}, got {args.planner!r}")
    if args.model not in MODEL_KINDS:
        raise MBRLCLIError(f"--model: expected one of {', '.join(MODEL_KINDS)}, got {args.model!r}")
    accepted = set(getattr(planner_class(args.planner), "cli_options", ()))
    opts = {}
    for flag in ("population", "iterations"):
        val = getattr(args, flag)
        if val is None:
            if flag in accepted and args.planner in ("cem", "icem") and DEFAULTS[flag] is not None:
                opts[flag] = DEFAULTS[flag]  # planlab's PETS defaults
            continue
        if flag not in accepted:
            raise MBRLCLIError(f"--{flag}: not an option of planner {args.planner!r} "
                               f"(it takes: {', '.join('--' + o for o in sorted(accepted)) or 'none'})")
        opts[flag] = val
    if "elites" in accepted and "population" in opts:
        opts["elites"] = max(2, opts["population"] // 10)  # elite ratio 0.1 (as mbrl-lib)
    try:
        overrides = {"hidden": _hidden(args.hidden), "propagation": args.propagation, "particles": args.particles}
        if args.model in ("ensemble", "deterministic-ensemble"):
            overrides["members"] = args.members
        if args.model == "mlp":
            overrides.pop("particles")
        return MBRLConfig(env_id=args.env, algorithm=args.algorithm, episodes=args.episodes,
                          random_episodes=args.random_episodes, steps=args.steps,
                          model=model_config(args.model, **overrides), train=TrainConfig(epochs=args.epochs),
                          planner=args.planner, horizon=args.horizon, planner_options=opts,
                          retrain_every=args.retrain_every, seed=args.seed, threads=args.threads)
    except (ValueError, TypeError) as exc:
        raise MBRLCLIError(str(exc)) from None


def plot_curve(rows, path, title: str = "") -> Path:
    """Learning curve (return per episode) as a PNG, written with matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ep = [r["episode"] for r in rows]
    ret = [r["return"] for r in rows]
    colors = ["tab:gray" if r["phase"] == "random" else "tab:blue" for r in rows]
    ax.plot(ep, ret, "-", color="tab:blue", lw=1)
    ax.scatter(ep, ret, c=colors, zorder=3, s=18)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("episode (grey: random policy)")
    ax.set_ylabel("return")
    ax.set_title(title or "model-based RL", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path


#: table columns: (row key, header, width, format spec)
_COLUMNS = (("episode", "episode", 7, "d"), ("phase", "phase", 6, "s"), ("return", "return", 9, ".1f"),
            ("n_data", "n_data", 6, "d"), ("fit_status", "fit_status", 13, "s"), ("train_s", "train_s", 7, ".1f"),
            ("plan_ms_median", "plan_ms", 8, ".1f"), ("wall_s", "wall_s", 7, ".1f"))


def _header():
    return "  ".join(f"{h:>{w}}" for _, h, w, _ in _COLUMNS)


def _fmt(row):
    return "  ".join("-".rjust(w) if row.get(k) is None else f"{row[k]:>{w}{spec}}" for k, _, w, spec in _COLUMNS)


def run_mbrl(args) -> int:
    """Run the ``mbrl`` command for parsed ``args``; returns the exit status (2 on bad input)."""
    try:
        config = build_config(args)
    except MBRLCLIError as exc:
        print(f"planlab mbrl: error: {exc}", file=sys.stderr)
        return 2
    from ..envs.models import model_for

    try:
        model_for(args.env)
    except ValueError as exc:
        print(f"planlab mbrl: error: --{exc}", file=sys.stderr)
        return 2
    from .loop import run_mbrl_loop

    out = Path(args.out) if args.out else Path("runs") / f"mbrl-{args.env.replace('/', '_')}-seed{args.seed}"
    rows_path = out / "rows.jsonl"
    header = [not args.json]  # printed with the first row, after the run's up-front checks

    def emit(row):
        if header[0]:
            print(_header())
            header[0] = False
        if args.json:
            print(json.dumps({"env": args.env, "seed": args.seed, **row}), flush=True)
        else:
            print(_fmt(row), flush=True)

    try:
        result = run_mbrl_loop(config, out_dir=out, progress=not args.json, callback=emit)
    except (ValueError, TypeError) as exc:
        # a planner that cannot plan through the learned model is refused before the first episode
        planner_side = str(exc).startswith(("dynamics:", "system:", "cost:", "derivatives:"))
        where = f"--planner: {args.planner} cannot plan through a learned model: " if planner_side else ""
        print(f"planlab mbrl: error: {where}{exc}", file=sys.stderr)
        return 2
    if result.resumed_from and not args.json:
        print(f"(resumed after episode {result.resumed_from - 1} from {out})")
    with open(rows_path, "w") as f:
        for row in result.rows:
            f.write(json.dumps({"env": args.env, "seed": args.seed, **row}) + "\n")
    png = plot_curve(result.rows, out / "learning_curve.png",
                     f"{args.env}: {args.model} + {args.planner} ({config.algorithm}), seed {args.seed}")
    if not args.json:
        print(f"rows: {rows_path}\nplot: {png}")
    return 0
