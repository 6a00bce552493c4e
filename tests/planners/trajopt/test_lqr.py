"""LQR: scipy's DARE as the reference, a batch least-squares solution of the LQ problem for the finite
horizon, and gymnasium's own CartPole-v1 code for the stabiliser."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from planlab.core import QuadraticCost, SourceCost
from planlab.dynamics import CartPole, DoubleIntegrator, Pendulum, Quadrotor2D
from planlab.planners.trajopt.lqr import LQR, LQRPlanner, dlqr, finite_horizon_lqr, lqr_tracking


def random_lq(seed, n=4, m=2):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n)) * 0.5 + np.eye(n)
    B = rng.normal(size=(n, m))
    L = rng.normal(size=(n, n))
    Q = L @ L.T + 0.1 * np.eye(n)
    M = rng.normal(size=(m, m))
    R = M @ M.T + 0.5 * np.eye(m)
    return A, B, Q, R


def batch_lq_solution(A, B, Q, R, Qf, x0, T, x_ref=None, u_ref=None, c=None):
    """Solve the finite-horizon LQ problem as one least-squares problem in the stacked controls."""
    n, m = B.shape
    x_ref = np.zeros((T + 1, n)) if x_ref is None else x_ref
    u_ref = np.zeros((T, m)) if u_ref is None else u_ref
    c = np.zeros(n) if c is None else c
    # x_t = F_t x0 + sum_{s<t} G_{t,s} u_s + h_t
    F = [np.eye(n)]
    h = [np.zeros(n)]
    G = np.zeros((T + 1, n, T, m))
    for t in range(T):
        F.append(A @ F[-1])
        h.append(A @ h[-1] + c)
        G[t + 1] = np.einsum("ij,jsk->isk", A, G[t])
        G[t + 1][:, t, :] = B
    rows, rhs = [], []
    sq = lambda M: scipy.linalg.sqrtm(M).real  # noqa: E731
    SQ, SQf, SR = sq(Q), sq(Qf), sq(R)
    for t in range(T + 1):
        W = SQf if t == T else SQ
        rows.append(W @ G[t].reshape(n, T * m))
        rhs.append(W @ (x_ref[t] - F[t] @ x0 - h[t]))
    for t in range(T):
        E = np.zeros((m, T * m))
        E[:, t * m:(t + 1) * m] = np.eye(m)
        rows.append(SR @ E)
        rhs.append(SR @ u_ref[t])
    U = np.linalg.lstsq(np.vstack(rows), np.concatenate(rhs), rcond=None)[0]
    return U.reshape(T, m)


# ------------------------------------------------------------------ infinite horizon
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 6), m=st.integers(1, 3))
def test_dlqr_gain_equals_scipy_dare_solution(seed, n, m):
    A, B, Q, R = random_lq(seed, n, m)
    K, P = dlqr(A, B, Q, R)
    P_ref = scipy.linalg.solve_discrete_are(A, B, Q, R)
    K_ref = -np.linalg.solve(R + B.T @ P_ref @ B, B.T @ P_ref @ A)
    scale = max(1.0, np.abs(K_ref).max())
    np.testing.assert_allclose(K, K_ref, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(P, P_ref, rtol=0, atol=1e-10 * max(1.0, np.abs(P_ref).max()))
    assert np.all(np.abs(np.linalg.eigvals(A + B @ K)) < 1.0)


def test_dlqr_cross_term_matches_scipy():
    A, B, Q, R = random_lq(3, 4, 2)
    N = 0.05 * np.random.default_rng(0).normal(size=(4, 2))
    K, P = dlqr(A, B, Q, R, N)
    P_ref = scipy.linalg.solve_discrete_are(A, B, Q, R, s=N)
    K_ref = -np.linalg.solve(R + B.T @ P_ref @ B, B.T @ P_ref @ A + N.T)
    np.testing.assert_allclose(K, K_ref, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finite_horizon_riccati_converges_to_dare(seed):
    A, B, Q, R = random_lq(seed, 4, 2)
    K_inf, P_inf = dlqr(A, B, Q, R)
    K, P = finite_horizon_lqr(A, B, Q, R, np.zeros((4, 4)), horizon=400)
    np.testing.assert_allclose(K[0], K_inf, atol=1e-9)
    np.testing.assert_allclose(P[0], P_inf, atol=1e-8 * np.abs(P_inf).max())


def test_finite_horizon_lqr_is_the_optimum_of_the_batch_problem():
    A, B, Q, R = random_lq(7, 3, 2)
    Qf = 5 * np.eye(3)
    x0 = np.array([1.0, -0.5, 2.0])
    T = 15
    K, _ = finite_horizon_lqr(A, B, Q, R, Qf, T)
    x, U = x0, []
    for t in range(T):
        U.append(K[t] @ x)
        x = A @ x + B @ U[-1]
    np.testing.assert_allclose(np.array(U), batch_lq_solution(A, B, Q, R, Qf, x0, T), atol=1e-8)


def test_lqr_tracking_is_the_optimum_of_the_batch_problem():
    A, B, Q, R = random_lq(11, 3, 1)
    A *= 0.9
    Qf = 3 * np.eye(3)
    T = 12
    rng = np.random.default_rng(5)
    x_ref = rng.normal(size=(T + 1, 3))
    u_ref = rng.normal(size=(T, 1))
    c = np.array([0.1, -0.2, 0.05])
    x0 = rng.normal(size=3)
    pol = lqr_tracking(A, B, Q, R, Qf, x_ref, u_ref, c)
    x, U = x0, []
    for t in range(T):
        U.append(pol.act_at(t, x))
        x = A @ x + B @ U[-1] + c
    np.testing.assert_allclose(np.array(U), batch_lq_solution(A, B, Q, R, Qf, x0, T, x_ref, u_ref, c), atol=1e-8)


# ------------------------------------------------------------------ stabilisers
def _gym_step_with_force(env, force):
    """Step gymnasium's own CartPole-v1 code with a continuous force: its step applies
    ``force_mag if action == 1 else -force_mag``, so set ``force_mag = |force|`` and pick the side."""
    inner = env.unwrapped
    inner.force_mag = float(abs(force))
    return env.step(1 if force > 0 else 0)


@pytest.mark.parametrize("seed", range(5))
def test_cartpole_lqr_holds_the_pole_in_gymnasium_cartpole_v1(seed):
    ctrl = LQR(CartPole(), Q=[1.0, 1.0, 10.0, 1.0], R=[0.1], x_eq=np.zeros(4))
    env = gymnasium.make("CartPole-v1")
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    x0 = rng.uniform([-0.5, -0.3, -0.12, -0.3], [0.5, 0.3, 0.12, 0.3])  # theta up to ~7 degrees
    env.unwrapped.state = x0.copy()
    x = x0
    steps = 0
    terminated = truncated = False
    while not (terminated or truncated):
        u = float(ctrl.act(x)[0])
        obs, _, terminated, truncated, _ = _gym_step_with_force(env, u)
        x = np.asarray(obs, dtype=np.float64)
        steps += 1
    assert not terminated, f"pole fell after {steps} steps from {x0}"
    assert steps == 500  # gymnasium's time limit
    assert np.all(np.abs(x) < 1e-2)


def test_cartpole_lqr_matches_planlab_cartpole_closed_loop_in_gymnasium():
    """The same closed loop in planlab's CartPole and in gymnasium's code gives the same states."""
    system = CartPole()
    ctrl = LQR(system, Q=[1.0, 1.0, 10.0, 1.0], R=[0.1], x_eq=np.zeros(4))
    env = gymnasium.make("CartPole-v1")
    env.reset(seed=0)
    x0 = np.array([0.1, 0.0, 0.1, 0.0])
    env.unwrapped.state = x0.copy()
    x_gym, x_pl = x0, x0
    for _ in range(100):
        obs, *_ = _gym_step_with_force(env, float(ctrl.act(x_gym)[0]))
        x_gym = np.asarray(obs, dtype=np.float64)
        x_pl = system.step(x_pl, ctrl.act(x_pl))
    np.testing.assert_allclose(x_pl, x_gym, atol=1e-5)  # gymnasium returns float32 observations


def test_quadrotor_hover_lqr_stabilises_from_perturbations():
    quad = Quadrotor2D()
    h = quad.hover_thrust
    ctrl = LQR(quad, Q=[1, 1, 1, 0.1, 0.1, 0.1], R=[0.1, 0.1], x_eq=np.zeros(6), u_eq=[h, h])
    assert np.all(np.abs(ctrl.closed_loop_eigenvalues()) < 1.0)
    x = np.array([0.3, -0.2, 0.1, 0.0, 0.1, 0.0])
    for _ in range(1000):
        x = quad.step(x, ctrl.act(x))
    assert np.all(np.abs(x) < 1e-3)


def test_lqr_planner_first_action_is_the_feedback_law():
    system = CartPole()
    cost = QuadraticCost(Q=[1, 1, 10, 1], R=[0.1], angle_indices=[2])
    planner = LQRPlanner(system, cost, horizon=20)
    x0 = np.array([0.1, 0.0, -0.05, 0.1])
    plan = planner.plan(x0)
    np.testing.assert_allclose(plan.first_action, planner.controller.K @ x0)
    roll = system.rollout(x0, plan.actions[None], cost)
    assert plan.cost == pytest.approx(roll.costs[0])


# ------------------------------------------------------------------ bad input
def test_non_square_Q_raises():
    A, B, Q, R = random_lq(0, 3, 1)
    with pytest.raises(ValueError, match="Q: expected a square matrix"):
        dlqr(A, B, np.ones((3, 2)), R)


def test_indefinite_R_raises():
    A, B, Q, _ = random_lq(0, 3, 2)
    with pytest.raises(ValueError, match="R: expected a positive definite"):
        dlqr(A, B, Q, np.diag([1.0, -0.1]))
    with pytest.raises(ValueError, match="R: expected a positive definite"):
        finite_horizon_lqr(A, B, Q, np.zeros((2, 2)), Q, 5)


def test_asymmetric_Q_raises():
    A, B, Q, R = random_lq(0, 3, 1)
    Q[0, 1] += 1.0
    with pytest.raises(ValueError, match="Q: expected a symmetric"):
        dlqr(A, B, Q, R)


def test_mismatched_shapes_raise():
    A, B, Q, R = random_lq(0, 3, 2)
    with pytest.raises(ValueError, match="B: expected shape"):
        dlqr(A, np.ones((4, 2)), Q, R)
    with pytest.raises(ValueError, match="R: expected shape"):
        dlqr(A, B, Q, np.eye(3))
    with pytest.raises(ValueError, match="A: expected a square"):
        dlqr(np.ones((3, 4)), B, Q, R)
    with pytest.raises(ValueError, match="A: expected shape"):
        finite_horizon_lqr(np.ones((5, 3, 3)), B, Q, R, Q, horizon=4)


def test_unstabilisable_pair_raises():
    A = np.diag([2.0, 0.5])
    B = np.array([[0.0], [1.0]])  # the unstable mode is not controllable
    with pytest.raises(ValueError, match="no stabilising solution"):
        dlqr(A, B, np.eye(2), np.eye(1))


def test_nan_in_state_raises():
    ctrl = LQR(CartPole(), Q=[1, 1, 10, 1], R=[0.1], x_eq=np.zeros(4))
    with pytest.raises(ValueError, match="obs: expected finite"):
        ctrl.act(np.array([0.0, np.nan, 0.0, 0.0]))
    planner = LQRPlanner(CartPole(), QuadraticCost(Q=[1, 1, 10, 1], R=[0.1]), horizon=5)
    with pytest.raises(ValueError, match="x0: expected finite"):
        planner.plan(np.array([0.0, np.nan, 0.0, 0.0]))


def test_linearising_away_from_an_equilibrium_raises():
    with pytest.raises(ValueError, match="expected an equilibrium"):
        LQR(Pendulum(), Q=[1, 1], R=[1], x_eq=np.array([0.5, 0.0]))
    with pytest.raises(TypeError, match="QuadraticCost"):
        LQRPlanner(DoubleIntegrator(), SourceCost(2, 1, _zero, [0.0]), 5)


def _zero(x, u, xn, p):
    return 0.0
