"""Placeholder sources of :mod:`planlab.planners.trajopt.kernels`, so the module imports and runs as written.

The model is :mod:`planlab.dynamics.compiled.placeholder`'s one-dimensional integrator
``x' = x + u`` with running cost ``x^2 + u^2`` and no terminal cost; ``d1``, ``dT`` and ``d2`` are its
derivatives in the packed layout of :mod:`planlab.planners.trajopt.layout` (``nx = nu = 1``), as the
code generator (:mod:`planlab.planners.trajopt.codegen`) writes them for a real system.
"""

from __future__ import annotations

from ...dynamics.compiled.placeholder import dynamics, running, terminal
from .quadratic import no_cost_derivatives as cost1, no_terminal_derivatives as costT

__all__ = ["dynamics", "running", "terminal", "d1", "dT", "d2", "cost1", "costT"]


def d1(x, u, p, cp, o):
    """Packed row ``[A, B, lx, lu, lxx, luu, lux]`` of the integrator and its cost at ``(x, u)``."""
    o[0] = 1.0
    o[1] = 1.0
    o[2] = 2.0 * x[0]
    o[3] = 2.0 * u[0]
    o[4] = 2.0
    o[5] = 2.0
    o[6] = 0.0


def dT(x, cp, o):
    """Terminal ``[l_x, l_xx]``: zero."""
    o[0] = 0.0
    o[1] = 0.0


def d2(x, u, p, o):
    """Second derivatives ``[f_xx, f_uu, f_ux]`` of the integrator: zero."""
    o[0] = 0.0
    o[1] = 0.0
    o[2] = 0.0
