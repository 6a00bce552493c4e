"""Derivatives of the time-indexed costs and augmented-Lagrangian terms against central differences of numpy."""

import numpy as np
import pytest

from planlab.benchmarks.robot_tasks import arm_tracking_problem
from planlab.core.constraints import circle_obstacles, state_box
from planlab.core.tracking import TrackingCost
from planlab.dynamics import Unicycle
from planlab.planners.trajopt.layout import packed_layout
from planlab.planners.trajopt.stagewise import StagewiseFunctions

H = 1e-5


def _unpack(F, row):
    lay = packed_layout(F.nx, F.nu)
    return {n: row[o:o + int(np.prod(s))].reshape(s) for n, (o, s) in ((n, v) for n, v in lay.items() if n != "size")}


H2 = 1e-4  # steps of the nested (second) differences: rounding ~ eps |f| / H2^2


def _fd_grad(f, z, h=H):
    g = np.empty_like(z)
    for i in range(z.size):
        e = np.zeros_like(z)
        e[i] = h
        g[i] = (f(z + e) - f(z - e)) / (2 * h)
    return g


def _fd_hess(f, z):
    grad = lambda zz: _fd_grad(f, zz, H2)  # noqa: E731
    return np.column_stack([(grad(z + e) - grad(z - e)) / (2 * H2) for e in np.eye(z.size) * H2])


def _check_row(F, value, x, u, pc, pg, lam, rho, *, hessian=True):
    """Compare the packed row at (x, u) with central differences of ``value(x, u)`` (numpy)."""
    nx = x.size
    row = np.asarray(F.sx["row"](x, u, F.param_vector, pc, pg, lam, rho)).ravel()
    d = _unpack(F, row)
    z = np.concatenate([x, u])
    f = lambda zz: value(zz[:nx], zz[nx:])  # noqa: E731
    g = _fd_grad(f, z)
    np.testing.assert_allclose(np.concatenate([d["lx"], d["lu"]]), g, rtol=1e-6, atol=1e-7)
    if hessian:
        Hs = _fd_hess(f, z)
        np.testing.assert_allclose(d["lxx"], Hs[:nx, :nx], rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(d["luu"], Hs[nx:, nx:], rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(d["lux"], Hs[nx:, :nx], rtol=1e-3, atol=1e-4)


def test_tracking_cost_gradient_and_hessian_match_central_differences(rng):
    T = 4
    cost = TrackingCost(T, Q=rng.uniform(0.5, 2, (T + 1, 3)), R=[0.3, 0.2], Qf=[5.0, 5.0, 1.0],
                        x_ref=rng.normal(size=(T + 1, 3)), u_ref=rng.normal(size=(T, 2)), angle_indices=[2])
    F = StagewiseFunctions(Unicycle(), cost, None, T, compiled=False)
    for t in range(T):
        x, u = rng.normal(size=3), rng.normal(size=2)
        _check_row(F, lambda a, b: float(cost.running(a, b, t=t)), x, u, cost.params[t], np.zeros(1),
                   np.zeros(0), np.zeros(0))
        # the wrapped error: the same cost at x + 2 pi on the angle
        assert float(cost.running(x + [0, 0, 2 * np.pi], u, t=t)) == pytest.approx(float(cost.running(x, u, t=t)))


def test_fingertip_cost_gradient_and_hessian_match_central_differences(rng):
    system, cost, _ = arm_tracking_problem(horizon=3)
    cost.set_params(target=[0.4, 1.1])
    F = StagewiseFunctions(system, cost, None, 3, compiled=False)
    x, u = rng.normal(size=4), rng.normal(size=2)
    _check_row(F, lambda a, b: float(cost.running(a, b, t=1)), x, u, cost.params[1], np.zeros(1), np.zeros(0),
               np.zeros(0))


def _al_value(cost, cons, t, lam, rho):
    def value(x, u):
        g = cons.stage_values(np.vstack([np.tile(x, (cons.horizon, 1)), x]), np.tile(u, (cons.horizon, 1)))[t]
        return float(cost.running(x, u, t=t)) + float(np.sum((np.maximum(0, lam + rho * g) ** 2 - lam ** 2) / (2 * rho)))
    return value


def test_augmented_lagrangian_terms_match_central_differences(rng):
    T = 3
    cost = TrackingCost(T, Q=[1.0, 1.0, 0.1], R=[0.1, 0.1], x_ref=[1.0, 0.0, 0.0])
    # linear constraints: the Gauss-Newton Hessian of the active terms is exact
    box = state_box(3, 2, T, [0, 1], low=[-0.2, -0.3], high=[0.1, 0.2])
    F = StagewiseFunctions(Unicycle(), cost, box, T, compiled=False)
    x, u = np.array([0.3, -0.5, 0.2]), rng.normal(size=2)  # x_0 above, x_1 below its box: active terms
    lam, rho = np.array([0.5, 0.0, 0.0, 0.7]), np.array([10.0, 3.0, 2.0, 5.0])
    _check_row(F, _al_value(cost, box, 1, lam, rho), x, u, cost.params[1], box.params[1], lam, rho)
    # nonlinear constraint (a disc): the gradient is exact
    disc = circle_obstacles(3, 2, T, [[0.2, 0.1]], [0.5])
    F = StagewiseFunctions(Unicycle(), cost, disc, T, compiled=False)
    _check_row(F, _al_value(cost, disc, 0, np.array([0.4]), np.array([20.0])), np.array([0.1, 0.3, 0.0]), u,
               cost.params[0], disc.params[0], np.array([0.4]), np.array([20.0]), hessian=False)


def test_disc_penalty_in_a_sum_cost_matches_central_differences(rng):
    from planlab.core.tracking import DiscPenaltyCost, SumCost

    T = 3
    track = TrackingCost(T, Q=[1.0, 1.0, 0.1], R=[0.1, 0.1], x_ref=[1.0, 0.0, 0.0])
    soft = DiscPenaltyCost(3, 2, T, [[0.2, 0.1], [0.5, -0.3]], [0.3, 0.2], weight=2.0, softness=0.1)
    both = SumCost(track, soft)
    x, u = np.array([0.3, 0.05, 0.1]), rng.normal(size=2)
    assert float(both.running(x, u, t=1)) == pytest.approx(float(track.running(x, u, t=1) + soft.running(x, u, t=1)))
    d = np.hypot(x[0] - 0.2, x[1] - 0.1)
    assert float(soft.terminal(x)) == pytest.approx(2.0 * (np.exp((0.09 - d ** 2) / 0.1)
                                                           + np.exp((0.04 - np.hypot(x[0] - 0.5, x[1] + 0.3) ** 2) / 0.1)))
    F = StagewiseFunctions(Unicycle(), both, None, T, compiled=False)
    _check_row(F, lambda a, b: float(both.running(a, b, t=1)), x, u, both.params[1], np.zeros(1), np.zeros(0),
               np.zeros(0))
    both.set_params(discs1=[5.0, 5.0, 0.3, 6.0, 6.0, 0.2])  # moved away: only tracking remains
    assert float(both.running(x, u, t=0)) == pytest.approx(float(track.running(x, u, t=0)), abs=1e-12)
