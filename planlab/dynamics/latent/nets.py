"""Convolutional encoder and decoder of latent models (the layout of PlaNet, Hafner et al. 2019).

* :class:`Encoder`: stride-2, 4x4 convolutions with ReLU (3 layers at 32x32, 4 at 64x64; channels
  ``depth, 2 depth, 4 depth[, 8 depth]``) and a linear layer to ``out`` features.
  ``(B, C, S, S) -> (B, out)``. With ``pool = k > 1`` the frame is first averaged over k x k blocks
  and the convolutions are those of size ``S / k`` (a 64x64 frame seen as 32x32: the 64x64 first layer
  and its weight gradient were most of an update's CPU time).
* :class:`Decoder`: a linear layer to a 4x4 map and stride-2, 4x4 transposed convolutions (padding
  1) that double it back to the image (3 layers at 32x32, 4 at 64x64), the mean of a unit-variance
  Gaussian over pixels. ``(B, feat) -> (B, C, S, S)``. (PlaNet starts from a 1x1 map with 5x5 and
  6x6 kernels; on this CPU torch's transposed convolutions with those kernels took about twice as
  long forward for the same image size.)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["Encoder", "Decoder", "mlp"]

_ENC_LAYERS = {32: 3, 64: 4}


def mlp(n_in: int, hidden: int, n_out: int, layers: int = 2) -> nn.Sequential:
    """``layers`` hidden ReLU layers of ``hidden`` units, then a linear output.

    (ReLU rather than PlaNet's ELU: on a 300 x 64 batch here torch's ELU took ~116 us against ReLU's
    ~6 us, as long as the linear layer itself, and planning calls these layers H x iterations times.)
    """
    mods, d = [], n_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.ReLU()]
        d = hidden
    mods.append(nn.Linear(d, n_out))
    return nn.Sequential(*mods)


class Encoder(nn.Module):
    """Image (B, C, S, S) float -> features (B, out); ``pool``: average k x k blocks first (S / k must be
    32 or 64)."""

    def __init__(self, channels: int, size: int, depth: int, out: int, pool: int = 1):
        super().__init__()
        if pool < 1 or size % pool or size // pool not in _ENC_LAYERS:
            raise ValueError(f"pool: expected a factor k of size {size} with size / k in {sorted(_ENC_LAYERS)}, "
                             f"got {pool!r}")
        self.pool = pool
        size //= pool
        mods, c = [], channels
        for i in range(_ENC_LAYERS[size]):
            mods += [nn.Conv2d(c, depth * 2 ** i, 4, stride=2), nn.ReLU()]
            c = depth * 2 ** i
        self.conv = nn.Sequential(*mods)
        with torch.no_grad():
            n = self.conv(torch.zeros(1, channels, size, size)).numel()
        self.head = nn.Linear(n, out)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        if self.pool == 2:  # the 2x2 block mean as four strided views (4x cheaper on a CPU than avg_pool2d here)
            img = 0.25 * (img[..., ::2, ::2] + img[..., 1::2, ::2] + img[..., ::2, 1::2] + img[..., 1::2, 1::2])
        elif self.pool > 1:
            img = F.avg_pool2d(img, self.pool)
        return self.head(self.conv(img).flatten(1))


class Decoder(nn.Module):
    """Features (B, feat) -> mean image (B, C, S, S)."""

    def __init__(self, feat: int, channels: int, size: int, depth: int):
        super().__init__()
        n = _ENC_LAYERS[size]
        self.c0 = depth * 2 ** (n - 1)
        self.fc = nn.Linear(feat, self.c0 * 16)
        mods, cin = [], self.c0
        for i in range(n):
            last = i == n - 1
            cout = channels if last else max(depth, cin // 2)
            mods.append(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1))
            if not last:
                mods.append(nn.ReLU())
            cin = cout
        self.deconv = nn.Sequential(*mods)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.fc(feat).view(-1, self.c0, 4, 4))
