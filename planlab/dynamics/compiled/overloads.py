"""numba implementations of :mod:`planlab.core.ops` (and of the integer helpers of
:class:`~planlab.core.QuadraticCost`'s parameter layout): the same names compile in njit functions.

Registered on import; :mod:`planlab.dynamics.compiled.jit` imports this module, so every compiled
kernel sees them.
"""

from __future__ import annotations

import math

from numba import types
from numba.extending import overload, register_jitable

from ...core.cost import quadratic_action_dim, quadratic_layout
from ...core.ops import (PI, absolute, atan2, clip, cos, exp, logical_and, logical_or, maximum, minimum, sin, sqrt,
                         tanh, where, wrap_angle)

_TWO_PI = 2.0 * math.pi
_INV_TWO_PI = 1.0 / (2.0 * math.pi)

# --------------------------------------------------------------------------------------------
_NUM = (types.Float, types.Integer)


def _scalar_overload(pyfn, impl):
    @overload(pyfn)
    def _ov(a):
        if isinstance(a, _NUM):
            return impl


_scalar_overload(sin, lambda a: math.sin(a))
_scalar_overload(cos, lambda a: math.cos(a))
_scalar_overload(tanh, lambda a: math.tanh(a))
_scalar_overload(exp, lambda a: math.exp(a))
_scalar_overload(sqrt, lambda a: math.sqrt(a))
_scalar_overload(absolute, lambda a: abs(a))


@overload(atan2)
def _ov_atan2(y, x):
    if isinstance(y, _NUM) and isinstance(x, _NUM):
        return lambda y, x: math.atan2(y, x)


@overload(minimum)
def _ov_minimum(a, b):
    if isinstance(a, _NUM) and isinstance(b, _NUM):
        return lambda a, b: a if a < b else b


@overload(maximum)
def _ov_maximum(a, b):
    if isinstance(a, _NUM) and isinstance(b, _NUM):
        return lambda a, b: a if a > b else b


@overload(clip)
def _ov_clip(a, lo, hi):
    if isinstance(a, _NUM):

        def impl(a, lo, hi):
            m = a if a > lo else lo
            return m if m < hi else hi

        return impl


@overload(where)
def _ov_where(cond, a, b):
    if isinstance(cond, types.Boolean):
        return lambda cond, a, b: a if cond else b


@overload(logical_or)
def _ov_or(a, b):
    if isinstance(a, types.Boolean) and isinstance(b, types.Boolean):
        return lambda a, b: a or b


@overload(logical_and)
def _ov_and(a, b):
    if isinstance(a, types.Boolean) and isinstance(b, types.Boolean):
        return lambda a, b: a and b


@overload(wrap_angle)
def _ov_wrap(a):
    if isinstance(a, _NUM):

        def impl(a):
            if -PI <= a < PI:  # the formula below gives exactly ``a`` here; skip the floor
                return a
            return a - _TWO_PI * math.floor((a + PI) * _INV_TWO_PI)

        return impl


# QuadraticCost's parameter layout: plain integer functions its sources (and the trajectory-optimisation
# kernels) call; numba compiles them where they are called.
register_jitable(quadratic_layout)
register_jitable(quadratic_action_dim)
