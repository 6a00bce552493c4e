"""PETS benchmark: per-MPC-step planning time of the mbrl-lib-sized configuration, and learning curves.

Usage::

    python -m planlab.benchmarks.mbrl [--json PATH] [--skip-timing] [--skip-curves]
        [--envs Pendulum-v1 planlab/CartPoleSwingup-v0] [--seeds 0 1 2] [--episodes 10]
        [--threads 1 2] [--repeats 7] [--curve-config default|mbrl-lib] [--skip-dyna]
        [--out DIR] [--stop-at-target] [--quick]

``--quick`` is a smoke run of every part on a tiny configuration (:data:`QUICK_CONFIG`, one seed,
one MPC episode of 30 steps on ``Pendulum-v1``, one thread, one repeat, one Dyna seed): it checks that the
benchmark runs, not how fast anything is.

Timing (``{config, threads, plan_ms_median, ...}`` rows): one MPC step of PETS = one ``plan`` call
of CEM through a probabilistic ensemble with TS∞ particles, from the cart-pole swing-up start,
for two configurations:

* ``mbrl-lib``: 5 members x 4 hidden layers of 200 (SiLU), 20 particles, CEM population 350,
  horizon 15, 5 iterations (mbrl-lib's PETS cart-pole configuration; mbrl-lib took 1.79 s per
  step when measured on a 2-core machine like planlab's CI);
* ``planlab-default``: the configuration ``planlab mbrl`` uses (:data:`planlab.mbrl.cli.DEFAULTS`).

``network_ms`` is the time of the network passes alone that a plan needs (horizon x iterations
passes of the ensemble on population x particles rows), measured in the same process: the rest of
``plan_ms`` is sampling, propagation, cost and CEM.

Curves (``{env, seed, episode, return, ...}`` rows): PETS with the chosen configuration on each
env and seed; the summary reports, per seed, the first MPC episode at which the mean return of
the last three MPC episodes reaches the target (``Pendulum-v1``: -200), and the wall time to it.

Dyna-Q (``{algorithm, seed, steps_to_optimal, ...}`` rows): real steps until the greedy policy's
exact value at ``planlab/GridWorld-v0``'s start is within 0.01 of the optimum, Q-learning vs
Dyna-Q with 10 planning updates per real step, 10 seeds.

The machine is shared and timings are noisy: medians over repeats are reported, and ratios are
only meaningful between rows of the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["time_configs", "run_curves", "main", "MBRL_LIB_CONFIG", "QUICK_CONFIG", "summarise_curves"]

#: mbrl-lib's PETS cart-pole configuration (Pineda et al. 2021; PETS, Chua et al. 2018)
MBRL_LIB_CONFIG = {"members": 5, "hidden": (200, 200, 200, 200), "particles": 20, "population": 350,
                   "horizon": 15, "iterations": 5}

#: a tiny configuration for ``--quick`` smoke runs (2 members of 16 x 16, 2 particles, CEM 20 x 1, horizon 5)
QUICK_CONFIG = {"members": 2, "hidden": (16, 16), "particles": 2, "population": 20, "horizon": 5, "iterations": 1}

#: absolute return targets per env: (threshold, window of MPC episodes averaged, max MPC episodes)
TARGETS = {"Pendulum-v1": (-200.0, 3, 10)}
#: relative targets: (fraction of the true-model CEM return, window, max MPC episodes). The fraction is
#: of the way from the random policy's return (episode 0) to the true model's: sign-agnostic, so it
#: reads the same for costs (negative returns) and rewards.
RELATIVE_TARGETS = {"planlab/CartPoleSwingup-v0": (0.9, 1, 15)}


def _default_config():
    from ..mbrl.cli import DEFAULTS

    return {"members": DEFAULTS["members"], "hidden": tuple(int(h) for h in DEFAULTS["hidden"].split(",")),
            "particles": DEFAULTS["particles"], "population": DEFAULTS["population"],
            "horizon": DEFAULTS["horizon"], "iterations": DEFAULTS["iterations"]}


def _config(cfg_name):
    """The configuration called ``cfg_name`` ("mbrl-lib", "quick" or the planlab default)."""
    return {"mbrl-lib": MBRL_LIB_CONFIG, "quick": QUICK_CONFIG}.get(cfg_name) or _default_config()


def _planner_options(cfg):
    """CEM options of a configuration: population, iterations and mbrl-lib's elite ratio 0.1."""
    return {"population": cfg["population"], "iterations": cfg["iterations"],
            "elites": max(2, cfg["population"] // 10)}


def _trained_model(env_id, cfg, threads, seed=0):
    """A PETS model of ``env_id`` trained briefly on random transitions (timing needs realistic weights)."""
    from ..dynamics.learned import ModelConfig, TrainConfig, TransitionBuffer, fit, for_model
    from ..envs.models import model_for

    dyn, cost = model_for(env_id)
    model = for_model(dyn, ModelConfig(members=cfg["members"], hidden=cfg["hidden"], particles=cfg["particles"]),
                      seed=seed, threads=threads)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, dyn.state_dim))
    u = rng.uniform(dyn.action_low, dyn.action_high, size=(400, dyn.action_dim))
    buf = TransitionBuffer(dyn.state_dim, dyn.action_dim)
    buf.add_batch(x, u, -cost.running(x, u), dyn.step(x, u))
    fit(model, buf, TrainConfig(epochs=2, progress=False), seed=seed)
    return model, cost


