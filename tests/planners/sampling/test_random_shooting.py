import numpy as np
import pytest

from planlab.core import STATUS_FAILED, Cost, Dynamics
from planlab.dynamics import DoubleIntegrator, Pendulum, Quadrotor2D
from planlab.envs.models import model_for
from planlab.planners import RandomShooting, make_planner


@pytest.mark.parametrize("factory", [Pendulum, Quadrotor2D, lambda: DoubleIntegrator(n=2)])
def test_plan_respects_bounds_shapes_and_reproduces_its_cost(factory):
    dyn = factory()
    cost = dyn.default_cost()
    x0 = np.linspace(0.1, 0.5, dyn.state_dim)
    plan = RandomShooting(dyn, cost, horizon=15, population=200, seed=0).plan(x0)
    assert plan.actions.shape == (15, dyn.action_dim) and plan.states.shape == (16, dyn.state_dim)
    assert np.all(plan.actions >= dyn.action_low) and np.all(plan.actions <= dyn.action_high)
    np.testing.assert_array_equal(plan.states[0], x0)
    reroll = Dynamics.rollout(dyn, x0, plan.actions[None], cost)  # independent numpy path
    assert plan.cost == pytest.approx(float(reroll.costs[0]), rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(plan.states, reroll.states[0], rtol=1e-9, atol=1e-12)
    assert np.isfinite(plan.actions).all() and np.isfinite(plan.cost)


def test_same_seed_same_plan_and_different_seed_different_plan():
    dyn = Pendulum()
    a = RandomShooting(dyn, dyn.default_cost(), horizon=10, population=50, seed=3).plan([np.pi, 0.0])
    b = RandomShooting(dyn, dyn.default_cost(), horizon=10, population=50, seed=3).plan([np.pi, 0.0])
    c = RandomShooting(dyn, dyn.default_cost(), horizon=10, population=50, seed=4).plan([np.pi, 0.0])
    np.testing.assert_array_equal(a.actions, b.actions)
    assert not np.array_equal(a.actions, c.actions)


def test_better_than_the_zero_action_sequence_on_pendulum():
    dyn, cost = model_for("Pendulum-v1")
    x0 = np.array([2.0, 0.0])
    plan = RandomShooting(dyn, cost, horizon=30, population=500, seed=0).plan(x0)
    zero = dyn.rollout_cost(x0, np.zeros((1, 30, 1)), cost)[0]
    assert plan.cost < zero


def test_never_worse_than_the_warm_start():
    dyn = Pendulum()
    cost = dyn.default_cost()
    ws = np.full((20, 1), 2.0)
    plan = RandomShooting(dyn, cost, horizon=20, population=5, seed=0).plan([0.5, 0.0], warm_start=ws)
    assert plan.cost <= dyn.rollout_cost([0.5, 0.0], ws[None], cost)[0] + 1e-12


def test_discrete_models_get_integer_actions():
    dyn, cost = model_for("CartPole-v1")
    plan = RandomShooting(dyn, cost, horizon=20, population=100, seed=0).plan([0.0, 0.0, 0.05, 0.0])
    assert set(np.unique(plan.actions)) <= {0.0, 1.0}


class _NaNDynamics(Dynamics):
    def __init__(self):
        super().__init__(1, 1, -1, 1, 0.1)

    def step(self, x, u, rng=None):
        return np.full_like(x, np.nan)


class _Cost(Cost):
    def running(self, x, u, x_next=None):
        return np.sum(x**2, axis=-1)


def test_all_nan_rollouts_give_a_failed_status_not_nan_actions():
    plan = RandomShooting(_NaNDynamics(), _Cost(), horizon=5, population=10, seed=0).plan([0.0])
    assert plan.status == STATUS_FAILED
    assert np.isfinite(plan.actions).all() and not np.isnan(plan.cost)


@pytest.mark.parametrize(
    "kwargs, exc, msg",
    [
        ({"horizon": 0}, ValueError, "horizon: expected an integer >= 1, got 0"),
        ({"population": 0}, ValueError, "population: expected an integer >= 1, got 0"),
        ({"horizon": 2.5}, TypeError, "horizon: expected an integer >= 1"),
    ],
)
def test_bad_configuration_raises(kwargs, exc, msg):
    dyn = Pendulum()
    with pytest.raises(exc, match=msg):
        RandomShooting(dyn, dyn.default_cost(), **kwargs)


def test_bad_x0_and_warm_start_raise():
    dyn = Pendulum()
    p = RandomShooting(dyn, dyn.default_cost(), horizon=5, population=5)
    with pytest.raises(ValueError, match=r"x0: expected shape \(2,\), got \(3,\)"):
        p.plan(np.zeros(3))
    with pytest.raises(ValueError, match="x0: expected finite values"):
        p.plan([np.inf, 0.0])
    with pytest.raises(ValueError, match=r"warm_start: expected shape \(5, 1\), got \(4, 1\)"):
        p.plan(np.zeros(2), warm_start=np.zeros((4, 1)))


def test_make_planner_names_unknown_planners_and_options():
    dyn = Pendulum()
    with pytest.raises(ValueError, match="planner: expected one of .*shooting.*, got 'nope'"):
        make_planner("nope", dyn, dyn.default_cost())
    with pytest.raises(ValueError, match="temperature: not an option of planner 'shooting'"):
        make_planner("shooting", dyn, dyn.default_cost(), temperature=1.0)
