import numpy as np
import pytest

from planlab.core import Plan, Planner
from planlab.dynamics import Pendulum
from planlab.planners import MPC, RandomShooting
from planlab.planners.mpc import shift_actions


class _Recorder(Planner):
    """Returns a known plan and records the warm starts it receives."""

    def __init__(self, dyn, horizon):
        super().__init__(dyn, dyn.default_cost(), horizon)
        self.warm_starts = []
        self.calls = 0

    def plan(self, x0, warm_start=None):
        self.warm_starts.append(None if warm_start is None else np.array(warm_start))
        self.calls += 1
        acts = np.clip(np.arange(self.horizon, dtype=float)[:, None] * 0.1 + self.calls, -2, 2)
        roll = self.dynamics.rollout(x0, acts[None], self.cost)
        return Plan(acts, roll.states[0], roll.costs[0])


def test_shift_actions_pads_with_the_last_action():
    a = np.arange(5.0)[:, None]
    np.testing.assert_array_equal(shift_actions(a, 2)[:, 0], [2, 3, 4, 4, 4])
    np.testing.assert_array_equal(shift_actions(a, 1, "zero", [-1.0], [1.0])[:, 0], [1, 2, 3, 4, 0])


def test_mpc_executes_first_action_and_warm_starts_with_the_shifted_plan():
    planner = _Recorder(Pendulum(), horizon=4)
    mpc = MPC(planner)
    u0 = mpc.act(np.array([0.0, 0.0]))
    u1 = mpc.act(np.array([0.0, 0.0]))
    assert u0[0] == pytest.approx(1.0) and u1[0] == pytest.approx(2.0)
    assert planner.warm_starts[0] is None
    np.testing.assert_allclose(planner.warm_starts[1][:, 0], [1.1, 1.2, 1.3, 1.3])
    assert len(mpc.plan_times) == 2


def test_replan_every_k_steps_executes_k_actions_of_one_plan():
    planner = _Recorder(Pendulum(), horizon=5)
    mpc = MPC(planner, replan_every=3)
    us = [mpc.act(np.zeros(2))[0] for _ in range(4)]
    assert planner.calls == 2
    np.testing.assert_allclose(us, [1.0, 1.1, 1.2, 2.0])


def test_replan_every_longer_than_horizon_is_rejected():
    with pytest.raises(ValueError, match="replan_every: expected at most the horizon"):
        MPC(_Recorder(Pendulum(), horizon=2), replan_every=3)


def test_mpc_rejects_a_batch_of_states():
    dyn = Pendulum()
    mpc = MPC(RandomShooting(dyn, dyn.default_cost(), horizon=5, population=5))
    with pytest.raises(ValueError, match=r"x: MPC acts on one state of shape \(2,\), got \(3, 2\)"):
        mpc.act(np.zeros((3, 2)))
