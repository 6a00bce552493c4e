"""Latent models: the free-nats KL, the deterministic-encoder objective by hand, uint8 boundaries, files."""

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from planlab.dynamics.latent import (EpisodeBuffer, LatentConfig, LatentDynamics, LatentTrainConfig, fit_latent,
                                     kl_free_nats)

TINY = dict(image_size=32, channels=1, depth=4, deter=8, stoch=4, embed=16, hidden=16)


def test_kl_term_is_the_torch_kl_above_the_free_nats_floor_and_the_floor_below_it():
    g = torch.Generator().manual_seed(0)
    pm = torch.randn(64, 5, generator=g)
    qm = pm + 0.6 * torch.randn(64, 5, generator=g)
    ps = torch.rand(64, 5, generator=g) + 0.2
    qs = torch.rand(64, 5, generator=g) + 0.2
    kl = kl_divergence(Normal(pm, ps), Normal(qm, qs)).sum(-1)
    out = kl_free_nats(pm, ps, qm, qs, 3.0)
    assert torch.all(out >= 3.0)
    assert torch.equal(out, torch.where(kl > 3.0, kl, torch.full_like(kl, 3.0)))
    assert (kl < 3.0).any() and (kl > 3.0).any()  # both sides of the floor were exercised


def test_kl_below_the_floor_contributes_no_gradient():
    pm = torch.zeros(4, 3, requires_grad=True)
    ps = torch.ones(4, 3)
    qm = torch.full((4, 3), 0.1)
    out = kl_free_nats(pm, ps, qm, torch.ones(4, 3), 1.0)  # KL = 0.015 per row < 1
    assert torch.all(out == 1.0)
    out.sum().backward()
    assert torch.all(pm.grad == 0)


def test_deterministic_model_loss_equals_a_hand_computation_of_the_objective():
    cfg = LatentConfig(kind="deterministic", **TINY)
    m = LatentDynamics(cfg, -2.0, 2.0, 0.1, seed=3)
    rng = np.random.default_rng(0)
    B, T = 2, 3
    imgs = torch.tensor(rng.uniform(-0.5, 0.5, (B, T + 1, 1, 32, 32)), dtype=torch.float32)
    acts = torch.tensor(rng.uniform(-2, 2, (B, T, 1)), dtype=torch.float32)
    rews = torch.tensor(rng.normal(size=(B, T)), dtype=torch.float32)
    net = m.net
    with torch.no_grad():
        terms = net.loss(imgs, acts, rews)
        trans, recon, rew = [], [], []
        for b in range(B):
            s = [net.encoder(imgs[b, t][None])[0].double().numpy() for t in range(T + 1)]
            for t in range(T + 1):
                d = net.decoder(torch.tensor(s[t], dtype=torch.float32)[None])[0].double().numpy()
                recon.append(0.5 * np.sum((d - imgs[b, t].double().numpy()) ** 2))
            for t in range(T):
                x = torch.tensor(np.concatenate([s[t], acts[b, t].double().numpy()]), dtype=torch.float32)[None]
                f = s[t] + net.heads[0](x)[0].double().numpy()
                trans.append(0.5 * np.sum((f - s[t + 1]) ** 2))
                r_hat = float(net.reward_head(x)[0, 0])
                rew.append(0.5 * (r_hat - float(rews[b, t])) ** 2)
    hand = np.mean(trans) + np.mean(recon) + np.mean(rew)
    assert float(terms["transition"]) == pytest.approx(np.mean(trans), rel=1e-5)
    assert float(terms["recon"]) == pytest.approx(np.mean(recon), rel=1e-5)
    assert float(terms["reward"]) == pytest.approx(np.mean(rew), rel=1e-5)
    assert float(terms["loss"]) == pytest.approx(hand, rel=1e-5)


@pytest.mark.parametrize("kind", ["rssm", "deterministic"])
def test_reconstruction_error_falls_during_training(kind, pendulum_buffer):
    m = LatentDynamics(LatentConfig(kind=kind, **TINY), -2.0, 2.0, 0.1, seed=0)
    res = fit_latent(m, pendulum_buffer, LatentTrainConfig(steps=40, batch=4, length=6, lr=3e-3, progress=False),
                     seed=0)
    assert res.status == "ok"
    first, last = np.mean([h["recon"] for h in res.history[:5]]), np.mean([h["recon"] for h in res.history[-5:]])
    assert last < 0.5 * first


