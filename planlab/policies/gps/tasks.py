"""Ready-made GPS problems on planlab's envs: the system, cost, training and held-out initial states.

``planlab/CartPoleSwingup-v0``: initial states drawn by the env (the pole down, ±0.05 on every
component); success = the pole within 0.2 rad of upright for the last 2 s (40 steps) of a 5 s (100
step) episode, run by the global policy alone. The policy is fitted by full-batch L-BFGS (300
iterations): on this task's iLQR samples, 100 epochs of Adam left a policy that never swung up, while
L-BFGS reproduced the swing-up from about half of the held-out starts before any GPS iteration.
"""

from __future__ import annotations

from typing import NamedTuple

import gymnasium as gym
import numpy as np

from ...envs.registration import register_envs
from .loop import hold_success

__all__ = ["GPSProblem", "gps_problem", "GPS_TASKS"]

GPS_TASKS = ("planlab/CartPoleSwingup-v0",)


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


def _starts(env, n, seed):
    return np.stack([env.reset(seed=int(seed) * 100_000 + j)[0] for j in range(n)])


def gps_problem(env_id: str, seed: int = 0, n_train: int = 6, n_heldout: int = 20) -> GPSProblem:
    """The problem of ``env_id`` (one of :data:`GPS_TASKS`); training and held-out starts never overlap."""
    if env_id not in GPS_TASKS:
        raise ValueError(f"env: expected one of {GPS_TASKS} for GPS, got {env_id!r}")
    register_envs()
    env = gym.make(env_id).unwrapped
    train = _starts(env, n_train, 2 * seed)
    held = _starts(env, n_heldout, 2 * seed + 1)
    return GPSProblem(env_id, env.dynamics, env.cost, train, held, hold_success(index=2, tol=0.2, steps=40),
                      (2,), 100, 60)
