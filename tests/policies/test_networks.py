"""Networks: densities are normalised, log-probs agree between sampling and scoring, fused critics."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from planlab.policies import (A2C, PPO, REINFORCE, ActorCriticNet, CategoricalPolicy, GaussianPolicy, QEnsemble,
                              TanhGaussianPolicy)


def test_tanh_gaussian_density_integrates_to_one_over_the_action_box():
    torch.manual_seed(0)
    pi = TanhGaussianPolicy(3, 1, low=[-2.0], high=[2.0], hidden=(16,))
    with torch.no_grad():
        pi.net[-1].bias.copy_(torch.tensor([0.4, -0.3]))  # mean 0.4, std e^-0.3
    obs = torch.zeros(1, 3)

    @torch.no_grad()
    def density(a):
        return float(pi.log_prob(obs, torch.tensor([[a]], dtype=torch.float32)).exp())

    total, _ = integrate.quad(density, -2.0, 2.0, limit=200)
    assert total == pytest.approx(1.0, abs=2e-3)


def test_tanh_gaussian_sample_log_prob_equals_scoring_the_sample():
    torch.manual_seed(1)
    pi = TanhGaussianPolicy(4, 2, low=[-1.0, 0.0], high=[1.0, 3.0])
    obs = torch.randn(256, 4)
    a, lp = pi.sample(obs)
    assert torch.all(a[:, 0].abs() <= 1.0) and torch.all((a[:, 1] >= 0.0) & (a[:, 1] <= 3.0))
    torch.testing.assert_close(pi.log_prob(obs, a), lp, rtol=1e-3, atol=2e-3)


@pytest.mark.parametrize("state_dependent_std", [False, True])
def test_gaussian_policy_log_prob_is_the_diagonal_normal_density(state_dependent_std):
    torch.manual_seed(2)
    pi = GaussianPolicy(3, 2, state_dependent_std=state_dependent_std, log_std_init=-0.5)
    obs = torch.randn(10, 3)
    a = torch.randn(10, 2)
    mu, log_std = pi.mean_log_std(obs)
    hand = (-0.5 * ((a - mu) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    torch.testing.assert_close(pi.log_prob(obs, a), hand)
    assert torch.allclose(log_std, torch.full_like(log_std, -0.5), atol=0.1)


def test_categorical_policy_kl_with_itself_is_zero_and_probabilities_sum_to_one():
    pi = CategoricalPolicy(4, 3)
    d = pi.distribution(torch.randn(7, 4))
    torch.testing.assert_close(d.probs.sum(-1), torch.ones(7))
    torch.testing.assert_close(torch.distributions.kl_divergence(d, d), torch.zeros(7))


def test_q_ensemble_members_are_independent_mlps():
    torch.manual_seed(3)
    q = QEnsemble(3, 2, n=2, hidden=(8, 8))
    obs, act = torch.randn(5, 3), torch.randn(5, 2)
    out = q(obs, act)
    assert out.shape == (2, 5)
    x0 = torch.cat([obs, act], -1)
    for k in range(2):
        x = x0
        for i, (w, b) in enumerate(zip(q.weights, q.biases)):
            x = x @ w[k] + b[k]
            if i < len(q.weights) - 1:
                x = torch.relu(x)
        torch.testing.assert_close(out[k], x.squeeze(-1))
    assert not torch.allclose(out[0], out[1])


def test_shared_trunk_evaluates_policy_and_value_from_one_body():
    net = ActorCriticNet(4, n_actions=2, shared=True)
    obs = torch.randn(6, 4)
    dist, v = net.distribution_and_value(obs)
    torch.testing.assert_close(v, net.value(obs))
    torch.testing.assert_close(dist.logits, net.distribution(obs).logits)
    assert not hasattr(net, "v_net") and hasattr(net, "trunk")


@pytest.mark.parametrize("cls, kw", [(PPO, dict(n_envs=2, n_steps=32, batch_size=32)),
                                     (A2C, dict(n_envs=2, n_steps=8, shared=True)),
                                     (REINFORCE, dict(batch_steps=200, state_dependent_std=True))])
def test_on_policy_trainers_handle_continuous_actions_inside_the_box(cls, kw):
    t = cls("Pendulum-v1", seed=0, eval_every=10_000, eval_episodes=2, **kw).learn(400)
    assert np.isfinite(t.curve[-1]["eval_mean"])
    obs = np.stack([t.observation_space.sample() for _ in range(50)])
    for det in (True, False):
        a, _ = t.predict(obs, deterministic=det)
        assert a.shape == (50, 1) and np.all(np.abs(a) <= 2.0)
