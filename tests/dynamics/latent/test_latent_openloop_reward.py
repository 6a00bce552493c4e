"""The open-loop reward loss (``reward_overshooting``) against a per-start hand roll-out."""

import numpy as np
import pytest
import torch

from planlab.dynamics.latent import LatentConfig, LatentDynamics

TINY = dict(image_size=32, channels=1, depth=4, deter=8, stoch=4, embed=16, hidden=16)


def _by_hand(net, s, acts, rews, D):
    """mean over d = 1..D of the mean over (b, t) of 1/2 (r_hat(s_hat_{t+d|t}, a_{t+d}) - r_{t+d})^2."""
    B, T = acts.shape[:2]
    per_d = []
    for d in range(1, min(D, T - 1) + 1):
        errs = []
        for b in range(B):
            for t in range(T - d):
                p = s[b, t][None]
                for k in range(d):  # one imagine call per step and start: no batching shared with the code
                    p = net.imagine(p, acts[b, t + k][None])
                r_hat = float(net.reward(p, acts[b, t + d][None])[0])
                errs.append(0.5 * (r_hat - float(rews[b, t + d])) ** 2)
        per_d.append(np.mean(errs))
    return float(np.mean(per_d))


def _batch(seed, B=2, T=5):
    rng = np.random.default_rng(seed)
    imgs = torch.tensor(rng.uniform(-0.5, 0.5, (B, T + 1, 1, 32, 32)), dtype=torch.float32)
    acts = torch.tensor(rng.uniform(-2, 2, (B, T, 1)), dtype=torch.float32)
    rews = torch.tensor(rng.normal(0, 3, (B, T)), dtype=torch.float32)
    return imgs, acts, rews


@pytest.mark.parametrize("D", [1, 3, 9])
def test_deterministic_openloop_reward_term_equals_the_roll_out_by_hand(D):
    m = LatentDynamics(LatentConfig(kind="deterministic", reward_overshooting=D, **TINY), -2.0, 2.0, 0.1, seed=3)
    imgs, acts, rews = _batch(D)
    net = m.net
    with torch.no_grad():
        terms = net.loss(imgs, acts, rews)
        s = net.encoder(imgs.reshape(-1, 1, 32, 32)).view(2, 6, -1)
        want = _by_hand(net, s, acts, rews, D)
    assert float(terms["openloop_reward"]) == pytest.approx(want, rel=1e-5)
    rest = terms["recon"] + terms["reward"] + terms["transition"]
    assert float(terms["loss"]) == pytest.approx(float(rest + terms["openloop_reward"]), rel=1e-6)


def test_rssm_openloop_reward_rolls_the_prior_mean_from_the_given_latents():
    m = LatentDynamics(LatentConfig(kind="rssm", reward_overshooting=3, **TINY), -2.0, 2.0, 0.1, seed=4)
    _, acts, rews = _batch(7)
    states = torch.tensor(np.random.default_rng(8).normal(0, 1, (2, 6, m.state_dim)), dtype=torch.float32)
    with torch.no_grad():
        got = float(m.net._openloop_reward(states, acts, rews))
        want = _by_hand(m.net, states, acts, rews, 3)
    assert got == pytest.approx(want, rel=1e-5)


def test_rssm_openloop_reward_trains_the_transition_and_is_absent_when_off():
    imgs, acts, rews = _batch(9)
    on = LatentDynamics(LatentConfig(kind="rssm", reward_overshooting=2, **TINY), -2.0, 2.0, 0.1, seed=5)
    torch.manual_seed(0)
    on.net.loss(imgs, acts, rews)["openloop_reward"].backward()
    assert on.net.gru.weight_hh.grad is not None and float(on.net.gru.weight_hh.grad.abs().sum()) > 0
    assert float(on.net.priors[0][0].weight.grad.abs().sum()) > 0  # the prior mean is what is rolled
    off = LatentDynamics(LatentConfig(kind="rssm", **TINY), -2.0, 2.0, 0.1, seed=5)
    with torch.no_grad():
        assert "openloop_reward" not in off.net.loss(imgs, acts, rews)


def test_reward_overshooting_must_be_a_nonnegative_int():
    with pytest.raises(ValueError, match="reward_overshooting"):
        LatentConfig(reward_overshooting=-1)


def _episode(seed, T=7):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (T + 1, 1, 32, 32), dtype=np.uint8)
    return frames, rng.uniform(-2, 2, (T, 1)), rng.normal(-5, 3, T)


def test_reward_sum_errors_match_a_step_by_step_roll_out_and_the_filtered_sum():
    from planlab.dynamics.latent import reward_sum_errors

    m = LatentDynamics(LatentConfig(kind="rssm", **TINY), -2.0, 2.0, 0.1, seed=6)
    frames, acts, rews = _episode(0)
    out = reward_sum_errors(m, frames, acts, rews, horizon=3, stride=2)
    lat = torch.tensor(m.filter_sequence(frames, acts), dtype=torch.float32)
    A = torch.tensor(acts, dtype=torch.float32)
    assert list(out["starts"]) == [0, 2, 4]
    with torch.no_grad():
        for i, t in enumerate(out["starts"]):
            s, r_open, r_filt = lat[t][None], 0.0, 0.0
            for k in range(3):
                r_open += float(m.net.reward(s, A[t + k][None])[0])
                s = m.net.imagine(s, A[t + k][None])
                r_filt += float(m.net.reward(lat[t + k][None], A[t + k][None])[0])
            true = rews[t:t + 3].sum()
            assert out["true"][i] == pytest.approx(true)
            assert out["open"][i] == pytest.approx(r_open - true, abs=1e-4)
            assert out["filtered"][i] == pytest.approx(r_filt - true, abs=1e-4)
    assert out["open_bias"] == pytest.approx(np.mean(out["open"]))
    assert out["filtered_median_abs"] == pytest.approx(np.median(np.abs(out["filtered"])))
    assert out["open"][0] != pytest.approx(out["filtered"][0], abs=1e-3)  # the two paths differ on this model


def test_reward_sum_errors_reject_a_horizon_longer_than_the_episode_and_bad_rewards():
    from planlab.dynamics.latent import reward_sum_errors

    m = LatentDynamics(LatentConfig(kind="deterministic", **TINY), -2.0, 2.0, 0.1, seed=6)
    frames, acts, rews = _episode(1, T=4)
    with pytest.raises(ValueError, match="horizon: expected at most the episode's 4 decisions, got 5"):
        reward_sum_errors(m, frames, acts, rews, horizon=5)
    with pytest.raises(ValueError, match="rewards"):
        reward_sum_errors(m, frames, acts, rews[:3], horizon=2)
