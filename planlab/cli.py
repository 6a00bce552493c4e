"""The ``planlab`` command line.

``planlab run --env ID --planner NAME [...]``
    Run one closed-loop MPC episode and print a summary (``--json``: one JSON object).
``planlab systems``
    List the analytic systems, the registered envs, gymnasium models and planners.
``planlab train --algo ppo --env CartPole-v1 --steps N``
    Train a model-free baseline (:mod:`planlab.policies.cli`); ``--algo bptt|mbpo`` trains a policy
    from a model (:mod:`planlab.mbrl.train_cli`).
``planlab mbrl --env Pendulum-v1 --model ensemble --planner cem --episodes K``
    Model-based RL with a learned model (PETS; :mod:`planlab.mbrl.cli`).
``planlab bench --planners cem,mppi --tasks Pendulum-v1 --seeds 10 --out DIR``
    Planners x tasks x seeds, resumable, with report.md (:mod:`planlab.benchmarks.suite`).
``planlab latent --env planlab/PendulumSwingup-v0 --episodes K``
    Model-based RL from pixels: a latent model and planning in latent space (:mod:`planlab.mbrl.latent_cli`);
    ``planlab mbrl --pixels ...`` is the same command.

Bad input (unknown env or planner, a malformed ``--x0``) prints a message naming the argument, the
expected and the actual value, and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

__all__ = ["main", "build_parser"]

#: planner options exposed as flags: flag name -> (type, help)
PLANNER_FLAGS = {
    "population": (int, "number of sampled action sequences per iteration"),
    "iterations": (int, "optimisation iterations per plan (CEM family, MPPI)"),
    "elites": (int, "elite sequences refitted per iteration (CEM family)"),
    "temperature": (float, "MPPI temperature lambda (> 0)"),
    "simulations": (int, "UCT: simulations per planning step"),
    "exploration": (float, "UCT: exploration constant C of the UCT score (Kocsis & Szepesvári 2006)"),
    "discount": (float, "discount factor gamma in (0, 1]"),
    "max_iterations": (int, "iteration limit of iterative solvers (ilqr, nlp)"),
}


class CLIError(Exception):
    """A user error: printed without a traceback, exit status 2."""


def _parse_x0(text: str) -> np.ndarray:
    try:
        vals = [float(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise CLIError(f"--x0: expected comma-separated numbers like 3.14,0.0, got {text!r}") from None
    if not vals or not np.all(np.isfinite(vals)):
        raise CLIError(f"--x0: expected finite comma-separated numbers, got {text!r}")
    return np.array(vals)


def build_parser() -> argparse.ArgumentParser:
    """The ``planlab`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="planlab", description="Model-based planning and control.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"planlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one closed-loop MPC episode in an env")
    run.add_argument("--env", required=True, help="gymnasium id (planlab/... or a gymnasium env planlab models)")
    run.add_argument("--planner", default="shooting", help="planner name (see `planlab systems`)")
    run.add_argument("--horizon", type=int, default=None,
                     help="planning horizon H (default: the stock task's setting for the planner, else 30)")
    run.add_argument("--steps", type=int, default=None, help="episode length (default: the env's time limit)")
    run.add_argument("--seed", type=int, default=0, help="seed of the env reset and the planner (default 0)")
    run.add_argument("--x0", type=str, default=None, help="start state, comma-separated (e.g. 3.14159,0)")
    run.add_argument("--replan-every", type=int, default=1, help="execute this many actions per plan (default 1)")
    run.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    # --- pictures (planlab.viz) ---
    run.add_argument("--save-video", dest="save_video", default=None, metavar="PATH",
                     help="write the rendered episode as PATH.gif or PATH.mp4 (mp4 needs imageio-ffmpeg)")
    run.add_argument("--plot", default=None, metavar="PATH",
                     help="plot states, actions, cost per step and plan time into PATH (e.g. episode.png)")
    run.add_argument("--fps", type=float, default=None, help="video frames per second (default: the env's)")
    # --- end pictures ---
    for flag, (typ, hlp) in PLANNER_FLAGS.items():
        run.add_argument(f"--{flag.replace('_', '-')}", dest=flag, type=typ, default=None, help=hlp)

    sub.add_parser("systems", help="list systems, envs and planners")

    from .mbrl.cli import add_mbrl_parser
    from .policies.cli import add_train_parser

    train = add_train_parser(sub)
    add_mbrl_parser(sub)

    # --- planlab bench (planlab.benchmarks.suite) ---
    from .benchmarks.suite.cli import add_bench_parser

    add_bench_parser(sub)
    # --- end planlab bench ---
    # --- latent: model-based RL from pixels (planlab.mbrl.latent_cli) ---
    from .mbrl.latent_cli import add_latent_parser

    add_latent_parser(sub)
    # --- end latent ---
    # --- policies learned from a model (planlab.mbrl): `planlab train --algo bptt|mbpo` ---
    from .mbrl.train_cli import extend_train_parser

    extend_train_parser(train)
    # --- end of the model-based train block ---
    return parser


def _cmd_run(args) -> int:
    import gymnasium

    from .envs.models import model_for
    from .episodes import mpc_for_env, run_episode
    from .planners import PLANNERS, make_planner
    from .planners import planner_class

    if args.planner not in PLANNERS:
        raise CLIError(f"--planner: expected one of {', '.join(sorted(PLANNERS))}, got {args.planner!r}")
    # --- stock task settings (planlab.benchmarks.suite.tasks): defaults that the flags override ---
    from .benchmarks.suite.tasks import task_settings

    defaults = task_settings(args.env, args.planner, build=True)
    if args.horizon is None:
        args.horizon = defaults.pop("horizon", 30)
    defaults.pop("horizon", None)
    planning_cost = defaults.pop("cost", None)
    # --- end stock task settings ---
    if args.horizon < 1:
        raise CLIError(f"--horizon: expected an integer >= 1, got {args.horizon}")
    if args.steps is not None and args.steps < 1:
        raise CLIError(f"--steps: expected an integer >= 1, got {args.steps}")
    try:
        dynamics, cost = model_for(args.env)
    except ValueError as exc:
        raise CLIError(f"--env: {exc}".replace("--env: env: ", "--env: ")) from None
    cls = planner_class(args.planner)
    accepted = set(getattr(cls, "cli_options", ()))
    options = dict(defaults)
    for flag in PLANNER_FLAGS:
        val = getattr(args, flag)
        if val is None:
            continue
        if flag not in accepted:
            raise CLIError(f"--{flag.replace('_', '-')}: not an option of planner {args.planner!r} "
                           f"(it takes: {', '.join('--' + o for o in sorted(accepted)) or 'none'})")
        options[flag] = val
    # --- continuous planners refuse discrete-action envs, naming the ones that apply ---
    if dynamics.is_discrete and not getattr(cls, "discrete_actions", True):
        fits = [n for n in PLANNERS if getattr(planner_class(n), "discrete_actions", True)]
        raise CLIError(f"--planner: {args.planner} plans continuous actions; {args.env} has {dynamics.n_actions} "
                       f"discrete actions (planners for discrete actions: {', '.join(fits)})")
    if args.save_video is not None:
        from .viz import VIDEO_SUFFIXES

        if not args.save_video.lower().endswith(VIDEO_SUFFIXES):
            raise CLIError(f"--save-video: expected a path ending in {' or '.join(VIDEO_SUFFIXES)}, "
                           f"got {args.save_video!r}")
    if args.fps is not None and not (np.isfinite(args.fps) and args.fps > 0):
        raise CLIError(f"--fps: expected a positive number, got {args.fps}")
    # --- end ---
    x0 = None
    if args.x0 is not None:
        x0 = _parse_x0(args.x0)
        if x0.shape != (dynamics.state_dim,):
            raise CLIError(f"--x0: expected {dynamics.state_dim} numbers ({', '.join(dynamics.state_names)}), "
                           f"got {len(x0)}")
    try:
        planner = make_planner(args.planner, dynamics, planning_cost or cost, horizon=args.horizon, seed=args.seed,
                               **options)
        mpc = mpc_for_env(args.env, planner, mpc_options={"replan_every": args.replan_every})
    except (ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    make_kwargs = {"max_episode_steps": args.steps} if args.steps is not None else {}
    if args.save_video is not None:
        make_kwargs["render_mode"] = "rgb_array"
    env = gymnasium.make(args.env, **make_kwargs)
    try:
        result = run_episode(env, mpc, seed=args.seed, x0=x0, progress=not args.json,
                             render=args.save_video is not None)
    except RuntimeError as exc:
        if not str(exc).startswith("render:"):
            raise
        raise CLIError(str(exc).replace("render:", "--save-video:", 1)) from None
    from .episodes import wrap_states
    summary = {
        "env": args.env,
        "planner": args.planner,
        "seed": args.seed,
        "horizon": args.horizon,
        **options,
        "steps": result.steps,
        "return": result.total_return,
        "plan_ms_median": result.plan_ms(50),
        "plan_ms_p90": result.plan_ms(90),
        "terminated": result.terminated,
        "success": result.success,
        "plan_status": result.status_counts(),
        "final_state": [float(v) for v in wrap_states(result.states[-1], dynamics.angle_indices)],
    }
    failed = result.status_counts().get("failed", 0)
    if failed:
        print(f"planlab run: warning: {failed} of {len(result.plan_statuses)} plans ended with status 'failed' "
              f"(the planner could not be trusted there; see the planner's warning)", file=sys.stderr)
    if args.plot is not None:
        from .viz import plot_episode

        summary["plot"] = str(plot_episode(result, args.plot, title=f"{args.env}, {args.planner}",
                                           state_names=dynamics.state_names, action_names=dynamics.action_names))
    if args.save_video is not None:
        from .viz import save_video

        fps = args.fps or env.metadata.get("render_fps") or 30
        try:
            summary["video"] = str(save_video(result.frames, args.save_video, fps=float(fps)))
        except RuntimeError as exc:
            raise CLIError(str(exc).replace("path:", "--save-video:", 1)) from None
    if args.json:
        print(json.dumps(summary))
    else:
        width = max(len(k) for k in summary)
        for k, v in summary.items():
            if isinstance(v, float):
                v = f"{v:.4g}" if k != "return" else f"{v:.2f}"
            elif isinstance(v, list):
                v = "[" + ", ".join(f"{a:.3f}" for a in v) + "]"
            elif isinstance(v, dict):
                v = ", ".join(f"{a}: {b}" for a, b in v.items()) or "-"
            print(f"{k:<{width}}  {v}")
    return 0


def _cmd_systems(args) -> int:
    from .dynamics import SYSTEMS
    from .envs import ENV_IDS
    from .envs.models import GYM_MODELS
    from .planners import PLANNERS

    print("systems:")
    for name, cls in SYSTEMS.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"  {cls.__name__:<18} {doc}")
    print("envs (gymnasium ids registered by planlab):")
    for env_id in ENV_IDS:
        print(f"  {env_id}")
    print("gymnasium envs planlab models (planlab.envs.model_for):")
    for env_id in GYM_MODELS:
        print(f"  {env_id}")
    # MuJoCo envs (optional extra planlab[mujoco])
    from .envs.models import MUJOCO_MODELS

    for env_id in MUJOCO_MODELS:
        print(f"  {env_id}  (needs planlab[mujoco])")
    from .planners import planner_class

    print("planners:")
    for name in PLANNERS:
        doc = (planner_class(name).__doc__ or "").strip().splitlines()
        print(f"  {name:<9} {doc[0] if doc else ''}")
    return 0


def main(argv=None) -> int:
    """Run the ``planlab`` command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    # --- latent: `planlab mbrl --pixels ...` is `planlab latent ...` (planlab.mbrl.latent_cli) ---
    from .mbrl.latent_cli import pixels_alias

    argv = pixels_alias(sys.argv[1:] if argv is None else list(argv))
    # --- end latent ---
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "systems":
            return _cmd_systems(args)
        if hasattr(args, "func"):  # subcommands contributed by subpackages (train, ...)
            return args.func(args)
    except CLIError as exc:
        print(f"planlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
