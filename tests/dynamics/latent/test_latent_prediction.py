"""After training a small RSSM on a pixel pendulum, open-loop latent predictions decoded for 5 steps stay
closer to the true frames than copying the last observed frame."""

import numpy as np
import pytest

from planlab.dynamics.latent import LatentConfig, LatentDynamics, LatentTrainConfig, fit_latent


@pytest.mark.slow
def test_five_step_open_loop_prediction_beats_copy_last_frame_on_a_pixel_pendulum():
    from latent_helpers import pendulum_episodes

    train = pendulum_episodes(n_episodes=6, steps=30, seed=0, random_start=True)
    held_out = pendulum_episodes(n_episodes=3, steps=30, seed=1, random_start=True)
    cfg = LatentConfig(kind="rssm", image_size=32, channels=1, depth=8, deter=32, stoch=8, embed=64, hidden=64,
                       free_nats=1.0)
    m = LatentDynamics(cfg, -2.0, 2.0, 0.1, seed=0)
    res = fit_latent(m, train, LatentTrainConfig(steps=100, batch=8, length=10, lr=3e-3, progress=False), seed=0)
    assert res.status == "ok"
    model_err, copy_err = [], []
    for frames, actions, _ in held_out.episodes:
        for start in (5, 12, 20):
            latents = m.filter_sequence(frames[:start + 1], actions[:start])
            pred = m.predict_frames(latents[-1], actions[start:start + 5]).astype(float)
            true = frames[start + 1:start + 6].astype(float)
            model_err.append(np.mean((pred - true) ** 2))
            copy_err.append(np.mean((frames[start].astype(float)[None] - true) ** 2))
    assert np.mean(model_err) < 0.8 * np.mean(copy_err)
