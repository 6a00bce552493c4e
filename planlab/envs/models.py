"""planlab models of gymnasium's own environments, so planners can drive the real envs.

:func:`model_for` returns ``(dynamics, cost)`` for a gymnasium id (or env). For gymnasium's
classic-control envs the model reproduces gymnasium's transitions and reward exactly (the cost is
the negated reward); for planlab's ids it is the env's own model. The dynamics also map
observations to states (``state_from_observation``; e.g. ``Pendulum-v1`` observes
``(cos theta, sin theta, theta_dot)``) and back (``observation_from_state``), and
:func:`set_env_state` puts a gymnasium env into a given state.
"""

from __future__ import annotations

import math

import gymnasium
import numpy as np

from ..core.contracts import Cost, Dynamics
from ..core.validation import as_float_array
from ..dynamics.systems.acrobot import Acrobot, AcrobotGymCost, AcrobotParams
from ..dynamics.systems.cartpole import CartPole, CartPoleGymCost, CartPoleParams
from ..core.cost import SourceCost
from ..dynamics.systems.mountain_car import MountainCar, MountainCarGymCost, MountainCarParams
from ..dynamics.systems.pendulum import Pendulum, PendulumGymCost
# gymnasium's MuJoCo v5 envs (optional extra planlab[mujoco]: the module imports without MuJoCo, its
# factories need it); kept apart from GYM_MODELS, the analytic models with numba/torch/casadi backends
from .mujoco_models import MUJOCO_MODELS

__all__ = ["model_for", "GYM_MODELS", "MUJOCO_MODELS", "GymPendulum", "GymCartPole", "GymAcrobot",
           "GymMountainCarContinuous", "GymMountainCar", "MountainCarStepCost"]


class GymPendulum(Pendulum):
    """``Pendulum-v1``: state ``(theta, theta_dot)``, observation ``(cos theta, sin theta, theta_dot)``."""

    observation_dim = 3

    def state_from_observation(self, obs):
        o = as_float_array("obs", obs, shape=(3,))
        return np.array([math.atan2(o[1], o[0]), o[2]])

    def observation_from_state(self, x):
        """The env's observation (float32) of model state ``x`` (nx,)."""
        return np.array([math.cos(x[0]), math.sin(x[0]), x[1]], dtype=np.float32)


class GymCartPole(CartPole):
    """``CartPole-v1``: discrete actions ``{0, 1}`` = force ``-10, +10`` N; terminates like gymnasium."""

    observation_dim = 4

    def __init__(self, **kwargs):
        params = CartPoleParams(force_scale=20.0, force_offset=-10.0, terminate=1.0)
        super().__init__(params=params, action_low=0.0, action_high=1.0, n_actions=2, **kwargs)

    def observation_from_state(self, x):
        """The env's observation (float32) of model state ``x`` (nx,)."""
        return np.asarray(x, dtype=np.float32)


class GymAcrobot(Acrobot):
    """``Acrobot-v1``: discrete torques ``{0, 1, 2}`` = ``-1, 0, +1``; observation with cos/sin of both angles."""

    observation_dim = 6

    def __init__(self, **kwargs):
        params = AcrobotParams(torque_offset=-1.0, torque_max=1.0, terminate=1.0)
        super().__init__(params=params, action_low=0.0, action_high=2.0, n_actions=3, **kwargs)

    def state_from_observation(self, obs):
        o = as_float_array("obs", obs, shape=(6,))
        return np.array([math.atan2(o[1], o[0]), math.atan2(o[3], o[2]), o[4], o[5]])

    def observation_from_state(self, x):
        """The env's observation (float32) of model state ``x`` (nx,)."""
        return np.array([math.cos(x[0]), math.sin(x[0]), math.cos(x[1]), math.sin(x[1]), x[2], x[3]],
                        dtype=np.float32)