def _network_ms(model, rows, repeats):
    """Median time of the network pass alone (planlab's chunked ``baddbmm`` layers, no input
    normalisation, sampling, gathers or cost) on ``rows`` particles, as one step of a plan runs it."""
    import torch

    ws, bs = model._prop_params()
    z = torch.randn(ws[0].shape[0], -(-rows // ws[0].shape[0]), ws[0].shape[1])
    times = []
    with torch.inference_mode():
        for _ in range(repeats + 2):
            t0 = time.perf_counter()
            model.net(z, ws, bs)
            times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times[2:])


def _time_one(name, cfg, threads, repeats, env_id):
    """One timing row, measured in this process (call it in a fresh process: see time_configs)."""
    import torch

    torch.set_num_threads(threads)  # before any torch op (see planlab.dynamics.learned.torch_threads)
    from ..planners import make_planner

    model, cost = _trained_model(env_id, cfg, threads)
    pop, iters = cfg["population"], cfg["iterations"]
    x0 = np.array([0.0, 0.0, np.pi, 0.0])
    planner = make_planner("cem", model, cost, horizon=cfg["horizon"], seed=0, **_planner_options(cfg))
    planner.plan(x0)  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        planner.plan(x0)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    steps = cfg["horizon"] * iters  # network calls per plan (one per horizon step per iteration)
    network_ms = steps * _network_ms(model, pop * model.particles_for(pop), 5 * repeats)
    return {"config": name, "planner": "cem", "threads": threads, "members": cfg["members"],
            "hidden": list(cfg["hidden"]), "particles": cfg["particles"], "population": pop,
            "horizon": cfg["horizon"], "iterations": iters,
            "plan_ms_median": 1e3 * statistics.median(wall), "plan_ms_min": 1e3 * min(wall),
            "cpu_ms_median": 1e3 * statistics.median(cpu), "repeats": repeats, "network_ms": network_ms,
            "particle_steps": pop * cfg["particles"] * cfg["horizon"] * iters, "torch": torch.__version__}


def time_configs(configs, threads_list=(1, 2), repeats=7, env_id="planlab/CartPoleSwingup-v0", emit=None):
    """Median wall time of one PETS MPC step (a ``plan`` call) per configuration and thread count.

    Each (configuration, threads) pair runs in a fresh Python process: torch's thread count is
    process-wide and changing it after torch has run leaves spinning worker threads.
    """
    import subprocess

    rows = []
    for name in configs:
        for threads in threads_list:
            cmd = [sys.executable, "-m", "planlab.benchmarks.mbrl", "--timing-child", name, str(threads),
                   str(repeats), env_id]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"timing child failed ({name}, threads={threads}):\n{proc.stderr[-2000:]}")
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(row)
            if emit:
                emit(row)
    return rows


