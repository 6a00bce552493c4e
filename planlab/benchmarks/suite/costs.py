"""Planning costs for stock tasks whose reward gives a search nothing to follow.

gymnasium's ``Acrobot-v1`` pays -1 per step until the tip rises above the bar; uniformly random
rollouts from the hanging start almost never get there, so every action looks alike to UCT and it
scores -500. :class:`AcrobotEnergyCost` keeps the goal (cost 0 there) and otherwise charges
``1 - w * min(E_norm, 1)``, where ``E_norm`` is the acrobot's mechanical energy scaled to 0 hanging
at rest and 1 at rest upright (Spong 1995, "The swing up control problem for the Acrobot": pumping
energy is what swings it up). The suite reports the env's own reward, not this cost.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from numba.extending import register_jitable

from ...core.cost import SourceCost
from ...core.ops import cos, where
from ...core.source import param_index
from ...dynamics.systems.acrobot import AcrobotParams

__all__ = ["AcrobotEnergyCost", "acrobot_energy", "acrobot_energy_cost"]


@dataclass(frozen=True)
class AcrobotEnergyCostParams:
    """Shaping weight and the acrobot's constants (gymnasium's by default)."""

    weight: float = 0.5
    m1: float = 1.0
    m2: float = 1.0
    l1: float = 1.0
    lc1: float = 0.5
    lc2: float = 0.5
    I1: float = 1.0
    I2: float = 1.0
    g: float = 9.8


C = param_index(AcrobotEnergyCostParams)


@register_jitable
def acrobot_energy(x, p):
    """Kinetic plus potential energy of state ``x = (t1, t2, t1_dot, t2_dot)``, ``t1 = 0`` hanging."""
    c2 = cos(x[1])
    d11 = p[C.m1] * p[C.lc1] ** 2 + p[C.m2] * (p[C.l1] ** 2 + p[C.lc2] ** 2 + 2 * p[C.l1] * p[C.lc2] * c2) \
        + p[C.I1] + p[C.I2]
    d12 = p[C.m2] * (p[C.lc2] ** 2 + p[C.l1] * p[C.lc2] * c2) + p[C.I2]
    d22 = p[C.m2] * p[C.lc2] ** 2 + p[C.I2]
    kinetic = 0.5 * (d11 * x[2] * x[2] + 2.0 * d12 * x[2] * x[3] + d22 * x[3] * x[3])
    potential = -p[C.g] * ((p[C.m1] * p[C.lc1] + p[C.m2] * p[C.l1]) * cos(x[0]) + p[C.m2] * p[C.lc2] * cos(x[0] + x[1]))
    return kinetic + potential


def acrobot_energy_cost(x, u, xn, p):
    """0 at the goal (tip above the bar), else ``1 - w min(E_norm(xn), 1)``."""
    top = p[C.g] * (p[C.m1] * p[C.lc1] + p[C.m2] * (p[C.l1] + p[C.lc2]))
    e = (acrobot_energy(xn, p) + top) / (2.0 * top)
    e = where(e > 1.0, 1.0, e)
    return where(-cos(xn[0]) - cos(xn[1] + xn[0]) > 1.0, 0.0, 1.0 - p[C.weight] * e)


class AcrobotEnergyCost(SourceCost):
    """Energy-shaped planning cost for ``Acrobot-v1`` (see the module docstring)."""

    def __init__(self, weight: float = 0.5, params: AcrobotParams | None = None):
        if not 0.0 <= float(weight) < 1.0:
            raise ValueError(f"weight: expected a number in [0, 1), got {weight!r}")
        a = params or AcrobotParams()
        p = AcrobotEnergyCostParams(float(weight), a.m1, a.m2, a.l1, a.lc1, a.lc2, a.I1, a.I2, a.g)
        super().__init__(4, 1, acrobot_energy_cost, astuple(p), uses_next_state=True)
