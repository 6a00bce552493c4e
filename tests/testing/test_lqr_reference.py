"""The testing kit's LQR reference against references nobody here wrote (scipy)."""

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from planlab.core.cost import QuadraticCost
from planlab.testing import LinearSystem, dare_reference, riccati_reference, feedback_rollout
from planlab.testing.strategies import linear_systems, lq_problems


@settings(max_examples=25, deadline=None, derandomize=True)
@given(linear_systems(stable=None))
def test_riccati_recursion_converges_to_scipy_dare_for_long_horizons(AB):
    A, B = AB
    nx, nu = B.shape
    Q, R = np.eye(nx), 0.5 * np.eye(nu)
    P_dare = scipy.linalg.solve_discrete_are(A, B, Q, R)
    _, P = riccati_reference(A, B, Q, R, np.zeros((nx, nx)), 400)
    np.testing.assert_allclose(P[0], P_dare, rtol=1e-6, atol=1e-8)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(linear_systems())
def test_riccati_recursion_with_dare_terminal_weight_is_stationary(AB):
    A, B = AB
    nx, nu = B.shape
    Q, R = np.diag(np.linspace(1, 2, nx)), np.eye(nu)
    K_inf, P_inf = dare_reference(A, B, Q, R)
    K, P = riccati_reference(A, B, Q, R, P_inf, 20)
    for t in range(20):
        np.testing.assert_allclose(P[t], P_inf, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(K[t], K_inf, rtol=1e-7, atol=1e-9)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(lq_problems(horizon=st.integers(2, 6), max_state_dim=3))
def test_riccati_reference_cost_equals_numerical_optimum_of_the_open_loop_problem(p):
    A, B = p.dynamics.matrices()
    H, nu = p.horizon, B.shape[1]

    def J(flat):
        U = flat.reshape(1, H, nu)
        return float(p.dynamics.rollout_cost(p.x0, U, p.cost)[0])

    # rollouts clip actions to the box, so the cost is flat outside it: search inside the box (which
    # contains the LQR actions, so the box-constrained optimum is the unconstrained one)
    bounds = list(zip(np.tile(p.dynamics.action_low, H), np.tile(p.dynamics.action_high, H)))
    res = scipy.optimize.minimize(J, np.zeros(H * nu), method="L-BFGS-B", bounds=bounds,
                                  options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000})
    np.testing.assert_allclose(res.fun, p.lqr_cost, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(J(p.lqr_actions.ravel()), p.lqr_cost, rtol=1e-9, atol=1e-12)
    # the box of an LQProblem contains the LQR actions
    assert np.all(np.abs(p.lqr_actions) <= p.dynamics.action_high)


def test_linear_system_rollout_matches_matrix_products():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 2))
    sys_ = LinearSystem(A, B, -5.0, 5.0)
    U = rng.uniform(-5, 5, (4, 6, 2))
    x0 = rng.standard_normal(3)
    roll = sys_.rollout(x0, U)
    for i in range(4):
        x = x0.copy()
        for t in range(6):
            x = A @ x + B @ U[i, t]
            np.testing.assert_allclose(roll.states[i, t + 1], x, rtol=1e-12, atol=1e-12)
    cost = QuadraticCost(Q=[1, 2, 3], R=[0.1, 0.2], Qf=[1, 1, 1])
    np.testing.assert_allclose(sys_.rollout_cost(x0, U, cost), cost.trajectory_cost(roll.states, U), rtol=1e-12)


def test_discrete_linear_system_applies_evenly_spaced_levels():
    sys_ = LinearSystem(np.zeros((1, 1)), np.ones((1, 1)), -1.0, 1.0, n_actions=5)
    assert sys_.is_discrete and sys_.action_low[0] == 0 and sys_.action_high[0] == 4
    levels = [float(sys_.step(np.zeros(1), np.array([k]))[0]) for k in range(5)]
    np.testing.assert_allclose(levels, [-1.0, -0.5, 0.0, 0.5, 1.0])


def test_feedback_rollout_follows_the_gains():
    A, B = np.array([[1.0, 0.1], [0.0, 1.0]]), np.array([[0.0], [0.1]])
    K, P = riccati_reference(A, B, np.eye(2), np.eye(1), np.eye(2), 10)
    x, u = feedback_rollout(A, B, K, np.array([1.0, 0.0]))
    assert x.shape == (11, 2) and u.shape == (10, 1)
    cost = 0.5 * sum(x[t] @ x[t] + u[t] @ u[t] for t in range(10)) + 0.5 * x[10] @ x[10]
    assert cost == pytest.approx(0.5 * np.array([1.0, 0.0]) @ P[0] @ np.array([1.0, 0.0]), rel=1e-12)


def test_riccati_reference_and_the_planners_lqr_share_one_sign_convention():
    """Both act as ``u = K x`` (planlab.core.contracts): the testing reference equals the planner's LQR."""
    from planlab.planners.trajopt import dlqr, finite_horizon_lqr

    A, B = np.array([[1.0, 0.1], [0.0, 1.0]]), np.array([[0.0], [0.1]])
    Q, R, Qf = np.eye(2), np.eye(1), 2 * np.eye(2)
    K_ref, P_ref = riccati_reference(A, B, Q, R, Qf, 12)
    K, P = finite_horizon_lqr(A, B, Q, R, Qf, 12)
    np.testing.assert_allclose(K, K_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(P, P_ref, rtol=1e-12, atol=1e-14)
    K_inf, P_inf = dare_reference(A, B, Q, R)
    K_d, P_d = dlqr(A, B, Q, R)
    np.testing.assert_allclose(K_d, K_inf, rtol=1e-9, atol=1e-12)
    assert np.all(np.abs(np.linalg.eigvals(A + B @ K_inf)) < 1)
