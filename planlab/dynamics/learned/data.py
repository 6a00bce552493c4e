"""Transition data for learned dynamics: a replay buffer with bootstrap resampling and crash-safe npz files.

Holds transitions ``(s, a, r, s', terminated)`` (the data set ``D = {(s, a, s')_i}`` of the
model-based RL loop; PETS, Chua et al. 2018). Arrays are float64; a buffer has a fixed capacity and
overwrites its oldest transitions when full (a ring buffer).

Shapes::

    states, next_states   (n, nx)
    actions               (n, nu)
    rewards               (n,)
    terminated            (n,) bool
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.files import atomic_write
from ...core.seeding import SeedLike, make_rng
from ...core.validation import as_float_array, check_positive_int, check_probability

__all__ = ["TransitionBuffer"]

_FORMAT_VERSION = 1


class TransitionBuffer:
    """A replay buffer of transitions ``(s, a, r, s', terminated)``.

    Parameters
    ----------
    state_dim, action_dim : int
        ``nx`` and ``nu``; every added transition must match them.
    capacity : int
        Maximum number of transitions kept; the oldest are overwritten first.

    Examples
    --------
    >>> import numpy as np
    >>> buf = TransitionBuffer(2, 1, capacity=10)
    >>> buf.add(np.zeros(2), np.ones(1), -1.0, np.ones(2))
    >>> len(buf)
    1
    """

    def __init__(self, state_dim: int, action_dim: int, capacity: int = 1_000_000):
        self.state_dim = check_positive_int("state_dim", state_dim)
        self.action_dim = check_positive_int("action_dim", action_dim)
        self.capacity = check_positive_int("capacity", capacity)
        self._s = np.empty((0, self.state_dim))
        self._a = np.empty((0, self.action_dim))
        self._r = np.empty(0)
        self._sn = np.empty((0, self.state_dim))
        self._d = np.empty(0, dtype=bool)
        self._size = 0
        self._next = 0  # next slot to overwrite once full

    # ------------------------------------------------------------------ adding
    def add(self, state, action, reward, next_state, terminated: bool = False) -> None:
        """Add one transition: ``state`` (nx,), ``action`` (nu,), scalar ``reward``, ``next_state`` (nx,)."""
        self.add_batch(np.reshape(self._vec("state", state, self.state_dim), (1, -1)),
                       np.reshape(self._vec("action", action, self.action_dim), (1, -1)),
                       np.reshape(as_float_array("reward", reward, shape=()), (1,)),
                       np.reshape(self._vec("next_state", next_state, self.state_dim), (1, -1)),
                       np.array([bool(terminated)]))

    @staticmethod
    def _vec(name, value, n):
        arr = as_float_array(name, value)
        if arr.shape != (n,):
            raise ValueError(f"{name}: expected shape ({n},), got {arr.shape}")
        return arr

    def add_batch(self, states, actions, rewards, next_states, terminated=None) -> None:
        """Add n transitions at once (shapes in the module docstring); NaN or inf raise ``ValueError``."""
        s = as_float_array("states", states, ndim=2)
        n = s.shape[0]
        if s.shape[1] != self.state_dim:
            raise ValueError(f"states: expected shape (n, {self.state_dim}), got {s.shape}")
        a = as_float_array("actions", actions, ndim=2)
        if a.shape != (n, self.action_dim):
            raise ValueError(f"actions: expected shape ({n}, {self.action_dim}), got {a.shape}")
        r = as_float_array("rewards", rewards, ndim=1)
        if r.shape != (n,):
            raise ValueError(f"rewards: expected shape ({n},), got {r.shape}")
        sn = as_float_array("next_states", next_states, ndim=2)
        if sn.shape != (n, self.state_dim):
            raise ValueError(f"next_states: expected shape ({n}, {self.state_dim}), got {sn.shape}")
        d = np.zeros(n, dtype=bool) if terminated is None else np.asarray(terminated, dtype=bool).reshape(-1)
        if d.shape != (n,):
            raise ValueError(f"terminated: expected shape ({n},), got {d.shape}")
        size = len(self)
        take = min(self.capacity - size, n)
        if take:
            self._reserve(size + take)
            for arr, new in zip(self._arrays(), (s, a, r, sn, d)):
                arr[size:size + take] = new[:take]
            self._size = size + take
        for i in range(take, n):  # ring overwrite once full
            j = self._next
            for arr, new in zip(self._arrays(), (s, a, r, sn, d)):
                arr[j] = new[i]
            self._next = (j + 1) % self.capacity

    def _arrays(self):
        return self._s, self._a, self._r, self._sn, self._d

    def _reserve(self, n: int) -> None:
        """Grow the storage (doubling) so it holds at least ``n`` transitions."""
        cap = self._s.shape[0]
        if n <= cap:
            return
        new_cap = min(self.capacity, max(n, 2 * cap, 256))
        grown = []
        for arr in self._arrays():
            g = np.empty((new_cap,) + arr.shape[1:], dtype=arr.dtype)
            g[:cap] = arr
            grown.append(g)
        self._s, self._a, self._r, self._sn, self._d = grown

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return self._size

    @property
    def states(self) -> np.ndarray:
        """(n, nx) view."""
        return self._s[: self._size]

    @property
    def actions(self) -> np.ndarray:
        """(n, nu) view."""
        return self._a[: self._size]

    @property
    def rewards(self) -> np.ndarray:
        """(n,) view."""
        return self._r[: self._size]

    @property
    def next_states(self) -> np.ndarray:
        """(n, nx) view."""
        return self._sn[: self._size]

    @property
    def terminated(self) -> np.ndarray:
        """(n,) bool view."""
        return self._d[: self._size]

    def require_nonempty(self, what: str = "dataset") -> None:
        """Raise ``ValueError`` when the buffer holds no transition."""
        if len(self) == 0:
            raise ValueError(f"{what}: expected at least one transition, got an empty buffer")

    def split(self, val_fraction: float = 0.1, *, seed: SeedLike = None, max_val: int | None = None):
        """Random train/validation split of the indices.

        Parameters
        ----------
        val_fraction : float in [0, 1)
            Fraction of transitions held out (at least one when the buffer has two or more).
        max_val : int, optional
            Cap on the validation size.

        Returns
        -------
        train_idx, val_idx : ndarray of int
        """
        self.require_nonempty()
        f = check_probability("val_fraction", val_fraction)
        if f >= 1.0:
            raise ValueError(f"val_fraction: expected a number in [0, 1), got {val_fraction!r}")
        n = len(self)
        perm = make_rng(seed).permutation(n)
        n_val = int(round(f * n))
        if f > 0 and n >= 2:
            n_val = max(1, n_val)
        if max_val is not None:
            n_val = min(n_val, int(max_val))
        n_val = min(n_val, n - 1)
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])

    @staticmethod
    def bootstrap_indices(indices, members: int, *, seed: SeedLike = None) -> np.ndarray:
        """Bootstrap resamples of ``indices`` for ``members`` ensemble members (bootstrap ensembles, Lakshminarayanan et al. 2017).

        Each member draws ``len(indices)`` indices with replacement, independently.

        Returns
        -------
        ndarray of int, shape (members, len(indices))
        """
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError(f"indices: expected a non-empty 1-D index array, got shape {idx.shape}")
        members = check_positive_int("members", members)
        rng = make_rng(seed)
        return idx[rng.integers(0, idx.size, size=(members, idx.size))]

    # ------------------------------------------------------------------ files
    def save(self, path) -> Path:
        """Write the buffer to ``path`` (npz) atomically: a temporary file, fsync, then ``os.replace``.

        A crash mid-write leaves the previous file intact.
        """
        meta = np.array([_FORMAT_VERSION, self.state_dim, self.action_dim, self.capacity, self._next], dtype=np.int64)
        return atomic_write(path, lambda f: np.savez(f, states=self.states, actions=self.actions, rewards=self.rewards,
                                                     next_states=self.next_states, terminated=self.terminated,
                                                     meta=meta))

    @classmethod
    def load(cls, path) -> "TransitionBuffer":
        """Read a buffer written by :meth:`save` (no pickles are loaded)."""
        path = Path(path)
        with np.load(path, allow_pickle=False) as z:
            meta = z["meta"]
            if int(meta[0]) != _FORMAT_VERSION:
                raise ValueError(f"{path}: expected buffer format {_FORMAT_VERSION}, got {int(meta[0])}")
            buf = cls(int(meta[1]), int(meta[2]), int(meta[3]))
            buf._s, buf._a, buf._r = z["states"].copy(), z["actions"].copy(), z["rewards"].copy()
            buf._sn, buf._d = z["next_states"].copy(), z["terminated"].copy()
            buf._size = buf._s.shape[0]
            buf._next = int(meta[4])
        return buf

    def __repr__(self) -> str:
        return f"TransitionBuffer(nx={self.state_dim}, nu={self.action_dim}, size={len(self)}, capacity={self.capacity})"
