"""Cost weights and targets are runtime inputs of the compiled kernels: a new value never recompiles.

Each test plans once (compiling or loading the kernels), then plans with other weights or another
target and counts numba's compile events (``numba:compile``, fired only when numba really compiles,
not when it loads from the disk cache) and the kernel modules planlab generates.
"""

import numpy as np
from numba.core import event

from planlab.core.cost import QuadraticCost
from planlab.dynamics import CartPole, Pendulum
from planlab.dynamics.compiled import loader
from planlab.dynamics.systems.pendulum import PendulumGymCost
from planlab.planners import CEM, ILQR, MPPI
from planlab.planners.trajopt import codegen
from planlab.planners.trajopt.derivatives import CodegenModel, make_trajectory_model


def _compiles_and_modules(fn):
    """(numba compile events, new specialised or generated modules, result) of ``fn()``."""
    before = len(loader._loaded) + len(codegen._generated)
    with event.install_recorder("numba:compile") as rec:
        result = fn()
    starts = [e for _, e in rec.buffer if e.is_start]
    return len(starts), len(loader._loaded) + len(codegen._generated) - before, result


def _quadratic(q_theta, goal):
    return QuadraticCost(Q=[1.0, 0.1, q_theta, 0.1], R=[0.01], Qf=[1.0, 0.1, q_theta, 0.1], angle_indices=[2],
                         x_goal=[goal, 0.0, 0.0, 0.0])


def test_new_quadratic_weights_and_target_do_not_recompile_the_sampling_kernels():
    d = CartPole()
    x0 = np.array([0.0, 0.0, 0.5, 0.0])
    for cls in (CEM, MPPI):
        first = cls(d, _quadratic(10.0, 0.0), horizon=6, population=16, seed=0, **({"elites": 4} if cls is CEM else {}))
        first.plan(x0)
        n, mods, plan = _compiles_and_modules(
            lambda: cls(d, _quadratic(25.0, 0.3), horizon=6, population=16, seed=0,
                        **({"elites": 4} if cls is CEM else {})).plan(x0))
        assert (n, mods) == (0, 0), f"{cls.__name__}: {n} numba compiles, {mods} new kernel modules"
        # and the new weights are used: the plan's cost is the new cost of its own actions
        assert np.isclose(plan.cost, d.rollout(x0, plan.actions[None], _quadratic(25.0, 0.3)).costs[0], rtol=1e-12)


def test_new_source_cost_parameters_do_not_regenerate_the_ilqr_derivative_code():
    d = Pendulum()
    x0 = np.array([2.5, 0.0])
    ILQR(d, PendulumGymCost(2.0), horizon=8, max_iterations=3).plan(x0)
    new_cost = PendulumGymCost(0.5)  # the cost clips the torque at its parameter: the derivatives depend on it
    n, mods, plan = _compiles_and_modules(lambda: ILQR(d, new_cost, horizon=8, max_iterations=3).plan(x0))
    assert (n, mods) == (0, 0), f"ILQR: {n} numba compiles, {mods} new kernel modules"
    assert np.isclose(plan.cost, d.rollout(x0, plan.actions[None], new_cost).costs[0], rtol=1e-9)


def test_ilqr_derivatives_follow_the_runtime_cost_parameters():
    """The generated derivative code reads the cost's parameters at run time: casadi's gradient of each cost."""
    d = Pendulum()
    X = np.array([[2.5, 0.1], [2.4, 0.2], [2.3, 0.0], [2.2, -0.1], [2.1, 0.0]])
    U = np.array([[0.3], [1.0], [-0.2], [0.1]])  # 1.0 saturates the cost's torque clip at 0.5, not at 2.0
    grads = []
    for max_torque in (2.0, 0.5):
        cost = PendulumGymCost(max_torque)
        m = make_trajectory_model(d, cost)
        assert isinstance(m, CodegenModel)
        O, OT = np.empty((4, m.n_packed)), np.empty(2 + 4)
        assert m.derivatives(X, U, O, OT)
        got = m.unpack(O)
        _, lx, lu, _, luu, _ = d.symbolic(cost).cost_derivatives(X[1], m.derivative_controls(U)[1])
        np.testing.assert_allclose(got["lu"][1], lu, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got["luu"][1], luu, rtol=1e-10, atol=1e-12)
        grads.append(got["lu"][1].copy())
    assert not np.allclose(grads[0], grads[1])  # the two parameter values give different derivatives
