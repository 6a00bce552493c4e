"""The deterministic chain of the MCTS benchmark: ``n`` states in a row, reward 1 on reaching the last.

State ``(i,)``, actions ``{0: left, 1: right}``; the ends are walls and the last state is terminal,
so an episode of ``t`` steps from state 0 is worth ``gamma^t`` (optimal: ``n - 1`` steps).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.cost import SourceCost
from ...core.ops import clip, where
from ..analytic import AnalyticSystem

__all__ = ["Chain", "ChainParams", "ChainCost", "chain_dynamics", "chain_termination", "chain_cost"]


@dataclass(frozen=True)
class ChainParams:
    """``n`` states ``0 .. n - 1``; the last one is the terminal goal."""

    n: float = 10.0


def chain_dynamics(x, u, p, out):
    """Move left (``u = 0``) or right (``u = 1``) along the chain; the ends are walls."""
    out[0] = clip(x[0] + 2.0 * u[0] - 1.0, 0.0, p[0] - 1.0)


def chain_termination(x, p):
    """At the last state."""
    return x[0] >= p[0] - 1.0


def chain_cost(x, u, xn, p):
    """Reward 1 (cost -1) on reaching the last state ``p[0] - 1``."""
    return -where(xn[0] >= p[0] - 1.0, 1.0, 0.0)


class ChainCost(SourceCost):
    """The chain's cost: -1 on reaching its end."""

    def __init__(self, n: int = 10):
        super().__init__(1, 1, chain_cost, [float(n)], uses_next_state=True)


class Chain(AnalyticSystem):
    """Deterministic chain of ``n`` states (state ``(i,)``, actions ``{0: left, 1: right}``), goal at ``n - 1``."""

    Params = ChainParams
    dynamics_source = staticmethod(chain_dynamics)
    termination_source = staticmethod(chain_termination)
    has_torch = False

    def __init__(self, n: int = 10):
        if int(n) != n or n < 2:
            raise ValueError(f"n: expected an integer >= 2, got {n!r}")
        super().__init__(ChainParams(float(n)), action_low=0.0, action_high=1.0, dt=1.0, state_dim=1,
                         action_dim=1, n_actions=2, state_names=("i",), action_names=("move",))

    def default_cost(self):
        return ChainCost(int(self.params.n))
