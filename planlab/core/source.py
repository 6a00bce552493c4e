"""Evaluate single-source scalar code (see :mod:`planlab.core.ops`) on numpy arrays and torch tensors.

A *dynamics source* has the signature ``f(x, u, p, out)``: it reads state components ``x[i]``,
action components ``u[j]`` and parameters ``p[P.name]`` and writes the next state's components into
``out[i]``. The parameter vector ``p`` holds the fields of the system's frozen ``Params`` dataclass
in field order; a source reads them by name through the constant index :func:`param_index` builds::

    P = param_index(PendulumParams)      # P.g == 0, P.m == 1, ...

    def pendulum_dynamics(x, u, p, out):
        g = p[P.g]
        ...

``P`` is a NamedTuple of ints, so ``p[P.g]`` is an integer index in numpy, torch and casadi, and
numba compiles the global ``P`` as a constant (the index folds away: no run-time cost). A *cost source* has ``c(x, u, xn, p) -> scalar`` (``xn`` the next state) and a terminal
source ``cf(x, p) -> scalar``; a termination source ``term(x, p) -> bool``.

The same functions compile with numba (``x``, ``u``, ``out`` are 1-D arrays and ``p`` a float64
array), run on numpy arrays and torch tensors through the helpers here (components are arrays over
the batch), and build casadi expressions (components are symbols).
"""

from __future__ import annotations

import dataclasses
from collections import namedtuple

import numpy as np

__all__ = ["components", "stack_components", "eval_dynamics_source", "eval_scalar_source", "param_index"]


def param_index(params_class):
    """The position of every field of ``params_class`` in its parameter vector, by name.

    Parameters
    ----------
    params_class : dataclass or NamedTuple class
        The parameters of a system or cost; the vector a source receives holds its fields in
        declaration order (``dataclasses.astuple`` of an instance).

    Returns
    -------
    NamedTuple of int
        Field ``name`` -> its index, e.g. ``param_index(PendulumParams).g == 0``.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class SpringParams:
    ...     k: float = 1.0
    ...     dt: float = 0.1
    >>> P = param_index(SpringParams)
    >>> P.k, P.dt
    (0, 1)
    """
    if dataclasses.is_dataclass(params_class):
        names = [f.name for f in dataclasses.fields(params_class)]
    elif isinstance(params_class, type) and issubclass(params_class, tuple) and hasattr(params_class, "_fields"):
        names = list(params_class._fields)
    else:
        raise TypeError(f"params_class: expected a dataclass or a NamedTuple class, got {params_class!r}")
    index = namedtuple(f"{params_class.__name__}Index", names, module=params_class.__module__)
    return index(*range(len(names)))


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
