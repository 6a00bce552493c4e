"""Pendulum: gymnasium's ``Pendulum-v1``, written once.

State ``x = (theta, theta_dot)`` with ``theta = 0`` upright; action ``u = (torque,)``.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from ...core.cost import SourceCost
from ...core.ops import clip, sin, wrap_angle
from ...core.source import param_index
from ..analytic import AnalyticSystem

__all__ = ["Pendulum", "PendulumParams", "pendulum_dynamics", "pendulum_gym_cost", "PendulumGymCost",
           "PendulumGymCostParams"]


@dataclass(frozen=True)
class PendulumParams:
    """Constants of gymnasium's ``Pendulum-v1`` (sources read them as ``p[P.name]``)."""

    g: float = 10.0
    m: float = 1.0
    l: float = 1.0
    dt: float = 0.05
    max_speed: float = 8.0
    max_torque: float = 2.0


#: index of each PendulumParams field in the parameter vector ``p`` (sources read ``p[P.name]``)
P = param_index(PendulumParams)


def pendulum_dynamics(x, u, p, out):
    """gymnasium ``Pendulum-v1`` step: torque and speed clipped, semi-implicit Euler."""
    g = p[P.g]
    m = p[P.m]
    l = p[P.l]
    dt = p[P.dt]
    max_speed = p[P.max_speed]
    max_torque = p[P.max_torque]
    th = x[0]
    thdot = x[1]
    torque = clip(u[0], -max_torque, max_torque)
    newthdot = thdot + (3 * g / (2 * l) * sin(th) + 3.0 / (m * l**2) * torque) * dt
    newthdot = clip(newthdot, -max_speed, max_speed)
    out[0] = th + newthdot * dt
    out[1] = newthdot


@dataclass(frozen=True)
class PendulumGymCostParams:
    """Parameters of :func:`pendulum_gym_cost`."""

    max_torque: float = 2.0


#: index of each PendulumGymCostParams field in the cost's parameter vector
C = param_index(PendulumGymCostParams)


def pendulum_gym_cost(x, u, xn, p):
    """gymnasium's cost: ``wrap(theta)^2 + 0.1 theta_dot^2 + 0.001 torque^2`` (torque clipped to ``p[C.max_torque]``)."""
    torque = clip(u[0], -p[C.max_torque], p[C.max_torque])
    th = wrap_angle(x[0])
    return th**2 + 0.1 * x[1] ** 2 + 0.001 * torque**2


class PendulumGymCost(SourceCost):
    """The negated reward of gymnasium's ``Pendulum-v1``."""

    def __init__(self, max_torque: float = 2.0):
        super().__init__(2, 1, pendulum_gym_cost, astuple(PendulumGymCostParams(max_torque=max_torque)))


class Pendulum(AnalyticSystem):
    """Inverted pendulum, identical to gymnasium ``Pendulum-v1`` (g = 10, |torque| <= 2, |speed| <= 8).

    Examples
    --------
    >>> import numpy as np
    >>> Pendulum().step(np.array([np.pi, 0.0]), np.array([0.0])).round(6).tolist()
    [3.141593, 0.0]
    """

    Params = PendulumParams
    dynamics_source = staticmethod(pendulum_dynamics)

    def __init__(self, params: PendulumParams | None = None, **kwargs):
        params = params or PendulumParams()
        super().__init__(
            params, action_low=-params.max_torque, action_high=params.max_torque, dt=params.dt,
            state_dim=2, action_dim=1, state_names=("theta", "theta_dot"), action_names=("torque",),
            angle_indices=(0,), **kwargs,
        )

    def default_cost(self):
        return PendulumGymCost(self.params.max_torque)
