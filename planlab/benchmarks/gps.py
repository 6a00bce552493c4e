"""Guided policy search and policy distillation: does the network alone do the job, and how fast is it?

``python -m planlab.benchmarks.gps [--json PATH] [--quick] [--seeds N] [--iterations N] [--parts gps,distill,multitask,speed]
[--task ENV] [--sampling policy|local] [--augment N] [--relabel N] [--conditions M] [--fresh N] [--horizon T] [--out DIR]
[--hidden 64,64] [--policy-epochs N]
[--uct-simulations N] [--uct-horizon H]
[--relabel-policy-warm] [--relabel-noise S] [--relabel-mix B] [--relabel-mix-decay D] [--relabel-local-weight W]
[--relabel-precision controller|unit] [--c-step-reference policy|local]``

* **gps** — mirror-descent GPS on ``planlab/CartPoleSwingup-v0`` with the model known (6 training
  initial states, 20 held-out ones; success = the pole within 0.2 rad of upright for the last 2 s, the
  global policy alone, no planner). One row per iteration and seed:
  ``{algo: "gps", task, seed, iteration, success_rate, heldout, wall_s, cpu_s, status, issues, fit_rms,
  policy_us_per_action, mpc_ms_per_step, ...}`` (``status``: the iteration's numerical health, "ok" or the codes of
  :mod:`planlab.policies.gps.health`). ``--task planlab/Reacher2Link-v0``: the goal-conditioned reacher (random
  targets; rows add ``heldout_final_dist_median``); ``--horizon`` sets its steps per episode (default 100, the
  env's limit), ``--fresh N`` relabels the policy's visits from N new (start, target) pairs per iteration.
* **speed** — one action of the trained 2x64 policy (compiled forward pass, one state, one thread;
  the numpy batch path too) against one step of the iLQR MPC it replaces (horizon 50), measured in
  the same process; the ratio is printed.
* **distill** — UCT (``--uct-simulations`` 500, ``--uct-horizon`` 100, in an MPC loop on planlab's model; with
  200 and 50 the cart drifted past the track's end in some teacher episodes; ``--uct-centre w`` plans with
  ``CartPoleCentredGymCost``) distilled into a 2x64 student on gymnasium's ``CartPole-v1`` (``--episodes`` 3
  teacher episodes, then ``--dagger`` rounds, default 4, of 3 student episodes relabelled by the teacher; visit
  targets at ``--temperature`` 0.05, nearly the teacher's argmax: at 1.0 and 1 round the students of 4 of 10
  seeds drove the cart off the track); the student runs with no search on 10 evaluation seeds. Rows
  ``{algo: "distill", task, seed, teacher_return, student_return}`` plus every return, how each failed
  episode ended (``cart``/``pole``), CPU s, wall s and the load average.
* **multitask** — one student (task code appended) from three LQR teachers of the planar double
  integrator with three different goals; rows as for distill, one per task.

``--quick`` runs every part once on tiny sizes: it checks that the benchmark runs, not how well.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import gymnasium as gym
import numpy as np
import torch

from ..core import QuadraticCost
from ..core.planning import Policy
from ..dynamics.systems.cartpole import CartPoleCentredGymCost
from ..envs.models import model_for
from ..envs.tasks import DoubleIntegratorEnv
from ..planners.mcts import UCT
from ..planners.mpc import MPC
from ..planners.trajopt import ILQR, dlqr
from ..policies.distill import DistillConfig, Distiller, PlannerTeacher
from ..policies.gps.global_policy import GaussianMLPPolicy, GlobalPolicyConfig
from ..policies.gps.local_dynamics import linearize_model
from ..policies.gps.loop import GPS, GPSConfig
from ..policies.gps.presets import PRESETS
from ..policies.gps.tasks import build_gps, gps_problem
from .common import write_row

TASK = "planlab/CartPoleSwingup-v0"

#: argparse destinations of the GPS presets' fields (planlab.policies.gps.presets; the others are named alike)
_DEST = {"relabel_rollouts": "relabel", "epochs": "policy_epochs", "normalization": "policy_normalization"}
#: the benchmark's own fixed settings, which a preset must agree with (no flag sets them)
_FIXED = {"relabel_horizon": 50, "relabel_iterations": 20}


def _preset_defaults(name: str) -> dict:
    gps, policy = PRESETS[name]
    for k, v in _FIXED.items():
        if gps.get(k, v) != v:
            raise ValueError(f"preset {name!r}: {k}={gps[k]} differs from the benchmark's fixed {v}")
    return {_DEST.get(k, k): v for k, v in {**gps, **policy}.items() if k not in _FIXED}


def _median_us(fn, x, number=2000, repeats=7):
    """Median over ``repeats`` batches of ``number`` calls: wall µs per call and CPU µs per call."""
    ts, cs = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(number):
            fn(x)
        ts.append((time.perf_counter() - t0) / number * 1e6)
        cs.append((time.process_time() - c0) / number * 1e6)
    return statistics.median(ts), statistics.median(cs)


def bench_speed(policy, quick: bool, task: str = TASK) -> dict:
    """Median µs per action of the policy (compiled, into a preallocated output, and numpy) and ms per
    iLQR MPC step on ``task``, same process; with the load average at the start (other processes share
    the CPU). A goal-conditioned policy is timed on a state with its goal appended, the MPC on that goal."""
    prob = gps_problem(task, 0, n_train=1, n_heldout=1)
    cost = prob.heldout_costs[0] if prob.heldout_costs is not None else prob.cost
    state = prob.heldout[0].copy()
    x = state if prob.heldout_inputs is None else np.concatenate([state, prob.heldout_inputs[0]])
    load = os.getloadavg()[0]
    policy.fast.warmup()
    out = np.empty(policy.action_dim)
    us, cpu_us = _median_us(lambda z: policy.fast(z, out), x, number=200 if quick else 5000, repeats=7 if quick else 31)
    us_np, _ = _median_us(policy.act, x, number=100 if quick else 2000)
    mpc = MPC(ILQR(prob.dynamics, cost, horizon=50, max_iterations=20))
    xs = state.copy()
    steps = 3 if quick else 30
    mpc.act(xs)  # compile / warm start
    for _ in range(steps):
        u = mpc.act(xs)
        xs = prob.dynamics.step(xs, u)
    ms = 1e3 * statistics.median(mpc.plan_times[1:])
    return {"policy_us_per_action": us, "policy_cpu_us_per_action": cpu_us, "policy_numpy_us_per_action": us_np,
            "mpc_ms_per_step": ms, "loadavg_1min": load}


def run_speed(quick: bool, fh) -> dict:
    """The speed rows alone, on an untrained 2x64 cart-pole policy (the cost of a forward pass does not
    depend on the weights' values)."""
    torch.set_num_threads(1)
    prob = gps_problem(TASK, 0, n_train=1, n_heldout=1)
    pi = GaussianMLPPolicy(prob.dynamics.state_dim, prob.dynamics.action_dim,
                           GlobalPolicyConfig(angle_indices=prob.angle_indices), action_low=prob.dynamics.action_low,
                           action_high=prob.dynamics.action_high)
    row = {"algo": "speed", "task": TASK, **bench_speed(pi, quick)}
    write_row(fh, row)
    print(f"policy action {row['policy_us_per_action']:.2f} us wall ({row['policy_cpu_us_per_action']:.2f} us CPU), "
          f"numpy {row['policy_numpy_us_per_action']:.1f} us, iLQR MPC step {row['mpc_ms_per_step']:.3f} ms "
          f"(x{1e3 * row['mpc_ms_per_step'] / row['policy_us_per_action']:.0f}), load average {row['loadavg_1min']:.2f}",
          flush=True)
    return row


def run_gps(seed: int, iterations: int, quick: bool, fh, task: str = TASK, sampling: str = "local",
            augment: int = 4, relabel: int = 0, conditions: int = 6, options: dict | None = None, fresh: int = 0,
            horizon: int | None = None, out_dir=None, hidden: tuple = (64, 64), policy_epochs: int | None = None,
            normalization: str = "first", stop_at: float | None = None, policy_reinit: bool = False) -> GPS:
    torch.set_num_threads(1)
    c0 = time.process_time()
    prob = gps_problem(task, seed, n_train=2 if quick else conditions, n_heldout=2 if quick else 20, horizon=horizon,
                       n_pool=fresh * iterations)
    pcfg = GlobalPolicyConfig(angle_indices=prob.angle_indices, seed=seed, optimizer=prob.policy_optimizer, hidden=hidden,
                              epochs=2 if quick else (policy_epochs or prob.policy_epochs), normalization=normalization)
    cfg = GPSConfig(iterations=iterations, horizon=prob.horizon, init_horizon=prob.init_horizon,
                    samples=2 if quick else 5, seed=seed, policy=pcfg, sampling=sampling, augment=0 if quick else augment,
                    relabel_rollouts=relabel, relabel_horizon=5 if quick else 50, relabel_iterations=2 if quick else 20,
                    relabel_fresh=fresh, clip_targets=prob.clip_targets, policy_reinit=policy_reinit, augment_max_var=prob.augment_max_var,
                    **(options or {}))
    gps = build_gps(prob, cfg, None if out_dir is None else f"{out_dir}/seed{seed}")
    print(f"gps seed {seed}: problem built in {time.process_time() - c0:.1f} CPU s", flush=True)
    speed = None
    while gps.iteration < iterations:  # a resumed run (--out) goes on from its checkpoint
        c0 = time.process_time()
        row = gps.step()
        cpu = time.process_time() - c0
        if speed is None or gps.iteration == iterations:
            speed = bench_speed(gps.policy, quick, task)
        out = {"algo": "gps", "task": task, "seed": seed, "iteration": gps.iteration,
               "success_rate": row["heldout_success"], "heldout": len(prob.heldout), "wall_s": row["wall_s"],
               "sample_cost": row["sample_cost"], "train_success": row["train_success"], "relabelled": row["relabelled"],
               "fit_rms": row["fit_rms"], "fit_rms_fitted": row["fit_rms_fitted"], "normalization": normalization, "policy_reinit": policy_reinit,
               "policy_epochs": pcfg.epochs,
               "status": row["status"], "issues": row["issues"], "horizon": cfg.horizon,
               "conditions": len(prob.train), "fresh": fresh, "cpu_s": cpu, "iteration_loadavg_1min": os.getloadavg()[0], **speed}
        if prob.heldout_inputs is not None:  # goal-conditioned: how far from its goal each held-out run ends
            tips = prob.dynamics.fingertip(gps.evaluate()["states"][:, -1])
            out["heldout_final_dist_median"] = float(np.median(np.linalg.norm(tips - prob.heldout_inputs, axis=1)))
        write_row(fh, out)
        dist = (f"held-out final dist median {out['heldout_final_dist_median']:.3f}  "
                if "heldout_final_dist_median" in out else "")  # goal-conditioned tasks only
        print(f"gps seed {seed} it {gps.iteration:2d}: held-out success {row['heldout_success']:.2f}  train "
              f"{row['train_success']:.2f}  fit RMS {row['fit_rms']:.3g} (weighted rows {row['fit_rms_fitted']:.3g})  status {row['status']}  {dist}"
              f"cost {row['heldout_cost']:.0f}  {row['wall_s']:.1f} s wall  {cpu:.1f} CPU s  "
              f"load {out['iteration_loadavg_1min']:.1f}  policy {speed['policy_us_per_action']:.1f} us  "
              f"MPC {speed['mpc_ms_per_step']:.2f} ms  (x{1e3 * speed['mpc_ms_per_step'] / speed['policy_us_per_action']:.0f})",
              flush=True)
        if stop_at is not None and row["heldout_success"] is not None and row["heldout_success"] >= stop_at:
            print(f"gps seed {seed}: held-out success {row['heldout_success']:.2f} >= {stop_at} at iteration "
                  f"{gps.iteration}; stopped (--stop-at)", flush=True)
            break
    return gps


def _end(obs, x_max: float = 2.4, theta_max: float = 12 * 2 * np.pi / 360) -> str:
    """How a CartPole-v1 episode ended, from its last observation: ``cart`` (off the track), ``pole`` (fell) or ``-``."""
    if abs(obs[0]) > x_max:
        return "cart"
    return "pole" if abs(obs[2]) > theta_max else "-"


def run_distill(seed: int, quick: bool, fh, dagger: int = 4, simulations: int = 500, horizon: int = 100,
                temperature: float = 0.05, centre: float = 0.0, episodes: int = 3) -> dict:
    """UCT on planlab's CartPole-v1 model distilled into a 2x64 student; the student alone on 10 seeds of
    gymnasium's env. ``centre`` > 0: the teacher plans with :class:`CartPoleCentredGymCost` (weight ``centre``)."""
    torch.set_num_threads(1)
    c0, w0, load0 = time.process_time(), time.perf_counter(), os.getloadavg()[0]
    horizon = 20 if quick else horizon
    dyn, cost = model_for("CartPole-v1")
    if centre > 0:
        cost = CartPoleCentredGymCost(centre, dyn.params.x_threshold)
    teacher = PlannerTeacher(MPC(UCT(dyn, cost, horizon=horizon, simulations=20 if quick else simulations, seed=seed)))
    cfg = DistillConfig(dagger_iterations=0 if quick else dagger, episodes=1 if quick else episodes,
                        max_steps=20 if quick else 500, epochs=2 if quick else 30, seed=seed, temperature=temperature)
    d = Distiller([(gym.make("CartPole-v1"), teacher)], cfg)
    d.run(progress=False)
    ev, ends = d.evaluate(0, [10_000 + 100 * seed + j for j in range(2 if quick else 10)], max_steps=20 if quick else 500,
                          final_obs=True)
    t_ret = d.history[0]["returns"][0]
    row = {"algo": "distill", "task": "CartPole-v1", "seed": seed, "dagger_rounds": cfg.dagger_iterations,
           "uct_simulations": teacher.mpc.planner.simulations, "uct_horizon": horizon, "uct_centre": centre,
           "temperature": temperature, "episodes": cfg.episodes,
           "teacher_return": float(np.mean(t_ret)), "teacher_min_return": float(np.min(t_ret)), "teacher_returns": t_ret,
           "teacher_ends": [_end(o) for o in d.history[0]["final_obs"][0]],
           "dagger_returns": [h["returns"][0] for h in d.history[1:]],
           "student_return": float(ev.mean()), "student_min_return": float(ev.min()), "student_returns": ev.tolist(),
           "student_ends": [_end(o) for o in ends], "student_500": bool(np.all(ev >= 500)) if not quick else None,
           "samples": d.history[-1]["samples"], "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0,
           "loadavg_1min": load0}
    write_row(fh, row)
    fails = [f"{r:.0f}({e})" for r, e in zip(ev, row["student_ends"]) if e != "-"]
    print(f"distill CartPole-v1 seed {seed}: teacher {' '.join(f'{r:.0f}' for r in t_ret)}  student mean {row['student_return']:.1f} "
          f"min {row['student_min_return']:.0f}  failures {' '.join(fails) or 'none'}  {row['cpu_s']:.1f} CPU s  "
          f"{row['wall_s']:.1f} wall s  load {load0:.1f}", flush=True)
    return row


class _GoalLQR(Policy):
    def __init__(self, K, goal, lo, hi):
        self.K, self.goal, self.lo, self.hi = K, goal, lo, hi

    def act(self, obs):
        return np.clip(self.K @ (np.asarray(obs, np.float64) - self.goal), self.lo, self.hi)


def run_multitask(seed: int, quick: bool, fh) -> list[dict]:
    torch.set_num_threads(1)
    goals = [np.array([1.0, -1.0, 0, 0]), np.array([-1.0, 0.5, 0, 0]), np.array([0.0, 1.0, 0, 0])]
    tasks, teachers = [], []
    for g in goals:
        env = DoubleIntegratorEnv(n=2)
        Q, R = np.r_[1.0, 1.0, 0.1, 0.1], np.r_[0.1, 0.1]
        env.cost = QuadraticCost(Q=Q, R=R, x_goal=g)
        lin = linearize_model(env.dynamics, np.zeros((2, 4)), np.zeros((1, 2)), derivatives="fd")
        K, _ = dlqr(lin.A[0], lin.B[0], np.diag(Q), np.diag(R))
        teacher = _GoalLQR(K, g, env.dynamics.action_low, env.dynamics.action_high)
        tasks.append((gym.wrappers.TimeLimit(env, 20 if quick else 100), teacher))
        teachers.append(teacher)
    cfg = DistillConfig(dagger_iterations=0 if quick else 2, episodes=1 if quick else 8, max_steps=20 if quick else 100,
                        epochs=2 if quick else 40, seed=seed)
    d = Distiller(tasks, cfg)
    d.run(progress=False)
    rows = []
    seeds = [20_000 + 100 * seed + j for j in range(2 if quick else 10)]
    for j, (env, teacher) in enumerate(tasks):
        t_ret = []
        for s in seeds:
            obs, _ = env.reset(seed=s)
            ret, done = 0.0, False
            while not done:
                obs, r, term, trunc, _ = env.step(teacher.act(obs))
                ret += r
                done = term or trunc
            t_ret.append(ret)
        s_ret = d.evaluate(j, seeds)
        row = {"algo": "distill", "task": f"DoubleIntegrator-goal{j}", "seed": seed, "teacher_return": float(np.mean(t_ret)),
               "student_return": float(s_ret.mean()), "multitask": len(tasks)}
        rows.append(row)
        write_row(fh, row)
        print(f"multitask {row['task']} seed {seed}: teacher {row['teacher_return']:.2f}  student {row['student_return']:.2f}  "
              f"(student cost / teacher cost {row['student_return'] / row['teacher_return']:.3f})", flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m planlab.benchmarks.gps", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", default=None, help="append JSON rows to this file")
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--iterations", type=int, default=15)
    p.add_argument("--parts", default="gps,distill,multitask")
    p.add_argument("--dagger", type=int, default=4, help="DAgger rounds of the CartPole-v1 distillation")
    p.add_argument("--uct-simulations", type=int, default=500, help="UCT teacher of the distillation: simulations per step")
    p.add_argument("--uct-horizon", type=int, default=100, help="UCT teacher of the distillation: search horizon")
    p.add_argument("--temperature", type=float, default=0.05, help="distillation: temperature of the UCT visit targets")
    p.add_argument("--uct-centre", type=float, default=0.0,
                   help="distillation: weight w in [0, 1) of the teacher's cart-centring cost w (x / 2.4)^2 (0: gymnasium's -1 per step)")
    p.add_argument("--episodes", type=int, default=3, help="distillation: episodes per round (teacher, then each DAgger round)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--task", default=TASK, help="GPS task: planlab/CartPoleSwingup-v0 or planlab/Reacher2Link-v0")
    p.add_argument("--sampling", default="local", choices=["policy", "local"], help="GPS samples after iteration 1")
    p.add_argument("--augment", type=int, default=4, help="GPS S-step states drawn around each sample")
    p.add_argument("--relabel", type=int, default=0, help="GPS: policy rollouts per condition labelled by an iLQR MPC")
    p.add_argument("--conditions", type=int, default=6, help="GPS training initial states")
    p.add_argument("--fresh", type=int, default=0, help="GPS reacher: fresh (start, target) conditions relabelled per iteration")
    p.add_argument("--horizon", type=int, default=None, help="GPS reacher: steps per episode (default 100, the env's limit)")
    p.add_argument("--out", default=None, help="GPS: checkpoint directory (one subdirectory per seed; resumes)")
    p.add_argument("--hidden", default="64,64", help="GPS: hidden widths of the global policy")
    p.add_argument("--policy-epochs", type=int, default=None, help="GPS: policy fit iterations (default: the task's)")
    p.add_argument("--relabel-policy-warm", action="store_true", help="GPS relabelling: expert warm-started from the policy's plan")
    p.add_argument("--relabel-noise", type=float, default=None, help="GPS relabelling: action noise std (default: the policy's)")
    p.add_argument("--relabel-mix", type=float, default=0.0, help="GPS relabelling: probability of executing the expert")
    p.add_argument("--relabel-mix-decay", type=float, default=1.0, help="GPS relabelling: the mix's factor per iteration")
    p.add_argument("--relabel-local-weight", type=float, default=1.0, help="GPS: factor on local samples once relabelled states exist")
    p.add_argument("--relabel-precision", default="controller", choices=["controller", "unit"], help="GPS: precision of relabelled states")
    p.add_argument("--c-step-reference", default="policy", choices=["policy", "local"], help="GPS C-step KL reference")
    p.add_argument("--policy-normalization", default="first", choices=["first", "refit"],
                   help="GPS: the policy's input normalisation from the first fit, or refitted at every fit")
    p.add_argument("--policy-reinit", action="store_true", help="GPS: every S-step fits a freshly initialised network")
    p.add_argument("--stop-at", type=float, default=None, help="GPS: stop a seed once its held-out success reaches this")
    p.add_argument("--preset", default=None, choices=sorted(PRESETS), help="GPS: a measured set of the options above "
                   "(flags given explicitly override it)")
    args = p.parse_args(argv)
    if args.preset:
        p.set_defaults(**_preset_defaults(args.preset))
        args = p.parse_args(argv)
    parts = set(args.parts.split(","))
    unknown = parts - {"gps", "distill", "multitask", "speed"}
    if unknown:
        print(f"--parts: expected gps, distill, multitask, speed, got {sorted(unknown)}", file=sys.stderr)
        return 2
    seeds = 1 if args.quick else args.seeds
    fh = open(args.json, "a") if args.json else None
    distill_500 = []
    try:
        if "speed" in parts:
            run_speed(args.quick, fh)
        for s in range(args.first_seed, args.first_seed + seeds):
            if "gps" in parts:
                run_gps(s, 1 if args.quick else args.iterations, args.quick, fh, args.task, args.sampling, args.augment,
                        args.relabel, args.conditions,
                        {"relabel_policy_warm": args.relabel_policy_warm, "relabel_noise": args.relabel_noise,
                         "relabel_mix": args.relabel_mix, "relabel_mix_decay": args.relabel_mix_decay,
                         "c_step_reference": args.c_step_reference, "relabel_local_weight": args.relabel_local_weight,
                         "relabel_precision": args.relabel_precision},
                        args.fresh, args.horizon, args.out, tuple(int(h) for h in args.hidden.split(",")), args.policy_epochs,
                        args.policy_normalization, args.stop_at, args.policy_reinit)
            if "distill" in parts:
                row = run_distill(s, args.quick, fh, args.dagger, args.uct_simulations, args.uct_horizon, args.temperature,
                                  args.uct_centre, args.episodes)
                distill_500.append(row["student_500"])
            if "multitask" in parts:
                run_multitask(s, args.quick, fh)
        if distill_500 and not args.quick:
            print(f"distill CartPole-v1: student 500 in all 10 evaluation episodes in {sum(distill_500)} of {len(distill_500)} seeds",
                  flush=True)
    finally:
        if fh:
            fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
