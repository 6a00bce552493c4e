"""Planar quadrotor: state ``(x, z, theta, x_dot, z_dot, theta_dot)``, action two rotor thrusts.

``m x_ddot = -(T1 + T2) sin theta``, ``m z_ddot = (T1 + T2) cos theta - m g``,
``I theta_ddot = r (T1 - T2)``; explicit Euler. Thrusts are clipped to ``[0, thrust_max]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.cost import QuadraticCost
from ...core.ops import clip, cos, sin
from ...core.source import param_index
from ..analytic import AnalyticSystem

__all__ = ["Quadrotor2D", "Quadrotor2DParams", "quadrotor2d_dynamics"]


@dataclass(frozen=True)
class Quadrotor2DParams:
    mass: float = 1.0
    inertia: float = 0.02
    arm: float = 0.25
    g: float = 9.81
    dt: float = 0.02
    thrust_max: float = 9.81


#: index of each Quadrotor2DParams field in the parameter vector ``p`` (sources read ``p[P.name]``)
P = param_index(Quadrotor2DParams)


def quadrotor2d_dynamics(x, u, p, out):
    """Planar quadrotor, explicit Euler."""
    m = p[P.mass]
    inertia = p[P.inertia]
    r = p[P.arm]
    g = p[P.g]
    dt = p[P.dt]
    t1 = clip(u[0], 0.0, p[P.thrust_max])
    t2 = clip(u[1], 0.0, p[P.thrust_max])
    th = x[2]
    thrust = t1 + t2
    xdd = -thrust * sin(th) / m
    zdd = thrust * cos(th) / m - g
    thdd = r * (t1 - t2) / inertia
    out[0] = x[0] + dt * x[3]
    out[1] = x[1] + dt * x[4]
    out[2] = th + dt * x[5]
    out[3] = x[3] + dt * xdd
    out[4] = x[4] + dt * zdd
    out[5] = x[5] + dt * thdd


class Quadrotor2D(AnalyticSystem):
    """Planar quadrotor (1 kg, thrusts in ``[0, m g]`` each; hover at ``m g / 2`` per rotor)."""

    Params = Quadrotor2DParams
    dynamics_source = staticmethod(quadrotor2d_dynamics)

    def __init__(self, params: Quadrotor2DParams | None = None, **kwargs):
        params = params or Quadrotor2DParams()
        super().__init__(
            params, action_low=0.0, action_high=params.thrust_max, dt=params.dt, state_dim=6, action_dim=2,
            state_names=("x", "z", "theta", "x_dot", "z_dot", "theta_dot"), action_names=("thrust1", "thrust2"),
            angle_indices=(2,), **kwargs,
        )

    @property
    def hover_thrust(self) -> float:
        """Thrust per rotor that balances gravity."""
        return 0.5 * self.params.mass * self.params.g

    def default_cost(self):
        """Hover at the origin, level."""
        h = self.hover_thrust
        return QuadraticCost(Q=[1.0, 1.0, 0.5, 0.1, 0.1, 0.05], R=[0.01, 0.01], Qf=[10.0, 10.0, 2.0, 1.0, 1.0, 0.5],
                             u_goal=[h, h], angle_indices=[2])
