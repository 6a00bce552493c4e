"""Jacobians of MuJoCo models (mjd_transitionFD) and iLQR through them."""

import numpy as np
import pytest

pytest.importorskip("mujoco", reason="MuJoCo tests need the optional extra: pip install planlab[mujoco]")

from planlab.core.cost import QuadraticCost  # noqa: E402
from planlab.dynamics import Pendulum  # noqa: E402
from planlab.dynamics.mujoco import MujocoDynamics  # noqa: E402
from planlab.dynamics.systems.pendulum import PendulumParams  # noqa: E402
from planlab.planners.trajopt import ILQR  # noqa: E402

# gymnasium's Pendulum-v1 as an MJCF model: a uniform rod (m = 1, l = 1, pivot inertia m l^2 / 3)
# above its hinge (theta = 0 upright), g = 10, semi-implicit Euler with dt = 0.05, torque in [-2, 2].
PENDULUM = """
<mujoco>
  <option timestep="0.05" gravity="0 0 -10" integrator="Euler"/>
  <worldbody>
    <body name="rod">
      <joint name="theta" type="hinge" axis="0 1 0"/>
      <inertial pos="0 0 0.5" mass="1" diaginertia="0.0833333333333333 0.0833333333333333 0.0833333333333333"/>
      <site name="tip" pos="0 0 1"/>
    </body>
  </worldbody>
  <actuator><motor joint="theta" ctrlrange="-2 2" ctrllimited="true"/></actuator>
</mujoco>
"""

ARM = PENDULUM.replace('<site name="tip" pos="0 0 1"/>', """<site name="tip" pos="0 0 1"/>
      <body pos="0 0 1"><joint name="elbow" type="hinge" axis="0 1 0" damping="0.1"/>
        <inertial pos="0 0 0.4" mass="0.5" diaginertia="0.02 0.02 0.02"/></body>""").replace(
    "</actuator>", '<motor joint="elbow" ctrlrange="-1 1" ctrllimited="true"/></actuator>')


