"""casadi/IPOPT multiple shooting: the LQR optimum on a linear-quadratic problem, bounds honoured."""

from __future__ import annotations

import numpy as np
import pytest

from planlab.core import STATUS_CONVERGED, QuadraticCost
from planlab.dynamics import DoubleIntegrator, Pendulum
from planlab.planners.trajopt.lqr import finite_horizon_lqr
from planlab.planners.trajopt.nlp import NLPPlanner
from planlab.planners.sampling import RandomShooting


def test_nlp_equals_lqr_on_a_linear_quadratic_problem():
    system = DoubleIntegrator(n=2, dt=0.1, accel_max=1e6)
    cost = QuadraticCost(Q=[1.0, 2.0, 0.1, 0.2], R=[0.1, 0.3], Qf=[10.0, 10.0, 1.0, 1.0])
    x0 = np.array([1.0, -2.0, 0.5, 0.3])
    T = 30
    plan = NLPPlanner(system, cost, horizon=T).plan(x0)
    assert plan.status == STATUS_CONVERGED
    A, B = system.matrices()
    K, _ = finite_horizon_lqr(A, B, cost.Q, cost.R, cost.Qf, T)
    x, U = x0, []
    for t in range(T):
        U.append(K[t] @ x)
        x = A @ x + B @ U[-1]
    np.testing.assert_allclose(plan.actions, np.array(U), atol=1e-6)


def test_nlp_respects_control_and_state_bounds():
    system = DoubleIntegrator(n=1, dt=0.1, accel_max=1.0)
    cost = QuadraticCost(Q=[1.0, 0.0], R=[0.01], Qf=[100.0, 1.0], x_goal=[2.0, 0.0])
    x0 = np.zeros(2)
    free = NLPPlanner(system, cost, horizon=40).plan(x0)
    assert free.states[:, 1].max() > 0.55  # the speed limit below is active
    plan = NLPPlanner(system, cost, horizon=40, state_low=[-np.inf, -0.5], state_high=[np.inf, 0.5]).plan(x0)
    assert plan.status == STATUS_CONVERGED
    assert np.all(np.abs(plan.actions) <= 1.0)
    assert plan.states[:, 1].max() <= 0.5 + 1e-6
    assert plan.diagnostics["state_violation"] <= 1e-6
    assert plan.cost > free.cost


def test_nlp_is_never_worse_than_random_shooting():
    system = Pendulum()
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.001], Qf=[10.0, 1.0])
    x0 = np.array([np.pi - 0.1, 0.0])
    nlp = NLPPlanner(system, cost, horizon=30).plan(x0)
    rs = RandomShooting(system, cost, horizon=30, population=2000, seed=0).plan(x0)
    assert nlp.cost <= rs.cost
    roll = system.rollout(x0, nlp.actions[None], cost)
    assert nlp.cost == pytest.approx(float(roll.costs[0]))


def test_nlp_bad_input_raises():
    system = DoubleIntegrator()
    cost = system.default_cost()
    with pytest.raises(ValueError, match="state_low: expected state_low <= state_high"):
        NLPPlanner(system, cost, horizon=5, state_low=[1.0, 0.0], state_high=[0.0, 0.0])
    with pytest.raises(ValueError, match="x0: expected finite"):
        NLPPlanner(system, cost, horizon=5).plan(np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="cost: expected sizes"):
        NLPPlanner(system, QuadraticCost(Q=np.ones(3), R=[1.0]), horizon=5)
