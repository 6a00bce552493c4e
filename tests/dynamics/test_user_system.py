"""A user-written system (the README's example) gets every backend of the built-in ones."""

from dataclasses import dataclass

import numpy as np
import torch

from planlab.core import Dynamics, QuadraticCost
from planlab.core.ops import sin
from planlab.dynamics import AnalyticSystem


@dataclass(frozen=True)
class SpringParams:
    k: float = 2.0
    dt: float = 0.05


def spring_dynamics(x, u, p, out):
    out[1] = x[1] + p[1] * (-p[0] * sin(x[0]) + u[0])
    out[0] = x[0] + p[1] * out[1]


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
