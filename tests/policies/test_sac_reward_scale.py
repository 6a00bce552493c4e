"""SAC's reward_scale and reward_clip: the critic learns from clip(scale * reward), and nothing else changes."""

import numpy as np
import pytest
import torch

from planlab.policies.offpolicy import SAC, SACConfig


def _batch(seed=0, n=32):
    g = torch.Generator().manual_seed(seed)
    o, o2 = torch.randn(n, 3, generator=g), torch.randn(n, 3, generator=g)
    a = torch.rand(n, 1, generator=g) * 4 - 2
    r = torch.randn(n, generator=g) * 100
    d = (torch.rand(n, generator=g) < 0.2).float()
    return o, a, r, o2, d


def _critic_after_step(sac, o, a, r, o2, d, alpha=0.3):
    torch.manual_seed(7)  # the same next-state actions a' ~ pi(.|s') for both trainers
    loss = sac._critic_step(o, a, r, o2, d, alpha)
    return float(loss.detach()), [p.detach().clone() for p in sac.critic.parameters()]


def test_scaled_rewards_give_the_update_of_pre_scaled_rewards():
    o, a, r, o2, d = _batch()
    scaled = SAC("Pendulum-v1", seed=0, reward_scale=0.01)
    plain = SAC("Pendulum-v1", seed=0)
    for p, q in zip(scaled.critic.parameters(), plain.critic.parameters()):
        torch.testing.assert_close(p, q)  # same initial networks
    loss_s, params_s = _critic_after_step(scaled, o, a, r, o2, d)
    loss_p, params_p = _critic_after_step(plain, o, a, 0.01 * r, o2, d)
    assert loss_s == pytest.approx(loss_p, rel=1e-6)
    for p, q in zip(params_s, params_p):
        torch.testing.assert_close(p, q)
    # and it is not the unscaled update
    loss_u, _ = _critic_after_step(SAC("Pendulum-v1", seed=0), o, a, r, o2, d)
    assert loss_u > 100 * loss_s


def test_clipped_rewards_give_the_update_of_pre_clipped_rewards():
    o, a, r, o2, d = _batch(seed=1)
    clipped = SAC("Pendulum-v1", seed=0, reward_scale=0.01, reward_clip=0.5)
    plain = SAC("Pendulum-v1", seed=0)
    pre = np.clip(0.01 * r.numpy(), -0.5, 0.5)
    assert 0 < (np.abs(pre) == 0.5).sum() < len(pre)  # the batch has clipped and unclipped rewards
    loss_c, params_c = _critic_after_step(clipped, o, a, r, o2, d)
    loss_p, params_p = _critic_after_step(plain, o, a, torch.as_tensor(pre), o2, d)
    assert loss_c == pytest.approx(loss_p, rel=1e-6)
    for p, q in zip(params_c, params_p):
        torch.testing.assert_close(p, q)


def test_defaults_neither_scale_nor_clip():
    assert SACConfig().reward_scale == 1.0 and SACConfig().reward_clip is None


@pytest.mark.parametrize("name", ["reward_scale", "reward_clip"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_reward_scale_or_clip_raises_an_error_naming_it(name, value):
    with pytest.raises(ValueError, match=name):
        SACConfig(**{name: value})


def test_symlog_rewards_give_the_update_of_pre_transformed_rewards():
    o, a, r, o2, d = _batch(seed=2)
    symlog = SAC("Pendulum-v1", seed=0, reward_scale=0.01, reward_symlog=True)
    plain = SAC("Pendulum-v1", seed=0)
    x = 0.01 * r.numpy().astype(np.float64)
    pre = np.sign(x) * np.log(1.0 + np.abs(x))  # numpy's log, not the log1p of the implementation
    assert (pre > 0).any() and (pre < 0).any()
    loss_s, params_s = _critic_after_step(symlog, o, a, r, o2, d)
    loss_p, params_p = _critic_after_step(plain, o, a, torch.as_tensor(pre, dtype=torch.float32), o2, d)
    assert loss_s == pytest.approx(loss_p, rel=1e-5)
    for p, q in zip(params_s, params_p):
        torch.testing.assert_close(p, q)
    assert SACConfig().reward_symlog is False
    with pytest.raises(ValueError, match="reward_symlog"):
        SACConfig(reward_symlog="yes")
