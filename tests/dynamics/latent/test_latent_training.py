"""Training options: reconstruction on a subset of the frames, and one Adam kept across refits."""

import numpy as np
import pytest
import torch

from planlab.dynamics.latent import LatentConfig, LatentDynamics, LatentTrainConfig, fit_latent, make_optimizer

TINY = dict(image_size=32, channels=1, depth=4, deter=8, stoch=4, embed=16, hidden=16)


@pytest.mark.parametrize("kind", ["rssm", "deterministic"])
def test_subset_reconstruction_is_the_mean_error_of_exactly_the_indexed_frames(kind):
    m = LatentDynamics(LatentConfig(kind=kind, **TINY), -2.0, 2.0, 0.1, seed=1)
    rng = np.random.default_rng(0)
    B, T = 2, 3
    imgs = torch.tensor(rng.uniform(-0.5, 0.5, (B, T + 1, 1, 32, 32)), dtype=torch.float32)
    acts = torch.tensor(rng.uniform(-2, 2, (B, T, 1)), dtype=torch.float32)
    rews = torch.tensor(rng.normal(size=(B, T)), dtype=torch.float32)
    index = torch.tensor([6, 0, 3])  # frames (b, t) = (1, 2), (0, 0), (0, 3)
    net = m.net
    with torch.no_grad():
        torch.manual_seed(5)
        full = net.loss(imgs, acts, rews)
        torch.manual_seed(5)  # the same latent samples for the RSSM
        part = net.loss(imgs, acts, rews, recon_index=index)
        if kind == "deterministic":
            states = net.encoder(imgs.reshape(B * (T + 1), 1, 32, 32))
            err = [0.5 * float(((net.decoder(states[i][None])[0] - imgs.reshape(-1, 1, 32, 32)[i]) ** 2).sum())
                   for i in index.tolist()]
            assert float(part["recon"]) == pytest.approx(np.mean(err), rel=1e-5)
        torch.manual_seed(5)
        everything = net.loss(imgs, acts, rews, recon_index=torch.arange(B * (T + 1)))
    assert float(everything["recon"]) == pytest.approx(float(full["recon"]), rel=1e-6)
    assert float(part["recon"]) != pytest.approx(float(full["recon"]), rel=1e-3)
    for key in ("reward", "kl" if kind == "rssm" else "transition"):  # the other terms see every frame
        assert float(part[key]) == pytest.approx(float(full[key]), rel=1e-6)


def test_recon_fraction_outside_the_unit_interval_is_refused_naming_it():
    for bad in (0.0, 1.5, -0.2):
        with pytest.raises(ValueError, match=r"recon_fraction: expected a number in \(0, 1\], got"):
            LatentTrainConfig(recon_fraction=bad)


def test_a_kept_optimizer_continues_adams_step_count_across_calls(pendulum_buffer):
    m = LatentDynamics(LatentConfig(**TINY), -2.0, 2.0, 0.1, seed=0)
    cfg = LatentTrainConfig(steps=3, batch=2, length=4, recon_fraction=0.5, progress=False)
    opt = make_optimizer(m, cfg)
    for seed in (0, 1):
        assert fit_latent(m, pendulum_buffer, cfg, seed=seed, optimizer=opt).status == "ok"
    steps = {float(s["step"]) for s in opt.state.values()}
    assert steps == {6.0} and len(opt.state) == len(list(m.net.parameters()))


def test_an_optimizer_over_other_parameters_is_refused_naming_it(pendulum_buffer):
    m = LatentDynamics(LatentConfig(**TINY), -2.0, 2.0, 0.1, seed=0)
    other = LatentDynamics(LatentConfig(**TINY), -2.0, 2.0, 0.1, seed=0)
    cfg = LatentTrainConfig(steps=1, batch=2, length=4, progress=False)
    with pytest.raises(ValueError, match="optimizer: expected the .* parameters of this model's network"):
        fit_latent(m, pendulum_buffer, cfg, optimizer=make_optimizer(other, cfg))
    with pytest.raises(TypeError, match="optimizer: expected a torch.optim.Optimizer, got dict"):
        fit_latent(m, pendulum_buffer, cfg, optimizer={})


def test_a_non_finite_loss_restores_the_weights_and_the_kept_optimizer(pendulum_buffer, monkeypatch):
    m = LatentDynamics(LatentConfig(**TINY), -2.0, 2.0, 0.1, seed=0)
    cfg = LatentTrainConfig(steps=4, batch=2, length=4, progress=False)
    opt = make_optimizer(m, cfg)
    fit_latent(m, pendulum_buffer, cfg, seed=0, optimizer=opt)
    weights = {k: v.clone() for k, v in m.net.state_dict().items()}
    moments = [(s["exp_avg"].clone(), float(s["step"])) for s in opt.state.values()]
    loss, calls = m.net.loss, []

    def nan_on_the_third_update(*args, **kw):
        calls.append(1)
        terms = loss(*args, **kw)
        return {**terms, "loss": terms["loss"] * float("nan")} if len(calls) == 3 else terms

    monkeypatch.setattr(m.net, "loss", nan_on_the_third_update)
    res = fit_latent(m, pendulum_buffer, cfg, seed=1, optimizer=opt)
    assert res.status == "nan_loss" and len(res.history) == 2  # two updates were made, then undone
    for k, v in m.net.state_dict().items():
        assert torch.equal(v, weights[k]), k
    restored = list(opt.state.values())
    assert len(restored) == len(moments)
    assert all(torch.equal(s["exp_avg"], a) and float(s["step"]) == n for s, (a, n) in zip(restored, moments))


def test_kl_balancing_keeps_the_torch_kl_value_and_splits_its_gradient_between_prior_and_posterior():
    from torch.distributions import Normal, kl_divergence

    from planlab.dynamics.latent import kl_free_nats

    g = torch.Generator().manual_seed(1)
    leaves = [torch.randn(16, 4, generator=g), torch.rand(16, 4, generator=g) + 0.3,
              torch.randn(16, 4, generator=g), torch.rand(16, 4, generator=g) + 0.3]

    def grads(balance):
        x = [t.clone().requires_grad_(True) for t in leaves]
        value = kl_free_nats(*x, 0.0, balance)
        value.sum().backward()
        return value.detach(), [t.grad for t in x]

    reference = kl_divergence(Normal(leaves[0], leaves[1]), Normal(leaves[2], leaves[3])).sum(-1)
    plain, g_plain = grads(None)
    balanced, g_bal = grads(0.8)
    torch.testing.assert_close(plain, reference)
    torch.testing.assert_close(balanced, reference)
    for k in (0, 1):  # the posterior's mean and std: 1 - 0.8 of the gradient
        torch.testing.assert_close(g_bal[k], 0.2 * g_plain[k])
    for k in (2, 3):  # the prior's: 0.8 of it
        torch.testing.assert_close(g_bal[k], 0.8 * g_plain[k])
    with pytest.raises(ValueError, match=r"kl_balance: expected None or a number in \[0, 1\], got 1.5"):
        LatentConfig(kl_balance=1.5)
