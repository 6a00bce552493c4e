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
0.05 of the target for the last 10 steps of a 2 s (100 step) episode.
"""

from __future__ import annotations

from typing import NamedTuple

import gymnasium as gym
import numpy as np

from ...dynamics.systems.two_link_arm import ReachCost
from ...envs.registration import register_envs
from .loop import GPS, GPSConfig
from .support import hold_success

__all__ = ["GPSProblem", "gps_problem", "build_gps", "reach_success", "GPS_TASKS"]

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


def _starts(env, n, seed):
    return np.stack([env.reset(seed=int(seed) * 100_000 + j)[0] for j in range(n)])


def gps_problem(env_id: str, seed: int = 0, n_train: int = 6, n_heldout: int = 20) -> GPSProblem:
    """The problem of ``env_id`` (one of :data:`GPS_TASKS`); training and held-out starts never overlap."""
    if env_id not in GPS_TASKS:
        raise ValueError(f"env: expected one of {GPS_TASKS} for GPS, got {env_id!r}")
    register_envs()
    env = gym.make(env_id).unwrapped
    if env_id == "planlab/Reacher2Link-v0":
        return _reacher(env, seed, n_train, n_heldout)
    train = _starts(env, n_train, 2 * seed)
    held = _starts(env, n_heldout, 2 * seed + 1)
    return GPSProblem(env_id, env.dynamics, env.cost, train, held, hold_success(index=2, tol=0.2, steps=40),
                      (2,), 100, 60)


def _targets(n, seed):
    rng = np.random.default_rng([int(seed), 7])
    r, a = rng.uniform(0.6, 1.8, n), rng.uniform(-np.pi, np.pi, n)
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def reach_success(l1: float = 1.0, l2: float = 1.0, radius: float = 0.05, steps: int = 10):
    """``success(states (N, T + 1, 4), targets (N, 2)) -> (N,)``: fingertip within ``radius`` for the last ``steps`` states."""
    def success(states, inputs):
        q = states[:, -steps:]
        tip = np.stack([l1 * np.cos(q[..., 0]) + l2 * np.cos(q[..., 0] + q[..., 1]),
                        l1 * np.sin(q[..., 0]) + l2 * np.sin(q[..., 0] + q[..., 1])], axis=-1)
        return np.all(np.linalg.norm(tip - np.asarray(inputs)[:, None, :], axis=-1) < radius, axis=1)
    return success


def _reacher(env, seed, n_train, n_heldout) -> GPSProblem:
    p = env.dynamics.params
    train, held = _starts(env, n_train, 2 * seed), _starts(env, n_heldout, 2 * seed + 1)
    gt, gh = _targets(n_train, 2 * seed), _targets(n_heldout, 2 * seed + 1)
    costs = [ReachCost(tuple(g), p.l1, p.l2) for g in gt]
    held_costs = [ReachCost(tuple(g), p.l1, p.l2) for g in gh]
    return GPSProblem(env.spec.id if env.spec else "planlab/Reacher2Link-v0", env.dynamics, costs[0], train, held,
                      reach_success(p.l1, p.l2, 0.05, env.success_hold), (0, 1), 100, 100,
                      train_costs=costs, heldout_costs=held_costs, train_inputs=gt, heldout_inputs=gh)


def build_gps(prob: GPSProblem, config: GPSConfig, out=None) -> GPS:
    """The :class:`GPS` run of ``prob`` (per-condition costs and goal inputs when the task has them)."""
    return GPS(prob.dynamics, prob.train_costs if prob.train_costs is not None else prob.cost, prob.train, config,
               inputs=prob.train_inputs, heldout=prob.heldout, heldout_costs=prob.heldout_costs,
               heldout_inputs=prob.heldout_inputs, success=prob.success, out=out)
