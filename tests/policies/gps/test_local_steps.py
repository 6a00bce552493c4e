"""Local dynamics fitting and the KL-constrained LQG step."""

import numpy as np
import pytest

from planlab.planners.trajopt import finite_horizon_lqr
from planlab.policies.gps.kl_trajopt import CostExpansion, adapt_epsilon, expand_cost, kl_step, lqg_backward
from planlab.policies.gps.linear_gaussian import (LinearGaussianController, LinearGaussianDynamics, controller_kl,
                                                  sample_linear_gaussian)
from planlab.policies.gps.local_dynamics import (fit_linear_gaussian_dynamics, linearize_model, model_prior,
                                                 pooled_prior)


def _lq(rng, T=10, nx=3, nu=2):
    A = np.eye(nx) + 0.1 * rng.standard_normal((nx, nx))
    B = rng.standard_normal((nx, nu))
    Q, R, Qf = np.eye(nx), 0.1 * np.eye(nu), 5 * np.eye(nx)
    dyn = LinearGaussianDynamics(np.broadcast_to(A, (T, nx, nx)).copy(), np.broadcast_to(B, (T, nx, nu)).copy(),
                                 np.zeros((T, nx)), np.stack([1e-4 * np.eye(nx)] * T))
    C = np.zeros((T, nx + nu, nx + nu))
    C[:, :nx, :nx], C[:, nx:, nx:] = Q, R
    exp = CostExpansion(C, np.zeros((T, nx + nu)), np.zeros(T), Qf, np.zeros(nx), 0.0)
    return dyn, exp, (A, B, Q, R, Qf)


def test_local_step_without_kl_equals_finite_horizon_lqr():
    rng = np.random.default_rng(0)
    dyn, exp, (A, B, Q, R, Qf) = _lq(rng)
    p = lqg_backward(dyn, exp)
    K, P = finite_horizon_lqr(A, B, Q, R, Qf, dyn.horizon)
    np.testing.assert_allclose(p.K, K, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p.affine()[1], 0.0, atol=1e-12)
    np.testing.assert_allclose(p.cov[0], np.linalg.inv(R + B.T @ P[1] @ B), rtol=1e-10)


def test_kl_step_with_a_loose_bound_tends_to_lqr():
    rng = np.random.default_rng(1)
    dyn, exp, (A, B, Q, R, Qf) = _lq(rng)
    ref = LinearGaussianController(np.zeros((10, 2, 3)), cov=np.eye(2))
    res = kl_step(dyn, exp, ref, np.ones(3), 0.01 * np.eye(3), epsilon=1e6)
    K, _ = finite_horizon_lqr(A, B, Q, R, Qf, dyn.horizon)
    assert res.status == "inactive"
    np.testing.assert_allclose(res.controller.K, K, atol=1e-4)


@pytest.mark.parametrize("epsilon", [0.1, 1.0, 5.0])
def test_eta_search_meets_the_kl_bound_on_a_random_lq_problem(epsilon):
    rng = np.random.default_rng(2)
    dyn, exp, _ = _lq(rng)
    ref = LinearGaussianController(0.1 * rng.standard_normal((10, 2, 3)), cov=np.eye(2))
    mu0, S0 = np.ones(3), 0.01 * np.eye(3)
    res = kl_step(dyn, exp, ref, mu0, S0, epsilon=epsilon)
    assert res.status == "converged"
    kl = controller_kl(res.controller, ref, dyn, mu0, S0)
    assert 0.9 * epsilon <= kl <= epsilon
    assert res.kl == pytest.approx(kl)
    # a looser bound buys a lower expected cost
    looser = kl_step(dyn, exp, ref, mu0, S0, epsilon=2 * epsilon)
    assert looser.predicted_cost < res.predicted_cost


def test_kl_step_rejects_a_nonpositive_epsilon():
    rng = np.random.default_rng(3)
    dyn, exp, _ = _lq(rng)
    ref = LinearGaussianController(np.zeros((10, 2, 3)), cov=np.eye(2))
    for eps in (0.0, -1.0):
        with pytest.raises(ValueError, match="epsilon"):
            kl_step(dyn, exp, ref, np.ones(3), np.eye(3), epsilon=eps)


