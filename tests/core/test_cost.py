import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from planlab.core import QuadraticCost
from planlab.core.ops import wrap_angle


def _reference(Q, R, Qf, xg, ug, wrap, x, u):
    e = x - xg
    for i in wrap:
        e[..., i] = (e[..., i] + np.pi) % (2 * np.pi) - np.pi  # gymnasium's angle_normalize
    d = u - ug
    run = 0.5 * np.einsum("...i,ij,...j->...", e, Q, e) + 0.5 * np.einsum("...i,ij,...j->...", d, R, d)
    fin = 0.5 * np.einsum("...i,ij,...j->...", e, Qf, e)
    return run, fin


def _spd(rng, n):
    a = rng.normal(size=(n, n))
    return a @ a.T + 0.1 * np.eye(n)


@given(seed=st.integers(0, 2**31 - 1), nx=st.integers(1, 6), nu=st.integers(1, 3))
def test_quadratic_cost_equals_einsum_reference_with_dense_weights(seed, nx, nu):
    rng = np.random.default_rng(seed)
    Q, R, Qf = _spd(rng, nx), _spd(rng, nu), _spd(rng, nx)
    xg, ug = rng.normal(size=nx), rng.normal(size=nu)
    wrap = [0] if nx > 1 else []
    c = QuadraticCost(Q, R, Qf, xg, ug, angle_indices=wrap)
    x, u = rng.normal(size=(7, nx)) * 4, rng.normal(size=(7, nu))
    run, fin = _reference(Q, R, Qf, xg, ug, wrap, x.copy(), u)
    np.testing.assert_allclose(c.running(x, u), run, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(c.terminal(x), fin, rtol=1e-10, atol=1e-10)


def test_diagonal_weights_accept_vectors_and_wrap_angles():
    c = QuadraticCost(Q=[2.0, 0.2], R=[0.002], angle_indices=[0])
    x = np.array([[2 * np.pi + 0.5, 1.0]])
    assert c.running(x, np.array([[1.0]]))[0] == pytest.approx(0.25 + 0.1 + 0.001)


@given(arrays(np.float64, 20, elements=st.floats(-1e3, 1e3)))
def test_wrap_angle_matches_gymnasium_angle_normalize(a):
    ref = ((a + np.pi) % (2 * np.pi)) - np.pi
    np.testing.assert_allclose(wrap_angle(a), ref, atol=1e-9)
    assert np.all(wrap_angle(a) >= -np.pi) and np.all(wrap_angle(a) < np.pi)


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"Q": np.ones((2, 3)), "R": [1.0]}, r"Q: expected a square matrix of shape \(2, 2\), got \(2, 3\)"),
        ({"Q": [1.0, 1.0], "R": [[1.0, 0.0], [0.0, -1.0]]}, "R: expected a positive semidefinite matrix"),
        ({"Q": [[1.0, 2.0], [0.0, 1.0]], "R": [1.0]}, "Q: expected a symmetric matrix"),
        ({"Q": [1.0, np.nan], "R": [1.0]}, "Q: expected finite values"),
        ({"Q": [1.0, 1.0], "R": [1.0], "x_goal": [0.0]}, r"x_goal: expected shape \(2,\), got \(1,\)"),
        ({"Q": [1.0, 1.0], "R": [1.0], "angle_indices": [5]}, r"angle_indices: expected indices in \[0, 2\), got 5"),
    ],
)
def test_bad_weights_raise_clear_errors(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        QuadraticCost(**kwargs)


def test_trajectory_cost_sums_running_and_terminal():
    c = QuadraticCost(Q=[1.0], R=[1.0], Qf=[3.0])
    states = np.array([[1.0], [2.0], [3.0]])
    actions = np.array([[1.0], [1.0]])
    assert c.trajectory_cost(states, actions) == pytest.approx(0.5 * (1 + 1) + 0.5 * (4 + 1) + 0.5 * 3 * 9)
