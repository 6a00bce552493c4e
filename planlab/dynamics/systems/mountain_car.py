"""Mountain car: gymnasium's ``MountainCarContinuous-v0``, written once.

State ``x = (position, velocity)``; action ``u = (force,)`` in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.cost import SourceCost
from ...core.ops import clip, cos, logical_and, maximum, minimum, where
from ..analytic import AnalyticSystem

__all__ = ["MountainCar", "MountainCarParams", "mountain_car_dynamics", "mountain_car_termination",
           "mountain_car_gym_cost", "MountainCarGymCost"]


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


def mountain_car_dynamics(x, u, p, out):
    """gymnasium ``MountainCarContinuous-v0`` step."""
    position = x[0]
    velocity = x[1]
    force = minimum(maximum(u[0], p[0]), p[1])
    velocity = velocity + (force + p[8]) * p[7] - 0.0025 * cos(3 * position)
    velocity = clip(velocity, -p[4], p[4])
    position = position + velocity
    position = clip(position, p[2], p[3])
    velocity = where(logical_and(position == p[2], velocity < 0), 0.0, velocity)
    out[0] = position
    out[1] = velocity


def mountain_car_termination(x, p):
    """At the flag: ``position >= goal_position and velocity >= goal_velocity``."""
    return logical_and(x[0] >= p[5], x[1] >= p[6])


def mountain_car_gym_cost(x, u, xn, p):
    """gymnasium's negated reward: ``0.1 u^2`` minus 100 on reaching the goal (p = (goal_position, goal_velocity))."""
    return 0.1 * u[0] ** 2 - where(logical_and(xn[0] >= p[0], xn[1] >= p[1]), 100.0, 0.0)


class MountainCarGymCost(SourceCost):
    """The negated reward of gymnasium's ``MountainCarContinuous-v0``."""

    def __init__(self, goal_position: float = 0.45, goal_velocity: float = 0.0):
        super().__init__(2, 1, mountain_car_gym_cost, [goal_position, goal_velocity], uses_next_state=True)


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