@pytest.mark.parametrize("frame_skip", [1, 3])
def test_mjd_transition_jacobians_equal_central_differences_of_the_batched_rollout(frame_skip, rng):
    d = MujocoDynamics(ARM, frame_skip=frame_skip, nthread=1)
    x = np.array([0.4, -0.3, 0.5, -0.2])
    u = np.array([0.3, -0.2])
    A, B = d.jacobians(x, u)
    h = 1e-6
    Z = np.concatenate([x, u])
    n = len(Z)
    P = np.repeat(Z[None], 2 * n, axis=0)
    P[np.arange(n), np.arange(n)] += h
    P[n + np.arange(n), np.arange(n)] -= h
    # all perturbed one-step rollouts in one batched call
    F = d.rollout(P[:, :4], P[:, None, 4:]).states[:, 1]
    J = ((F[:n] - F[n:]) / (2 * h)).T  # (nx, nx + nu)
    np.testing.assert_allclose(A, J[:, :4], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(B, J[:, 4:], rtol=1e-5, atol=1e-6)
    # batched call: one (A, B) per row
    Ab, Bb = d.jacobians(np.stack([x, x]), np.stack([u, u]))
    np.testing.assert_array_equal(Ab[1], A)
    np.testing.assert_array_equal(Bb[0], B)


def test_rk4_model_jacobians_predict_small_changes_to_second_order(rng):
    # mjd_transitionFD does not support RK4: these come from differences of the batched rollout
    d = MujocoDynamics(ARM.replace('integrator="Euler"', 'integrator="RK4"'), frame_skip=2, nthread=1)
    x = np.array([0.4, -0.3, 0.5, -0.2])
    u = np.array([0.3, -0.2])
    A, B = d.jacobians(x, u)
    dx, du = rng.normal(size=4), rng.normal(size=2)
    errors = []
    for delta in (1e-3, 5e-4):
        change = d.step(x + delta * dx, u + delta * du) - d.step(x, u)
        errors.append(np.abs(change - delta * (A @ dx + B @ du)).max())
    assert errors[0] < 1e-5
    assert 3.0 < errors[0] / errors[1] < 5.0  # the remainder is quadratic in delta


def test_mujoco_pendulum_steps_like_the_analytic_pendulum(rng):
    mj = MujocoDynamics(PENDULUM, nthread=1)
    an = Pendulum(PendulumParams(max_speed=100.0))
    X = np.stack([rng.uniform(-np.pi, np.pi, 20), rng.uniform(-3, 3, 20)], axis=1)
    U = rng.uniform(-2, 2, (20, 1))
    np.testing.assert_allclose(mj.step(X, U), an.step(X, U), rtol=1e-12, atol=1e-12)


def test_ilqr_on_the_mujoco_pendulum_reaches_the_optimum_of_the_analytic_pendulum():
    mj = MujocoDynamics(PENDULUM, nthread=1)
    an = Pendulum(PendulumParams(max_speed=100.0))
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    x0 = np.array([0.8, 0.0])
    # finite-difference derivatives on both (the analytic model's casadi path would compile numba kernels)
    plans = [ILQR(dyn, cost, horizon=25, max_iterations=100, derivatives="fd").plan(x0) for dyn in (mj, an)]
    assert all(p.status == "converged" for p in plans), [p.status for p in plans]
    np.testing.assert_allclose(plans[0].cost, plans[1].cost, rtol=1e-6)
    np.testing.assert_allclose(plans[0].actions, plans[1].actions, atol=1e-4)


def test_jacobians_reject_mismatched_sizes():
    d = MujocoDynamics(PENDULUM, nthread=1)
    with pytest.raises(ValueError, match="x, u: expected shapes"):
        d.jacobians(np.zeros((3, 2)), np.zeros((2, 1)))


def test_chain_rule_cost_gradients_equal_finite_differences_of_the_cost_through_the_model(rng):
    from planlab.dynamics.mujoco import TaskCost

    d = MujocoDynamics(ARM, frame_skip=2, positions=("site:tip",), nthread=1)
    cost = TaskCost(d, positions={"site:tip": ([0.3, 0.0, 1.2], 1.0)}, joints={"elbow": (0.2, 0.5)},
                    velocity=0.01, control=[0.1, 0.2], terminal_weight=3.0)
    X = np.array([[0.4, -0.3, 0.5, -0.2], [0.1, 0.2, -0.3, 0.4], [0.0, 0.5, 0.1, 0.0]])
    U = np.array([[0.3, -0.2], [-0.5, 0.4]])
    A, B = d.jacobians(X[:2], U)
    lx, lu, lxx, luu, lux, gT, hT = cost.chain_derivatives(X, U, A, B)
    h = 1e-6
    for t in range(2):
        z = np.concatenate([X[t], U[t]])
        grad = np.empty(6)
        for i in range(6):
            e = np.zeros(6)
            e[i] = h
            hi, lo = z + e, z - e
            grad[i] = (cost.running(hi[None, :4], hi[None, 4:])[0] - cost.running(lo[None, :4], lo[None, 4:])[0]) / (2 * h)
        np.testing.assert_allclose(np.concatenate([lx[t], lu[t]]), grad, rtol=1e-5, atol=1e-6)
        # Gauss-Newton Hessians are symmetric positive semidefinite for this sum of squares
        Hz = np.block([[lxx[t], lux[t].T], [lux[t], luu[t]]])
        assert np.linalg.eigvalsh(0.5 * (Hz + Hz.T)).min() > -1e-6
    gT_fd = np.array([(cost.terminal(X[2][None] + h * e)[0] - cost.terminal(X[2][None] - h * e)[0]) / (2 * h)
                      for e in np.eye(4)])
    np.testing.assert_allclose(gT, gT_fd, rtol=1e-5, atol=1e-6)