def test_epsilon_grows_when_prediction_is_right_and_shrinks_when_cost_rises():
    assert adapt_epsilon(1.0, 1.0, 1.0, base=1.0) > 1.0
    assert adapt_epsilon(1.0, 1.0, -1.0, base=1.0) < 1.0


def _samples(rng, N, T=6, nx=3, nu=2, noise=0.05):
    A = np.eye(nx) + 0.2 * rng.standard_normal((T, nx, nx))
    B = rng.standard_normal((T, nx, nu))
    c = rng.standard_normal((T, nx))
    W = np.stack([noise ** 2 * np.eye(nx)] * T)
    true = LinearGaussianDynamics(A, B, c, W)
    ctrl = LinearGaussianController(0.1 * rng.standard_normal((T, nu, nx)), cov=np.eye(nu))
    X, U = sample_linear_gaussian(ctrl, true, np.zeros(nx), np.eye(nx), N, rng=rng)
    return true, X, U


def test_regression_recovers_a_known_linear_gaussian_system():
    rng = np.random.default_rng(4)
    true, X, U = _samples(rng, N=4000)
    fit = fit_linear_gaussian_dynamics(X, U)
    np.testing.assert_allclose(fit.A, true.A, atol=0.02)
    np.testing.assert_allclose(fit.B, true.B, atol=0.02)
    np.testing.assert_allclose(fit.c, true.c, atol=0.02)
    np.testing.assert_allclose(fit.W, true.W, atol=5e-4)


def test_with_few_samples_a_strong_prior_keeps_the_fit_near_the_prior():
    rng = np.random.default_rng(5)
    true, X, U = _samples(rng, N=3)
    prior_model = true._replace(A=true.A + 0.3, B=true.B - 0.3)
    strong = fit_linear_gaussian_dynamics(X, U, model_prior(prior_model, X, U, strength=1e4))
    np.testing.assert_allclose(strong.A, prior_model.A, atol=2e-3)
    np.testing.assert_allclose(strong.B, prior_model.B, atol=2e-3)
    # more data moves the fit from the prior towards the truth
    _, X2, U2 = _samples(np.random.default_rng(5), N=3000)
    weak = fit_linear_gaussian_dynamics(X2, U2, model_prior(prior_model, X2, U2, strength=1.0))
    assert np.abs(weak.A - true.A).max() < 0.05


def test_pooled_prior_makes_an_underdetermined_fit_finite():
    rng = np.random.default_rng(6)
    _, X, U = _samples(rng, N=2)
    fit = fit_linear_gaussian_dynamics(X, U, pooled_prior(X, U, strength=1.0))
    assert all(np.all(np.isfinite(a)) for a in fit)


def test_linearize_model_equals_the_jacobians_of_a_linear_system():
    from planlab.dynamics import DoubleIntegrator

    sys_ = DoubleIntegrator(n=1)
    X = np.zeros((4, 2))
    U = np.zeros((3, 1))
    lin = linearize_model(sys_, X, U, derivatives="fd")
    x, u = np.array([0.3, -0.2]), np.array([0.5])
    np.testing.assert_allclose(lin.A[0] @ x + lin.B[0] @ u + lin.c[0], sys_.step(x, u), atol=1e-9)


def test_expand_cost_reproduces_a_quadratic_cost_exactly():
    from planlab.core import QuadraticCost
    from planlab.dynamics import DoubleIntegrator

    sys_ = DoubleIntegrator(n=1)
    cost = QuadraticCost(Q=[1.0, 0.5], R=[0.1], Qf=[2.0, 1.0], x_goal=[1.0, 0.0])
    rng = np.random.default_rng(7)
    X, U = rng.standard_normal((4, 2)), rng.standard_normal((3, 1))
    exp = expand_cost(sys_, cost, X, U, derivatives="fd")
    X2, U2 = rng.standard_normal((4, 2)), rng.standard_normal((3, 1))
    Z = np.concatenate([X2[:-1], U2], 1)
    quad = 0.5 * np.einsum("ti,tij,tj->t", Z, exp.C, Z) + np.sum(exp.g * Z, 1) + exp.c0
    np.testing.assert_allclose(quad, cost.running(X2[:-1], U2, X2[1:]), rtol=1e-6)
