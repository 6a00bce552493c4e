"""Acrobot: gymnasium's ``Acrobot-v1`` equations ("book" dynamics, one RK4 step), continuous torque.

State ``x = (theta1, theta2, theta1_dot, theta2_dot)``, ``theta1 = 0`` hanging down; action
``u = (torque,)`` on the second joint. The torque applied is
``clip(u * torque_scale + torque_offset, -torque_max, torque_max)``, which also gives gymnasium's
discrete actions (``u in {0, 1, 2}``, offset -1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from numba.extending import register_jitable

from ...core.cost import QuadraticCost, SourceCost
from ...core.ops import PI, clip, cos, sin, where, wrap_angle
from ...core.source import param_index
from ..analytic import AnalyticSystem

__all__ = ["Acrobot", "AcrobotParams", "acrobot_dynamics", "acrobot_termination", "acrobot_gym_cost",
           "AcrobotGymCost"]


@dataclass(frozen=True)
class AcrobotParams:
    """gymnasium's constants."""

    m1: float = 1.0
    m2: float = 1.0
    l1: float = 1.0
    lc1: float = 0.5
    lc2: float = 0.5
    I1: float = 1.0
    I2: float = 1.0
    g: float = 9.8
    dt: float = 0.2
    max_vel_1: float = 4 * math.pi
    max_vel_2: float = 9 * math.pi
    torque_scale: float = 1.0
    torque_offset: float = 0.0
    torque_max: float = 1.0
    terminate: float = 0.0


#: index of each AcrobotParams field in the parameter vector ``p`` (sources read ``p[P.name]``)
P = param_index(AcrobotParams)


@register_jitable
def _acrobot_derivs(theta1, theta2, dtheta1, dtheta2, a, p):
    m1 = p[P.m1]
    m2 = p[P.m2]
    l1 = p[P.l1]
    lc1 = p[P.lc1]
    lc2 = p[P.lc2]
    I1 = p[P.I1]
    I2 = p[P.I2]
    g = p[P.g]
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos(theta2)) + I1 + I2
    d2 = m2 * (lc2**2 + l1 * lc2 * cos(theta2)) + I2
    phi2 = m2 * lc2 * g * cos(theta1 + theta2 - PI / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * dtheta2**2 * sin(theta2)
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2)
        + (m1 * lc1 + m2 * l1) * g * cos(theta1 - PI / 2)
        + phi2
    )
    ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * sin(theta2) - phi2) / (
        m2 * lc2**2 + I2 - d2**2 / d1
    )
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return dtheta1, dtheta2, ddtheta1, ddtheta2


def acrobot_dynamics(x, u, p, out):
    """gymnasium ``Acrobot-v1`` step: one RK4 step of length dt, angles wrapped, speeds bounded."""
    a = clip(u[0] * p[P.torque_scale] + p[P.torque_offset], -p[P.torque_max], p[P.torque_max])
    dt = p[P.dt]
    dt2 = dt / 2.0
    s0 = x[0]
    s1 = x[1]
    s2 = x[2]
    s3 = x[3]
    k1 = _acrobot_derivs(s0, s1, s2, s3, a, p)
    k2 = _acrobot_derivs(s0 + dt2 * k1[0], s1 + dt2 * k1[1], s2 + dt2 * k1[2], s3 + dt2 * k1[3], a, p)
    k3 = _acrobot_derivs(s0 + dt2 * k2[0], s1 + dt2 * k2[1], s2 + dt2 * k2[2], s3 + dt2 * k2[3], a, p)
    k4 = _acrobot_derivs(s0 + dt * k3[0], s1 + dt * k3[1], s2 + dt * k3[2], s3 + dt * k3[3], a, p)
    n0 = s0 + dt / 6.0 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
    n1 = s1 + dt / 6.0 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    n2 = s2 + dt / 6.0 * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2])
    n3 = s3 + dt / 6.0 * (k1[3] + 2 * k2[3] + 2 * k3[3] + k4[3])
    out[0] = wrap_angle(n0)
    out[1] = wrap_angle(n1)
    out[2] = clip(n2, -p[P.max_vel_1], p[P.max_vel_1])
    out[3] = clip(n3, -p[P.max_vel_2], p[P.max_vel_2])


def acrobot_termination(x, p):
    """gymnasium's goal: the tip above the bar (``-cos t1 - cos(t1 + t2) > 1``), when ``terminate`` is set."""
    if p[P.terminate] == 0.0:
        return False
    return -cos(x[0]) - cos(x[1] + x[0]) > 1.0


def acrobot_gym_cost(x, u, xn, p):
    """gymnasium ``Acrobot-v1``: reward -1 until the goal is reached, so cost 1 (0 on reaching it)."""
    return where(-cos(xn[0]) - cos(xn[1] + xn[0]) > 1.0, 0.0, 1.0)


class AcrobotGymCost(SourceCost):
    """The negated reward of gymnasium's ``Acrobot-v1``."""

    def __init__(self):
        super().__init__(4, 1, acrobot_gym_cost, [0.0], uses_next_state=True)


class Acrobot(AnalyticSystem):
    """Two-link underactuated acrobot, gymnasium's equations, continuous torque ``|u| <= torque_max``."""

    Params = AcrobotParams
    dynamics_source = staticmethod(acrobot_dynamics)
    termination_source = staticmethod(acrobot_termination)

    def __init__(self, torque_max: float = 1.0, params: AcrobotParams | None = None, *, action_low=None,
                 action_high=None, terminate: bool = False, **kwargs):
        if params is None:
            params = AcrobotParams(torque_max=torque_max, terminate=float(bool(terminate)))
        lo = -params.torque_max if action_low is None else action_low
        hi = params.torque_max if action_high is None else action_high
        super().__init__(
            params, action_low=lo, action_high=hi, dt=params.dt, state_dim=4, action_dim=1,
            state_names=("theta1", "theta2", "theta1_dot", "theta2_dot"), action_names=("torque",),
            angle_indices=(0, 1), **kwargs,
        )

    def default_cost(self):
        """Swing-up: both links upright (theta1 = pi, theta2 = 0)."""
        return QuadraticCost(Q=[1.0, 1.0, 0.05, 0.05], R=[0.01], Qf=[5.0, 5.0, 0.1, 0.1],
                             x_goal=[math.pi, 0.0, 0.0, 0.0], angle_indices=[0, 1])
