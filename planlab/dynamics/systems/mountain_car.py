"""Mountain car: gymnasium's ``MountainCarContinuous-v0``, written once.

State ``x = (position, velocity)``; action ``u = (force,)`` in [-1, 1].
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from ...core.cost import SourceCost
from ...core.ops import clip, cos, logical_and, maximum, minimum, where
from ...core.source import param_index
from ..analytic import AnalyticSystem

__all__ = ["MountainCar", "MountainCarParams", "mountain_car_dynamics", "mountain_car_termination",
           "mountain_car_gym_cost", "MountainCarGymCost",
           "MountainCarGymCostParams"]


@dataclass(frozen=True)
class MountainCarParams:
    """gymnasium's constants."""

    min_action: float = -1.0
    max_action: float = 1.0
    min_position: float = -1.2
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.45
    goal_velocity: float = 0.0
    power: float = 0.0015
    action_offset: float = 0.0  # force = (clip(u) + action_offset) * power; -1 gives MountainCar-v0's (a - 1)


#: index of each MountainCarParams field in the parameter vector ``p`` (sources read ``p[P.name]``)
P = param_index(MountainCarParams)


def mountain_car_dynamics(x, u, p, out):
    """gymnasium ``MountainCarContinuous-v0`` step."""
    position = x[0]
    velocity = x[1]
    force = minimum(maximum(u[0], p[P.min_action]), p[P.max_action])
    velocity = velocity + (force + p[P.action_offset]) * p[P.power] - 0.0025 * cos(3 * position)
    velocity = clip(velocity, -p[P.max_speed], p[P.max_speed])
    position = position + velocity
    position = clip(position, p[P.min_position], p[P.max_position])
    velocity = where(logical_and(position == p[P.min_position], velocity < 0), 0.0, velocity)
    out[0] = position
    out[1] = velocity


def mountain_car_termination(x, p):
    """At the flag: ``position >= goal_position and velocity >= goal_velocity``."""
    return logical_and(x[0] >= p[P.goal_position], x[1] >= p[P.goal_velocity])


@dataclass(frozen=True)
class MountainCarGymCostParams:
    """Parameters of :func:`mountain_car_gym_cost`: the goal it pays 100 for reaching."""

    goal_position: float = 0.45
    goal_velocity: float = 0.0


#: index of each MountainCarGymCostParams field in the cost's parameter vector
C = param_index(MountainCarGymCostParams)


def mountain_car_gym_cost(x, u, xn, p):
    """gymnasium's negated reward: ``0.1 u^2`` minus 100 on reaching the goal."""
    at_goal = logical_and(xn[0] >= p[C.goal_position], xn[1] >= p[C.goal_velocity])
    return 0.1 * u[0] ** 2 - where(at_goal, 100.0, 0.0)


class MountainCarGymCost(SourceCost):
    """The negated reward of gymnasium's ``MountainCarContinuous-v0``."""

    def __init__(self, goal_position: float = 0.45, goal_velocity: float = 0.0):
        params = MountainCarGymCostParams(goal_position=goal_position, goal_velocity=goal_velocity)
        super().__init__(2, 1, mountain_car_gym_cost, astuple(params), uses_next_state=True)


class MountainCar(AnalyticSystem):
    """Under-powered car in a valley (gymnasium ``MountainCarContinuous-v0``); terminates at the flag."""

    Params = MountainCarParams
    dynamics_source = staticmethod(mountain_car_dynamics)
    termination_source = staticmethod(mountain_car_termination)

    def __init__(self, params: MountainCarParams | None = None, **kwargs):
        params = params or MountainCarParams()
        super().__init__(
            params, action_low=params.min_action, action_high=params.max_action, dt=1.0, state_dim=2,
            action_dim=1, state_names=("position", "velocity"), action_names=("force",), **kwargs,
        )

    def default_cost(self):
        return MountainCarGymCost(self.params.goal_position, self.params.goal_velocity)
