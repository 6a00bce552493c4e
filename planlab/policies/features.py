"""Observation feature maps applied inside the networks (the stored observation stays the env's).

:class:`AngleFeatures` replaces chosen observation components by their sine and cosine. An angle
that is observed unwrapped (a pole that has turned twice reads ``4 pi`` more than one that has not)
gives a network inputs that grow without bound for the same physical state; ``(sin, cos)`` makes
equal poses equal inputs and keeps them in ``[-1, 1]`` (the observation gymnasium's ``Pendulum-v1``
gives its agents for the same reason).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..core.validation import check_positive_int

__all__ = ["AngleFeatures"]


class AngleFeatures(nn.Module):
    """``obs (..., n_obs) -> (..., n_obs + len(indices))``: the other components, then ``sin``, then ``cos``
    of the components at ``indices``.

    Parameters
    ----------
    obs_dim : int
    indices : sequence of int
        Distinct observation components in ``[0, obs_dim)`` holding angles (radians).
    """

    def __init__(self, obs_dim: int, indices: Sequence[int]):
        super().__init__()
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        idx = [int(i) for i in indices]
        if not idx or len(set(idx)) != len(idx) or any(i < 0 or i >= obs_dim for i in idx):
            raise ValueError(f"angle indices: expected distinct ints in [0, {obs_dim}), got {list(indices)!r}")
        self.indices = tuple(idx)
        self.register_buffer("_angles", torch.tensor(idx, dtype=torch.long), persistent=False)
        self.register_buffer("_rest", torch.tensor([i for i in range(obs_dim) if i not in idx], dtype=torch.long),
                             persistent=False)
        self.out_dim = obs_dim + len(idx)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.shape[-1] != self.obs_dim:
            raise ValueError(f"obs: expected last dimension {self.obs_dim}, got shape {tuple(obs.shape)}")
        a = obs.index_select(-1, self._angles)
        return torch.cat([obs.index_select(-1, self._rest), torch.sin(a), torch.cos(a)], -1)
