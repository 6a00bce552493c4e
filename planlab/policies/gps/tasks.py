"""Ready-made GPS problems on planlab's envs: the system, cost, training and held-out initial states.

``planlab/CartPoleSwingup-v0``: initial states drawn by the env (the pole down, ±0.05 on every
component); success = the pole within 0.2 rad of upright for the last 2 s (40 steps) of a 5 s (100
step) episode, run by the global policy alone. The policy is fitted by full-batch L-BFGS (300
iterations): on this task's iLQR samples, 100 epochs of Adam left a policy that never swung up, while
L-BFGS reproduced the swing-up from about half of the held-out starts before any GPS iteration.

``planlab/Reacher2Link-v0`` (goal-conditioned): starts drawn by the env (both joints uniform in
``[-π, π]``, at rest), targets uniform in the annulus ``0.6 ≤ r ≤ 1.8`` around the shoulder (the arm
reaches 2.0); the target ``(x, y)`` is appended to the policy input and each condition has its own
:class:`~planlab.dynamics.systems.two_link_arm.ReachCost`. Success = the env's: the fingertip within
0.05 of the target for the last 10 steps of a 2 s (100 step) episode. Each condition's iLQR starts from
:func:`reach_warm_start` (the better of the two elbow solutions); S-step labels are clipped to the torque
box and augmentation states drawn with each state variance capped at 0.1: with neither, a C-step
controller whose state marginal diverged under its linear model (variance 3.6e5 at iteration 4) gave
augmentation states hundreds of radians away, labels of thousands through its gains, and a fit whose RMS
error went 0.85 → 44.5 → 4e53. Within 100 steps (torque ≤ 2) one iLQR plan per pair reaches 0.84 of 100
held-out (start, target) pairs (0.85–0.89 with larger terminal weights); the receding-horizon
:class:`~planlab.policies.gps.reach.ReachExpert` reaches 100 of 100 (``reach_weights`` gives the conditions
its cost, ``pool_nominal=False`` a pool for an expert that warm starts itself).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import gymnasium as gym
import numpy as np

from ...dynamics.systems.two_link_arm import ReachCost
from ...envs.registration import register_envs
from ...planners.trajopt.ilqr import ILQR
from .loop import GPS, GPSConfig
from .support import hold_success

__all__ = ["GPSProblem", "gps_problem", "build_gps", "reach_success", "reach_warm_start", "reach_pairs", "GPS_TASKS"]

GPS_TASKS = ("planlab/CartPoleSwingup-v0", "planlab/Reacher2Link-v0")


class GPSProblem(NamedTuple):
    """Everything :class:`~planlab.policies.gps.loop.GPS` needs for one task and seed."""

    env_id: str
    dynamics: object
    cost: object
    train: np.ndarray  # (M, nx)
    heldout: np.ndarray  # (H, nx)
    success: object
    angle_indices: tuple
    horizon: int
    init_horizon: int
    policy_optimizer: str = "lbfgs"  # full-batch L-BFGS imitated the swing-up far better than Adam here
    policy_epochs: int = 300
    train_costs: object = None  # goal-conditioned tasks: one cost per condition, and the goal as policy input
    heldout_costs: object = None
    train_inputs: np.ndarray | None = None  # (M, k)
    heldout_inputs: np.ndarray | None = None  # (H, k)
    train_warm: np.ndarray | None = None  # (M, T, nu): iLQR warm starts of the training conditions
    clip_targets: bool = False  # GPSConfig settings this task needs (see the module docstring)
    augment_max_var: float | None = None
    pool: tuple | None = None  # (starts, costs, inputs, nominal): fresh conditions for GPSConfig.relabel_fresh


def _starts(env, n, seed):
    return np.stack([env.reset(seed=int(seed) * 100_000 + j)[0] for j in range(n)])


def gps_problem(env_id: str, seed: int = 0, n_train: int = 6, n_heldout: int = 20, horizon: int | None = None,
                n_pool: int = 0, reach_weights: dict | None = None, pool_nominal: bool = True) -> GPSProblem:
    """The problem of ``env_id`` (one of :data:`GPS_TASKS`); training, held-out and pool starts never overlap.
    ``horizon``: the reacher's steps per trajectory (default 100, the env's time limit); ``n_pool``: the
    reacher's further (start, target) conditions for relabelling, with their iLQR plans as nominal actions
    (``pool_nominal=False``: without, for an expert that warm starts itself); ``reach_weights``: keyword
    weights of every condition's :class:`ReachCost` (e.g. ``{"w_pos_final": 300, "w_vel_final": 30}``, the
    terminal weights of :class:`~planlab.policies.gps.reach.ReachExpert`; default the env's). Success is the
    env's either way."""
    if env_id not in GPS_TASKS:
        raise ValueError(f"env: expected one of {GPS_TASKS} for GPS, got {env_id!r}")
    register_envs()
    env = gym.make(env_id).unwrapped
    if env_id == "planlab/Reacher2Link-v0":
        return _reacher(env, seed, n_train, n_heldout, 100 if horizon is None else int(horizon), n_pool,
                        dict(reach_weights or {}), pool_nominal)
    train = _starts(env, n_train, 2 * seed)
    held = _starts(env, n_heldout, 2 * seed + 1)
    return GPSProblem(env_id, env.dynamics, env.cost, train, held, hold_success(index=2, tol=0.2, steps=40),
                      (2,), 100, 60)


