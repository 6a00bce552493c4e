"""Fuzzing systems (step, rollout, linearize) and costs: a valid result or a ValueError/TypeError naming the argument."""

import numpy as np
import pytest
from fuzzlib import bad_values, check_named_error, describe, record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planlab.core import QuadraticCost
from planlab.dynamics import SYSTEMS

FUZZ = settings(max_examples=20, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SHAPES = [(), (0,), (1,), (2,), (3,), (4,), (6,), (2, 2), (3, 4), (1, 1, 4), (2, 0)]


def _check_state_result(system, x, u, out):
    out = np.asarray(out)
    assert out.dtype == np.float64 and out.shape[-1] == system.state_dim
    assert out.shape == np.broadcast_shapes(np.shape(x)[:-1], np.shape(u)[:-1]) + (system.state_dim,)


@pytest.mark.parametrize("name", sorted(SYSTEMS))
@FUZZ
@given(x=bad_values(SHAPES), u=bad_values(SHAPES))
def test_step_returns_next_states_or_names_the_bad_argument(name, x, u):
    system = SYSTEMS[name]()
    record(f"{name}.step", f"{describe(x)}|{describe(u)}")
    try:
        with np.errstate(all="ignore"):
            out = system.step(x, u)
    except Exception as exc:  # noqa: BLE001 - the check is that it is a named ValueError/TypeError
        check_named_error(exc)
        return
    _check_state_result(system, x, u, out)


@pytest.mark.parametrize("name", ["pendulum", "cartpole", "unicycle"])
@FUZZ
@given(x0=bad_values(SHAPES), actions=bad_values(SHAPES + [(1, 3, 1), (2, 3, 2), (1, 0, 1), (0, 2, 1)]),
       use_cost=st.booleans())
def test_rollout_returns_trajectories_or_names_the_bad_argument(name, x0, actions, use_cost):
    system = SYSTEMS[name]()
    record(f"{name}.rollout", f"{describe(x0)}|{describe(actions)}|cost={use_cost}")
    try:
        with np.errstate(all="ignore"):
            roll = system.rollout(x0, actions, system.default_cost() if use_cost else None)
    except Exception as exc:  # noqa: BLE001
        check_named_error(exc)
        return
    N, H, _ = np.shape(actions)
    assert roll.states.shape == (N, H + 1, system.state_dim)
    assert (roll.costs is None) != use_cost and roll.terminated.shape == (N,)


@pytest.mark.parametrize("name", ["pendulum", "acrobot", "quadrotor2d"])
@FUZZ
@given(x=bad_values(SHAPES), u=bad_values(SHAPES))
def test_linearize_returns_jacobians_or_names_the_bad_argument(name, x, u):
    system = SYSTEMS[name]()
    record(f"{name}.linearize", f"{describe(x)}|{describe(u)}")
    try:
        A, B = system.linearize(x, u)
    except Exception as exc:  # noqa: BLE001
        check_named_error(exc)
        return
    assert A.shape == (system.state_dim, system.state_dim) and B.shape == (system.state_dim, system.action_dim)
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(B))


@FUZZ
@given(Q=bad_values(SHAPES), R=bad_values(SHAPES), Qf=st.one_of(st.none(), bad_values(SHAPES)),
       x_goal=st.one_of(st.none(), bad_values(SHAPES)),
       angles=st.one_of(st.just(()), st.lists(st.integers(-3, 5), max_size=3)))
def test_quadratic_cost_construction_is_valid_or_names_the_bad_argument(Q, R, Qf, x_goal, angles):
    record("QuadraticCost", f"{describe(Q)}|{describe(R)}|{describe(Qf)}|{describe(x_goal)}|angles={len(angles)}")
    try:
        with np.errstate(all="ignore"):
            c = QuadraticCost(Q=Q, R=R, Qf=Qf, x_goal=x_goal, angle_indices=angles)
    except Exception as exc:  # noqa: BLE001
        check_named_error(exc)
        return
    x, u = np.zeros(c.state_dim), np.zeros(c.action_dim)
    assert np.isfinite(c.running(x, u)) and c.running(x, u) >= 0.0


@FUZZ
@given(x=bad_values(SHAPES), u=bad_values(SHAPES))
def test_cost_evaluation_is_valid_or_names_the_bad_argument(x, u):
    cost = QuadraticCost(Q=[1.0, 0.5], R=[0.1], Qf=[2.0, 1.0], angle_indices=[0])
    record("QuadraticCost.running", f"{describe(x)}|{describe(u)}")
    try:
        with np.errstate(all="ignore"):
            val = cost.running(x, u)
            fin = cost.terminal(x)
    except Exception as exc:  # noqa: BLE001
        check_named_error(exc)
        return
    assert np.shape(val) == np.broadcast_shapes(np.shape(x)[:-1], np.shape(u)[:-1])
    assert np.shape(fin) == np.shape(x)[:-1]
