"""n-dimensional double integrator (point mass): the linear test bed for LQR.

State ``x = (p_1..p_n, v_1..v_n)``; action ``u = (a_1..a_n)``, exact zero-order-hold discretisation
``p' = p + dt v + dt^2 a / 2``, ``v' = v + dt a``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.cost import QuadraticCost
from ...core.validation import check_positive_int
from ...core.source import param_index
from ..analytic import AnalyticSystem

__all__ = ["DoubleIntegrator", "DoubleIntegratorParams", "double_integrator_dynamics"]


@dataclass(frozen=True)
class DoubleIntegratorParams:
    dt: float = 0.1


#: index of each DoubleIntegratorParams field in the parameter vector ``p`` (sources read ``p[P.name]``)
P = param_index(DoubleIntegratorParams)


def double_integrator_dynamics(x, u, p, out):
    """``p' = p + dt v + dt^2 a / 2``, ``v' = v + dt a`` per axis."""
    dt = p[P.dt]
    n = len(u)
    for i in range(n):
        out[i] = x[i] + dt * x[n + i] + 0.5 * dt * dt * u[i]
        out[n + i] = x[n + i] + dt * u[i]


class DoubleIntegrator(AnalyticSystem):
    """Point mass in ``n`` dimensions with bounded acceleration ``|a| <= accel_max``.

    Parameters
    ----------
    n : int
        Number of axes (state dimension 2n).
    dt : float
    accel_max : float
    """

    Params = DoubleIntegratorParams
    dynamics_source = staticmethod(double_integrator_dynamics)

    def __init__(self, n: int = 1, dt: float = 0.1, accel_max: float = 1.0, **kwargs):
        n = check_positive_int("n", n)
        params = DoubleIntegratorParams(dt=dt)
        names = tuple(f"p{i}" for i in range(n)) + tuple(f"v{i}" for i in range(n))
        super().__init__(
            params, action_low=-accel_max, action_high=accel_max, dt=dt, state_dim=2 * n, action_dim=n,
            state_names=names, action_names=tuple(f"a{i}" for i in range(n)), **kwargs,
        )
        self.n = n

    def matrices(self):
        """The exact ``(A, B)`` of ``x' = A x + B u``."""
        n, dt = self.n, self.dt
        A = np.eye(2 * n)
        A[:n, n:] = dt * np.eye(n)
        B = np.vstack([0.5 * dt * dt * np.eye(n), dt * np.eye(n)])
        return A, B

    def default_cost(self):
        n = self.n
        return QuadraticCost(Q=np.r_[np.ones(n), 0.1 * np.ones(n)], R=0.1 * np.ones(n),
                             Qf=np.r_[10 * np.ones(n), np.ones(n)])
