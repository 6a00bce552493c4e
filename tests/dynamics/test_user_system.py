"""A user-written system (the README's example) gets every backend of the built-in ones."""

from dataclasses import dataclass

import numpy as np
import torch

from planlab.core import Dynamics, QuadraticCost
from planlab.core.ops import sin
from planlab.core.source import param_index
from planlab.dynamics import AnalyticSystem


@dataclass(frozen=True)
class SpringParams:
    k: float = 2.0
    dt: float = 0.05


P = param_index(SpringParams)


def spring_dynamics(x, u, p, out):
    out[1] = x[1] + p[P.dt] * (-p[P.k] * sin(x[0]) + u[0])
    out[0] = x[0] + p[P.dt] * out[1]


class Spring(AnalyticSystem):
    Params = SpringParams
    dynamics_source = staticmethod(spring_dynamics)

    def __init__(self):
        super().__init__(SpringParams(), action_low=-1, action_high=1, dt=0.05, state_dim=2, action_dim=1)


def test_readme_system_runs_on_all_backends(rng):
    s = Spring()
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01])
    x0 = rng.normal(size=(4, 2))
    U = rng.uniform(-1, 1, size=(4, 10, 1))
    ref = Dynamics.rollout(s, x0, U, cost)
    fused = s.rollout(x0, U, cost)
    np.testing.assert_allclose(fused.states, ref.states, rtol=1e-12)
    np.testing.assert_allclose(s.rollout_cost(x0, U, cost), ref.costs, rtol=1e-12)
    np.testing.assert_allclose(s.step_torch(torch.as_tensor(x0), torch.as_tensor(U[:, 0])).numpy(),
                               s.step(x0, U[:, 0]), rtol=1e-12)
    A, B = s.linearize(np.array([0.0, 0.0]), np.array([0.0]))
    dt, k = 0.05, 2.0
    np.testing.assert_allclose(A, [[1 - dt * dt * k, dt], [-dt * k, 1.0]], rtol=1e-12)
    np.testing.assert_allclose(B, [[dt * dt], [dt]], rtol=1e-12)


def test_params_of_the_wrong_type_are_rejected():
    import pytest

    with pytest.raises(TypeError, match="params: expected SpringParams, got dict"):
        AnalyticSystem.__init__(Spring.__new__(Spring), {}, action_low=-1, action_high=1, dt=0.1, state_dim=2,
                                action_dim=1)


def _halve(v):  # plain Python: numba cannot call it from compiled code, numpy can
    return 0.5 * v


def damped_dynamics_calling_python(x, u, p, out):
    out[1] = x[1] + p[P.dt] * (-p[P.k] * sin(x[0]) - _halve(x[1]) + u[0])
    out[0] = x[0] + p[P.dt] * out[1]


class DampedSpring(Spring):
    dynamics_source = staticmethod(damped_dynamics_calling_python)

    def default_cost(self):
        return QuadraticCost(Q=[1.0, 0.1], R=[0.01])


def test_sources_numba_cannot_compile_fall_back_to_numpy_with_a_warning(rng, monkeypatch):
    import pytest

    from planlab.dynamics import analytic
    from planlab.planners import make_planner

    monkeypatch.setattr(analytic, "_compiles", {})
    s = DampedSpring()
    cost = s.default_cost()
    x0 = rng.normal(size=(3, 2))
    U = rng.uniform(-1, 1, size=(3, 6, 1))
    with pytest.warns(RuntimeWarning, match="numba cannot compile the sources of DampedSpring"):
        assert s.kernels(cost) is None
    ref = Dynamics.rollout(s, x0, U, cost)
    np.testing.assert_allclose(s.rollout(x0, U, cost).states, ref.states, rtol=1e-12)
    np.testing.assert_allclose(s.rollout_cost(x0, U, cost), ref.costs, rtol=1e-12)
    # hand-checked step of the damped equation on the numpy path
    x, u = np.array([0.3, -0.2]), np.array([0.5])
    v = x[1] + 0.05 * (-2.0 * np.sin(x[0]) - 0.5 * x[1] + u[0])
    np.testing.assert_allclose(s.step(x[None], u[None])[0], [x[0] + 0.05 * v, v], rtol=1e-12)
    # planners built on the fused kernels use the numpy path instead of failing
    plan = make_planner("cem", s, cost, horizon=8, seed=0, population=50, elites=5).plan(np.array([1.0, 0.0]))
    assert np.isfinite(plan.cost) and np.all(np.abs(plan.actions) <= 1.0)
    uct = make_planner("uct", s, cost, horizon=8, seed=0, simulations=30,
                       progressive_widening=(1.0, 0.5))
    assert uct.backend == "python" and np.all(np.abs(uct.plan(np.array([1.0, 0.0])).actions) <= 1.0)
    assert make_planner("ilqr", s, cost, horizon=8).plan(np.array([1.0, 0.0])).status in ("converged", "max_iterations")
