"""Goal-conditioned 2-link reacher: can one policy reach held-out targets? Stand-alone DAgger, and the expert.

``python -m planlab.benchmarks.gps_reach [--json PATH] [--seeds N] [--first-seed S] [--rounds R] [--pairs P]
[--heldout H] [--features reach2link|reach2link_fine|raw] [--hidden 64,64] [--box-loss] [--epochs E] [--mix B] [--mix-decay D] [--noise S]
[--expert-horizon 50] [--expert-iterations 20] [--teacher] [--parts dagger,gps,speed] [--quick]``

The held-out (start, target) pairs are those of ``gps_problem("planlab/Reacher2Link-v0", seed, n_heldout=H)``
(the GPS benchmark's), success the env's (fingertip within 0.05 for the last 10 of 100 steps), the policy
alone (its mean, no planner). ``--teacher`` first runs the expert itself (:class:`~planlab.policies.gps.reach.ReachExpert`,
receding-horizon iLQR) on the same pairs. Rows: ``{algo: "reach-dagger", seed, round, heldout_success,
heldout_final_dist_median, samples, fit_rms, cpu_s, wall_s, loadavg_1min, ...}`` and ``{algo: "reach-teacher",
seed, heldout_success, ...}``. ``--quick`` checks that it runs, not how well.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

from ..policies.gps.config import GPSConfig
from ..policies.gps.global_policy import GaussianMLPPolicy, GlobalPolicyConfig
from ..policies.gps.reach import ReachExpert, reach_dagger
from ..policies.gps.tasks import build_gps, gps_problem, reach_success
from .common import write_row
from .gps import bench_speed

TASK = "planlab/Reacher2Link-v0"


def teacher_success(dynamics, expert: ReachExpert, starts, goals, steps: int = 100) -> dict:
    """The expert alone in closed loop from every (start, goal): success rate, median final distance, times."""
    c0, w0, load = time.process_time(), time.perf_counter(), os.getloadavg()[0]
    X = np.empty((len(starts), steps + 1, 4))
    for j, (x0, g) in enumerate(zip(starts, goals)):
        expert.start(x0, g)
        X[j, 0] = x0
        for t in range(steps):
            X[j, t + 1] = dynamics.step(X[j, t], expert.act(X[j, t]))
    ok = reach_success(dynamics.params.l1, dynamics.params.l2, 0.05, 10)(X, goals)
    dist = np.linalg.norm(dynamics.fingertip(X[:, -1]) - goals, axis=1)
    return {"heldout_success": float(ok.mean()), "heldout_final_dist_median": float(np.median(dist)),
            "failed": [int(j) for j in np.flatnonzero(~ok)], "cpu_s": time.process_time() - c0,
            "wall_s": time.perf_counter() - w0, "loadavg_1min": load}


def make_policy(features: str, hidden: tuple, seed: int, epochs: int, dynamics, box_loss: bool = False) -> GaussianMLPPolicy:
    """A goal-conditioned policy (obs = state + target): ``reach2link`` features or the raw input with (sin, cos)."""
    fm = {"angle_indices": (0, 1)} if features == "raw" else {"feature_map": features}
    cfg = GlobalPolicyConfig(hidden=hidden, seed=seed, epochs=epochs, optimizer="adam", box_loss=box_loss, **fm)
    return GaussianMLPPolicy(6, 2, cfg, action_low=dynamics.action_low, action_high=dynamics.action_high)


def run_gps(seed: int, a, fh, hidden: tuple) -> None:
    """GPS on the reacher with the pieces the DAgger runs measured: goal-relative features, :class:`ReachExpert`
    relabelling the policy's visits from ``--fresh`` new (start, target) pairs (and the training conditions) per
    iteration, the expert's terminal weights in every condition's cost; one row per iteration."""
    c0, w0 = time.process_time(), time.perf_counter()
    weights = {"w_pos_final": a.expert_w_pos_final, "w_vel_final": a.expert_w_vel_final}
    prob = gps_problem(TASK, seed, n_train=2 if a.quick else a.conditions, n_heldout=2 if a.quick else a.heldout,
                       n_pool=(2 if a.quick else a.fresh) * a.iterations, reach_weights=weights, pool_nominal=False)
    dyn = prob.dynamics
    expert = ReachExpert(dyn, a.expert_horizon, 2 if a.quick else a.expert_iterations, **weights)
    fm = {"angle_indices": (0, 1)} if a.features == "raw" else {"feature_map": a.features}
    pcfg = GlobalPolicyConfig(hidden=hidden, seed=seed, epochs=2 if a.quick else a.epochs, optimizer="adam",
                              box_loss=a.box_loss, **fm)
    cfg = GPSConfig(iterations=a.iterations, horizon=prob.horizon, samples=2 if a.quick else 5, seed=seed, policy=pcfg,
                    augment=0, clip_targets=True, relabel_rollouts=1, relabel_fresh=2 if a.quick else a.fresh,
                    relabel_mix=a.mix, relabel_mix_decay=a.mix_decay, relabel_noise=a.noise, relabel_precision="unit",
                    relabel_local_weight=a.local_weight, weighting="normalized")
    gps = build_gps(prob, cfg, None if a.out is None else f"{a.out}/seed{seed}", relabel_expert=expert.visits)
    build = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}
    print(f"reach gps seed {seed}: problem built in {build['cpu_s']:.1f} CPU s", flush=True)
    while gps.iteration < a.iterations:
        c0, load0 = time.process_time(), os.getloadavg()[0]
        r = gps.step()
        dist = np.linalg.norm(dyn.fingertip(gps.evaluate()["states"][:, -1]) - prob.heldout_inputs, axis=1)
        row = {"algo": "gps", "task": TASK, "seed": seed, "iteration": gps.iteration, "success_rate": r["heldout_success"],
               "heldout": len(prob.heldout), "heldout_final_dist_median": float(np.median(dist)),
               "train_success": r["train_success"], "fit_rms": r["fit_rms"], "status": r["status"], "issues": r["issues"],
               "statuses": r["statuses"], "relabelled": r["relabelled"], "conditions": len(prob.train), "fresh": cfg.relabel_fresh,
               "features": a.features, "hidden": list(hidden), "local_weight": a.local_weight, "box_loss": a.box_loss, "cpu_s": time.process_time() - c0,
               "wall_s": r["wall_s"], "loadavg_1min_start": load0, "loadavg_1min": os.getloadavg()[0], "build": build}
        write_row(fh, row)
        print(f"reach gps seed {seed} it {gps.iteration:2d}: held-out success {row['success_rate']:.2f}  median final dist "
              f"{row['heldout_final_dist_median']:.3f}  train {row['train_success']:.2f}  fit RMS {row['fit_rms']:.3f}  "
              f"status {row['status']}  {row['cpu_s']:.1f} CPU s  {row['wall_s']:.1f} wall s  load {row['loadavg_1min']:.1f}",
              flush=True)
    if a.save:
        gps.policy.save(f"{a.save}-seed{seed}.pt")
    speed = bench_speed(gps.policy, a.quick, TASK)
    write_row(fh, {"algo": "speed", "task": TASK, "seed": seed, "features": a.features, "hidden": list(hidden), **speed})
    print(f"reach gps seed {seed}: policy action {speed['policy_us_per_action']:.2f} us wall "
          f"({speed['policy_cpu_us_per_action']:.2f} us CPU), iLQR MPC step {speed['mpc_ms_per_step']:.3f} ms, "
          f"load {speed['loadavg_1min']:.1f}", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m planlab.benchmarks.gps_reach", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", default=None, help="append JSON rows to this file")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=8, help="DAgger rounds after the expert's own round")
    p.add_argument("--pairs", type=int, default=40, help="new (start, target) pairs per round")
    p.add_argument("--heldout", type=int, default=20, help="held-out pairs (the GPS problem's)")
    p.add_argument("--features", default="reach2link", choices=["reach2link", "reach2link_fine", "raw"])
    p.add_argument("--hidden", default="64,64")
    p.add_argument("--box-loss", action="store_true", help="GlobalPolicyConfig.box_loss: labels on the torque bound met by any output beyond it")
    p.add_argument("--epochs", type=int, default=30, help="Adam epochs per refit")
    p.add_argument("--mix", type=float, default=0.5)
    p.add_argument("--mix-decay", type=float, default=0.5)
    p.add_argument("--noise", type=float, default=0.3)
    p.add_argument("--expert-horizon", type=int, default=50)
    p.add_argument("--expert-iterations", type=int, default=20)
    p.add_argument("--expert-w-pos-final", type=float, default=300.0)
    p.add_argument("--expert-w-vel-final", type=float, default=30.0)
    p.add_argument("--teacher", action="store_true", help="first run the expert itself on the held-out pairs")
    p.add_argument("--parts", default="dagger", help="dagger (stand-alone DAgger), gps (the GPS loop), speed (the policy's compiled action)")
    p.add_argument("--iterations", type=int, default=10, help="GPS iterations")
    p.add_argument("--conditions", type=int, default=8, help="GPS training (start, target) conditions")
    p.add_argument("--fresh", type=int, default=40, help="GPS: fresh pairs relabelled per iteration")
    p.add_argument("--local-weight", type=float, default=0.0, help="GPS: factor on the local samples once relabelled data exist")
    p.add_argument("--out", default=None, help="GPS checkpoint directory (resumes)")
    p.add_argument("--save", default=None, help="GPS: save the final policy to PREFIX-seedS.pt")
    a = p.parse_args(argv)
    if a.quick:
        a.iterations = 1
    torch.set_num_threads(1)
    hidden = tuple(int(h) for h in a.hidden.split(","))
    fh = open(a.json, "a") if a.json else None
    try:
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            prob = gps_problem(TASK, seed, n_train=1, n_heldout=2 if a.quick else a.heldout)
            dyn = prob.dynamics
            expert = ReachExpert(dyn, a.expert_horizon, 2 if a.quick else a.expert_iterations, a.expert_w_pos_final,
                                 a.expert_w_vel_final)
            if a.teacher:
                row = {"algo": "reach-teacher", "task": TASK, "seed": seed, "heldout": len(prob.heldout),
                       "expert_horizon": a.expert_horizon, "expert_iterations": a.expert_iterations,
                       **teacher_success(dyn, expert, prob.heldout, prob.heldout_inputs, 5 if a.quick else 100)}
                write_row(fh, row)
                print(f"teacher seed {seed}: held-out success {row['heldout_success']:.2f}  median final dist "
                      f"{row['heldout_final_dist_median']:.3f}  {row['cpu_s']:.1f} CPU s  {row['wall_s']:.1f} wall s  "
                      f"load {row['loadavg_1min']:.1f}", flush=True)
            if "speed" in a.parts.split(","):  # the forward pass's cost does not depend on the weights' values
                pol = make_policy(a.features, hidden, seed, 1, dyn, a.box_loss)
                row = {"algo": "speed", "task": TASK, "features": a.features, "hidden": list(hidden),
                       **bench_speed(pol, a.quick, TASK)}
                write_row(fh, row)
                print(f"speed {a.features} {a.hidden}: policy action {row['policy_us_per_action']:.2f} us wall "
                      f"({row['policy_cpu_us_per_action']:.2f} us CPU), numpy {row['policy_numpy_us_per_action']:.1f} us, "
                      f"iLQR MPC step {row['mpc_ms_per_step']:.3f} ms, load {row['loadavg_1min']:.1f}", flush=True)
            if "gps" in a.parts.split(","):
                run_gps(seed, a, fh, hidden)
            if "dagger" not in a.parts.split(","):
                continue
            pi = make_policy(a.features, hidden, seed, a.epochs, dyn, a.box_loss)

            def log(r, seed=seed):
                row = {"algo": "reach-dagger", "task": TASK, "seed": seed, "features": a.features, "hidden": list(hidden),
                       "box_loss": a.box_loss,
                       "pairs": a.pairs, "heldout": len(prob.heldout), **r}
                write_row(fh, row)
                print(f"dagger seed {seed} round {r['round']}: held-out success {r['heldout_success']:.2f}  median final "
                      f"dist {r['heldout_final_dist_median']:.3f}  samples {r['samples']}  fit RMS {r['fit_rms']:.3f}  "
                      f"{r['cpu_s']:.1f} CPU s ({r['label_cpu_s']:.1f} labelling)  {r['wall_s']:.1f} wall s  "
                      f"load {r['loadavg_1min']:.1f}", flush=True)

            reach_dagger(dyn, pi, expert, (prob.heldout, prob.heldout_inputs), rounds=1 if a.quick else a.rounds,
                         pairs=2 if a.quick else a.pairs, seed=seed, mix=a.mix, mix_decay=a.mix_decay, noise=a.noise,
                         epochs=2 if a.quick else a.epochs, steps=5 if a.quick else 100, log=log)
    finally:
        if fh:
            fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
