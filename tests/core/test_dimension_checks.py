"""Model, cost, start state, warm start and action box are checked against each other wherever they meet."""

import numpy as np
import pytest

from planlab.core import Cost, Dynamics, QuadraticCost
from planlab.dynamics import DoubleIntegrator, Pendulum
from planlab.planners import MPC, RandomShooting, make_planner

#: planners that plan a continuous 1-action pendulum (UCT needs progressive widening there)
CONTINUOUS = ["shooting", "cem", "icem", "mppi", "ilqr", "nlp", "lqr"]


def test_a_cost_of_another_state_size_is_refused_when_evaluated():
    cost = QuadraticCost(Q=[1, 1, 1], R=[1])
    with pytest.raises(ValueError, match=r"x: expected shape \(\.\.\., 3\) for QuadraticCost, got \(2,\)"):
        cost.running(np.array([1.0, 0.0]), np.array([0.0]))
    with pytest.raises(ValueError, match=r"u: expected shape \(\.\.\., 1\)"):
        cost.running(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"x: expected shape \(\.\.\., 3\)"):
        cost.terminal(np.zeros(2))


@pytest.mark.parametrize("name", CONTINUOUS)
@pytest.mark.parametrize("Q, R, got", [([1, 1, 1], [1], r"\(3, 1\)"), ([1, 1], [1, 1], r"\(2, 2\)")],
                         ids=["three-states", "two-actions"])
def test_every_planner_refuses_a_cost_of_another_size(name, Q, R, got):
    with pytest.raises(ValueError, match=r"cost: expected sizes \(nx, nu\) = \(2, 1\) of Pendulum, got QuadraticCost "
                                         r"with \(state_dim, action_dim\) = " + got):
        make_planner(name, Pendulum(), QuadraticCost(Q=Q, R=R), horizon=5)


def test_mpc_refuses_a_planner_whose_cost_was_swapped_for_another_size():
    p = RandomShooting(Pendulum(), Pendulum().default_cost(), horizon=5, population=10)
    p.cost = QuadraticCost(Q=[1, 1, 1], R=[1])
    with pytest.raises(ValueError, match=r"cost: expected sizes \(nx, nu\) = \(2, 1\)"):
        MPC(p)


