"""Building blocks of planlab's torch policies: the MLP every network here is made of, and the
crash-safe save/load of a policy's tensors (``torch.load(weights_only=True)``).

Importable from :mod:`planlab.policies.networks` too.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ..core.files import atomic_write

__all__ = ["mlp", "save_blob", "load_blob"]


def save_blob(path, blob: dict):
    """Write a policy's ``blob`` (tensors, strings, numbers; a ``"format"`` tag) to ``path`` with
    ``torch.save``, crash-safe (:func:`planlab.core.files.atomic_write`). Returns the path."""
    return atomic_write(path, lambda f: torch.save(blob, f))


def load_blob(path, fmt: str, what: str) -> dict:
    """Read a blob written by :func:`save_blob` (``torch.load(weights_only=True)``: nothing is executed)
    and check its ``"format"`` tag is ``fmt``; ``what`` names the class in the errors."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # a foreign file raises many kinds (pickle, zip, struct errors)
        raise ValueError(f"path: {path} does not hold a {what} file ({type(exc).__name__})") from exc
    got = blob.get("format") if isinstance(blob, dict) else None
    if got != fmt:
        raise ValueError(f"path: expected a {what} file, got format {got!r}")
    return blob


_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}


def _activation(name: str):
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]


def mlp(in_dim: int, out_dim: int, hidden: Sequence[int] = (64, 64), activation: str = "tanh",
        out_gain: float | None = None) -> nn.Sequential:
    """A multilayer perceptron ``in_dim -> hidden... -> out_dim`` (orthogonal init).

    Parameters
    ----------
    in_dim, out_dim : int
    hidden : sequence of int
        Hidden widths; ``()`` gives a single linear layer.
    activation : {"tanh", "relu", "elu"}
    out_gain : float, optional
        Orthogonal gain of the last layer (small values, e.g. 0.01, start policies near uniform).

    Returns
    -------
    torch.nn.Sequential
        Maps (..., in_dim) to (..., out_dim).
    """
    act = _activation(activation)
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        lin = nn.Linear(d, int(h))
        nn.init.orthogonal_(lin.weight, math.sqrt(2.0))
        nn.init.zeros_(lin.bias)
        layers += [lin, act()]
        d = int(h)
    last = nn.Linear(d, out_dim)
    nn.init.orthogonal_(last.weight, 1.0 if out_gain is None else out_gain)
    nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)
