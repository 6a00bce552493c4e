"""Random shooting through the planner contract."""

from planlab.planners import RandomShooting
from planlab.testing import check_planner


def test_shooting_meets_the_planner_contract():
    # shooting samples uniformly and never refines: a loose LQ factor on small problems is honest
    check_planner(lambda d, c, h, s: RandomShooting(d, c, h, population=2000, seed=s), lq_factor=5.0,
                  horizon=5, max_action_dim=1, max_examples=10)


def test_shooting_meets_the_contract_on_discrete_actions():
    check_planner(lambda d, c, h, s: RandomShooting(d, c, h, population=200, seed=s), discrete=True,
                  max_examples=10)
