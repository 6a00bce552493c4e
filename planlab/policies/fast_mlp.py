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
def mlp_forward_kernel(x, meta, flat, work, out):  # pragma: no cover - compiled
    """One state ``x`` through the packed MLP into ``out`` (nu,), using ``work`` (2 · widest layer) as scratch.

    ``meta`` = [n_layers, act, n_plain, n_angles, plain..., angles..., in, h1, ..., nu] (int64; ``act`` 0
    tanh, 1 relu); ``flat`` = for each layer ``W_lᵀ`` (row-major, (in_l, out_l)) then ``b_l``, and at the end
    the output box ``low``, ``high``. Each layer accumulates ``b + Σ_c x_c W_lᵀ[c, :]`` (a sum over rows:
    independent per output, so the inner loop vectorises without reassociating any sum — fastmath stays
    off); the output is clipped to ``[low, high]``.
    """
    n_layers, act, n_plain, n_ang = meta[0], meta[1], meta[2], meta[3]
    sz = 4 + n_plain + n_ang
    width = work.shape[0] // 2
    h, g = work[:width], work[width:]
    for i in range(n_plain):
        h[i] = x[meta[4 + i]]
    for i in range(n_ang):
        a = x[meta[4 + n_plain + i]]
        h[n_plain + i] = np.sin(a)
        h[n_plain + n_ang + i] = np.cos(a)
    off = 0
    for layer in range(n_layers):
        n_in = meta[sz + layer]
        n_out = meta[sz + layer + 1]
        boff = off + n_in * n_out
        W = flat[off:boff].reshape((n_in, n_out))
        b = flat[boff:boff + n_out]
        for r in range(n_out):
            g[r] = b[r]
        for c in range(n_in):  # loop indices only (no offsets): the inner loop vectorises
            v = h[c]
            w = W[c]
            for r in range(n_out):
                g[r] += v * w[r]
        if layer < n_layers - 1:
            if act == 0:
                for r in range(n_out):
                    g[r] = np.tanh(g[r])
            else:
                for r in range(n_out):
                    g[r] = max(g[r], 0.0)
        h, g = g, h
        off = boff + n_out
    nu = out.shape[0]
    lo, hi = flat[off:off + nu], flat[off + nu:off + 2 * nu]
    for r in range(nu):
        out[r] = min(max(h[r], lo[r]), hi[r])


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
        self.flat = np.concatenate([np.concatenate([W.T.ravel(), b]) for W, b in zip(Ws, bs)])
        self.act_code = _ACT_CODES[activation]
        self.activation = activation
        self._Wt = [np.ascontiguousarray(W.T) for W in Ws]
        self._b = bs
        nu = self.action_dim
        self.low = np.full(nu, -np.inf) if low is None else np.broadcast_to(np.asarray(low, np.float64), (nu,)).copy()
        self.high = np.full(nu, np.inf) if high is None else np.broadcast_to(np.asarray(high, np.float64), (nu,)).copy()
        self._kflat = np.concatenate([self.flat, self.low, self.high])
        self._meta = np.concatenate([[len(Ws), self.act_code, len(self.plain), len(self.angles)], self.plain, self.angles,
                                     sizes]).astype(np.int64)
        self._work = np.zeros(2 * max(sizes))
        self._xshape = (self.obs_dim,)

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

    def __call__(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Compiled forward of one float64 state (obs_dim,) -> (nu,), into ``out`` if given (else a new array).

        The only check is the state's shape; a non-float64 ``x`` or ``out`` makes numba compile another
        specialisation. Not thread-safe: the scratch buffer is shared by the calls of one instance.
        """
        if x.shape != self._xshape:
            raise ValueError(f"x: expected shape {self._xshape}, got {x.shape}")
        if out is None:
            out = np.empty(self.action_dim)
        mlp_forward_kernel(x, self._meta, self._kflat, self._work, out)
        return out

    def warmup(self) -> None:
        """Compile (or load the cached kernel) now rather than at the first action."""
        self(np.zeros(self.obs_dim))
