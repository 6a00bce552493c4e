"""Constraints as penalties and feasibility filters for the sampling planners."""

import numpy as np
import pytest

from planlab.core.constraints import circle_obstacles
from planlab.core.penalty import ConstraintPenaltyCost
from planlab.dynamics import Unicycle
from planlab.planners.sampling import CEM


def _setup():
    system = Unicycle()
    cost = system.default_cost()
    disc = circle_obstacles(3, 2, 1, [[-0.6, 0.0]], [0.3])
    return system, cost, disc, np.array([-1.2, 0.0, 0.0])


def test_penalty_adds_weighted_squared_violation_and_filter_adds_a_constant_per_violating_step():
    system, cost, disc, _ = _setup()
    x = np.array([[-0.6, 0.1, 0.0], [1.0, 1.0, 0.0]])
    u = np.zeros((2, 2))
    base = cost.running(x, u)
    pen = ConstraintPenaltyCost(cost, disc, weight=10.0)
    np.testing.assert_allclose(pen.running(x, u) - base, [10.0 * (0.09 - 0.01) ** 2, 0.0])
    filt = ConstraintPenaltyCost(cost, disc, weight=10.0, mode="filter", infeasible_cost=1e3)
    np.testing.assert_allclose(filt.running(x, u) - base, [10.0 * 0.08 ** 2 + 1e3, 0.0])
    np.testing.assert_allclose(filt.terminal(x) - cost.terminal(x), [10.0 * 0.08 ** 2 + 1e3, 0.0])


def test_cem_with_feasibility_filter_plans_around_the_obstacle():
    system, cost, disc, x0 = _setup()
    far = circle_obstacles(3, 2, 1, [[50.0, 50.0]], [0.3])  # the same (numpy) evaluation path, no active disc
    plain = CEM(system, ConstraintPenaltyCost(cost, far, mode="filter"), horizon=25, population=300, elites=30,
                iterations=6, seed=0).plan(x0)
    g = lambda S: 0.3 ** 2 - (S[:, 0] + 0.6) ** 2 - S[:, 1] ** 2  # noqa: E731
    assert g(plain.states).max() > 0  # the unconstrained plan crosses the disc
    safe = CEM(system, ConstraintPenaltyCost(cost, disc, mode="filter"), horizon=25, population=300, elites=30,
               iterations=6, seed=0).plan(x0)
    assert g(safe.states).max() <= 0.0
    assert np.linalg.norm(safe.states[-1, :2]) < np.linalg.norm(x0[:2])  # still heading for the goal


def test_time_varying_constraints_are_refused():
    system, cost, _, _ = _setup()
    moving = circle_obstacles(3, 2, 3, [[0.0, 0.0]], [0.3])
    moving.set_params(discs=np.array([[0, 0, 0.3], [0.1, 0, 0.3], [0.2, 0, 0.3], [0.3, 0, 0.3]]))
    with pytest.raises(ValueError, match="time-varying table"):
        ConstraintPenaltyCost(cost, moving)