def run_curves(envs, seeds, episodes, cfg_name="default", emit=None, out_root=None, stop_at_target=False,
               references=None, episode_steps=None):
    """PETS learning curves; returns rows ``{env, seed, episode, return, ...}``.

    With ``stop_at_target`` a run ends at the first MPC episode that meets the env's target (see
    :func:`summarise_curves`; relative targets need ``references`` from :func:`true_model_returns`).
    ``episode_steps`` shortens every episode (None: the env's time limit).
    """
    from ..dynamics.learned import TrainConfig
    from ..mbrl import MBRLConfig, model_config, run_mbrl_loop
    from ..mbrl.cli import DEFAULTS

    cfg = _config(cfg_name)
    planner, opts = _curve_planner(cfg)
    rows = []
    for env_id in envs:
        for seed in seeds:
            config = MBRLConfig(env_id=env_id, episodes=episodes, random_episodes=DEFAULTS["random_episodes"],
                                model=model_config("ensemble", members=cfg["members"], hidden=cfg["hidden"],
                                                   particles=cfg["particles"]),
                                train=TrainConfig(epochs=DEFAULTS["epochs"], progress=False), planner=planner,
                                horizon=cfg["horizon"], planner_options=opts, seed=seed, steps=episode_steps)
            out = None if out_root is None else Path(out_root) / f"{env_id.replace('/', '_')}-{cfg_name}-seed{seed}"

            def tag(row, elapsed, env_id=env_id, seed=seed):
                return {"env": env_id, "seed": seed, "config": cfg_name, "planner": planner, **row, "elapsed_s": elapsed}

            def tagged(loop_rows):
                out_rows, elapsed = [], 0.0
                for row in loop_rows:
                    elapsed += row["wall_s"]
                    out_rows.append(tag(row, elapsed))
                return out_rows

            def cb(row, env_id=env_id, seed=seed):
                done = [r for r in rows if (r["env"], r["seed"]) == (env_id, seed)]
                rows.append(tag(row, (done[-1]["elapsed_s"] if done else 0.0) + row["wall_s"]))
                if emit:
                    emit(rows[-1])

            def reached(loop_rows):
                return summarise_curves(tagged(loop_rows), references)[0]["reached_at_episode"] is not None

            n_before = len(rows)
            result = run_mbrl_loop(config, out_dir=out, progress=False, callback=cb,
                                   stop_when=reached if stop_at_target else None)
            if result.resumed_from:  # rows of a checkpointed run: reported (not re-emitted) with fresh ones
                rows[n_before:] = tagged(result.rows)
    return rows


def true_model_returns(env_id, seeds, cfg_name="default", episodes=1, random_episodes=1, episode_steps=None):
    """Return of the same planner (and options) with planlab's exact model, from the same reset
    states as the PETS run's MPC episodes: ``{seed: {episode: return}}`` (the reference)."""
    import gymnasium

    from ..envs.models import model_for
    from ..mbrl.loop import _seed
    from ..episodes import run_episode
    from ..planners import MPC, make_planner

    cfg = _config(cfg_name)
    planner, opts = _curve_planner(cfg)
    out = {}
    for seed in seeds:
        out[seed] = {}
        for ep in range(random_episodes, random_episodes + episodes):
            dyn, cost = model_for(env_id)
            p = make_planner(planner, dyn, cost, horizon=cfg["horizon"], seed=_seed(seed, 4, ep), **opts)
            env = gymnasium.make(env_id)
            out[seed][ep] = run_episode(env, MPC(p), seed=_seed(seed, 5, ep), steps=episode_steps).total_return
    return out


def _curve_planner(cfg):
    return "cem", _planner_options(cfg)


