"""The RSSM's training loss against a step-by-step computation of its free-nats ELBO written here."""

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence
from torch.nn import functional as F

from planlab.dynamics.latent import LatentConfig, LatentDynamics

TINY = dict(image_size=32, channels=1, depth=4, deter=8, stoch=4, embed=16, hidden=16)


def _stats(out, min_std):
    mean, raw = out.chunk(2, dim=-1)
    return mean, F.softplus(raw) + min_std


def _per_step_elbo(net, imgs, acts, rews):
    """Every step in turn: GRU, posterior sample, each prior head's KL (torch.distributions, DreamerV2's
    balancing by detaching), floored at free nats; then the decoder and reward terms on all states."""
    c = net.config
    B, T1 = imgs.shape[:2]
    state, a_prev, states, kls = torch.zeros(B, c.deter + c.stoch), torch.zeros(B, 1), [], []
    for t in range(T1):
        h = net.gru(net.inp(torch.cat([state[:, c.deter:], a_prev], -1)), state[:, :c.deter])
        pm, ps = _stats(net.posterior(torch.cat([h, net.encoder(imgs[:, t])], -1)), c.min_std)
        z = pm + ps * torch.randn_like(ps)
        per_head = []
        for prior in net.priors:
            qm, qs = _stats(prior(h), c.min_std)
            if c.kl_balance is None:
                kl = kl_divergence(Normal(pm, ps), Normal(qm, qs)).sum(-1)
            else:
                kl = (c.kl_balance * kl_divergence(Normal(pm.detach(), ps.detach()), Normal(qm, qs)).sum(-1)
                      + (1 - c.kl_balance) * kl_divergence(Normal(pm, ps), Normal(qm.detach(), qs.detach())).sum(-1))
            per_head.append(torch.clamp(kl, min=c.free_nats))
        kls.append(torch.stack(per_head).mean(0))
        state = torch.cat([h, z], -1)
        states.append(state)
        if t < T1 - 1:
            a_prev = acts[:, t]
    S = torch.stack(states, 1)
    recon = 0.5 * ((net.decoder(S.reshape(B * T1, -1)) - imgs.reshape(B * T1, 1, 32, 32)) ** 2).sum((1, 2, 3)).mean()
    r_hat = net.reward_head(torch.cat([S[:, :-1], acts], -1)).squeeze(-1)
    return recon + 0.5 * ((r_hat - rews) ** 2).mean() + torch.stack(kls, 1).mean()


@pytest.mark.parametrize("extra", [dict(), dict(kl_balance=None, free_nats=0.5), dict(members=2, free_nats=1.0)])
def test_rssm_loss_and_gradient_equal_a_step_by_step_elbo(extra):
    m = LatentDynamics(LatentConfig(**{**TINY, **extra}), -2.0, 2.0, 0.1, seed=4)
    net = m.net
    rng = np.random.default_rng(1)
    imgs = torch.tensor(rng.uniform(-0.5, 0.5, (3, 5, 1, 32, 32)), dtype=torch.float32)
    acts = torch.tensor(rng.uniform(-2, 2, (3, 4, 1)), dtype=torch.float32)
    rews = torch.tensor(rng.normal(size=(3, 4)), dtype=torch.float32)
    torch.manual_seed(7)
    got = net.loss(imgs, acts, rews)["loss"]
    g_got = torch.autograd.grad(got, list(net.parameters()), allow_unused=True)
    torch.manual_seed(7)  # the same latent noise, drawn in the same order
    want = _per_step_elbo(net, imgs, acts, rews)
    g_want = torch.autograd.grad(want, list(net.parameters()), allow_unused=True)
    assert float(got.detach()) == pytest.approx(float(want.detach()), rel=1e-5)
    for a, b in zip(g_got, g_want):
        if a is None or b is None:
            assert a is None and b is None
        else:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)
