"""Evaluate single-source scalar code (see :mod:`planlab.core.ops`) on numpy arrays and torch tensors.

A *dynamics source* has the signature ``f(x, u, p, out)``: it reads state components ``x[i]``,
action components ``u[j]`` and parameters ``p[k]`` and writes the next state's components into
``out[i]``. A *cost source* has ``c(x, u, xn, p) -> scalar`` (``xn`` the next state) and a terminal
source ``cf(x, p) -> scalar``; a termination source ``term(x, p) -> bool``.

The same functions compile with numba (``x``, ``u``, ``out`` are 1-D arrays and ``p`` a float64
array), run on numpy arrays and torch tensors through the helpers here (components are arrays over
the batch), and build casadi expressions (components are symbols).
"""

from __future__ import annotations

import numpy as np

__all__ = ["components", "stack_components", "eval_dynamics_source", "eval_scalar_source"]


def components(arr):
    """Split ``arr`` (..., n) into a tuple of its n components (...)."""
    return tuple(arr[..., i] for i in range(arr.shape[-1]))


def stack_components(values, like):
    """Stack component values (arrays, tensors or floats) into an array/tensor (..., n) shaped like ``like``."""
    mod = type(like).__module__
    if mod.startswith("torch"):
        import torch

        batch = like.shape[:-1]
        vals = [v if isinstance(v, torch.Tensor) else torch.as_tensor(v, dtype=like.dtype) for v in values]
        vals = [v.expand(batch) if v.shape != batch else v for v in vals]
        return torch.stack(vals, dim=-1)
    batch = np.shape(like)[:-1]
    out = np.empty(batch + (len(values),))
    for i, v in enumerate(values):
        out[..., i] = v
    return out


def eval_dynamics_source(fn, x, u, p, nx: int):
    """Apply a dynamics source to batched ``x`` (..., nx) and ``u`` (..., nu) -> (..., nx)."""
    out = [None] * nx
    fn(components(x), components(u), p, out)
    if mod_is_torch(x) or mod_is_torch(u):
        like = x if mod_is_torch(x) else u
        return stack_components(out, like[..., :1].expand(*np.broadcast_shapes(tuple(x.shape[:-1]), tuple(u.shape[:-1])), 1))
    batch = np.broadcast_shapes(np.shape(x)[:-1], np.shape(u)[:-1])
    return stack_components(out, np.empty(batch + (nx,)))


def eval_scalar_source(value, batch_shape):
    """Broadcast a scalar source result (float or array) to ``batch_shape`` as float64."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64), batch_shape).copy()


def mod_is_torch(a) -> bool:
    return type(a).__module__.startswith("torch")
