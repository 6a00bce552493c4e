"""The small maths vocabulary in which planlab's analytic systems and costs are written.

A system is written **once**, as plain scalar code over its state components, using Python's
arithmetic operators and the functions of this module. The same source then runs on

* Python floats and numba (each function has a numba ``overload``, so the source compiles with
  ``numba.njit`` into the fused rollout kernels),
* numpy arrays (every component is an array over the batch),
* torch tensors (differentiable, batched),
* casadi ``SX``/``MX`` symbols (exact Jacobians and Hessians).

The Python versions dispatch on the type of their arguments; inside numba the scalar versions of
:mod:`planlab.dynamics.compiled.overloads` are used (registered by the kernels' header, so this
module needs no numba). Data-dependent ``if`` statements are not allowed in a source (they do not work on arrays or
symbols): use :func:`where`, :func:`clip`, :func:`minimum` and :func:`maximum` instead. Branches on
*parameters* (plain floats) are fine.

Examples
--------
>>> from planlab.core.ops import sin, clip
>>> float(clip(3.0, -1.0, 1.0))
1.0
>>> import numpy as np
>>> sin(np.zeros(3)).shape
(3,)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "sin",
    "cos",
    "tanh",
    "exp",
    "sqrt",
    "atan2",
    "absolute",
    "clip",
    "minimum",
    "maximum",
    "where",
    "wrap_angle",
    "logical_or",
    "logical_and",
    "PI",
]

PI = math.pi
_TWO_PI = 2.0 * math.pi
_INV_TWO_PI = 1.0 / (2.0 * math.pi)


def _kind(*args):
    """Return ``'casadi'``, ``'torch'`` or ``'numpy'`` for the first non-plain argument."""
    for a in args:
        mod = type(a).__module__
        if mod.startswith("casadi"):
            return "casadi"
        if mod.startswith("torch"):
            return "torch"
    return "numpy"


def _ca():
    import casadi

    return casadi


def _torch():
    import torch

    return torch


def _unary(name_np, name_torch, name_ca):
    np_fn = getattr(np, name_np)

    def fn(a):
        k = _kind(a)
        if k == "numpy":
            return np_fn(a)
        if k == "torch":
            return getattr(_torch(), name_torch)(a)
        return getattr(_ca(), name_ca)(a)

    fn.__name__ = name_np
    fn.__doc__ = f"Element-wise ``{name_np}`` on floats, arrays, tensors and casadi symbols."
    return fn


sin = _unary("sin", "sin", "sin")
cos = _unary("cos", "cos", "cos")
tanh = _unary("tanh", "tanh", "tanh")
exp = _unary("exp", "exp", "exp")
sqrt = _unary("sqrt", "sqrt", "sqrt")
absolute = _unary("abs", "abs", "fabs")


def atan2(y, x):
    """Four-quadrant arctangent ``atan2(y, x)``."""
    k = _kind(y, x)
    if k == "numpy":
        return np.arctan2(y, x)
    if k == "torch":
        t = _torch()
        return t.atan2(t.as_tensor(y), t.as_tensor(x))
    return _ca().atan2(y, x)


def minimum(a, b):
    """Element-wise minimum."""
    k = _kind(a, b)
    if k == "numpy":
        return np.minimum(a, b)
    if k == "torch":
        t = _torch()
        ref = a if isinstance(a, t.Tensor) else b
        return t.minimum(t.as_tensor(a, dtype=ref.dtype), t.as_tensor(b, dtype=ref.dtype))
    return _ca().fmin(a, b)


def maximum(a, b):
    """Element-wise maximum."""
    k = _kind(a, b)
    if k == "numpy":
        return np.maximum(a, b)
    if k == "torch":
        t = _torch()
        ref = a if isinstance(a, t.Tensor) else b
        return t.maximum(t.as_tensor(a, dtype=ref.dtype), t.as_tensor(b, dtype=ref.dtype))
    return _ca().fmax(a, b)


def clip(a, lo, hi):
    """Clip ``a`` to ``[lo, hi]`` (``min(max(a, lo), hi)``, as ``np.clip``)."""
    return minimum(maximum(a, lo), hi)


def where(cond, a, b):
    """``a`` where ``cond`` holds, else ``b`` (element-wise select)."""
    k = _kind(cond, a, b)
    if k == "numpy":
        return np.where(cond, a, b)
    if k == "torch":
        t = _torch()
        ref = next(v for v in (a, b, cond) if isinstance(v, t.Tensor))
        dtype = ref.dtype if ref.dtype.is_floating_point else t.float64
        return t.where(t.as_tensor(cond), t.as_tensor(a, dtype=dtype), t.as_tensor(b, dtype=dtype))
    return _ca().if_else(cond, a, b)


def logical_or(a, b):
    """Element-wise ``a or b`` of two conditions."""
    k = _kind(a, b)
    if k == "numpy":
        return np.logical_or(a, b)
    if k == "torch":
        t = _torch()
        return t.logical_or(t.as_tensor(a), t.as_tensor(b))
    return _ca().logic_or(a, b)


def logical_and(a, b):
    """Element-wise ``a and b`` of two conditions."""
    k = _kind(a, b)
    if k == "numpy":
        return np.logical_and(a, b)
    if k == "torch":
        t = _torch()
        return t.logical_and(t.as_tensor(a), t.as_tensor(b))
    return _ca().logic_and(a, b)


def wrap_angle(a):
    """Wrap an angle to ``[-pi, pi)``: ``a - 2 pi floor((a + pi) / (2 pi))``.

    Equal to gymnasium's ``angle_normalize`` (``((a + pi) % (2 pi)) - pi``).
    """
    k = _kind(a)
    if k == "numpy":
        return a - _TWO_PI * np.floor((a + PI) * _INV_TWO_PI)
    if k == "torch":
        return a - _TWO_PI * _torch().floor((a + PI) * _INV_TWO_PI)
    return a - _TWO_PI * _ca().floor((a + PI) * _INV_TWO_PI)