class GymMountainCarContinuous(MountainCar):
    """``MountainCarContinuous-v0`` (gymnasium stores its state in float32; the model computes in float64)."""

    observation_dim = 2

    def observation_from_state(self, x):
        """The env's observation (float32) of model state ``x`` (nx,)."""
        return np.asarray(x, dtype=np.float32)


class GymMountainCar(MountainCar):
    """``MountainCar-v0``: discrete pushes ``{0, 1, 2}`` = force ``(a - 1) * 0.001``, goal at 0.5."""

    observation_dim = 2

    def __init__(self, **kwargs):
        params = MountainCarParams(min_action=0.0, max_action=2.0, goal_position=0.5, power=0.001, action_offset=-1.0)
        super().__init__(params, n_actions=3, **kwargs)

    def observation_from_state(self, x):
        """The env's observation (float32) of model state ``x`` (nx,)."""
        return np.asarray(x, dtype=np.float32)


def mountain_car_step_cost(x, u, xn, p):
    """``MountainCar-v0``: reward -1 per step, so cost 1."""
    return 1.0


class MountainCarStepCost(SourceCost):
    """The negated reward of gymnasium's ``MountainCar-v0`` (1 per step until the flag)."""

    def __init__(self):
        super().__init__(2, 1, mountain_car_step_cost, [0.0])


def _mountaincar():
    return GymMountainCar(), MountainCarStepCost()


def _pendulum():
    d = GymPendulum()
    return d, PendulumGymCost(d.params.max_torque)


def _cartpole():
    return GymCartPole(), CartPoleGymCost()


def _acrobot():
    return GymAcrobot(), AcrobotGymCost()


def _mountaincar_continuous():
    d = GymMountainCarContinuous()
    return d, MountainCarGymCost(d.params.goal_position, d.params.goal_velocity)


#: gymnasium id -> factory of ``(dynamics, cost)``
GYM_MODELS = {
    "Pendulum-v1": _pendulum,
    "CartPole-v1": _cartpole,
    "Acrobot-v1": _acrobot,
    "MountainCarContinuous-v0": _mountaincar_continuous,
    "MountainCar-v0": _mountaincar,
}


def _env_id(env_or_id) -> str:
    if isinstance(env_or_id, str):
        return env_or_id
    spec = getattr(env_or_id, "spec", None)
    if spec is None:
        raise TypeError(f"env: expected a gymnasium id or a gymnasium env made with gymnasium.make, got {env_or_id!r}")
    return spec.id


def model_for(env) -> tuple[Dynamics, Cost]:
    """The planlab ``(dynamics, cost)`` of a gymnasium id or env.

    Parameters
    ----------
    env : str or gymnasium.Env
        One of :data:`GYM_MODELS` (gymnasium's own envs), of :data:`MUJOCO_MODELS` (gymnasium's
        MuJoCo envs, optional extra ``planlab[mujoco]``) or a planlab id; an env instance of a
        planlab id returns that env's own model objects.

    Raises
    ------
    ValueError
        For an id planlab has no model of.

    Examples
    --------
    >>> dynamics, cost = model_for("Pendulum-v1")
    >>> dynamics.state_dim, dynamics.action_dim
    (2, 1)
    """
    if not isinstance(env, str):
        inner = getattr(env, "unwrapped", env)
        if isinstance(getattr(inner, "dynamics", None), Dynamics) and isinstance(getattr(inner, "cost", None), Cost):
            return inner.dynamics, inner.cost
    env_id = _env_id(env)
    if env_id in GYM_MODELS:
        return GYM_MODELS[env_id]()
    if env_id in MUJOCO_MODELS:
        return MUJOCO_MODELS[env_id]()
    from .registration import ENV_IDS

    if env_id in ENV_IDS:
        inner = gymnasium.make(env_id).unwrapped
        return inner.dynamics, inner.cost
    known = sorted(GYM_MODELS) + sorted(MUJOCO_MODELS) + sorted(ENV_IDS)
    raise ValueError(f"env: expected an id planlab has a model of ({', '.join(known)}), got {env_id!r}")
