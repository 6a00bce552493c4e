"""casadi derivatives against central finite differences of the numpy step and cost."""

import numpy as np
import pytest

from planlab.dynamics import SYSTEMS

CASES = {name: (lambda cls=cls: cls()) for name, cls in SYSTEMS.items()}


def _fd_jac(f, z, eps=1e-6):
    cols = []
    for i in range(len(z)):
        d = np.zeros_like(z)
        d[i] = eps
        cols.append((f(z + d) - f(z - d)) / (2 * eps))
    return np.stack(cols, axis=-1)


def _interior_point(dyn, rng):
    # Stay away from the kinks of clip() and the wrap of angles, where the derivative jumps.
    x = rng.uniform(-0.5, 0.5, size=dyn.state_dim)
    mid = 0.5 * (dyn.action_low + dyn.action_high)
    u = mid + 0.3 * (dyn.action_high - dyn.action_low) * rng.uniform(-0.5, 0.5, size=dyn.action_dim)
    return x, u


@pytest.mark.parametrize("name", sorted(CASES))
def test_linearize_matches_central_differences(name, rng):
    dyn = CASES[name]()
    for _ in range(5):
        x, u = _interior_point(dyn, rng)
        A, B = dyn.linearize(x, u)
        A_fd = _fd_jac(lambda z: dyn.step(z, u), x)
        B_fd = _fd_jac(lambda z: dyn.step(x, z), u)
        np.testing.assert_allclose(A, A_fd, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(B, B_fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cost_gradients_and_hessians_match_finite_differences(name, rng):
    dyn = CASES[name]()
    cost = dyn.default_cost()
    sym = dyn.symbolic(cost)
    x, u = _interior_point(dyn, rng)

    def run(x_, u_):
        return float(cost.running(x_, u_, dyn.step(x_, u_)))

    l, lx, lu, lxx, luu, lux = sym.cost_derivatives(x, u)
    assert l == pytest.approx(run(x, u), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(lx, _fd_jac(lambda z: np.array(run(z, u)), x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lu, _fd_jac(lambda z: np.array(run(x, z)), u), rtol=1e-5, atol=1e-6)
    # Hessians: central differences of the (exact) gradients.
    np.testing.assert_allclose(lxx, _fd_jac(lambda z: sym.cost_derivatives(z, u)[1], x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(luu, _fd_jac(lambda z: sym.cost_derivatives(x, z)[2], u), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lux, _fd_jac(lambda z: sym.cost_derivatives(z, u)[2], x), rtol=1e-5, atol=1e-6)
    lt, ltx, ltxx = sym.terminal_derivatives(x)
    assert lt == pytest.approx(float(cost.terminal(x)), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(ltx, _fd_jac(lambda z: np.array(float(cost.terminal(z))), x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ltxx, _fd_jac(lambda z: sym.terminal_derivatives(z)[1], x), rtol=1e-5, atol=1e-6)


def test_double_integrator_linearization_is_its_exact_matrices():
    dyn = SYSTEMS["doubleintegrator"](n=2)
    A, B = dyn.linearize(np.ones(4), np.ones(2))
    A_ref, B_ref = dyn.matrices()
    np.testing.assert_allclose(A, A_ref, rtol=0, atol=1e-15)
    np.testing.assert_allclose(B, B_ref, rtol=0, atol=1e-15)


def test_linearize_rejects_wrong_shapes():
    dyn = SYSTEMS["pendulum"]()
    with pytest.raises(ValueError, match=r"x, u: expected shapes \(2,\) and \(1,\)"):
        dyn.linearize(np.zeros(2), np.zeros(2))
