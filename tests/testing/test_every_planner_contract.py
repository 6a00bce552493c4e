"""Every planlab planner through planlab.testing.check_planner (the sampling planners' own runs are
in tests/planners and tests/testing/test_check_planner.py)."""

import numpy as np

from planlab.planners.trajopt.ilqr import ILQR
from planlab.planners.trajopt.lqr import LQRPlanner
from planlab.planners.mcts import UCT
from planlab.planners.trajopt.nlp import NLPPlanner
from planlab.testing import check_planner


def test_ilqr_meets_the_contract_and_is_lq_optimal():
    # iLQR (box-DDP) on a linear-quadratic problem is the Riccati solution: an exact solver.
    check_planner(lambda d, c, h, s: ILQR(d, c, h, seed=s), lq_factor=1 + 1e-6, max_examples=8)


def test_nlp_meets_the_contract_and_is_lq_optimal():
    check_planner(lambda d, c, h, s: NLPPlanner(d, c, h, seed=s), lq_factor=1 + 1e-5, max_examples=5)


def test_lqr_planner_meets_the_contract():
    # The infinite-horizon stabiliser is not the finite-horizon optimum, so no LQ factor is claimed.
    check_planner(lambda d, c, h, s: LQRPlanner(d, c, h, seed=s),
                  checks=("contract", "cost", "determinism", "warm_start"), max_examples=8)


def test_uct_meets_the_contract_on_discrete_problems():
    check_planner(lambda d, c, h, s: UCT(d, c, h, simulations=100, seed=s), discrete=True, max_examples=8)


def test_the_checks_catch_a_planner_that_leaves_the_action_box():
    import pytest

    from planlab.core import Plan, Planner
    from planlab.testing import PlannerCheckError

    class OutOfBounds(Planner):
        def plan(self, x0, warm_start=None):
            acts = np.full((self.horizon, self.dynamics.action_dim), 1e6)
            r = self.dynamics.rollout(x0, acts[None], self.cost)
            return Plan(acts, r.states[0], r.costs[0])

    with pytest.raises(PlannerCheckError):
        check_planner(lambda d, c, h, s: OutOfBounds(d, c, h, seed=s), max_examples=3)
