"""REINFORCE gradient estimates on bandits against their analytic gradients (Theorem 3.1, 3.1.3).

One-step episodes with a constant observation 0: the policy's parameters that matter are the
last layer's bias (logits, or the Gaussian mean) and the free log-std, so the analytic gradient
of J = E[r(a)] is known in closed form. Each estimate must land within 4 standard errors (its own
sample spread / sqrt(N), a fixed seed) of the analytic value.
"""

import math

import pytest
import torch

from planlab.policies import (CategoricalPolicy, GaussianPolicy, average_baseline, optimal_baseline,
                              per_sample_scores, reinforce_loss)

N = 20_000


def _columns(policy, wanted):
    """Column slices of ``per_sample_scores`` for the named parameters."""
    out, start = {}, 0
    for name, p in policy.named_parameters():
        if name in wanted:
            out[name] = slice(start, start + p.numel())
        start += p.numel()
    return out


def _estimates(policy, obs, act, rewards, b):
    scores = per_sample_scores(policy, obs, act)
    per_sample = scores * (rewards - b).unsqueeze(1)  # g_i (r_i - b), one row per sample
    loss = reinforce_loss(policy.log_prob(obs, act), rewards - b)
    grads = torch.autograd.grad(loss, list(policy.parameters()))
    flat = -torch.cat([g.reshape(-1) for g in grads])  # gradient of J = - gradient of the surrogate
    return per_sample, flat


def _two_armed():
    torch.manual_seed(0)
    p0 = 0.8
    pi = CategoricalPolicy(1, 2, hidden=())
    with torch.no_grad():
        pi.net[0].weight.zero_()
        pi.net[0].bias.copy_(torch.log(torch.tensor([p0, 1 - p0])))
    obs = torch.zeros(N, 1)
    act = pi.distribution(obs).sample()
    mean_r = torch.tensor([1.0, 0.0])
    rewards = mean_r[act] + 0.5 * torch.randn(N)
    probs = torch.tensor([p0, 1 - p0])
    # dJ/dlogits_k = sum_a pi(a) (1[a=k] - pi(k)) rbar(a) = pi(k) (rbar(k) - J)
    J = float((probs * mean_r).sum())
    analytic = probs * (mean_r - J)
    return pi, obs, act, rewards, analytic


@pytest.mark.parametrize("baseline", ["none", "average", "optimal"])
def test_two_armed_bandit_gradient_matches_analytic_within_standard_error(baseline):
    pi, obs, act, rewards, analytic = _two_armed()
    scores = per_sample_scores(pi, obs, act)
    b = {"none": 0.0, "average": average_baseline(rewards.numpy()),
         "optimal": optimal_baseline(rewards.numpy(), scores.pow(2).sum(1).numpy())}[baseline]
    per_sample, flat = _estimates(pi, obs, act, rewards, b)
    cols = _columns(pi, {"net.0.bias"})["net.0.bias"]
    # the surrogate's autograd gradient is exactly the mean of the per-sample estimates
    torch.testing.assert_close(flat, per_sample.mean(0), rtol=1e-4, atol=1e-6)
    est = per_sample[:, cols].mean(0)
    se = per_sample[:, cols].std(0) / math.sqrt(N)
    assert torch.all((est - analytic).abs() < 4 * se), (est, analytic, se)


def test_two_armed_bandit_optimal_baseline_has_lower_variance_than_average():
    pi, obs, act, rewards, _ = _two_armed()
    scores = per_sample_scores(pi, obs, act)
    b_avg = average_baseline(rewards.numpy())
    b_opt = optimal_baseline(rewards.numpy(), scores.pow(2).sum(1).numpy())
    # closed form (3.1.17) for this bandit: E[g^2 r]/E[g^2], g^2(a0) = 2 p1^2, g^2(a1) = 2 p0^2
    assert b_opt == pytest.approx((0.8 * 0.08 * 1.0) / (0.8 * 0.08 + 0.2 * 1.28), abs=0.03)
    var_avg = (scores * (rewards - b_avg).unsqueeze(1)).var(0).sum()
    var_opt = (scores * (rewards - b_opt).unsqueeze(1)).var(0).sum()
    assert var_opt < var_avg


def _gaussian_bandit():
    torch.manual_seed(1)
    mu, sigma = 0.5, 0.5
    pi = GaussianPolicy(1, 1, hidden=(), log_std_init=math.log(sigma))
    with torch.no_grad():
        pi.net[0].weight.zero_()
        pi.net[0].bias.fill_(mu)
    obs = torch.zeros(N, 1)
    act = pi.distribution(obs).sample()
    rewards = -(act[:, 0] - 2.0) ** 2
    # J = -((mu - 2)^2 + sigma^2):  dJ/dmu = -2 (mu - 2),  dJ/dlog sigma = -2 sigma^2
    analytic = {"net.0.bias": torch.tensor([-2 * (mu - 2)]), "log_std": torch.tensor([-2 * sigma**2])}
    return pi, obs, act, rewards, analytic


@pytest.mark.parametrize("baseline", ["none", "average", "optimal"])
def test_gaussian_bandit_gradient_matches_analytic_within_standard_error(baseline):
    pi, obs, act, rewards, analytic = _gaussian_bandit()
    scores = per_sample_scores(pi, obs, act)
    b = {"none": 0.0, "average": average_baseline(rewards.numpy()),
         "optimal": optimal_baseline(rewards.numpy(), scores.pow(2).sum(1).numpy())}[baseline]
    per_sample, flat = _estimates(pi, obs, act, rewards, b)
    torch.testing.assert_close(flat, per_sample.mean(0), rtol=1e-4, atol=1e-5)
    for name, cols in _columns(pi, set(analytic)).items():
        est = per_sample[:, cols].mean(0)
        se = per_sample[:, cols].std(0) / math.sqrt(N)
        assert torch.all((est - analytic[name]).abs() < 4 * se), (name, est, analytic[name], se)


def test_gaussian_bandit_optimal_baseline_has_lower_variance_than_average():
    pi, obs, act, rewards, _ = _gaussian_bandit()
    scores = per_sample_scores(pi, obs, act)
    b_avg = average_baseline(rewards.numpy())
    b_opt = optimal_baseline(rewards.numpy(), scores.pow(2).sum(1).numpy())
    var_avg = (scores * (rewards - b_avg).unsqueeze(1)).var(0).sum()
    var_opt = (scores * (rewards - b_opt).unsqueeze(1)).var(0).sum()
    assert var_opt < var_avg


def test_per_sample_scores_match_autograd_one_sample_at_a_time():
    torch.manual_seed(2)
    pi = CategoricalPolicy(3, 4, hidden=(8,))
    obs = torch.randn(5, 3)
    act = pi.distribution(obs).sample()
    scores = per_sample_scores(pi, obs, act)
    for i in range(5):
        g = torch.autograd.grad(pi.log_prob(obs[i:i + 1], act[i:i + 1]).sum(), list(pi.parameters()))
        torch.testing.assert_close(scores[i], torch.cat([x.reshape(-1) for x in g]), rtol=1e-5, atol=1e-6)