def _targets(n, seed):
    rng = np.random.default_rng([int(seed), 7])
    r, a = rng.uniform(0.6, 1.8, n), rng.uniform(-np.pi, np.pi, n)
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def reach_pairs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (start (4,), target (2,)) pairs drawn as the reacher problem draws them: starts by the env
    (``reset(seed=seed · 100000 + j)``), targets uniform in the annulus ``0.6 ≤ r ≤ 1.8``."""
    if int(n) < 1:
        raise ValueError(f"n: expected an integer >= 1, got {n}")
    register_envs()
    return _starts(gym.make("planlab/Reacher2Link-v0").unwrapped, int(n), seed), _targets(int(n), seed)


def reach_success(l1: float = 1.0, l2: float = 1.0, radius: float = 0.05, steps: int = 10):
    """``success(states (N, T + 1, 4), targets (N, 2)) -> (N,)``: fingertip within ``radius`` for the last ``steps`` states."""
    def success(states, inputs):
        q = states[:, -steps:]
        tip = np.stack([l1 * np.cos(q[..., 0]) + l2 * np.cos(q[..., 0] + q[..., 1]),
                        l1 * np.sin(q[..., 0]) + l2 * np.sin(q[..., 0] + q[..., 1])], axis=-1)
        return np.all(np.linalg.norm(tip - np.asarray(inputs)[:, None, :], axis=-1) < radius, axis=1)
    return success


def reach_warm_start(dynamics, cost, x0, target, horizon: int, kp: float = 20.0, kd: float = 5.0,
                     iterations: int = 200) -> np.ndarray:
    """Warm-start actions ``(horizon, 2)`` for iLQR on a reaching ``cost`` from ``x0``: for each of the two
    inverse-kinematics (elbow) solutions of ``target``, each joint angle taken the short way round, a
    joint-space PD controller's actions, refined by iLQR; the better plan's actions. The fingertip cost is
    not convex in the joint angles, and iLQR from one plan for all conditions (or from zero) stalls in the
    wrong basin for some targets."""
    p = dynamics.params
    g = np.asarray(target, dtype=np.float64)
    c2 = np.clip((g @ g - p.l1 ** 2 - p.l2 ** 2) / (2 * p.l1 * p.l2), -1.0, 1.0)
    best = None
    for q2 in (np.arccos(c2), -np.arccos(c2)):
        q1 = np.arctan2(g[1], g[0]) - np.arctan2(p.l2 * np.sin(q2), p.l1 + p.l2 * np.cos(q2))
        goal = x0[:2] + (np.array([q1, q2]) - x0[:2] + np.pi) % (2 * np.pi) - np.pi
        x, U = np.array(x0, dtype=np.float64), np.empty((horizon, 2))
        for t in range(horizon):
            U[t] = np.clip(kp * (goal - x[:2]) - kd * x[2:], dynamics.action_low, dynamics.action_high)
            x = dynamics.step(x, U[t])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="iLQR: ", category=RuntimeWarning)
            plan = ILQR(dynamics, cost, horizon, max_iterations=iterations).plan(x0, warm_start=U)
        if best is None or plan.cost < best.cost:
            best = plan
    return best.actions.copy()


def _reacher(env, seed, n_train, n_heldout, horizon, n_pool, weights, pool_nominal) -> GPSProblem:
    p = env.dynamics.params
    train, held = _starts(env, n_train, 2 * seed), _starts(env, n_heldout, 2 * seed + 1)
    gt, gh = _targets(n_train, 2 * seed), _targets(n_heldout, 2 * seed + 1)
    costs = [ReachCost(tuple(g), p.l1, p.l2, **weights) for g in gt]
    held_costs = [ReachCost(tuple(g), p.l1, p.l2, **weights) for g in gh]
    pool = None
    if n_pool:
        ps, pg = _starts(env, n_pool, 10_000 + seed), _targets(n_pool, 10_000 + seed)
        pc = [ReachCost(tuple(g), p.l1, p.l2, **weights) for g in pg]
        nominal = (np.stack([reach_warm_start(env.dynamics, c, x, g, horizon) for c, x, g in zip(pc, ps, pg)])
                   if pool_nominal else None)
        pool = (ps, pc, pg, nominal)
    return GPSProblem(env.spec.id if env.spec else "planlab/Reacher2Link-v0", env.dynamics, costs[0], train, held,
                      reach_success(p.l1, p.l2, 0.05, env.success_hold), (0, 1), horizon, horizon,
                      train_costs=costs, heldout_costs=held_costs, train_inputs=gt, heldout_inputs=gh,
                      train_warm=np.stack([reach_warm_start(env.dynamics, c, x, g, horizon)
                                           for c, x, g in zip(costs, train, gt)]),
                      clip_targets=True, augment_max_var=0.1, pool=pool)


def build_gps(prob: GPSProblem, config: GPSConfig, out=None, relabel_expert=None) -> GPS:
    """The :class:`GPS` run of ``prob`` (per-condition costs and goal inputs when the task has them);
    ``relabel_expert``: passed to :class:`GPS`."""
    return GPS(prob.dynamics, prob.train_costs if prob.train_costs is not None else prob.cost, prob.train, config,
               inputs=prob.train_inputs, heldout=prob.heldout, heldout_costs=prob.heldout_costs,
               heldout_inputs=prob.heldout_inputs, success=prob.success, out=out,
               warm_starts=prob.train_warm if prob.train_warm is not None and len(prob.train_warm[0]) == config.horizon else None,
               relabel_pool=prob.pool if config.relabel_fresh else None, relabel_expert=relabel_expert)
