"""Network inputs and targets of a learned model, and their normalisation.

Inputs are the state (angles listed in ``angle_indices`` replaced by their cos and sin) and the
action; targets are the state change ``Delta s = s' - s`` (and the reward, when the model learns
it). Both are standardised with the training data's mean and standard deviation, held as buffers
``in_mean, in_std`` (n_in,) and ``out_mean, out_std`` (n_out,) of the
:class:`~planlab.dynamics.learned.network.EnsembleNet`, so they travel with its state dict.
"""

from __future__ import annotations

import torch

__all__ = ["input_features", "delta_targets", "fit_normalization", "denormalized_forward"]


def input_features(x: torch.Tensor, u: torch.Tensor, plain_idx: torch.Tensor | None,
                   angle_idx: torch.Tensor | None) -> torch.Tensor:
    """Raw network inputs (..., n_in): plain state components, cos/sin of angles, action.

    Parameters
    ----------
    x : tensor (..., nx)
    u : tensor (..., nu)
    plain_idx : long tensor (n_plain,) or None
        Non-angle state components (None: there are none). When there are no angles either,
        ``x`` is used as it is.
    angle_idx : long tensor (n_angles,) or None
        Angle components (None: there are none).
    """
    parts = []
    if plain_idx is not None:
        parts.append(x[..., plain_idx] if angle_idx is not None else x)
    if angle_idx is not None:
        ang = x[..., angle_idx]
        parts += [torch.cos(ang), torch.sin(ang)]
    parts.append(u)
    return torch.cat(parts, dim=-1)


def delta_targets(x: torch.Tensor, xn: torch.Tensor, r: torch.Tensor | None) -> torch.Tensor:
    """Raw network targets (..., n_out): ``s' - s`` (and the reward ``r`` (...) when given)."""
    d = xn - x
    if r is not None:
        d = torch.cat([d, r[..., None]], dim=-1)
    return d


def fit_normalization(net: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Set ``net``'s normaliser buffers to the mean and std of ``inputs`` (n, n_in) and ``targets`` (n, n_out).

    A standard deviation below 1e-6 (a constant column) is replaced by 1.
    """
    with torch.no_grad():
        for name, data in (("in", inputs), ("out", targets)):
            mean = data.mean(0)
            std = data.std(0, unbiased=False) if data.shape[0] > 1 else torch.ones_like(mean)
            std = torch.where(std < 1e-6, torch.ones_like(std), std)
            getattr(net, f"{name}_mean").copy_(mean)
            getattr(net, f"{name}_std").copy_(std)


def denormalized_forward(net: torch.nn.Module, z: torch.Tensor, weights=None, biases=None):
    """Raw features (E', B, n_in) -> raw-unit mean (E', B, n_out) and variance (or None).

    Normalises ``z``, runs ``net`` (optionally with the given per-member ``weights``/``biases``)
    and maps its normalised mean and log-variance back to raw units.
    """
    zn = (z - net.in_mean) / net.in_std
    mean, logvar = net(zn, weights, biases)
    mean = torch.addcmul(net.out_mean, mean, net.out_std)
    var = None if logvar is None else torch.exp(logvar) * net.out_std.square()
    return mean, var
