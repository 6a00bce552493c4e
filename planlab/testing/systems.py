"""Test systems for planner checks: linear dynamics written once in planlab's source language."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.validation import as_float_array, check_positive_int
from ..dynamics.analytic import AnalyticSystem

__all__ = ["LinearSystem", "linear_dynamics"]


@dataclass(frozen=True)
class LinearParams:
    """Placeholder: a linear system's parameters are its matrices (see :class:`LinearSystem`)."""


def linear_dynamics(x, u, p, out):
    """``x' = A x + B (offset + scale * u)`` with ``p = [A (row-major) | B (row-major) | offset, scale]``."""
    nx = len(x)
    nu = len(u)
    ob = nx * nx
    od = ob + nx * nu
    for i in range(nx):
        acc = 0.0
        for j in range(nx):
            acc = acc + p[i * nx + j] * x[j]
        for j in range(nu):
            acc = acc + p[ob + i * nu + j] * (p[od] + p[od + 1] * u[j])
        out[i] = acc


class LinearSystem(AnalyticSystem):
    """``x_{t+1} = A x_t + B u_t`` with a box on ``u``; fused numba rollouts like every analytic system.

    Parameters
    ----------
    A : array_like (nx, nx)
    B : array_like (nx, nu)
    action_low, action_high : float or array_like (nu,)
        The action box (for ``n_actions``: the range of the action levels).
    n_actions : int, optional
        Discrete variant (``nu = 1``): action index ``k in 0..n_actions-1`` applies the level
        ``action_low + k (action_high - action_low) / (n_actions - 1)``; the model's action box is
        then ``[0, n_actions - 1]``.
    dt : float
    """

    Params = LinearParams
    dynamics_source = staticmethod(linear_dynamics)

    def __init__(self, A, B, action_low=-1.0, action_high=1.0, *, n_actions: int | None = None, dt: float = 0.1,
                 **kwargs):
        A = as_float_array("A", A, ndim=2)
        nx = A.shape[0]
        if A.shape != (nx, nx):
            raise ValueError(f"A: expected a square matrix, got shape {A.shape}")
        B = as_float_array("B", B, ndim=2)
        if B.shape[0] != nx:
            raise ValueError(f"B: expected shape ({nx}, nu), got {B.shape}")
        nu = B.shape[1]
        offset, scale = 0.0, 1.0
        lo, hi = action_low, action_high
        if n_actions is not None:
            n_actions = check_positive_int("n_actions", n_actions, minimum=2)
            if nu != 1:
                raise ValueError(f"B: a discrete LinearSystem has one input, got shape {B.shape}")
            lo_c, hi_c = float(action_low), float(action_high)
            offset, scale = lo_c, (hi_c - lo_c) / (n_actions - 1)
            lo, hi = 0.0, float(n_actions - 1)
        super().__init__(LinearParams(), action_low=lo, action_high=hi, dt=dt, state_dim=nx, action_dim=nu,
                         n_actions=n_actions, **kwargs)
        self.A, self.B = A.copy(), B.copy()
        self.A.setflags(write=False)
        self.B.setflags(write=False)
        pv = np.concatenate([A.ravel(), B.ravel(), [offset, scale]])
        pv.setflags(write=False)
        self.param_vector = pv

    def matrices(self):
        """``(A, B)``."""
        return self.A, self.B

    def __repr__(self) -> str:
        kind = f", n_actions={self.n_actions}" if self.is_discrete else ""
        return f"LinearSystem(nx={self.state_dim}, nu={self.action_dim}{kind})"
