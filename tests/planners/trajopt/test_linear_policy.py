"""The time-varying linear policy u_t = K_t (x_t - x̂_t) + k_t + û_t (section 5.7.1)."""

from __future__ import annotations

import numpy as np
import pytest

from planlab.dynamics import DoubleIntegrator
from planlab.planners.trajopt.policy import TimeVaryingLinearPolicy


def make(T=4, nu=2, nx=3, seed=0, **kw):
    rng = np.random.default_rng(seed)
    return (TimeVaryingLinearPolicy(rng.normal(size=(T, nu, nx)), rng.normal(size=(T, nu)), rng.normal(size=(T + 1, nx)),
                                    rng.normal(size=(T, nu)), **kw), rng)


def test_action_is_the_affine_law_at_each_step():
    pi, rng = make()
    pi.reset()
    for t in range(4):
        x = rng.normal(size=3)
        expected = pi.K[t] @ (x - pi.x_ref[t]) + pi.k[t] + pi.u_ref[t]
        np.testing.assert_allclose(pi.act(x), expected, atol=1e-14)
    assert pi.t == 4


def test_batched_states_give_batched_actions():
    pi, rng = make()
    X = rng.normal(size=(5, 7, 3))
    U = pi.act_at(2, X)
    assert U.shape == (5, 7, 2)
    np.testing.assert_allclose(U[3, 4], pi.act_at(2, X[3, 4]), atol=1e-14)


def test_reset_rewinds_the_clock():
    pi, rng = make()
    x = rng.normal(size=3)
    first = pi.act(x)
    pi.act(x)
    pi.reset()
    np.testing.assert_allclose(pi.act(x), first)


def test_actions_are_clipped_to_the_box():
    pi, rng = make(action_low=-0.1, action_high=[0.2, 0.3])
    U = pi.act_at(0, 100 * rng.normal(size=(50, 3)))
    assert np.all(U >= -0.1) and np.all(U[:, 0] <= 0.2) and np.all(U[:, 1] <= 0.3)


def test_after_the_horizon_hold_or_error():
    pi, rng = make(T=2)
    x = rng.normal(size=3)
    np.testing.assert_allclose(pi.act_at(5, x), pi.act_at(1, x))
    strict, _ = make(T=2, after_end="error")
    with pytest.raises(IndexError, match="t: the policy has 2 steps"):
        strict.act_at(2, x)


def test_rollout_follows_the_dynamics():
    system = DoubleIntegrator(n=1, accel_max=10.0)
    T = 6
    K = np.tile(np.array([[[-1.0, -1.5]]]), (T, 1, 1))
    pi = TimeVaryingLinearPolicy(K)
    X, U = pi.rollout(system, np.array([1.0, 0.0]))
    assert X.shape == (T + 1, 2) and U.shape == (T, 1)
    A, B = system.matrices()
    for t in range(T):
        np.testing.assert_allclose(U[t], K[t] @ X[t])
        np.testing.assert_allclose(X[t + 1], A @ X[t] + B @ U[t])


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="K: expected 3 dimension"):
        TimeVaryingLinearPolicy(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"k: expected shape \(4, 2\)"):
        TimeVaryingLinearPolicy(np.ones((4, 2, 3)), k=np.ones((3, 2)))
    with pytest.raises(ValueError, match="x_ref: expected shape"):
        TimeVaryingLinearPolicy(np.ones((4, 2, 3)), x_ref=np.ones((4, 2)))
    with pytest.raises(ValueError, match="K: expected finite"):
        TimeVaryingLinearPolicy(np.full((1, 1, 1), np.nan))
    pi, _ = make()
    with pytest.raises(ValueError, match=r"obs: expected shape \(\.\.\., 3\)"):
        pi.act(np.ones(2))
    with pytest.raises(ValueError, match="obs: expected finite"):
        pi.act(np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="action_low: expected action_low <= action_high"):
        make(action_low=1.0, action_high=0.0)
