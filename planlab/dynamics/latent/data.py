"""Episodes of pixel observations for latent models: :class:`EpisodeBuffer`.

An episode is ``frames`` (T + 1, C, S, S) uint8, ``actions`` (T, nu) and ``rewards`` (T,), where
``rewards[t]`` belongs to the transition ``(frames[t], actions[t], frames[t + 1])``. Training draws
chunks of ``length`` consecutive transitions.
"""

from __future__ import annotations

import io

import numpy as np

from ...core.files import atomic_write
from ...core.validation import as_float_array, check_positive_int
from .frames import check_frames

__all__ = ["EpisodeBuffer"]


class EpisodeBuffer:
    """Whole episodes of frames, actions and rewards.

    Parameters
    ----------
    channels, size : int
        Frame shape (channels, size, size).
    action_dim : int
    """

    def __init__(self, channels: int, size: int, action_dim: int):
        self.channels = check_positive_int("channels", channels)
        self.size = check_positive_int("size", size)
        self.action_dim = check_positive_int("action_dim", action_dim)
        self.episodes: list = []

    def add_episode(self, frames, actions, rewards) -> None:
        """Append an episode: ``frames`` (T + 1, C, S, S) uint8, ``actions`` (T, nu), ``rewards`` (T,)."""
        frames = check_frames("frames", frames, self.channels, self.size, leading=1)
        T = frames.shape[0] - 1
        if T < 1:
            raise ValueError(f"frames: expected at least 2 frames (one transition), got {frames.shape[0]}")
        actions = as_float_array("actions", actions, shape=(T, self.action_dim))
        rewards = as_float_array("rewards", rewards, shape=(T,))
        self.episodes.append((frames.copy(), actions.astype(np.float32), rewards.astype(np.float32)))

    def __len__(self) -> int:
        """Number of transitions stored."""
        return sum(len(e[1]) for e in self.episodes)

    @property
    def n_episodes(self) -> int:
        return len(self.episodes)

    def sample(self, batch: int, length: int, rng: np.random.Generator):
        """``batch`` chunks of ``length`` transitions (shortened to the shortest episode if needed).

        Returns
        -------
        frames : ndarray (batch, L + 1, C, S, S) uint8
        actions : ndarray (batch, L, nu) float32
        rewards : ndarray (batch, L) float32
        """
        if not self.episodes:
            raise ValueError("buffer: expected at least one episode, got none")
        L = min(length, min(len(e[1]) for e in self.episodes))
        eps = rng.integers(0, len(self.episodes), size=batch)
        F, A, R = [], [], []
        for i in eps:
            f, a, r = self.episodes[i]
            s = int(rng.integers(0, len(a) - L + 1))
            F.append(f[s:s + L + 1])
            A.append(a[s:s + L])
            R.append(r[s:s + L])
        return np.stack(F), np.stack(A), np.stack(R)

    def save(self, path) -> None:
        """Write all episodes to one ``.npz`` file (atomically)."""
        arrays = {"shape": np.array([self.channels, self.size, self.action_dim])}
        for i, (f, a, r) in enumerate(self.episodes):
            arrays[f"frames{i}"], arrays[f"actions{i}"], arrays[f"rewards{i}"] = f, a, r
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write(path, lambda fh: fh.write(buf.getvalue()))

    @classmethod
    def load(cls, path) -> "EpisodeBuffer":
        """Read a buffer written by :meth:`save` (no pickles)."""
        with np.load(path, allow_pickle=False) as z:
            c, s, nu = (int(v) for v in z["shape"])
            out = cls(c, s, nu)
            n = sum(1 for k in z.files if k.startswith("frames"))
            for i in range(n):
                out.episodes.append((z[f"frames{i}"], z[f"actions{i}"], z[f"rewards{i}"]))
        return out