def test_frames_must_be_uint8_of_the_model_shape_and_errors_name_argument_expected_and_actual():
    m = LatentDynamics(LatentConfig(**TINY), -2.0, 2.0, 0.1, seed=0)
    with pytest.raises(TypeError, match=r"frame: expected dtype uint8, got float32"):
        m.observe(np.zeros((1, 32, 32), dtype=np.float32))
    with pytest.raises(ValueError, match=r"frame: expected 1 channel\(s\) in shape \(1, 32, 32\), got 3"):
        m.observe(np.zeros((3, 32, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"frame: expected shape \(1, 32, 32\), got \(1, 64, 64\)"):
        m.observe(np.zeros((1, 64, 64), dtype=np.uint8))
    with pytest.raises(TypeError, match="frame: expected a numpy uint8 array, got list"):
        m.observe([[0]])
    buf = EpisodeBuffer(1, 32, 1)
    with pytest.raises(ValueError, match=r"frames: expected shape \(N, 1, 32, 32\), got \(1, 32, 32\)"):
        buf.add_episode(np.zeros((1, 32, 32), dtype=np.uint8), np.zeros((0, 1)), np.zeros(0))


def test_uint8_in_float_inside_the_filter_scales_frames_to_the_unit_interval_around_zero():
    m = LatentDynamics(LatentConfig(kind="deterministic", **TINY), -2.0, 2.0, 0.1, seed=0)
    frame = np.full((1, 32, 32), 255, dtype=np.uint8)
    expect = m.net.encoder(torch.full((1, 1, 32, 32), 0.5)).detach().double().numpy()[0]
    np.testing.assert_allclose(m.observe(frame), expect, rtol=1e-6)


@pytest.mark.parametrize("kind,members", [("rssm", 2), ("deterministic", 1)])
def test_save_load_round_trips_with_weights_only(kind, members, tmp_path):
    m = LatentDynamics(LatentConfig(kind=kind, members=members, **TINY), -2.0, 2.0, 0.1, seed=5)
    path = m.save(tmp_path / "model")
    state = torch.load(path, weights_only=True)
    assert set(state) == set(m.net.state_dict())
    m2 = LatentDynamics.load(path)
    assert m2.config == m.config
    frame = np.random.default_rng(0).integers(0, 256, (1, 32, 32), dtype=np.uint8)
    x, x2 = m.observe(frame), m2.observe(frame)
    np.testing.assert_array_equal(x, x2)
    U = np.random.default_rng(1).uniform(-2, 2, (4, 3, 1))
    np.testing.assert_array_equal(m.rollout_cost(x, U, m.reward_cost(), rng=0),
                                  m2.rollout_cost(x2, U, m2.reward_cost(), rng=0))


def test_deterministic_overshooting_term_equals_the_two_step_prediction_error_by_hand():
    m = LatentDynamics(LatentConfig(kind="deterministic", overshooting=1, **TINY), -2.0, 2.0, 0.1, seed=2)
    rng = np.random.default_rng(1)
    imgs = torch.tensor(rng.uniform(-0.5, 0.5, (2, 5, 1, 32, 32)), dtype=torch.float32)
    acts = torch.tensor(rng.uniform(-2, 2, (2, 4, 1)), dtype=torch.float32)
    net = m.net
    with torch.no_grad():
        terms = net.loss(imgs, acts, torch.zeros(2, 4))
        s = net.encoder(imgs.reshape(10, 1, 32, 32)).view(2, 5, -1)
        errs = []
        for b in range(2):
            for t in range(3):
                p = net.imagine(s[b, t][None], acts[b, t][None])
                p = net.imagine(p, acts[b, t + 1][None])
                errs.append(0.5 * float(((p[0] - s[b, t + 2]) ** 2).sum()))
    assert float(terms["overshooting"]) == pytest.approx(np.mean(errs), rel=1e-5)
    rest = terms["recon"] + terms["reward"] + terms["transition"]
    assert float(terms["loss"]) == pytest.approx(float(rest + terms["overshooting"]), rel=1e-6)


def test_rssm_overshooting_kl_respects_the_free_nats_floor():
    m = LatentDynamics(LatentConfig(kind="rssm", overshooting=2, free_nats=2.0, **TINY), -2.0, 2.0, 0.1, seed=0)
    rng = np.random.default_rng(0)
    imgs = torch.tensor(rng.uniform(-0.5, 0.5, (2, 5, 1, 32, 32)), dtype=torch.float32)
    with torch.no_grad():
        terms = m.net.loss(imgs, torch.zeros(2, 4, 1), torch.zeros(2, 4))
    assert float(terms["kl"]) >= 2.0 and float(terms["overshooting"]) >= 2.0


def test_ensemble_heads_are_distinct_and_a_head_index_selects_one_head_per_row():
    m = LatentDynamics(LatentConfig(kind="rssm", members=3, **TINY), -2.0, 2.0, 0.1, seed=0)
    x = torch.tensor(m.observe(np.zeros((1, 32, 32), dtype=np.uint8)), dtype=torch.float32).expand(3, -1)
    u = torch.ones(3, 1)
    with torch.no_grad():
        each = m.net.imagine(x, u, torch.arange(3))
        single = [m.net.imagine(x[:1], u[:1], torch.tensor([k])) for k in range(3)]
        mean = m.net.imagine(x[:1], u[:1])
    for k in range(3):
        assert torch.allclose(each[k], single[k][0])
    assert not torch.allclose(each[0], each[1])
    h = m.net.split(mean)[0]
    assert torch.allclose(m.net.split(each)[0][0], h[0])  # the recurrent path is shared
