"""The ensemble network: E MLPs evaluated together, one batched matrix product per layer.

All E members live in one module whose layer weights are shaped ``(E, in, out)``: one
``torch.baddbmm`` per layer evaluates every member on its own batch of inputs ``(E, B, in)``, so
there is never a Python loop over members. Gaussian heads predict a log-variance soft-bounded
between learned limits, ``logvar = max - softplus(max - raw); logvar = min + softplus(logvar - min)``
(Chua et al. 2018). The normalisation statistics are buffers of this module (see
:mod:`planlab.dynamics.learned.normalization`), so they are saved with its state dict.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["EnsembleNet"]


class EnsembleNet(torch.nn.Module):
    """E MLPs with weights ``(E, in, out)``, evaluated with one ``baddbmm`` per layer.

    ``forward(z)`` takes normalised inputs ``(E, B, n_in)`` and returns the normalised mean
    ``(E, B, n_out)`` and log-variance (or None).
    """

    def __init__(self, members: int, n_in: int, n_out: int, hidden, probabilistic: bool, activation: str,
                 init_min_logvar: float, init_max_logvar: float, generator: torch.Generator | None = None):
        super().__init__()
        self.members, self.n_in, self.n_out = members, n_in, n_out
        self.probabilistic = probabilistic
        sizes = [n_in, *hidden, n_out * (2 if probabilistic else 1)]
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            # truncated-normal init as in PETS: std 1/(2 sqrt(fan_in)), truncated at +-2 std, per member
            w = torch.empty(members, a, b)
            std = 1.0 / (2.0 * math.sqrt(a))
            torch.nn.init.trunc_normal_(w, std=std, a=-2.0 * std, b=2.0 * std, generator=generator)
            self.weights.append(torch.nn.Parameter(w))
            self.biases.append(torch.nn.Parameter(torch.zeros(members, 1, b)))
        self.activation = activation
        if probabilistic:
            self.max_logvar = torch.nn.Parameter(torch.full((n_out,), float(init_max_logvar)))
            self.min_logvar = torch.nn.Parameter(torch.full((n_out,), float(init_min_logvar)))
        self.register_buffer("in_mean", torch.zeros(n_in))
        self.register_buffer("in_std", torch.ones(n_in))
        self.register_buffer("out_mean", torch.zeros(n_out))
        self.register_buffer("out_std", torch.ones(n_out))

    def _act(self, h: torch.Tensor) -> torch.Tensor:
        inplace = not torch.is_grad_enabled()
        if self.activation == "silu":
            return F.silu(h, inplace=inplace)
        if self.activation == "relu":
            return h.relu_() if inplace else torch.relu(h)
        return h.tanh_() if inplace else torch.tanh(h)

    #: rows per member per chunk when evaluating without gradients: keeps a chunk's activations
    #: (E x rows x width floats) inside the L2 cache; measured ~17% less CPU time than one pass
    #: over 1400 rows per member (5 x 4 x 200 network, 1 thread)
    chunk_rows = 256

    def forward(self, z: torch.Tensor, weights=None, biases=None):
        """Normalised ``z`` (E', B, n_in) -> (mean (E', B, n_out), logvar or None)."""
        weights = self.weights if weights is None else weights
        biases = self.biases if biases is None else biases
        if torch.is_grad_enabled() or z.shape[1] <= 2 * self.chunk_rows:
            h = self._mlp(z, weights, biases)
        else:
            h = torch.cat([self._mlp(c, weights, biases) for c in z.split(self.chunk_rows, dim=1)], dim=1)
        if not self.probabilistic:
            return h, None
        mean, raw = h[..., : self.n_out], h[..., self.n_out:]
        logvar = self.max_logvar - F.softplus(self.max_logvar - raw)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar

    def _mlp(self, z, weights, biases):
        h = z
        last = len(weights) - 1
        for i, (w, b) in enumerate(zip(weights, biases)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = self._act(h)
        return h
