"""Closed-form derivatives of a :class:`~planlab.core.QuadraticCost` from its parameter vector.

Source functions (plain scalar code over arrays) that the trajectory-optimisation kernels
(:mod:`planlab.planners.trajopt.kernels`) import on their sources line when the cost is a
``QuadraticCost``: its derivatives then come from its parameters ``cp`` at run time, so new weights,
goals or a new ``dt`` reuse the compiled kernels. Layouts: :func:`planlab.core.cost.quadratic_layout`
(the parameters) and :func:`planlab.planners.trajopt.layout.packed_offsets` (the derivative row).

The error of a wrapped (angle) component is ``wrap(x_i - g_i)``, whose derivative is 1 away from the
cut at pi, so the Hessian is the weight matrix itself.
"""

from __future__ import annotations

from ...core.cost import quadratic_action_dim, quadratic_layout
from ...core.ops import wrap_angle
from .layout import packed_offsets

__all__ = ["quadratic_cost_derivatives", "quadratic_terminal_derivatives", "no_cost_derivatives",
           "no_terminal_derivatives"]


def quadratic_cost_derivatives(x, u, cp, o):
    """Write ``l_x``, ``l_u``, ``l_xx``, ``l_uu``, ``l_ux`` at ``x`` (nx,), ``u`` (nu,) into the packed row ``o``."""
    nx = x.shape[0]
    nu = u.shape[0]
    lay = quadratic_layout(nx, nu)
    row = packed_offsets(nx, nu)
    for i in range(nx):
        s = 0.0
        for j in range(nx):
            q = cp[lay.Q + i * nx + j]
            o[row.lxx + i * nx + j] = q
            if q != 0.0:
                e = x[j] - cp[lay.x_goal + j]
                if cp[lay.wrap + j] != 0.0:
                    e = wrap_angle(e)
                s += q * e
        o[row.lx + i] = s
    for a in range(nu):
        s = 0.0
        for b in range(nu):
            r = cp[lay.R + a * nu + b]
            o[row.luu + a * nu + b] = r
            s += r * (u[b] - cp[lay.u_goal + b])
        o[row.lu + a] = s
        for j in range(nx):
            o[row.lux + a * nx + j] = 0.0


def quadratic_terminal_derivatives(x, cp, o):
    """Write the terminal gradient (nx,) and Hessian (nx * nx,) at ``x`` (nx,) into ``o``."""
    nx = x.shape[0]
    lay = quadratic_layout(nx, quadratic_action_dim(cp))
    for i in range(nx):
        s = 0.0
        for j in range(nx):
            q = cp[lay.Qf + i * nx + j]
            o[nx + i * nx + j] = q
            if q != 0.0:
                e = x[j] - cp[lay.x_goal + j]
                if cp[lay.wrap + j] != 0.0:
                    e = wrap_angle(e)
                s += q * e
        o[i] = s


def no_cost_derivatives(x, u, cp, o):
    """Nothing to add: the generated derivative code already wrote the cost's derivatives."""
    return None


def no_terminal_derivatives(x, cp, o):
    """Nothing to add (see :func:`no_cost_derivatives`)."""
    return None
