"""Cart-pole: gymnasium's ``CartPole-v1`` equations with a continuous force, written once.

State ``x = (x, x_dot, theta, theta_dot)`` (gymnasium's order) with ``theta = 0`` upright; action
``u = (force,)``. The force applied is ``clip(u * force_scale + force_offset, -force_max, force_max)``,
which also gives gymnasium's discrete actions (``u in {0, 1}``, scale 20, offset -10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...core.cost import QuadraticCost, SourceCost
from ...core.ops import clip, cos, logical_or, sin
from ...core.source import param_index
from ...core.validation import check_positive
from ..analytic import AnalyticSystem

__all__ = ["CartPole", "CartPoleParams", "cartpole_dynamics", "cartpole_termination", "cartpole_gym_cost",
           "CartPoleGymCost", "cartpole_centred_gym_cost", "CartPoleCentredGymCost"]


@dataclass(frozen=True)
class CartPoleParams:
    """Constants (gymnasium's by default). ``length`` is the pole's half-length."""

    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5
    force_scale: float = 1.0
    force_offset: float = 0.0
    force_max: float = 10.0
    dt: float = 0.02
    x_threshold: float = 2.4
    theta_threshold: float = 12 * 2 * math.pi / 360
    terminate: float = 0.0


#: index of each CartPoleParams field in the parameter vector ``p`` (sources read ``p[P.name]``)
P = param_index(CartPoleParams)


def cartpole_dynamics(x, u, p, out):
    """gymnasium ``CartPole-v1`` step (explicit Euler) with a continuous force."""
    gravity = p[P.gravity]
    masscart = p[P.masscart]
    masspole = p[P.masspole]
    length = p[P.length]
    force = clip(u[0] * p[P.force_scale] + p[P.force_offset], -p[P.force_max], p[P.force_max])
    tau = p[P.dt]
    total_mass = masspole + masscart
    polemass_length = masspole * length
    x_dot = x[1]
    theta = x[2]
    theta_dot = x[3]
    costheta = cos(theta)
    sintheta = sin(theta)
    temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass
    thetaacc = (gravity * sintheta - costheta * temp) / (
        length * (4.0 / 3.0 - masspole * (costheta * costheta) / total_mass)
    )
    xacc = temp - polemass_length * thetaacc * costheta / total_mass
    out[0] = x[0] + tau * x_dot
    out[1] = x_dot + tau * xacc
    out[2] = theta + tau * theta_dot
    out[3] = theta_dot + tau * thetaacc


def cartpole_termination(x, p):
    """gymnasium's termination (cart off the track or pole past 12 degrees), when ``terminate`` is set."""
    if p[P.terminate] == 0.0:
        return False
    x_max = p[P.x_threshold]
    theta_max = p[P.theta_threshold]
    return logical_or(logical_or(x[0] < -x_max, x[0] > x_max), logical_or(x[2] < -theta_max, x[2] > theta_max))


def cartpole_gym_cost(x, u, xn, p):
    """gymnasium ``CartPole-v1``: reward 1 per step survived, so cost -1."""
    return -1.0


class CartPoleGymCost(SourceCost):
    """The negated reward of gymnasium's ``CartPole-v1`` (``-1`` per step until termination)."""

    def __init__(self):
        super().__init__(4, 1, cartpole_gym_cost, [0.0])


def cartpole_centred_gym_cost(x, u, xn, p):
    """``-1 + w (x / x_max)^2``: gymnasium's per-step cost plus a penalty on the cart's distance from the centre."""
    r = x[0] / p[1]
    return -1.0 + p[0] * r * r


class CartPoleCentredGymCost(SourceCost):
    """gymnasium ``CartPole-v1``'s cost ``-1`` per step plus ``w (x / x_max)^2``, for planners.

    The ``-1`` per step only tells a planner about the track's end once a simulated trajectory leaves it;
    UCT's random rollouts end with the pole fallen long before, so a searching teacher lets the cart
    drift. The penalty gives every step a signal of the distance to the track's end. With ``w < 1`` every
    step survived still lowers the cost, so surviving longer is always preferred.

    Parameters
    ----------
    weight : float
        ``w``, in ``[0, 1)`` (0 gives :class:`CartPoleGymCost`).
    x_threshold : float
        ``x_max``, the track's half-length (gymnasium: 2.4).
    """

    def __init__(self, weight: float = 0.5, x_threshold: float = 2.4):
        weight = float(weight)
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"weight: expected a number in [0, 1), got {weight!r}")
        check_positive("x_threshold", x_threshold)
        self.weight, self.x_threshold = weight, float(x_threshold)
        super().__init__(4, 1, cartpole_centred_gym_cost, [weight, float(x_threshold)])


class CartPole(AnalyticSystem):
    """Cart-pole with gymnasium's equations and constants, continuous force.

    Parameters
    ----------
    dt : float
        Integration step (gymnasium: 0.02).
    force_max : float
        Force bound ``|u| <= force_max`` (gymnasium: 10 N).
    terminate : bool
        Terminate like gymnasium (|x| > 2.4 or |theta| > 12 deg); off for swing-up.
    params : CartPoleParams, optional
        Overrides all of the above.
    """

    Params = CartPoleParams
    dynamics_source = staticmethod(cartpole_dynamics)
    termination_source = staticmethod(cartpole_termination)

    def __init__(self, dt: float = 0.02, force_max: float = 10.0, terminate: bool = False,
                 params: CartPoleParams | None = None, *, action_low=None, action_high=None, **kwargs):
        if params is None:
            params = CartPoleParams(dt=dt, force_max=force_max, terminate=float(bool(terminate)))
        lo = -params.force_max if action_low is None else action_low
        hi = params.force_max if action_high is None else action_high
        super().__init__(
            params, action_low=lo, action_high=hi, dt=params.dt, state_dim=4, action_dim=1,
            state_names=("x", "x_dot", "theta", "theta_dot"), action_names=("force",), angle_indices=(2,),
            **kwargs,
        )

    def default_cost(self):
        """Swing-up/balance cost: upright, centred, small force."""
        return QuadraticCost(Q=[1.0, 0.1, 10.0, 0.1], R=[0.001], Qf=[1.0, 0.1, 10.0, 0.1], angle_indices=[2])
