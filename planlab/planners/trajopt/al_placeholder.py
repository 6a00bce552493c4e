"""Placeholder generated functions of :mod:`planlab.planners.trajopt.al_kernels`, so it imports as written.

The problem is the one-dimensional integrator ``x' = x + u`` with cost ``x^2 + u^2``, no
constraints and no parameters (``nx = nu = 1``); :mod:`planlab.planners.trajopt.stagewise` writes
the real functions from casadi's expressions with :func:`planlab.planners.trajopt.codegen.function_source`.
"""

from __future__ import annotations

__all__ = ["row", "trow", "tval", "fstep", "gstage", "gterm"]


def row(x, u, sp, pc, pg, lam, rho, o):
    """Packed derivative row ``[A, B, lx, lu, lxx, luu, lux]`` of the augmented Lagrangian."""
    o[0] = 1.0
    o[1] = 1.0
    o[2] = 2.0 * x[0]
    o[3] = 2.0 * u[0]
    o[4] = 2.0
    o[5] = 2.0
    o[6] = 0.0


def trow(x, pc, pg, lt, rt, le, re, o):
    """Terminal ``[l_x, l_xx]``: zero."""
    o[0] = 0.0
    o[1] = 0.0


def tval(x, pc, pg, lt, rt, le, re, o):
    """Terminal ``[augmented-Lagrangian value, cost]``: zero."""
    o[0] = 0.0
    o[1] = 0.0


def fstep(x, xb, ub, K, k, a, lo, hi, sp, pc, pg, lam, rho, o):
    """One forward-pass step: ``[x_next, u, augmented-Lagrangian value, cost]``."""
    u = min(max(ub[0] + a[0] * k[0] + K[0] * (x[0] - xb[0]), lo[0]), hi[0])
    o[0] = x[0] + u
    o[1] = u
    o[2] = x[0] * x[0] + u * u
    o[3] = x[0] * x[0] + u * u


def gstage(x, u, pg, o):
    """Stage constraint values: none."""
    return None


def gterm(x, pg, o):
    """Terminal inequality then equality values: none."""
    return None
