"""Value and action-value networks of the model-free learners: ``V_phi(s)``, ``Q_phi(s, a)`` and a fused
ensemble of Q networks (SAC's twin critics, Haarnoja et al. 2018; the clipped double-Q of Fujimoto et al. 2018).

Float32 ``torch.nn.Module`` s; importable from :mod:`planlab.policies.networks` too.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ..core.validation import check_positive_int
from .layers import mlp

__all__ = ["ValueNet", "QNet", "QEnsemble"]


class ValueNet(nn.Module):
    """A state-value network ``V_phi(s)``: (..., n_obs) -> (...)."""

    def __init__(self, obs_dim: int, hidden: Sequence[int] = (64, 64), activation: str = "tanh"):
        super().__init__()
        self.net = mlp(check_positive_int("obs_dim", obs_dim), 1, hidden, activation, out_gain=1.0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)


class QNet(nn.Module):
    """An action-value network ``Q_phi(s, a)``: (..., n_obs), (..., nu) -> (...)."""

    def __init__(self, obs_dim: int, action_dim: int, hidden: Sequence[int] = (64, 64), activation: str = "relu"):
        super().__init__()
        self.net = mlp(obs_dim + action_dim, 1, hidden, activation, out_gain=1.0)

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, actions], -1)).squeeze(-1)


class QEnsemble(nn.Module):
    """``n`` Q networks evaluated as one fused batched MLP (one ``baddbmm`` per layer).

    Parameters
    ----------
    obs_dim, action_dim : int
    n : int
        Ensemble size (SAC uses 2 and takes the minimum).
    hidden : sequence of int
    features : nn.Module, optional
        Applied to the observation first (as in :class:`TanhGaussianPolicy`).

    ``forward(obs (B, n_obs), actions (B, nu)) -> (n, B)``.
    """

    def __init__(self, obs_dim: int, action_dim: int, n: int = 2, hidden: Sequence[int] = (64, 64),
                 features: nn.Module | None = None):
        super().__init__()
        self.n = check_positive_int("n", n)
        self.features = features
        dims = [(obs_dim if features is None else features.out_dim) + action_dim, *[int(h) for h in hidden], 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            w = torch.empty(n, a, b)
            gain = 1.0 if i == len(dims) - 2 else math.sqrt(2.0)
            for k in range(n):
                wk = torch.empty(b, a)
                nn.init.orthogonal_(wk, gain)  # same init as nn.Linear(a, b) per member
                w[k] = wk.T
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.zeros(n, 1, b)))

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        if self.features is not None:
            obs = self.features(obs)
        x = torch.cat([obs, actions], -1).unsqueeze(0).expand(self.n, -1, -1)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x.squeeze(-1)
