"""check_planner catches planners that break the contract, and passes an exact one (LQR)."""

import numpy as np
import pytest

from planlab.core.planning import Plan, Planner
from planlab.testing import PlannerCheckError, check_planner, riccati_reference, feedback_rollout


class _LQRPlanner(Planner):
    """Exact finite-horizon LQR through the testing kit's recursion (an optimal reference planner)."""

    name = "test-lqr"

    def plan(self, x0, warm_start=None):
        x0 = self._check_x0(x0)
        A, B = self.dynamics.matrices()
        c = self.cost
        K, _ = riccati_reference(A, B, c.Q, c.R, c.Qf, self.horizon)
        _, u = feedback_rollout(A, B, K, x0)
        u = self.dynamics.clip_action(u)
        roll = self.dynamics.rollout(x0, u[None], c)
        return Plan(u, roll.states[0], roll.costs[0])


class _Broken(_LQRPlanner):
    def __init__(self, *a, flaw, **k):
        super().__init__(*a, **k)
        self.flaw = flaw

    def plan(self, x0, warm_start=None):
        p = super().plan(x0, warm_start)
        u = np.array(p.actions)
        if self.flaw == "bounds":
            u = u + 2 * self.dynamics.action_high
            return Plan(u, p.states, p.cost)
        if self.flaw == "cost":
            return Plan(u, p.states, p.cost * 0.5)
        if self.flaw == "random":
            u = self.dynamics.clip_action(u + 1e-3 * np.random.default_rng().standard_normal(u.shape))
            roll = self.dynamics.rollout(x0, u[None], self.cost)
            return Plan(u, roll.states[0], roll.costs[0])
        if self.flaw == "shape":
            return Plan(u[:-1], p.states[:-1], p.cost)
        if self.flaw == "suboptimal":
            u = 0.5 * u
            roll = self.dynamics.rollout(x0, u[None], self.cost)
            return Plan(u, roll.states[0], roll.costs[0])
        raise AssertionError(self.flaw)


def test_exact_lqr_planner_passes_with_factor_one():
    check_planner(lambda d, c, h, s: _LQRPlanner(d, c, h, seed=s), lq_factor=1.0 + 1e-9, max_examples=15)


@pytest.mark.parametrize("flaw, check", [("bounds", "contract"), ("cost", "cost"), ("random", "determinism"),
                                         ("shape", "contract"), ("suboptimal", "lq")])
def test_check_planner_reports_the_broken_check(flaw, check):
    with pytest.raises(PlannerCheckError, match=rf"\[{check}\]"):
        check_planner(lambda d, c, h, s: _Broken(d, c, h, seed=s, flaw=flaw), lq_factor=1.05, max_examples=10)


def test_checks_can_be_switched_off():
    check_planner(lambda d, c, h, s: _Broken(d, c, h, seed=s, flaw="random"),
                  checks=("contract", "cost", "warm_start", "lq"), lq_factor=1.01, max_examples=5)


def test_unknown_check_and_bad_factor_raise():
    with pytest.raises(ValueError, match="checks"):
        check_planner(lambda d, c, h, s: _LQRPlanner(d, c, h, seed=s), checks=("speed",))
    with pytest.raises(ValueError, match="lq_factor"):
        check_planner(lambda d, c, h, s: _LQRPlanner(d, c, h, seed=s), lq_factor=0.5)
