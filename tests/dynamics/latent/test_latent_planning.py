"""Planning in latent space: the sampling planners plan through a LatentDynamics with its learned reward
unchanged, within bounds, deterministically under a seed, one batched network call per horizon step."""

import numpy as np
import pytest

from planlab.dynamics.latent import LatentConfig, LatentDynamics
from planlab.planners import make_planner
from planlab.testing import check_plan

TINY = dict(image_size=32, channels=1, depth=4, deter=8, stoch=4, embed=16, hidden=16)


def _model(members=1, kind="rssm"):
    m = LatentDynamics(LatentConfig(kind=kind, members=members, **TINY), [-2.0], [2.0], 0.1, seed=1)
    frame = np.random.default_rng(0).integers(0, 256, (1, 32, 32), dtype=np.uint8)
    return m, m.observe(frame)


@pytest.mark.parametrize("planner", ["cem", "mppi", "shooting"])
@pytest.mark.parametrize("kind", ["rssm", "deterministic"])
def test_planners_plan_in_latent_space_within_bounds_and_deterministically_under_a_seed(planner, kind):
    m, x0 = _model(kind=kind)
    cost = m.reward_cost()
    opts = {"population": 40, **({"elites": 5} if planner == "cem" else {})}
    plans = [make_planner(planner, m, cost, horizon=5, seed=7, **opts).plan(x0) for _ in range(2)]
    check_plan(plans[0], m, cost, x0, 5, rtol=1e-6, atol=1e-6)
    assert np.all(plans[0].actions >= -2.0) and np.all(plans[0].actions <= 2.0)
    np.testing.assert_array_equal(plans[0].actions, plans[1].actions)
    other = make_planner(planner, m, cost, horizon=5, seed=8, **opts).plan(x0)
    assert not np.array_equal(other.actions, plans[0].actions)


def test_ensemble_latent_model_plans_deterministically_under_a_seed():
    m, x0 = _model(members=3)
    assert m.stochastic
    cost = m.reward_cost()
    a = make_planner("cem", m, cost, horizon=4, seed=3, population=30, elites=5, particles=3).plan(x0)
    b = make_planner("cem", m, cost, horizon=4, seed=3, population=30, elites=5, particles=3).plan(x0)
    np.testing.assert_array_equal(a.actions, b.actions)
    assert np.all(np.abs(a.actions) <= 2.0)


def test_one_batched_network_call_per_horizon_step_for_all_sequences_and_particles():
    m, x0 = _model(members=2)
    calls = []
    inner = m.horizon_step

    def counting(state, action, head):
        calls.append(state.shape[0])
        return inner(state, action, head)

    m.horizon_step = counting
    U = np.random.default_rng(0).uniform(-2, 2, (50 * 4, 6, 1))  # 50 sequences x 4 particles
    costs = m.rollout_cost(x0, U, m.reward_cost(), rng=0)
    assert costs.shape == (200,)
    assert calls == [200] * 6


def test_learned_reward_cost_equals_summed_numpy_cost_of_the_rolled_out_latents():
    m, x0 = _model()
    cost = m.reward_cost()
    U = np.random.default_rng(2).uniform(-2, 2, (7, 5, 1))
    roll = m.rollout(x0, U, cost)
    by_hand = sum(cost.running(roll.states[:, t], U[:, t]) for t in range(5))
    np.testing.assert_allclose(roll.costs, by_hand, rtol=1e-5)
    np.testing.assert_allclose(m.rollout_cost(x0, U, cost), roll.costs, rtol=1e-6)
    np.testing.assert_allclose(roll.states[:, 1], m.step(np.broadcast_to(x0, (7, x0.size)), U[:, 0]), rtol=1e-6)


@pytest.mark.parametrize("members", [1, 3])
def test_fused_planning_step_equals_the_module_calls_of_transition_and_reward(members):
    """``imagine_reward`` (functional calls, prior mean only) gives torch's nn.GRUCell/nn.Linear results."""
    import torch

    m, _ = _model(members=members)
    g = torch.Generator().manual_seed(0)
    s, a = torch.randn(7, m.state_dim, generator=g), torch.randn(7, 1, generator=g)
    head = torch.tensor([0, 2, 1, 0, 1, 2, 2]) if members > 1 else None
    with torch.inference_mode():
        nxt, r = m.net.imagine_reward(s, a, head)
        torch.testing.assert_close(nxt, m.net.imagine(s, a, head), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(r, m.net.reward(s, a), rtol=1e-6, atol=1e-6)


def test_a_latent_model_executes_an_action_outside_the_box_as_the_nearest_action_inside():
    m, x0 = _model()
    x = np.stack([x0, x0 + 0.1])
    np.testing.assert_array_equal(m.step(x, np.array([[5.0], [-9.0]])), m.step(x, np.array([[2.0], [-2.0]])))
    assert not np.allclose(m.step(x, np.array([[5.0], [-9.0]])), m.step(x, np.zeros((2, 1))))
    np.testing.assert_array_equal(m.rollout(x0, np.full((1, 3, 1), 7.0)).states,
                                  m.rollout(x0, np.full((1, 3, 1), 2.0)).states)
    with pytest.raises(ValueError, match=r"u: expected shape \(\.\.\., 1\), got \(2,\)"):
        m.step(x0, np.zeros(2))
