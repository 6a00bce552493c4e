"""Unicycle (kinematic car): state ``(x, y, heading)``, action ``(speed, turn_rate)``, explicit Euler."""

from __future__ import annotations

from dataclasses import dataclass

from ...core.cost import QuadraticCost
from ...core.ops import cos, sin
from ...core.source import param_index
from ..analytic import AnalyticSystem

__all__ = ["Unicycle", "UnicycleParams", "unicycle_dynamics"]


@dataclass(frozen=True)
class UnicycleParams:
    dt: float = 0.1


#: index of each UnicycleParams field in the parameter vector ``p`` (sources read ``p[P.name]``)
P = param_index(UnicycleParams)


def unicycle_dynamics(x, u, p, out):
    """``x' = x + dt v cos h``, ``y' = y + dt v sin h``, ``h' = h + dt w``."""
    dt = p[P.dt]
    out[0] = x[0] + dt * u[0] * cos(x[2])
    out[1] = x[1] + dt * u[0] * sin(x[2])
    out[2] = x[2] + dt * u[1]


class Unicycle(AnalyticSystem):
    """Kinematic unicycle with ``|speed| <= max_speed`` and ``|turn rate| <= max_turn_rate``."""

    Params = UnicycleParams
    dynamics_source = staticmethod(unicycle_dynamics)

    def __init__(self, dt: float = 0.1, max_speed: float = 1.0, max_turn_rate: float = 1.5, **kwargs):
        super().__init__(
            UnicycleParams(dt=dt), action_low=[-max_speed, -max_turn_rate], action_high=[max_speed, max_turn_rate],
            dt=dt, state_dim=3, action_dim=2, state_names=("x", "y", "heading"),
            action_names=("speed", "turn_rate"), angle_indices=(2,), **kwargs,
        )

    def default_cost(self):
        """Park at the origin facing +x."""
        return QuadraticCost(Q=[1.0, 1.0, 0.2], R=[0.01, 0.01], Qf=[20.0, 20.0, 5.0], angle_indices=[2])
