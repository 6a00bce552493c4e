"""Torch-free inference of a trained MLP policy: a numpy forward pass and a compiled (numba) one.

A robot's control loop wants an action in microseconds. :class:`FastMLP` holds an MLP's weights as
float64 arrays, packed into one flat vector for the compiled kernel, and evaluates one state
(``__call__``: numba, no Python per layer) or a batch (:meth:`FastMLP.forward`: numpy). The input map
may turn listed state components into ``(sin, cos)`` first (the features of the GPS and distilled
policies). Both paths compute the same numbers (tests compare them with torch).

Shapes: weights ``W_l`` (out_l, in_l) as in ``torch.nn.Linear``; a state (obs_dim,); a batch (N, obs_dim).
"""

from __future__ import annotations

import numpy as np

from ..dynamics.compiled.jit import jit

__all__ = ["FastMLP", "mlp_forward_kernel"]

_ACT_CODES = {"tanh": 0, "relu": 1, "identity": 2}


@jit
def mlp_forward_kernel(x, plain, angles, flat, sizes, act, low, high, out):  # pragma: no cover - compiled
    """One state ``x`` through the packed MLP into ``out`` (nu,).

    ``sizes`` = [in, h1, ..., out]; ``flat`` = W_1 (row-major, (h1, in)), b_1, W_2, b_2, ...;
    ``act`` 0 tanh, 1 relu, 2 identity; the output is clipped to ``[low, high]``.
    """
    n0 = sizes[0]
    buf = np.empty(n0)
    j = 0
    for i in range(plain.shape[0]):
        buf[j] = x[plain[i]]
        j += 1
    for i in range(angles.shape[0]):
        buf[j] = np.sin(x[angles[i]])
        j += 1
    for i in range(angles.shape[0]):
        buf[j] = np.cos(x[angles[i]])
        j += 1
    off = 0
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        nxt = np.empty(n_out)
        boff = off + n_in * n_out
        for r in range(n_out):
            s = flat[boff + r]
            row = off + r * n_in
            for c in range(n_in):
                s += flat[row + c] * buf[c]
            if layer < n_layers - 1:
                if act == 0:
                    s = np.tanh(s)
                elif act == 1:
                    s = max(s, 0.0)
            nxt[r] = s
        buf = nxt
        off = boff + n_out
    for r in range(out.shape[0]):
        out[r] = min(max(buf[r], low[r]), high[r])


class FastMLP:
    """An MLP evaluated without torch.

    Parameters
    ----------
    weights : list of ndarray
        ``W_l`` of shape (out_l, in_l).
    biases : list of ndarray
        ``b_l`` of shape (out_l,).
    activation : {"tanh", "relu"}
        Hidden-layer activation (the last layer is linear).
    obs_dim : int
    angle_indices : sequence of int
        Components of the state replaced by ``(sin, cos)`` (plain components first, then the sines, then
        the cosines).
    low, high : array_like (nu,), optional
        Output clipping.
    """

    def __init__(self, weights, biases, activation: str, obs_dim: int, angle_indices=(), low=None, high=None):
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation: expected 'tanh' or 'relu', got {activation!r}")
        if len(weights) != len(biases) or not weights:
            raise ValueError(f"weights, biases: expected equal non-empty lists, got {len(weights)} and {len(biases)}")
        Ws = [np.ascontiguousarray(np.asarray(W, dtype=np.float64)) for W in weights]
        bs = [np.asarray(b, dtype=np.float64).ravel() for b in biases]
        self.angles = np.array(list(angle_indices), dtype=np.int64)
        self.plain = np.array([i for i in range(obs_dim) if i not in set(self.angles.tolist())], dtype=np.int64)
        sizes = [Ws[0].shape[1]] + [W.shape[0] for W in Ws]
        if sizes[0] != obs_dim + len(self.angles):
            raise ValueError(f"weights: expected a first layer of {obs_dim + len(self.angles)} inputs, got {sizes[0]}")
        for i, (W, b) in enumerate(zip(Ws, bs)):
            if W.shape != (sizes[i + 1], sizes[i]) or b.shape != (sizes[i + 1],):
                raise ValueError(f"weights[{i}]: expected shapes ({sizes[i + 1]}, {sizes[i]}) and ({sizes[i + 1]},), "
                                 f"got {W.shape} and {b.shape}")
        self.obs_dim, self.action_dim = int(obs_dim), sizes[-1]
        self.sizes = np.array(sizes, dtype=np.int64)
        self.flat = np.concatenate([np.concatenate([W.ravel(), b]) for W, b in zip(Ws, bs)])
        self.act_code = _ACT_CODES[activation]
        self.activation = activation
        self._Wt = [np.ascontiguousarray(W.T) for W in Ws]
        self._b = bs
        nu = self.action_dim
        self.low = np.full(nu, -np.inf) if low is None else np.broadcast_to(np.asarray(low, np.float64), (nu,)).copy()
        self.high = np.full(nu, np.inf) if high is None else np.broadcast_to(np.asarray(high, np.float64), (nu,)).copy()
        self._out = np.empty(nu)

    def features(self, X: np.ndarray) -> np.ndarray:
        """(..., obs_dim) -> (..., in_dim)."""
        if len(self.angles) == 0:
            return X
        a = X[..., self.angles]
        return np.concatenate([X[..., self.plain], np.sin(a), np.cos(a)], axis=-1)

    def forward(self, X) -> np.ndarray:
        """numpy forward of states (..., obs_dim) -> clipped outputs (..., nu)."""
        h = self.features(np.asarray(X, dtype=np.float64))
        last = len(self._Wt) - 1
        for i in range(last + 1):
            h = h @ self._Wt[i] + self._b[i]
            if i < last:
                h = np.tanh(h) if self.act_code == 0 else np.maximum(h, 0.0)
        return np.clip(h, self.low, self.high)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Compiled forward of one float64 state (obs_dim,) -> (nu,) (a new array; no validation)."""
        out = np.empty(self.action_dim)
        mlp_forward_kernel(x, self.plain, self.angles, self.flat, self.sizes, self.act_code, self.low, self.high, out)
        return out

    def warmup(self) -> None:
        """Compile (or load the cached kernel) now rather than at the first action."""
        self(np.zeros(self.obs_dim))