def summarise_curves(rows, references=None):
    """Per (env, seed): first MPC episode whose trailing mean reaches the target, and the wall time to it."""
    out = []
    keys = sorted({(r["env"], r["seed"], r.get("config", "default")) for r in rows})
    for env_id, seed, cfg in keys:
        rs = [r for r in rows if (r["env"], r["seed"], r.get("config", "default")) == (env_id, seed, cfg)]
        mpc = [r for r in rs if r["phase"] == "mpc"]
        thr, win, max_ep = TARGETS.get(env_id, (None, 3, None))
        ref_eps = (references or {}).get(env_id, {}).get(seed) or {}
        ref = float(np.mean(list(ref_eps.values()))) if ref_eps else None
        rel = RELATIVE_TARGETS.get(env_id)
        random_ret = next((r["return"] for r in rs if r["phase"] == "random"), None)
        if thr is None and rel is not None and ref is not None and random_ret is not None:
            frac, win, max_ep = rel
            thr = random_ret + frac * (ref - random_ret)
        hit = None
        if thr is not None:
            for i in range(len(mpc)):
                window = [m["return"] for m in mpc[max(0, i - win + 1): i + 1]]
                if len(window) == win and np.mean(window) >= thr:
                    hit = i + 1
                    break
        out.append({"env": env_id, "seed": seed, "config": cfg, "mpc_episodes": len(mpc),
                    "best_return": max((m["return"] for m in mpc), default=None),
                    "last3_mean": float(np.mean([m["return"] for m in mpc[-3:]])) if mpc else None,
                    "target": thr, "true_model_return_mean": ref, "random_return": random_ret,
                    "true_model_last3_mean": (float(np.mean([ref_eps[m["episode"]] for m in mpc[-3:]]))
                                              if mpc and ref_eps and all(m["episode"] in ref_eps for m in mpc[-3:])
                                              else None),
                    "reached_at_episode": hit,
                    "met": (hit is not None and hit <= max_ep) if thr is not None else None,
                    "wall_s_to_target": next((m["elapsed_s"] for m in mpc[hit - 1: hit]), None) if hit else None,
                    "plan_ms_median": float(np.median([m["plan_ms_median"] for m in mpc])) if mpc else None})
        if rel is not None and ref is not None:
            # the literal reading for costs: an episode cost at most the true model's / fraction
            # (a return of at least ref / 0.9 when returns are negative, 0.9 ref when positive)
            strict = ref / rel[0] if ref < 0 else rel[0] * ref
            out[-1]["strict_target"] = strict
            out[-1]["strict_reached_at_episode"] = next(
                (i + 1 for i, m in enumerate(mpc) if m["return"] >= strict), None)
    return out


def dyna_comparison(seeds=range(10), steps=6000, planning_steps=10, gamma=0.99, tol=0.01, emit=None):
    """Real steps until the greedy policy's exact value at the gridworld's start is within ``tol`` of
    optimal: Q-learning vs Dyna-Q (Sutton 1991), same alpha = 0.1, epsilon = 0.1 (capped at ``steps``)."""
    import gymnasium

    from ..dynamics.systems.gridworld import transition_table, value_iteration
    from ..mbrl.dyna import DynaQ, QLearning, policy_value, run_tabular

    env = gymnasium.make("planlab/GridWorld-v0")
    world = env.unwrapped.dynamics
    cells, P, R, terminal = transition_table(world)
    v_star = float(value_iteration(world, gamma).V[world.start])
    s0 = cells.index(world.start)
    rows = []
    agents = {"q-learning": lambda s: QLearning(len(cells), 4, alpha=0.1, gamma=gamma, epsilon=0.1, seed=s),
              f"dyna-q(K={planning_steps})": lambda s: DynaQ(len(cells), 4, planning_steps=planning_steps, alpha=0.1,
                                                           gamma=gamma, epsilon=0.1, seed=s)}
    for name, make in agents.items():
        for seed in seeds:
            t0 = time.perf_counter()
            run = run_tabular(make(seed), env, steps, seed=seed, eval_every=20, target=v_star - tol,
                              eval_fn=lambda ag: policy_value(P, R, terminal, ag.greedy_policy(), gamma)[s0])
            row = {"algorithm": name, "seed": seed, "steps_to_optimal": run.steps_to_target, "v_star": v_star,
                   "final_value": run.final_value, "cap": steps, "wall_s": time.perf_counter() - t0}
            rows.append(row)
            if emit:
                emit(row)
    return rows


