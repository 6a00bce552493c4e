"""Planar two-link arm with joint torques (a reacher), no gravity (horizontal plane).

State ``x = (q1, q2, q1_dot, q2_dot)``; action ``u = (tau1, tau2)``. Manipulator equations
``M(q) q_ddot + c(q, q_dot) + b q_dot = tau`` with uniform rods, semi-implicit Euler.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

from ...core.cost import SourceCost
from ...core.ops import clip, cos, sin
from ...core.source import param_index
from ..analytic import AnalyticSystem

__all__ = ["TwoLinkArm", "TwoLinkArmParams", "two_link_arm_dynamics", "reach_cost", "reach_terminal_cost",
           "ReachCost", "ReachCostParams"]


@dataclass(frozen=True)
class TwoLinkArmParams:
    m1: float = 1.0
    m2: float = 1.0
    l1: float = 1.0
    l2: float = 1.0
    damping: float = 0.1
    dt: float = 0.02
    torque_max: float = 2.0


#: index of each TwoLinkArmParams field in the parameter vector ``p`` (sources read ``p[P.name]``)
P = param_index(TwoLinkArmParams)


def two_link_arm_dynamics(x, u, p, out):
    """Two-link arm: solve the 2x2 mass matrix for joint accelerations, then semi-implicit Euler."""
    m1 = p[P.m1]
    m2 = p[P.m2]
    l1 = p[P.l1]
    l2 = p[P.l2]
    b = p[P.damping]
    dt = p[P.dt]
    tmax = p[P.torque_max]
    lc1 = 0.5 * l1
    lc2 = 0.5 * l2
    i1 = m1 * l1 * l1 / 12.0
    i2 = m2 * l2 * l2 / 12.0
    q2 = x[1]
    dq1 = x[2]
    dq2 = x[3]
    c2 = cos(q2)
    h = m2 * l1 * lc2 * sin(q2)
    m11 = i1 + i2 + m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2.0 * l1 * lc2 * c2)
    m12 = i2 + m2 * (lc2 * lc2 + l1 * lc2 * c2)
    m22 = i2 + m2 * lc2 * lc2
    r1 = clip(u[0], -tmax, tmax) + h * (2.0 * dq1 * dq2 + dq2 * dq2) - b * dq1
    r2 = clip(u[1], -tmax, tmax) - h * dq1 * dq1 - b * dq2
    det = m11 * m22 - m12 * m12
    ddq1 = (m22 * r1 - m12 * r2) / det
    ddq2 = (m11 * r2 - m12 * r1) / det
    ndq1 = dq1 + dt * ddq1
    ndq2 = dq2 + dt * ddq2
    out[0] = x[0] + dt * ndq1
    out[1] = q2 + dt * ndq2
    out[2] = ndq1
    out[3] = ndq2


@dataclass(frozen=True)
class ReachCostParams:
    """Parameters of :func:`reach_cost` and :func:`reach_terminal_cost`."""

    l1: float = 1.0
    l2: float = 1.0
    target_x: float = 1.0
    target_y: float = 1.0
    w_pos: float = 1.0
    w_vel: float = 0.01
    w_u: float = 0.001
    w_pos_final: float = 10.0
    w_vel_final: float = 0.1


#: index of each ReachCostParams field in the cost's parameter vector
C = param_index(ReachCostParams)


def reach_cost(x, u, xn, p):
    """Squared fingertip distance to the target, plus velocity and torque penalties (``p``: ReachCostParams)."""
    ex = p[C.l1] * cos(x[0]) + p[C.l2] * cos(x[0] + x[1]) - p[C.target_x]
    ey = p[C.l1] * sin(x[0]) + p[C.l2] * sin(x[0] + x[1]) - p[C.target_y]
    return (p[C.w_pos] * (ex * ex + ey * ey) + p[C.w_vel] * (x[2] * x[2] + x[3] * x[3])
            + p[C.w_u] * (u[0] * u[0] + u[1] * u[1]))


def reach_terminal_cost(x, p):
    """Terminal fingertip distance and velocity penalty."""
    ex = p[C.l1] * cos(x[0]) + p[C.l2] * cos(x[0] + x[1]) - p[C.target_x]
    ey = p[C.l1] * sin(x[0]) + p[C.l2] * sin(x[0] + x[1]) - p[C.target_y]
    return p[C.w_pos_final] * (ex * ex + ey * ey) + p[C.w_vel_final] * (x[2] * x[2] + x[3] * x[3])


class ReachCost(SourceCost):
    """Reach a target point with the fingertip of a :class:`TwoLinkArm`."""

    def __init__(self, target=(1.0, 1.0), l1=1.0, l2=1.0, w_pos=1.0, w_vel=0.01, w_u=0.001, w_pos_final=10.0,
                 w_vel_final=0.1):
        self.target = (float(target[0]), float(target[1]))
        params = ReachCostParams(l1=l1, l2=l2, target_x=self.target[0], target_y=self.target[1], w_pos=w_pos,
                                 w_vel=w_vel, w_u=w_u, w_pos_final=w_pos_final, w_vel_final=w_vel_final)
        super().__init__(4, 2, reach_cost, astuple(params), reach_terminal_cost)


class TwoLinkArm(AnalyticSystem):
    """Planar two-link arm (unit masses and lengths), torques ``|tau| <= torque_max``."""

    Params = TwoLinkArmParams
    dynamics_source = staticmethod(two_link_arm_dynamics)

    def __init__(self, params: TwoLinkArmParams | None = None, **kwargs):
        params = params or TwoLinkArmParams()
        super().__init__(
            params, action_low=-params.torque_max, action_high=params.torque_max, dt=params.dt, state_dim=4,
            action_dim=2, state_names=("q1", "q2", "q1_dot", "q2_dot"), action_names=("tau1", "tau2"),
            angle_indices=(0, 1), **kwargs,
        )

    def fingertip(self, x):
        """Fingertip position (..., 2)."""
        x = np.asarray(x, dtype=np.float64)
        l1, l2 = self.params.l1, self.params.l2
        return np.stack([l1 * np.cos(x[..., 0]) + l2 * np.cos(x[..., 0] + x[..., 1]),
                         l1 * np.sin(x[..., 0]) + l2 * np.sin(x[..., 0] + x[..., 1])], axis=-1)

    def default_cost(self, target=(1.0, 1.0)):
        return ReachCost(target, self.params.l1, self.params.l2)
