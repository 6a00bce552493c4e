"""Tuned hyperparameters for the benchmark environments (part of the product: good defaults).

``preset(algo, env_id)`` returns the config overrides the benchmark and the CLI use; an unknown
pair gives ``{}`` (the algorithm's own defaults).
"""

from __future__ import annotations

__all__ = ["PRESETS", "preset"]

#: (algo name, gymnasium id) -> config overrides.
PRESETS: dict[tuple[str, str], dict] = {
    # PPO on CartPole: short rollouts from 8 envs, many epochs, decaying lr and clip range.
    ("ppo", "CartPole-v1"): dict(n_envs=8, n_steps=32, batch_size=256, n_epochs=20, gae_lambda=0.8, gamma=0.98,
                                 lr=1e-3, lr_schedule="linear", clip_schedule="linear"),
    ("a2c", "CartPole-v1"): dict(n_envs=8, n_steps=8, gae_lambda=0.95, lr=1e-3),
    ("ac", "CartPole-v1"): dict(n_envs=8, n_steps=16, gae_lambda=0.0, critic_updates=5, lr=1e-3),
    ("reinforce", "CartPole-v1"): dict(batch_steps=2000, lr=3e-3, baseline="value", value_lr=3e-3),
    ("sac", "Pendulum-v1"): dict(lr=1e-3, batch_size=256, learning_starts=1000),
}


def preset(algo: str, env_id: str | None) -> dict:
    """Config overrides tuned for ``(algo, env_id)``, or ``{}``."""
    return dict(PRESETS.get((algo, env_id), {}))
