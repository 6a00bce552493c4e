"""Fuzzing planner constructors, ``plan`` and MPC: a valid plan or a ValueError/TypeError naming the argument.

A valid plan has finite actions inside the box, predicted states of the right shape, a status from the
contract, and never a NaN cost with a status other than "failed".
"""

import warnings

import numpy as np
import pytest
from fuzzlib import bad_values, check_named_error, describe, record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planlab.dynamics import DoubleIntegrator
from planlab.envs.models import model_for
from planlab.planners import MPC, PLANNERS, make_planner

FUZZ = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SHAPES = [(), (0,), (1,), (2,), (3,), (4, 1), (4, 2), (3, 1), (0, 1), (2, 2)]
STATUSES = {"ok", "converged", "stalled", "max_iterations", "failed"}
#: tiny settings per planner so a fuzzed plan takes milliseconds
TINY = {"shooting": {"population": 8}, "cem": {"population": 8, "elites": 2, "iterations": 1},
        "icem": {"population": 8, "elites": 2, "iterations": 1}, "mppi": {"population": 8, "iterations": 1},
        "ilqr": {"max_iterations": 3}, "nlp": {"max_iterations": 5}, "lqr": {}, "uct": {"simulations": 8}}
OPTION_VALUES = st.sampled_from([None, -1, 0, 1, 2, 3, 0.5, -0.5, float("nan"), float("inf"), "abc", True, [1, 2]])


def _problem(name):
    if name == "uct":
        return model_for("CartPole-v1")
    d = DoubleIntegrator()
    return d, d.default_cost()


def check_plan(plan, d, H):
    assert plan.status in STATUSES
    assert plan.actions.shape == (H, d.action_dim) and plan.states.shape == (H + 1, d.state_dim)
    assert np.all(np.isfinite(plan.actions))
    assert np.all(plan.actions >= d.action_low) and np.all(plan.actions <= d.action_high)
    if plan.status != "failed":
        assert not np.isnan(plan.cost)


@pytest.mark.parametrize("name", sorted(PLANNERS))
@FUZZ
@given(horizon=OPTION_VALUES, option=st.sampled_from(["population", "iterations", "elites", "temperature",
                                                      "simulations", "max_iterations", "discount", "bogus"]),
       value=OPTION_VALUES)
def test_planner_constructor_builds_or_names_the_bad_option(name, horizon, option, value):
    d, c = _problem(name)
    opts = dict(TINY[name])
    opts[option] = value
    record(f"{name}.__init__", f"horizon={describe(horizon)}|{option}={describe(value)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = make_planner(name, d, c, horizon=horizon, seed=0, **opts)
    except Exception as exc:  # noqa: BLE001
        check_named_error(exc)
        return
    assert p.horizon == horizon


@pytest.mark.parametrize("name", sorted(PLANNERS))
@FUZZ
@given(x0=bad_values(SHAPES), warm_start=st.one_of(st.none(), bad_values(SHAPES)))
def test_plan_is_valid_or_names_the_bad_argument(name, x0, warm_start):
    d, c = _problem(name)
    p = make_planner(name, d, c, horizon=4, seed=0, **TINY[name])
    record(f"{name}.plan", f"{describe(x0)}|{describe(warm_start)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                plan = p.plan(x0, warm_start=warm_start)
    except Exception as exc:  # noqa: BLE001
        check_named_error(exc)
        return
    check_plan(plan, d, 4)


@FUZZ
@given(replan=OPTION_VALUES, fill=st.sampled_from(["last", "zero", "mean", "bogus", None, 3]),
       warm=st.sampled_from([True, False]), x=bad_values(SHAPES))
def test_mpc_is_valid_or_names_the_bad_argument(replan, fill, warm, x):
    d = DoubleIntegrator()
    p = make_planner("cem", d, d.default_cost(), horizon=4, seed=0, **TINY["cem"])
    record("MPC", f"replan={describe(replan)}|fill={fill!r}|{describe(x)}")
    try:
        mpc = MPC(p, replan_every=replan, shift_fill=fill, warm_start=warm)
        with np.errstate(all="ignore"):
            u1 = mpc.act(x)
            u2 = mpc.act(x)
    except Exception as exc:  # noqa: BLE001
        check_named_error(exc)
        return
    for u in (u1, u2):
        assert u.shape == (1,) and np.all(np.isfinite(u)) and np.all(np.abs(u) <= 1.0)
