"""Rollout storage for on-policy methods and a replay buffer for off-policy ones.

Both are preallocated once; nothing is allocated per environment step.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.validation import check_positive_int

__all__ = ["RolloutBuffer", "ReplayBuffer"]


class RolloutBuffer:
    """``n_steps`` steps of ``n_envs`` parallel environments (time leads).

    Attributes (all numpy)::

        obs          (T, N, n_obs)  float32
        actions      (T, N) int64 or (T, N, nu) float32   the sampled (unclipped) actions
        log_probs    (T, N)
        rewards      (T, N)
        next_obs     (T, N, n_obs)  s_{t+1}; the final observation when the step ended an episode
        terminated   (T, N) bool
        dones        (T, N) bool    terminated or truncated
        episode_starts (T, N) bool  s_t is the first state of an episode
    """

    def __init__(self, n_steps: int, n_envs: int, obs_dim: int, action_dim: int | None):
        T = check_positive_int("n_steps", n_steps)
        N = check_positive_int("n_envs", n_envs)
        self.obs = np.zeros((T, N, obs_dim), np.float32)
        self.next_obs = np.zeros((T, N, obs_dim), np.float32)
        self.actions = np.zeros((T, N), np.int64) if action_dim is None else np.zeros((T, N, action_dim), np.float32)
        self.log_probs = np.zeros((T, N), np.float32)
        self.rewards = np.zeros((T, N), np.float64)
        self.terminated = np.zeros((T, N), bool)
        self.dones = np.zeros((T, N), bool)
        self.episode_starts = np.zeros((T, N), bool)
        self.n_steps, self.n_envs = T, N


class ReplayBuffer:
    """A ring buffer of transitions ``(s, a, r, s', terminated)`` held as torch tensors.

    Parameters
    ----------
    capacity : int
    obs_dim, action_dim : int
    generator : torch.Generator, optional
        For reproducible minibatch indices.
    """

    def __init__(self, capacity: int, obs_dim: int, action_dim: int, generator: torch.Generator | None = None):
        self.capacity = check_positive_int("capacity", capacity)
        self.obs = torch.zeros((capacity, obs_dim))
        self.actions = torch.zeros((capacity, action_dim))
        self.rewards = torch.zeros(capacity)
        self.next_obs = torch.zeros((capacity, obs_dim))
        self.terminated = torch.zeros(capacity)
        self.size = 0
        self.pos = 0
        self.generator = generator

    def add(self, obs, action, reward: float, next_obs, terminated: bool) -> None:
        """Store one transition (numpy or torch inputs)."""
        i = self.pos
        self.obs[i] = torch.as_tensor(obs)
        self.actions[i] = torch.as_tensor(action)
        self.rewards[i] = float(reward)
        self.next_obs[i] = torch.as_tensor(next_obs)
        self.terminated[i] = float(terminated)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int):
        """A uniform minibatch: ``obs (B, n_obs), actions (B, nu), rewards (B,), next_obs, terminated (B,)``."""
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample: expected a non-empty buffer, got 0 transitions")
        idx = torch.randint(0, self.size, (batch_size,), generator=self.generator)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.terminated[idx]

    def __len__(self) -> int:
        return self.size
