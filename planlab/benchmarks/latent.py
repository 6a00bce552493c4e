"""Benchmark: planning in latent space from pixels (the latent-model loop, Algorithm 26 / PlaNet).

``python -m planlab.benchmarks.latent [--json PATH] [--quick] [--seeds 0 1 2] [--envs pendulum cartpole]
[--minutes M] [--episodes K]``

Rows (JSON lines, ``kind`` says which):

* ``episode``: per episode of the pixel loop ``{env, seed, episode, observation: "pixels", phase,
  return, wall_s (cumulative), plan_ms_median, recon_mse, pred_mse, copy_mse, update_ms}`` and of
  the same planner (CEM, same population/iterations/elites, the same horizon in seconds, replanning
  at the same rate) on the true state and planlab's exact model, ``observation: "state"``.
  ``wall_s`` counts from the start of this invocation; ``episode_wall_s`` is the episode's own time
  (refit, acting, planning). With ``--out`` a run resumes where an earlier invocation stopped, so a
  long run can be made of several shorter ones.
* ``reward_profile`` (pendulum): after each seed's run, the learned reward next to the env's over the
  angle (``theta``, ``reward``, ``learned_reward``; zero velocity and torque, one decision).
* ``summary``: after each seed's run (and its true-state reference), the figures of the targets
  (:func:`summary_row`): the score (last 3 test episodes when ``--test-every`` gives them), the reference
  and random means, ``within_20pct``, ``gap_closed``, total CPU and wall seconds.
* ``update_step`` (``--update-timing``): CPU per training update of encoder-size / batch variants on the
  same data (:func:`update_step_rows`).
* ``plan_step``: the time of one MPC plan step in latent space: PlaNet's planner settings (CEM
  population 1000, horizon 12, 10 iterations, 100 elites) over an RSSM of PlaNet's size (200-unit
  GRU, 30-dim latent, 200-unit layers) through planlab's CEM, next to the same computation written
  as a plain batched torch loop; and planlab's default (smaller) model and planner. Wall and process
  CPU milliseconds (on a shared machine the CPU time is the closer figure to an idle machine's wall time).

Each seed's pixel run stops after ``--episodes`` episodes or before an episode that would end past
``--minutes`` of wall time (of this invocation) or ``--cpu-seconds`` of process CPU (of the whole run) if it
lasted as long as the previous one. Figures are measured, not extrapolated.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from .common import write_row

__all__ = ["main", "plan_step_rows", "reward_profile_rows", "update_step_rows", "summary_row", "over_cpu_budget", "ENVS"]

#: short name -> gymnasium id
ENVS = {"pendulum": "planlab/PendulumSwingup-v0", "cartpole": "planlab/CartPoleSwingup-v0"}


def _torch_cem(model, x0, H, N, M, iters, seed):
    """CEM over a latent model's network written as plain batched torch (the reference computation)."""
    import torch

    net = model.net
    lo = torch.tensor(model.action_low, dtype=torch.float32)
    hi = torch.tensor(model.action_high, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        s0 = torch.tensor(x0, dtype=torch.float32).expand(N, -1)
        mean = ((lo + hi) / 2).expand(H, -1).clone()
        std = ((hi - lo) / 2).expand(H, -1).clone()
        for _ in range(iters):
            A = torch.maximum(torch.minimum(mean + std * torch.randn(N, H, len(lo), generator=g), hi), lo)
            s, R = s0, torch.zeros(N)
            for t in range(H):
                R += net.reward(s, A[:, t])
                s = net.imagine(s, A[:, t])
            elite = A[torch.topk(R, M).indices]
            mean, std = elite.mean(0), elite.std(0)
    return mean.numpy()


def plan_step_rows(quick: bool, repeats: int, size: int = 64):
    """MPC-step timings (filter one frame + plan): PlaNet-size RSSM + PlaNet's CEM via planlab and via plain
    torch; planlab's default model (frames of ``size``) and the loop's default planner."""
    from ..dynamics.latent import LatentConfig, LatentDynamics
    from ..mbrl.latent import DEFAULT_PLANNER_OPTIONS, LatentLoopConfig
    from ..planners import make_planner

    planet = LatentConfig(deter=200, stoch=30, hidden=200, embed=256, depth=8) if not quick else \
        LatentConfig(deter=16, stoch=4, hidden=16, embed=16, depth=4)
    N, H, M, iters = (1000, 12, 100, 10) if not quick else (50, 4, 5, 2)
    loop = LatentLoopConfig()
    small = dataclasses.replace(LatentConfig(), image_size=size) if not quick else planet
    dflt = dict(DEFAULT_PLANNER_OPTIONS) if not quick else {"population": 20, "elites": 4, "iterations": 2}
    rows = []
    for label, cfg, opts, h in (("planet-size", planet, {"population": N, "elites": M, "iterations": iters}, H),
                                ("planlab-default", small, dflt, loop.horizon if not quick else 4)):
        frame = np.random.default_rng(0).integers(0, 256, (1, cfg.image_size, cfg.image_size), dtype=np.uint8)
        model = LatentDynamics(cfg, [-2.0], [2.0], 0.1, seed=0)
        x0 = model.observe(frame)
        planner = make_planner("cem", model, model.reward_cost(), horizon=h, seed=0, **opts)
        planner.plan(x0)
        times, cpu, step_cpu = [], [], []
        for _ in range(repeats):  # one MPC step: filter the new frame, then plan from its latent
            c0 = time.process_time()
            x0 = model.observe(frame, [0.0])
            t1, c1 = time.perf_counter(), time.process_time()
            planner.plan(x0)
            times.append(time.perf_counter() - t1)
            cpu.append(time.process_time() - c1)
            step_cpu.append(time.process_time() - c0)
        row = {"kind": "plan_step", "config": label, "deter": cfg.deter, "stoch": cfg.stoch, "hidden": cfg.hidden,
               "image_size": cfg.image_size, "horizon": h, **opts, "plan_ms_median": 1e3 * float(np.median(times)),
               "plan_cpu_ms_median": 1e3 * float(np.median(cpu)),
               "mpc_step_cpu_ms_median": 1e3 * float(np.median(step_cpu))}
        if label == "planet-size":
            _torch_cem(model, x0, h, opts["population"], opts["elites"], opts["iterations"], 0)
            tt, tc = [], []
            for r in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                _torch_cem(model, x0, h, opts["population"], opts["elites"], opts["iterations"], r)
                tt.append(time.perf_counter() - t0)
                tc.append(time.process_time() - c0)
            row["plain_torch_ms_median"] = 1e3 * float(np.median(tt))
            row["plain_torch_cpu_ms_median"] = 1e3 * float(np.median(tc))
            row["ratio_planlab_over_torch"] = row["plan_ms_median"] / row["plain_torch_ms_median"]
            row["cpu_ratio_planlab_over_torch"] = row["plan_cpu_ms_median"] / row["plain_torch_cpu_ms_median"]
        rows.append(row)
    return rows


#: (label, encoder_size, batch, recon_fraction) of :func:`update_step_rows`; 8 x 16 with a quarter decoded was
#: the loop's setting of the earlier runs, 32 x 16 with 1/16 decodes as many frames per update
UPDATE_VARIANTS = (("encoder 64, batch 8, 1/4 decoded", None, 8, 0.25),
                   ("encoder 32, batch 8, 1/4 decoded", 32, 8, 0.25),
                   ("encoder 64, batch 32, 1/16 decoded", None, 32, 0.0625),
                   ("encoder 32, batch 32, 1/16 decoded", 32, 32, 0.0625))


def update_step_rows(quick: bool, repeats: int, size: int = 64, model=None, updates: int = 10):
    """CPU per training update of :data:`UPDATE_VARIANTS` on the same random-policy pixel pendulum data.

    The variants take turns (``repeats`` rounds of ``updates`` updates each), so a change of machine load
    reaches all of them alike. ``model``: the LatentConfig (default: the small model of the loop runs,
    open-loop reward loss over 12 decisions).
    """
    from ..dynamics.latent import EpisodeBuffer, LatentConfig, LatentDynamics, LatentTrainConfig, fit_latent
    from ..dynamics.latent import make_optimizer
    from ..mbrl.latent import LatentLoopConfig, make_pixel_env

    base = model or LatentConfig(depth=8, deter=32, stoch=8, embed=64, hidden=64, reward_overshooting=12)
    env = make_pixel_env(LatentLoopConfig(image_size=size, steps=40 if quick else None))
    rng, data = np.random.default_rng(0), EpisodeBuffer(1, size, 1)
    try:
        for ep in range(2 if quick else 6):
            obs, _ = env.reset(seed=ep)
            frames, actions, rewards, done = [obs], [], [], False
            while not done:
                u = rng.uniform(-2.0, 2.0, 1)
                obs, r, terminated, truncated, _ = env.step(u.astype(np.float32))
                frames.append(obs), actions.append(u), rewards.append(r)
                done = terminated or truncated
            data.add_episode(np.stack(frames), np.array(actions), np.array(rewards))
    finally:
        env.close()
    runs = []
    for label, enc, batch, frac in UPDATE_VARIANTS[:2] if quick else UPDATE_VARIANTS:
        m = LatentDynamics(dataclasses.replace(base, image_size=size, encoder_size=enc if enc and enc < size else None),
                           [-2.0], [2.0], 0.2, seed=0)
        tc = LatentTrainConfig(steps=2 if quick else updates, batch=2 if quick else batch, length=4 if quick else 16,
                               recon_fraction=frac, progress=False)
        runs.append((label, batch, frac, m, tc, make_optimizer(m, tc), [], []))
        fit_latent(m, data, tc, optimizer=runs[-1][5])  # warm-up
    for r in range(repeats):
        for _, _, _, m, tc, opt, cpu, wall in runs:
            t0, c0 = time.perf_counter(), time.process_time()
            fit_latent(m, data, tc, optimizer=opt, seed=r + 1)
            cpu.append((time.process_time() - c0) / tc.steps)
            wall.append((time.perf_counter() - t0) / tc.steps)
    rows = []
    for label, batch, frac, m, tc, _, cpu, wall in runs:
        c = float(np.median(cpu))
        rows.append({"kind": "update_step", "config": label, "image_size": size,
                     "encoder_size": m.config.encoder_size or size, "batch": tc.batch, "length": tc.length,
                     "recon_fraction": frac, "update_cpu_ms_median": 1e3 * c, "update_ms_median": 1e3 * float(np.median(wall)),
                     "updates_per_cpu_s": 1.0 / c, "sequence_steps_per_cpu_s": tc.batch * tc.length / c})
    return rows


def reward_profile_rows(result, config, env_id, seed, angles: int = 13):
    """The learned reward against the env's over the pendulum angle (pendulum only; else no rows).

    For each angle ``theta`` in ``[-pi, pi]`` (``theta_dot = 0``): the env's reward of one decision
    with zero torque, and the model's ``r_hat`` at the latent filtered from that first frame. Tells
    whether the reward model is right near the top, where the data of early episodes seldom goes.
    """
    import torch

    from ..mbrl.latent import make_pixel_env

    if env_id != ENVS["pendulum"]:
        return []
    model, env, rows = result.model, make_pixel_env(config), []
    try:
        for th in np.linspace(-np.pi, np.pi, angles):
            obs, _ = env.reset(seed=0, options={"x0": [th, 0.0]})
            model.reset_filter()
            x = model.observe(obs)
            _, r, *_ = env.step(np.zeros(model.action_dim))
            with torch.inference_mode():
                r_hat = float(model.net.reward(torch.tensor(x[None], dtype=torch.float32),
                                               torch.zeros(1, model.action_dim)))
            rows.append({"kind": "reward_profile", "env": env_id, "seed": seed, "episodes": len(result.rows),
                         "theta": float(th), "reward": float(r), "learned_reward": r_hat})
    finally:
        env.close()
    return rows


def _state_reference(env_id, seed, episodes, loop_cfg, emit):
    """The same planner on the true state (planlab's exact model), ``episodes`` episodes."""
    import gymnasium

    from ..episodes import mpc_for_env, run_episode

    ar = loop_cfg.action_repeat
    kw = {"max_episode_steps": loop_cfg.steps} if loop_cfg.steps is not None else {}
    elapsed, returns = 0.0, []
    for ep in range(episodes):
        mpc = mpc_for_env(env_id, "cem", horizon=loop_cfg.horizon * ar, seed=seed * 1000 + ep,
                          mpc_options={"replan_every": ar}, **loop_cfg.planner_options)
        env = gymnasium.make(env_id, **kw)
        t0 = time.perf_counter()
        res = run_episode(env, mpc, seed=seed * 1000 + ep, progress=False)
        elapsed += time.perf_counter() - t0
        emit({"kind": "episode", "env": env_id, "seed": seed, "episode": ep, "observation": "state",
              "phase": "mpc", "return": res.total_return, "wall_s": elapsed, "plan_ms_median": res.plan_ms(50)})
        returns.append(res.total_return)
    return returns


def over_cpu_budget(rows, cpu_seconds) -> bool:
    """True when another episode as costly as the last would take the run's CPU seconds past ``cpu_seconds``
    (None: no budget)."""
    return cpu_seconds is not None and bool(rows) and sum(r["cpu_s"] for r in rows) + rows[-1]["cpu_s"] > cpu_seconds


def summary_row(rows, reference, env_id, seed, last: int = 3) -> dict:
    """One run's figures against the targets: ``rows`` of the pixel loop, ``reference`` the true-state returns.

    ``score`` is the mean return of the last ``last`` test episodes (no exploration noise) when the run has
    that many, else of the last ``last`` MPC episodes (``score_of`` says which). ``within_20pct``: the score
    is at most 20 % of the reference's magnitude below the reference mean; ``gap_closed``: the share of the
    gap from the run's random episodes to the reference closed by the score. Totals (``cpu_s``, ``wall_s``)
    are the rows' own, resumed parts included.
    """
    mpc = [r["return"] for r in rows if r["phase"] == "mpc"]
    tests = [r["return"] for r in rows if r["phase"] == "mpc" and r.get("test")]
    rand = [r["return"] for r in rows if r["phase"] == "random"]
    use_tests = len(tests) >= last
    pool = tests if use_tests else mpc
    out = {"kind": "summary", "env": env_id, "seed": seed, "episodes": len(rows),
           "cpu_s": float(sum(r["cpu_s"] for r in rows)), "wall_s": float(sum(r["wall_s"] for r in rows)),
           "score_of": f"last {last} test episodes" if use_tests else f"last {last} MPC episodes",
           "score": float(np.mean(pool[-last:])) if len(pool) >= last else None,
           "random_mean": float(np.mean(rand)) if rand else None,
           "reference_mean": float(np.mean(reference)) if reference else None}
    if out["score"] is not None and out["reference_mean"] is not None:
        ref = out["reference_mean"]
        out["within_20pct"] = bool(out["score"] >= ref - 0.2 * abs(ref))
        if out["random_mean"] is not None and ref != out["random_mean"]:
            out["gap_closed"] = (out["score"] - out["random_mean"]) / (ref - out["random_mean"])
    return out


def main(argv=None) -> int:
    from ..dynamics.latent import LatentConfig, LatentTrainConfig
    from ..mbrl.latent import DEFAULT_PLANNER_OPTIONS, LatentLoopConfig, run_latent_loop

    SMALL = LatentConfig(depth=8, deter=32, stoch=8, embed=64, hidden=64)  # noqa: N806

    ap = argparse.ArgumentParser(prog="python -m planlab.benchmarks.latent", description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None, help="write JSON lines here")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test; the numbers mean nothing)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--envs", nargs="+", default=["pendulum"], choices=sorted(ENVS))
    ap.add_argument("--episodes", type=int, default=30, help="MPC episodes per seed at most")
    ap.add_argument("--minutes", type=float, default=9.0, help="wall-time budget per seed and env")
    ap.add_argument("--cpu-seconds", type=float, default=None,
                    help="process-CPU budget per seed and env over the whole run, resumed parts included")
    ap.add_argument("--reference-episodes", type=int, default=3, help="true-state planner episodes per seed")
    ap.add_argument("--action-repeat", type=int, default=4, help="env steps per decision")
    ap.add_argument("--horizon", type=int, default=LatentLoopConfig().horizon, help="planning horizon in decisions")
    ap.add_argument("--updates", type=int, default=50, help="gradient updates per refit")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    ap.add_argument("--recon-fraction", type=float, default=1.0, help="share of each update's frames decoded")
    ap.add_argument("--kl-balance", type=lambda v: None if v.lower() == "none" else float(v),
                    default=LatentConfig().kl_balance, help="share of the KL gradient given to the prior; none: plain KL")
    ap.add_argument("--reward-overshooting", type=int, default=LatentConfig().reward_overshooting,
                    help="decisions of the open-loop reward loss (0: off)")
    ap.add_argument("--free-nats", type=float, default=LatentConfig().free_nats, help="KL floor per step")
    ap.add_argument("--encoder-size", type=int, default=None, choices=[32, 64],
                    help="frame size the encoder reads (32 with --size 64: a 2x2-averaged copy); default --size")
    ap.add_argument("--overshooting", type=int, default=LatentConfig().overshooting, help="latent overshooting distance")
    ap.add_argument("--exploration-noise", type=float, default=LatentLoopConfig().exploration_noise,
                    help="std of the action noise of MPC episodes, relative to the half-width of the action box")
    ap.add_argument("--test-every", type=int, default=LatentLoopConfig().test_every,
                    help="every k-th MPC episode without exploration noise (0: none)")
    ap.add_argument("--fresh-optimizer", action="store_true", help="a new Adam per refit (default: one kept)")
    ap.add_argument("--model-size", default="default", choices=["default", "small"],
                    help="default: planlab's LatentConfig(); small: depth 8, latent 8, embedding 64")
    ap.add_argument("--population", type=int, default=DEFAULT_PLANNER_OPTIONS["population"])
    ap.add_argument("--iterations", type=int, default=DEFAULT_PLANNER_OPTIONS["iterations"])
    ap.add_argument("--size", type=int, default=64, choices=[32, 64], help="image size")
    ap.add_argument("--batch", type=int, default=16, help="sequences per update")
    ap.add_argument("--length", type=int, default=16, help="transitions per sequence")
    ap.add_argument("--out", default=None, help="checkpoint directory root (resumes runs found there)")
    ap.add_argument("--skip-loop", action="store_true", help="only the plan-step timings")
    ap.add_argument("--skip-plan-step", action="store_true", help="only the learning runs")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats of each plan step")
    ap.add_argument("--update-timing", action="store_true",
                    help="also time training updates of the encoder/batch variants on the same data (update_step rows)")
    args = ap.parse_args(argv)
    fh = open(args.json, "a") if args.json else None

    def emit(row):
        write_row(fh, row)
        keys = [k for k in ("kind", "config", "env", "seed", "episode", "observation", "test", "return", "theta", "reward",
                            "learned_reward", "plan_ms_median",
                            "plan_cpu_ms_median", "mpc_step_cpu_ms_median", "plain_torch_ms_median",
                            "plain_torch_cpu_ms_median", "cpu_ratio_planlab_over_torch", "update_cpu_ms_median",
                            "update_ms_median", "updates_per_cpu_s", "sequence_steps_per_cpu_s", "score_of", "score",
                            "random_mean", "reference_mean", "within_20pct", "gap_closed", "pred_mse", "copy_mse",
                            "reward_sum_err_open", "reward_sum_bias_open", "reward_sum_err_filtered", "cpu_s",
                            "wall_s") if row.get(k) is not None]
        print("  ".join(f"{k}={row[k]:.4g}" if isinstance(row[k], float) else f"{k}={row[k]}" for k in keys),
              flush=True)

    try:
        if not args.skip_plan_step:
            for row in plan_step_rows(args.quick, 2 if args.quick else args.repeats, args.size):
                emit(row)
        if args.update_timing:
            for row in update_step_rows(args.quick, 2 if args.quick else args.repeats, args.size):
                emit(row)
        if args.skip_loop:
            return 0
        for name in args.envs:
            env_id = ENVS[name]
            for seed in args.seeds:
                if args.quick:
                    cfg = LatentLoopConfig(env_id=env_id, steps=10, episodes=1, random_episodes=1, seed=seed,
                                           model=LatentConfig(depth=4, deter=8, stoch=4, embed=16, hidden=16),
                                           train=LatentTrainConfig(steps=2, batch=2, length=4, progress=False),
                                           horizon=3, planner_options={"population": 16, "elites": 4, "iterations": 2},
                                           prediction_steps=3)
                else:
                    cfg = LatentLoopConfig(env_id=env_id, episodes=args.episodes, seed=seed, image_size=args.size,
                                           action_repeat=args.action_repeat,
                                           model=dataclasses.replace(LatentConfig() if args.model_size == "default"
                                                                     else SMALL, kl_balance=args.kl_balance,
                                                                     reward_overshooting=args.reward_overshooting,
                                                                     free_nats=args.free_nats,
                                                                     overshooting=args.overshooting,
                                                                     image_size=args.size,
                                                                     encoder_size=args.encoder_size),
                                           train=LatentTrainConfig(steps=args.updates, batch=args.batch,
                                                                   length=args.length,
                                                                   lr=args.lr, recon_fraction=args.recon_fraction,
                                                                   progress=False),
                                           keep_optimizer=not args.fresh_optimizer,
                                           exploration_noise=args.exploration_noise, test_every=args.test_every,
                                           horizon=args.horizon,
                                           planner_options={"population": args.population,
                                                            "elites": max(2, args.population // 10),
                                                            "iterations": args.iterations})
                start = time.perf_counter()
                budget = 60.0 * args.minutes
                out = None if args.out is None else f"{args.out}/{name}-seed{seed}"

                def on_row(row, env_id=env_id, seed=seed, start=start):
                    emit({"kind": "episode", "env": env_id, "seed": seed, "observation": "pixels",
                          **{k: v for k, v in row.items() if k != "wall_s"}, "episode_wall_s": row["wall_s"],
                          "wall_s": time.perf_counter() - start})

                res = run_latent_loop(cfg, out_dir=out, progress=False, callback=on_row,
                                      stop_when=lambda rows, start=start: (
                                          time.perf_counter() - start + rows[-1]["wall_s"] > budget
                                          or over_cpu_budget(rows, args.cpu_seconds)))
                for row in reward_profile_rows(res, cfg, env_id, seed, 3 if args.quick else 13):
                    emit(row)
                reference = []
                if args.reference_episodes > 0:
                    reference = _state_reference(env_id, seed, 1 if args.quick else args.reference_episodes, cfg, emit)
                emit(summary_row(res.rows, reference, env_id, seed))
    finally:
        if fh is not None:
            fh.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
