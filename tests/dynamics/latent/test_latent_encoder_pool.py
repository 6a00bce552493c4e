"""``LatentConfig.encoder_size``: the encoder reads a 2x2-averaged copy of the frame, the decoder the full frame."""

import argparse

import numpy as np
import pytest
import torch

from planlab.dynamics.latent import LatentConfig, LatentDynamics
from planlab.dynamics.latent.nets import Encoder

TINY64 = dict(image_size=64, channels=1, depth=4, deter=8, stoch=4, embed=16, hidden=16)


def test_pooled_encoder_is_the_32x32_encoder_on_the_numpy_block_mean():
    torch.manual_seed(0)
    pooled = Encoder(2, 64, 4, 10, pool=2)
    small = Encoder(2, 32, 4, 10)
    small.load_state_dict(pooled.state_dict())  # the same layers: three convolutions for a 32x32 input
    img = np.random.default_rng(0).uniform(-0.5, 0.5, (3, 2, 64, 64))
    block_mean = img.reshape(3, 2, 32, 2, 32, 2).mean(axis=(3, 5))
    with torch.no_grad():
        got = pooled(torch.tensor(img, dtype=torch.float32)).double().numpy()
        want = small(torch.tensor(block_mean, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_encoder_pool_and_config_encoder_size_are_checked():
    with pytest.raises(ValueError, match="pool: expected a factor k of size 64 .*got 4"):
        Encoder(1, 64, 4, 8, pool=4)
    with pytest.raises(ValueError, match="encoder_size: expected None or one of \\(32, 64\\) not above image_size 32, "
                                         "got 64"):
        LatentConfig(image_size=32, encoder_size=64)
    with pytest.raises(ValueError, match="encoder_size: .*got 48"):
        LatentConfig(image_size=64, encoder_size=48)
    assert LatentConfig(image_size=64, encoder_size=32).encoder_pool == 2
    assert LatentConfig(image_size=64).encoder_pool == 1


@pytest.mark.parametrize("kind", ["deterministic", "rssm"])
def test_a_model_with_a_pooled_encoder_reconstructs_full_frames(kind, tmp_path):
    m = LatentDynamics(LatentConfig(kind=kind, encoder_size=32, **TINY64), -2.0, 2.0, 0.1, seed=1)
    frame = np.random.default_rng(2).integers(0, 256, (1, 64, 64), dtype=np.uint8)
    with pytest.raises(ValueError, match="frame: expected shape \\(1, 64, 64\\), got \\(1, 32, 32\\)"):
        m.observe(frame[:, ::2, ::2].copy())
    x = m.observe(frame)
    assert m.decode(x[None]).shape == (1, 1, 64, 64)
    path = m.save(tmp_path / "m")
    m2 = LatentDynamics.load(path)
    assert m2.config.encoder_size == 32
    np.testing.assert_array_equal(m2.observe(frame), x)


def test_deterministic_loss_with_a_pooled_encoder_decodes_against_the_full_frames():
    m = LatentDynamics(LatentConfig(kind="deterministic", encoder_size=32, **TINY64), -2.0, 2.0, 0.1, seed=3)
    rng = np.random.default_rng(0)
    imgs = torch.tensor(rng.uniform(-0.5, 0.5, (2, 3, 1, 64, 64)), dtype=torch.float32)
    acts = torch.tensor(rng.uniform(-2, 2, (2, 2, 1)), dtype=torch.float32)
    rews = torch.tensor(rng.normal(size=(2, 2)), dtype=torch.float32)
    net = m.net
    with torch.no_grad():
        terms = net.loss(imgs, acts, rews)
        pooled = torch.tensor(imgs.numpy().reshape(2, 3, 1, 32, 2, 32, 2).mean(axis=(4, 6)))
        s = [[net.encoder.head(net.encoder.conv(pooled[b, t][None]).flatten(1)) for t in range(3)] for b in range(2)]
        recon = np.mean([0.5 * float(((net.decoder(s[b][t]) - imgs[b, t][None]) ** 2).sum())
                         for b in range(2) for t in range(3)])
    assert float(terms["recon"]) == pytest.approx(recon, rel=1e-5)


def test_latent_command_sets_and_checks_the_encoder_size():
    from planlab.mbrl.latent_cli import LatentCLIError, add_latent_arguments, build_latent_config

    p = argparse.ArgumentParser()
    add_latent_arguments(p)
    assert build_latent_config(p.parse_args([])).model.encoder_size is None
    cfg = build_latent_config(p.parse_args(["--size", "64", "--encoder-size", "32"]))
    assert (cfg.model.image_size, cfg.model.encoder_size, cfg.model.encoder_pool) == (64, 32, 2)
    with pytest.raises(LatentCLIError, match="--encoder-size: .*not above image_size 32, got 64"):
        build_latent_config(p.parse_args(["--size", "32", "--encoder-size", "64"]))
