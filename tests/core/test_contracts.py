import dataclasses

import numpy as np
import pytest

from planlab.core import Dynamics, Plan, make_rng
from planlab.dynamics import Pendulum


def test_plan_is_frozen_and_its_arrays_read_only():
    p = Plan(np.zeros((3, 1)), np.zeros((4, 2)), 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.cost = 2.0
    with pytest.raises(ValueError):
        p.actions[0, 0] = 1.0
    assert p.horizon == 3 and p.first_action.shape == (1,)


def test_plan_rejects_inconsistent_shapes():
    with pytest.raises(ValueError, match=r"expected actions \(H, nu\) and states \(H \+ 1, nx\)"):
        Plan(np.zeros((3, 1)), np.zeros((3, 2)), 0.0)


def test_generic_rollout_holds_terminal_states_and_stops_costs():
    from planlab.envs.models import model_for

    dyn, cost = model_for("CartPole-v1")
    x0 = np.array([0.0, 0.0, 0.3, 0.0])  # already past 12 degrees -> terminal at once
    U = np.ones((2, 5, 1))
    r = Dynamics.rollout(dyn, x0, U, cost)  # the generic numpy path
    assert r.terminated.all()
    np.testing.assert_array_equal(r.states[:, -1], np.broadcast_to(x0, (2, 4)))
    np.testing.assert_array_equal(r.costs, 0.0)
    fused = dyn.rollout(x0, U, cost)  # the numba kernel follows the same rule
    np.testing.assert_array_equal(fused.states, r.states)
    np.testing.assert_array_equal(fused.costs, r.costs)
    assert fused.terminated.all()


def test_rollout_rejects_bad_shapes_and_values():
    sys_ = Pendulum()
    c = sys_.default_cost()
    with pytest.raises(ValueError, match=r"actions: expected shape \(N, H, 1\), got \(5, 1\)"):
        sys_.rollout(np.zeros(2), np.zeros((5, 1)), c)
    with pytest.raises(ValueError, match=r"x0: expected shape \(\.\.\., 2\), got \(3,\)"):
        sys_.rollout_cost(np.zeros(3), np.zeros((1, 5, 1)), c)
    with pytest.raises(ValueError, match="x0: expected finite values"):
        sys_.rollout_cost(np.array([np.nan, 0.0]), np.zeros((1, 5, 1)), c)
    with pytest.raises(ValueError, match="actions: expected finite values"):
        sys_.rollout_cost(np.zeros(2), np.full((1, 5, 1), np.inf), c)


def test_make_rng_is_deterministic_and_validates():
    assert make_rng(3).random() == make_rng(3).random()
    g = np.random.default_rng(0)
    assert make_rng(g) is g
    with pytest.raises(TypeError, match="seed: expected an int"):
        make_rng("x")
    with pytest.raises(ValueError, match="seed: expected a non-negative int, got -1"):
        make_rng(-1)


def test_dynamics_rejects_inverted_bounds_and_bad_dims():
    with pytest.raises(ValueError, match="action_low: expected action_low <= action_high, got 1.0 > -1.0"):
        _Toy(low=1.0, high=-1.0)
    with pytest.raises(ValueError, match="state_dim: expected an integer >= 1, got 0"):
        _Toy(nx=0)
    with pytest.raises(ValueError, match="dt: expected a positive number, got -0.1"):
        _Toy(dt=-0.1)
    with pytest.raises(ValueError, match="action_dim: expected 1 for a discrete model"):
        _Toy(nu=2, n_actions=3)


class _Toy(Dynamics):
    def __init__(self, nx=1, nu=1, low=-1.0, high=1.0, dt=0.1, n_actions=None):
        super().__init__(nx, nu, low, high, dt, n_actions=n_actions)

    def step(self, x, u, rng=None):
        return x
