"""Placeholder model sources: what a kernel module imports as written, before :func:`specialise`.

They make every kernel module importable (and its functions callable, compiled or not) on its own:
a one-dimensional integrator ``x' = x + u`` with cost ``x^2 + u^2`` and no terminal states. The
specialised copies import a real system's and cost's sources in their place.
"""

from __future__ import annotations

__all__ = ["dynamics", "terminated", "running", "terminal"]


def dynamics(x, u, p, out):
    """``out[0] = x[0] + u[0]``."""
    out[0] = x[0] + u[0]


def terminated(x, p):
    """Never terminal."""
    return False


def running(x, u, xn, p):
    """``x[0]^2 + u[0]^2``."""
    return x[0] * x[0] + u[0] * u[0]


def terminal(x, p):
    """Zero."""
    return 0.0
