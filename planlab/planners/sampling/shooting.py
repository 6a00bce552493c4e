"""Random shooting: sample N action sequences uniformly in the action box, keep the best.

The simplest sampling planner ("guess and check"), used for instance as the MPC planner of
Nagabandi et al. (2018), "Neural network dynamics for model-based deep reinforcement learning with
model-free fine-tuning".
"""

from __future__ import annotations

import time

import numpy as np

from ...core.contracts import Cost, Dynamics
from ...core.planning import STATUS_FAILED, STATUS_OK, Plan, Planner
from ...core.seeding import SeedLike
from ...core.validation import check_positive_int

__all__ = ["RandomShooting", "sample_uniform_actions", "best_finite"]


def sample_uniform_actions(dynamics: Dynamics, rng: np.random.Generator, n: int, horizon: int) -> np.ndarray:
    """``n`` sequences (n, horizon, nu) uniform in the action box (uniform indices for discrete models)."""
    shape = (n, horizon, dynamics.action_dim)
    if dynamics.is_discrete:
        return rng.integers(0, dynamics.n_actions, size=shape).astype(np.float64)
    return rng.uniform(dynamics.action_low, dynamics.action_high, size=shape)


def best_finite(costs: np.ndarray) -> int | None:
    """Index of the smallest finite cost, or None when no cost is finite (NaN-safe argmin)."""
    finite = np.isfinite(costs)
    if not finite.any():
        return None
    return int(np.argmin(np.where(finite, costs, np.inf)))


class RandomShooting(Planner):
    r"""Random shooting: ``A* = argmin_i J(A_i)`` over N sequences sampled uniformly in the action box.

    The planner of Nagabandi et al. (2018). A warm start, when given, is evaluated as one of the
    candidates, so the plan is never worse than it.

    Parameters
    ----------
    dynamics : Dynamics
    cost : Cost
    horizon : int
        Planning horizon H.
    population : int
        Number of sampled sequences N.
    seed : int, Generator or None

    Examples
    --------
    >>> import numpy as np
    >>> from planlab.dynamics import Pendulum
    >>> sys = Pendulum()
    >>> plan = RandomShooting(sys, sys.default_cost(), horizon=20, population=200, seed=0).plan(np.array([np.pi, 0.0]))
    >>> plan.actions.shape
    (20, 1)
    """

    name = "shooting"
    #: CLI flags this planner accepts (besides --horizon and --seed).
    cli_options = ("population",)

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int = 30, *, population: int = 1000,
                 seed: SeedLike = None):
        super().__init__(dynamics, cost, horizon, seed=seed)
        self.population = check_positive_int("population", population)

    def plan(self, x0, warm_start=None) -> Plan:
        t0 = time.perf_counter()
        x0 = self._check_x0(x0)
        ws = self._check_warm_start(warm_start)
        U = sample_uniform_actions(self.dynamics, self.rng, self.population, self.horizon)
        if ws is not None:
            U[0] = ws
        costs = self.dynamics.rollout_cost(x0, U, self.cost, rng=self.rng)
        i = best_finite(costs)
        status = STATUS_OK
        if i is None:
            status = STATUS_FAILED
            nu = self.dynamics.action_dim
            best = ws if ws is not None else self.dynamics.clip_action(np.zeros((self.horizon, nu)))
        else:
            best = U[i]
        roll = self.dynamics.rollout(x0, best[None], self.cost, rng=self.rng)
        cost = float(roll.costs[0])
        return Plan(best, roll.states[0], cost if np.isfinite(cost) else np.inf, status,
                    {"plan_time_s": time.perf_counter() - t0, "population": self.population,
                     "n_finite": int(np.isfinite(costs).sum())})
