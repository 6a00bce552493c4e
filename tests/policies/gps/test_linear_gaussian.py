"""Linear-Gaussian controllers: density, trajectory distribution and the KL between controllers."""

import numpy as np
import pytest
from scipy import stats

from planlab.policies.gps.linear_gaussian import (LinearGaussianController, LinearGaussianDynamics, controller_kl,
                                                  sample_linear_gaussian, trajectory_distribution)


def _random_problem(rng, T=5, nx=3, nu=2):
    A = np.eye(nx) + 0.1 * rng.standard_normal((T, nx, nx))
    B = 0.3 * rng.standard_normal((T, nx, nu))
    c = 0.1 * rng.standard_normal((T, nx))
    W = np.stack([0.01 * np.eye(nx)] * T)
    dyn = LinearGaussianDynamics(A, B, c, W)

    def ctrl():
        L = 0.3 * rng.standard_normal((T, nu, nu)) + np.eye(nu)
        return LinearGaussianController(0.5 * rng.standard_normal((T, nu, nx)), k=0.3 * rng.standard_normal((T, nu)),
                                        x_ref=rng.standard_normal((T, nx)), u_ref=rng.standard_normal((T, nu)),
                                        cov=L @ np.swapaxes(L, 1, 2) * 0.5)
    return dyn, ctrl(), ctrl()


def test_log_prob_equals_scipy_multivariate_normal():
    rng = np.random.default_rng(0)
    _, p, _ = _random_problem(rng)
    x, u = rng.standard_normal(3), rng.standard_normal(2)
    ref = stats.multivariate_normal(p.mean(2, x), p.cov[2]).logpdf(u)
    assert p.log_prob(2, x, u) == pytest.approx(ref, rel=1e-12)


def test_samples_have_the_controller_mean_and_covariance():
    rng = np.random.default_rng(1)
    _, p, _ = _random_problem(rng)
    x = np.tile(rng.standard_normal(3), (40000, 1))
    u = p.sample(1, x, rng=2)
    np.testing.assert_allclose(u.mean(0), p.mean(1, x[0]), atol=0.02)
    np.testing.assert_allclose(np.cov(u.T), p.cov[1], atol=0.02)


def test_affine_form_gives_the_same_mean():
    rng = np.random.default_rng(2)
    _, p, _ = _random_problem(rng)
    K, c = p.affine()
    x = rng.standard_normal(3)
    np.testing.assert_allclose(K[3] @ x + c[3], p.mean(3, x), rtol=1e-12)


def test_trajectory_distribution_matches_monte_carlo():
    rng = np.random.default_rng(3)
    dyn, p, _ = _random_problem(rng)
    mu0, S0 = rng.standard_normal(3), 0.1 * np.eye(3)
    traj = trajectory_distribution(p, dyn, mu0, S0)
    X, U = sample_linear_gaussian(p, dyn, mu0, S0, 40000, rng=4)
    Z = np.concatenate([X[:, -2], U[:, -1]], axis=1)
    np.testing.assert_allclose(Z.mean(0), traj.mu[-1], atol=0.03)
    np.testing.assert_allclose(np.cov(Z.T), traj.sigma[-1], atol=0.05 * np.abs(traj.sigma[-1]).max())


def test_kl_closed_form_equals_monte_carlo_estimate():
    rng = np.random.default_rng(5)
    dyn, p, q = _random_problem(rng)
    mu0, S0 = rng.standard_normal(3), 0.1 * np.eye(3)
    kl = controller_kl(p, q, dyn, mu0, S0)
    X, U = sample_linear_gaussian(p, dyn, mu0, S0, 20000, rng=6)
    ratios = sum(p.log_prob(t, X[:, t], U[:, t]) - q.log_prob(t, X[:, t], U[:, t]) for t in range(p.horizon))
    se = ratios.std() / np.sqrt(len(ratios))
    assert kl > 0.5
    assert abs(ratios.mean() - kl) < 4 * se


def test_kl_of_a_controller_with_itself_is_zero():
    rng = np.random.default_rng(7)
    dyn, p, _ = _random_problem(rng)
    assert controller_kl(p, p, dyn, np.zeros(3), np.eye(3)) == pytest.approx(0.0, abs=1e-10)


def test_bad_inputs_raise_naming_the_argument():
    with pytest.raises(ValueError, match="cov"):
        LinearGaussianController(np.zeros((2, 1, 1)), cov=-np.eye(1))
    rng = np.random.default_rng(8)
    dyn, p, _ = _random_problem(rng)
    with pytest.raises(ValueError, match="mu0"):
        trajectory_distribution(p, dyn, np.zeros(4), np.eye(3))
    with pytest.raises(ValueError, match="dynamics.A"):
        trajectory_distribution(p, dyn._replace(A=dyn.A[:2]), np.zeros(3), np.eye(3))
