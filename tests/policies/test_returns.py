"""Returns, advantages and importance weights against hand computations."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from planlab.policies import (DISCOUNT_FROM_NOW, DISCOUNT_FROM_START, CategoricalPolicy, gae, importance_weights,
                              n_step_advantage, pg_weights, reward_to_go, td_residual)

R = np.array([1.0, 2.0, 3.0])
G = 0.5


def test_reward_to_go_equals_hand_computation():
    # Q_0 = 1 + .5*2 + .25*3 = 2.75, Q_1 = 2 + .5*3 = 3.5, Q_2 = 3   (3.1.10 with discount)
    np.testing.assert_allclose(reward_to_go(R, G), [2.75, 3.5, 3.0])
    np.testing.assert_allclose(reward_to_go(R), [6.0, 5.0, 3.0])


def test_discount_option_1_discounts_from_the_decision():
    # (4.1.7) option 1: sum_{t'>=t} gamma^(t'-t) r_t'
    np.testing.assert_allclose(pg_weights(R, G, discount=DISCOUNT_FROM_NOW), [2.75, 3.5, 3.0])


def test_discount_option_2_discounts_from_the_start():
    # (4.1.8): gamma^t * option 1 = sum_{t'>=t} gamma^t' r_t'  -> [2.75, 1.75, 0.75]
    np.testing.assert_allclose(pg_weights(R, G, discount=DISCOUNT_FROM_START), [2.75, 1.75, 0.75])


def test_non_causal_weight_is_the_whole_discounted_return_at_every_step():
    # Theorem 3.1 / option 2 without causality: every step weighted by sum_t gamma^t r_t = 2.75
    np.testing.assert_allclose(pg_weights(R, G, causal=False), [2.75, 2.75, 2.75])


def _episode():
    r = np.array([1.0, 0.5, -1.0, 2.0])
    v = np.array([0.3, -0.2, 0.7, 1.1])
    vn = np.array([-0.2, 0.7, 1.1, 0.4])  # V(s_{t+1}); the last is V(final obs) of a truncated episode
    term = np.zeros(4, bool)
    done = np.array([False, False, False, True])
    return r, v, vn, term, done


def test_gae_equals_hand_computation():
    r, v, vn, term, done = _episode()
    g, lam = 0.9, 0.8
    delta = [r[t] + g * vn[t] - v[t] for t in range(4)]
    hand = [sum((g * lam) ** (k - t) * delta[k] for k in range(t, 4)) for t in range(4)]
    np.testing.assert_allclose(gae(r, v, vn, term, done, g, lam), hand)


def test_gae_lambda_zero_is_the_td_residual():
    r, v, vn, term, done = _episode()
    np.testing.assert_allclose(gae(r, v, vn, term, done, 0.9, 0.0), r + 0.9 * vn - v)
    np.testing.assert_allclose(gae(r, v, vn, term, done, 0.9, 0.0), td_residual(r, v, vn, term, 0.9))


def test_gae_lambda_one_is_monte_carlo_return_minus_value():
    r, v, vn, term, done = _episode()
    term[-1], done[-1] = True, True  # a terminated episode: no bootstrap, pure MC return (4.2.2)
    np.testing.assert_allclose(gae(r, v, vn, term, done, 0.9, 1.0), reward_to_go(r, 0.9) - v)


def test_gae_cuts_the_recursion_at_episode_ends_and_respects_termination():
    r = np.array([1.0, 1.0, 1.0])
    v = np.array([0.5, 0.5, 0.5])
    vn = np.array([9.0, 0.5, 0.5])  # step 0 ended the episode by termination: 9.0 must be ignored
    term = np.array([True, False, False])
    done = np.array([True, False, False])
    a = gae(r, v, vn, term, done, 1.0, 1.0)
    assert a[0] == pytest.approx(1.0 - 0.5)
    assert a[1] == pytest.approx(1.0 + 1.0 + 0.5 - 0.5)


def test_gae_handles_parallel_environments_column_by_column():
    rng = np.random.default_rng(0)
    r, v, vn = rng.normal(size=(3, 6, 4))
    term = rng.random((6, 4)) < 0.2
    done = term | (rng.random((6, 4)) < 0.2)
    full = gae(r, v, vn, term, done, 0.97, 0.9)
    for i in range(4):
        np.testing.assert_allclose(full[:, i], gae(r[:, i], v[:, i], vn[:, i], term[:, i], done[:, i], 0.97, 0.9))


def test_n_step_advantage_by_hand_and_limits():
    r, v, vn, term, done = _episode()
    g = 0.9
    # n = 2 at t = 0: r0 + g r1 + g^2 V(s_2) - V(s_0)
    a2 = n_step_advantage(r, v, vn, term, done, g, 2)
    assert a2[0] == pytest.approx(r[0] + g * r[1] + g**2 * vn[1] - v[0])
    # the window is cut at the rollout's end: t = 3 bootstraps from V(final obs)
    assert a2[3] == pytest.approx(r[3] + g * vn[3] - v[3])
    np.testing.assert_allclose(n_step_advantage(r, v, vn, term, done, g, 1), td_residual(r, v, vn, term, g))
    np.testing.assert_allclose(n_step_advantage(r, v, vn, term, done, g, 10), gae(r, v, vn, term, done, g, 1.0))


@settings(max_examples=30, deadline=None)
@given(
    T=st.integers(1, 12),
    gamma=st.floats(0.0, 1.0),
    lam=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_gae_equals_the_lambda_weighted_mix_of_n_step_advantages(T, gamma, lam, seed):
    """(4.2.9): on one un-terminated rollout, GAE = (1-lam) sum_n lam^(n-1) A_n + lam^(T-t-1) A_inf."""
    rng = np.random.default_rng(seed)
    r, v, vn = rng.normal(size=(3, T))
    vn[:-1] = v[1:]
    term = np.zeros(T, bool)
    done = np.zeros(T, bool)
    a = gae(r, v, vn, term, done, gamma, lam)
    for t in range(T):
        m = T - t  # A_n for n >= m all equal A_m (the rollout ends)
        mix = sum((1 - lam) * lam ** (n - 1) * n_step_advantage(r, v, vn, term, done, gamma, n)[t] for n in range(1, m))
        mix += lam ** (m - 1) * n_step_advantage(r, v, vn, term, done, gamma, m)[t]
        assert a[t] == pytest.approx(mix, rel=1e-9, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.integers(1, 20), elements=st.floats(-10, 10)), st.floats(0.0, 1.0))
def test_reward_to_go_is_the_direct_sum(r, gamma):
    direct = [sum(gamma ** (k - t) * r[k] for k in range(t, len(r))) for t in range(len(r))]
    np.testing.assert_allclose(reward_to_go(r, gamma), direct, rtol=1e-9, atol=1e-9)


def test_importance_weights_equal_one_on_policy():
    torch.manual_seed(0)
    pi = CategoricalPolicy(4, 2)
    obs = torch.randn(50, 4)
    act = pi.distribution(obs).sample()
    behaviour = pi.log_prob(obs, act).detach()
    starts = torch.zeros(50, dtype=torch.bool)
    starts[[0, 17, 30]] = True
    w = importance_weights(pi.log_prob(obs, act), behaviour, starts)
    torch.testing.assert_close(w, torch.ones(50))


def test_importance_weights_are_per_episode_cumulative_products():
    new = torch.log(torch.tensor([0.5, 0.4, 0.9, 0.2, 0.3]))
    old = torch.log(torch.tensor([0.25, 0.8, 0.3, 0.4, 0.6]))
    starts = torch.tensor([True, False, False, True, False])
    # ratios 2, .5, 3 | .5, .5  -> cumulative 2, 1, 3 | .5, .25   (3.2.9)
    torch.testing.assert_close(importance_weights(new, old, starts), torch.tensor([2.0, 1.0, 3.0, 0.5, 0.25]))


@pytest.mark.parametrize("gamma", [-0.1, 1.5])
def test_gamma_outside_unit_interval_is_rejected(gamma):
    with pytest.raises(ValueError, match="gamma"):
        reward_to_go(R, gamma)
    with pytest.raises(ValueError, match="gamma"):
        gae(R, R, R, np.zeros(3, bool), np.zeros(3, bool), gamma, 0.9)


def test_unknown_discount_option_is_rejected():
    with pytest.raises(ValueError, match="discount"):
        pg_weights(R, 0.9, discount="sometimes")
