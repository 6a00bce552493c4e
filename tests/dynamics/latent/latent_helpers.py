"""Pixel pendulum data for the latent-model tests."""

import numpy as np

from planlab.dynamics.latent import EpisodeBuffer


def pendulum_episodes(n_episodes=4, steps=30, size=32, seed=0, action_repeat=2, random_start=False):
    """Random-action episodes of planlab's pendulum swing-up from 32x32 grayscale frames (``random_start``:
    from uniformly random angles instead of hanging down)."""
    import gymnasium

    import planlab  # noqa: F401
    from planlab.envs.pixels import PixelObservation

    env = PixelObservation(gymnasium.make("planlab/PendulumSwingup-v0", render_mode="rgb_array"), size=size,
                           grayscale=True, action_repeat=action_repeat)
    rng = np.random.default_rng(seed)
    buf = EpisodeBuffer(1, size, 1)
    for ep in range(n_episodes):
        x0 = {"x0": rng.uniform([-np.pi, -1.0], [np.pi, 1.0])} if random_start else None
        obs, _ = env.reset(seed=seed * 100 + ep, options=x0)
        frames, actions, rewards = [obs], [], []
        for _ in range(steps):
            a = rng.uniform(-2.0, 2.0, size=1)
            obs, r, *_ = env.step(a)
            frames.append(obs)
            actions.append(a)
            rewards.append(r)
        buf.add_episode(np.stack(frames), np.array(actions), np.array(rewards))
    return buf