def main(argv=None) -> int:
    """Run this benchmark from the command line (`--help` lists its options); returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m planlab.benchmarks.mbrl", description=__doc__.splitlines()[0])
    p.add_argument("--json", default=None, help="write JSON rows (one per line, flushed as they complete)")
    p.add_argument("--skip-timing", action="store_true")
    p.add_argument("--skip-curves", action="store_true")
    p.add_argument("--skip-dyna", action="store_true")
    p.add_argument("--envs", nargs="+", default=["Pendulum-v1", "planlab/CartPoleSwingup-v0"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--episodes", type=int, default=10, help="MPC episodes per run (after the random ones)")
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--curve-config", default="default", choices=["default", "mbrl-lib", "quick"])
    p.add_argument("--out", default=None, help="checkpoint root for the curve runs (resumable)")
    p.add_argument("--stop-at-target", action="store_true",
                   help="end each curve run once it meets its env's target (time-to-target runs)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny configuration, Pendulum-v1, 1 seed, 1 episode, 1 thread, 1 repeat")
    # (Dyna-Q runs on planlab/GridWorld-v0 unless --skip-dyna)
    p.add_argument("--timing-child", nargs=4, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    import planlab.envs  # noqa: F401  (registers planlab ids)

    if args.timing_child:
        name, threads, repeats, env_id = args.timing_child
        cfg = {"mbrl-lib": MBRL_LIB_CONFIG, "planlab-default": _default_config(), "quick": QUICK_CONFIG}[name]
        print(json.dumps(_time_one(name, cfg, int(threads), int(repeats), env_id)))
        return 0
    from .common import to_json_line, write_row

    dyna_options, episode_steps = {}, None
    if args.quick:
        args.envs, args.seeds, args.episodes, args.threads, args.repeats = ["Pendulum-v1"], [0], 1, [1], 1
        args.curve_config = "quick"
        dyna_options, episode_steps = {"seeds": range(1), "steps": 200}, 30

    fh = open(args.json, "a") if args.json else None

    def emit(row):
        write_row(fh, row)

    try:
        if not args.skip_timing:
            configs = ({"quick": QUICK_CONFIG} if args.quick
                       else {"mbrl-lib": MBRL_LIB_CONFIG, "planlab-default": _default_config()})
            print("PETS planning time per MPC step (median of %d; shared machine, noisy)" % args.repeats)
            print(f"{'config':<16} {'planner':<13} {'threads':>7} {'plan_ms':>9} {'cpu_ms':>9} {'network_ms':>10} "
                  f"{'vs mbrl-lib 1790 ms':>20}")

            def emit_t(row):
                emit(row)
                print(f"{row['config']:<16} {row['planner']:<13} {row['threads']:>7d} {row['plan_ms_median']:>9.1f} "
                      f"{row['cpu_ms_median']:>9.1f} {row['network_ms']:>10.1f} {row['plan_ms_median'] / 1790:>19.2f}x",
                      flush=True)

            time_configs(configs, args.threads, args.repeats, emit=emit_t)
        if not args.skip_dyna:
            print("\nDyna-Q vs Q-learning on planlab/GridWorld-v0: real steps until the greedy policy is optimal "
                  "(exact value at the start within 0.01; capped at 6000)")
            drows = dyna_comparison(emit=emit, **dyna_options)
            for name in dict.fromkeys(r["algorithm"] for r in drows):
                st = [r["steps_to_optimal"] if r["steps_to_optimal"] is not None else r["cap"]
                      for r in drows if r["algorithm"] == name]
                miss = sum(r["steps_to_optimal"] is None for r in drows if r["algorithm"] == name)
                print(f"{name:<16} median {statistics.median(st):>7.0f}  per seed {st}  (not reached: {miss})",
                      flush=True)
        if not args.skip_curves:
            print(f"\nPETS learning curves ({args.curve_config} configuration)")
            print(f"{'env':<28} {'seed':>4} {'episode':>7} {'phase':>6} {'return':>9} {'plan_ms':>8} {'elapsed_s':>9}")

            def emit_c(row):
                emit(row)
                pm = row["plan_ms_median"]
                print(f"{row['env']:<28} {row['seed']:>4d} {row['episode']:>7d} {row['phase']:>6} {row['return']:>9.1f} "
                      f"{(pm if pm is not None else float('nan')):>8.1f} {row['elapsed_s']:>9.1f}", flush=True)

            refs = {}
            from ..mbrl.cli import DEFAULTS

            for env_id in args.envs:  # the same planner with the exact model, from the same starts
                refs[env_id] = true_model_returns(env_id, args.seeds, args.curve_config, args.episodes,
                                                  DEFAULTS["random_episodes"], episode_steps)
                for seed, per_ep in refs[env_id].items():
                    for ep, ret in per_ep.items():
                        emit({"env": env_id, "seed": seed, "episode": ep, "reference": "true-model", "return": ret})
                    print(f"{env_id:<28} {seed:>4d} true-model returns "
                          f"{[round(v, 1) for v in per_ep.values()]}", flush=True)
            rows = run_curves(args.envs, args.seeds, args.episodes, args.curve_config, emit=emit_c, out_root=args.out,
                              stop_at_target=args.stop_at_target, references=refs, episode_steps=episode_steps)
            print("\nsummary (Pendulum-v1: trailing mean of 3 MPC episodes >= -200 within 10; CartPoleSwingup: "
                  "90% of the way from the random to the true-model CEM return within 15)")
            for s in summarise_curves(rows, refs):
                emit({"summary": True, **s})
                print(to_json_line(s))
    finally:
        if fh:
            fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