@pytest.mark.parametrize("x, u, message", [
    (np.zeros(3), np.zeros(1), r"x: expected shape \(\.\.\., 2\), got \(3,\)"),
    (np.zeros(2), np.zeros(2), r"u: expected shape \(\.\.\., 1\), got \(2,\)"),
    (np.zeros((3, 2)), np.zeros((4, 1)), r"x, u: expected broadcastable batch shapes"),
    ("ab", np.zeros(1), r"x: expected a numeric array"),
])
def test_step_refuses_states_and_actions_of_the_wrong_size(x, u, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Pendulum().step(x, u)


def test_rollout_refuses_actions_of_the_wrong_size():
    with pytest.raises(ValueError, match=r"actions: expected shape \(N, H, 1\), got \(1, 4, 2\)"):
        Pendulum().rollout(np.zeros(2), np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match=r"x0: expected shape \(\.\.\., 2\)"):
        Pendulum().rollout(np.zeros(3), np.zeros((1, 4, 1)))


def test_step_and_rollout_execute_an_action_outside_the_box_as_the_nearest_action_inside():
    # the double integrator's source does not clip: the box is enforced by step/rollout themselves
    d = DoubleIntegrator(accel_max=1.0)
    cost = QuadraticCost(Q=[1.0, 1.0], R=[1.0])
    x = np.array([0.3, -0.2])
    np.testing.assert_array_equal(d.step(x, np.array([7.0])), d.step(x, np.array([1.0])))
    np.testing.assert_array_equal(d.step(x, np.array([-7.0])), d.step(x, np.array([-1.0])))
    big, edge = np.full((1, 6, 1), 5.0), np.full((1, 6, 1), 1.0)
    for roll in (d.rollout, lambda *a: Dynamics.rollout(d, *a)):  # fused kernel and numpy path
        r_big, r_edge = roll(x, big, cost), roll(x, edge, cost)
        np.testing.assert_array_equal(r_big.states, r_edge.states)
        np.testing.assert_array_equal(r_big.costs, r_edge.costs)  # the cost sees the executed action
    np.testing.assert_array_equal(d.rollout_cost(x, big, cost), d.rollout_cost(x, edge, cost))


@pytest.mark.parametrize("name", ["shooting", "cem", "mppi", "ilqr"])
def test_planners_name_a_start_state_or_warm_start_of_the_wrong_size(name):
    p = make_planner(name, Pendulum(), Pendulum().default_cost(), horizon=4)
    with pytest.raises(ValueError, match=r"x0: expected shape \(2,\), got \(3,\)"):
        p.plan(np.zeros(3))
    with pytest.raises(ValueError, match=r"warm_start: expected shape \(4, 1\), got \(4, 2\)"):
        p.plan(np.zeros(2), warm_start=np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"x0: expected finite values"):
        p.plan(np.array([np.nan, 0.0]))


def test_a_user_system_without_a_default_cost_says_what_to_do():
    from planlab.dynamics import AnalyticSystem

    class Bare(AnalyticSystem):
        Params = DoubleIntegrator.Params
        dynamics_source = staticmethod(DoubleIntegrator.dynamics_source)

        def __init__(self):
            super().__init__(action_low=-1, action_high=1, dt=0.1, state_dim=2, action_dim=1)

    with pytest.raises(NotImplementedError, match=r"Bare.default_cost: this system defines no default cost; pass a "
                                                  r"cost explicitly"):
        Bare().default_cost()


def test_plan_repr_is_one_short_line():
    p = RandomShooting(Pendulum(), Pendulum().default_cost(), horizon=200, population=10, seed=0).plan(np.zeros(2))
    text = repr(p)
    assert "\n" not in text and len(text) < 160
    assert text.startswith("Plan(horizon=200, nu=1, nx=2, cost=") and "status='ok'" in text


def _user_cost(running, terminal=None):
    """A user's Cost subclass that declares no sizes."""

    class UserCost(Cost):
        def running(self, x, u, x_next=None):
            return running(np.asarray(x), np.asarray(u))

        def terminal(self, x):
            return terminal(np.asarray(x)) if terminal else super().terminal(x)

    return UserCost()


@pytest.mark.parametrize("running, terminal, message", [
    # weights for three states broadcast against two: numpy raises, the planner names the cost
    (lambda x, u: np.sum(np.array([1.0, 1.0, 1.0]) * x ** 2, -1), None, r"running\(x, u, x_next\) fails .* nx = 2"),
    # a state component the model does not have
    (lambda x, u: x[..., 2] ** 2, None, r"IndexError"),
    # a cost that sums over the batch instead of returning one value per element
    (lambda x, u: np.sum(x ** 2), None, r"return shape \(2,\) .* got shape \(\)"),
    # a terminal cost for another action/state layout
    (lambda x, u: np.sum(x ** 2, -1), lambda x: np.sum((x - np.zeros(4)) ** 2, -1), r"terminal\(x\) fails"),
], ids=["broadcast-weights", "index", "summed-batch", "terminal"])
@pytest.mark.parametrize("name", ["cem", "ilqr"])
def test_a_user_cost_declaring_no_sizes_is_probed_and_refused_when_it_does_not_fit(name, running, terminal, message):
    with pytest.raises(ValueError, match=r"cost: .*" + message):
        make_planner(name, Pendulum(), _user_cost(running, terminal), horizon=5)


def test_a_user_cost_declaring_no_sizes_that_fits_is_accepted_and_planned_with():
    cost = _user_cost(lambda x, u: np.sum(x ** 2, -1) + 0.1 * np.sum(u ** 2, -1))
    plan = RandomShooting(Pendulum(), cost, horizon=5, population=20, seed=0).plan(np.array([0.3, 0.0]))
    assert plan.actions.shape == (5, 1) and np.isfinite(plan.cost)
