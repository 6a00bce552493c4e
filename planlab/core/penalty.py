r"""Constraints as costs for planners that only rank rollouts (random shooting, CEM, MPPI).

:class:`ConstraintPenaltyCost` adds to any :class:`~planlab.core.Cost`

.. math::

    w \sum_i \max(0, g_i)^2 \;(+\; M \,[\max_i g_i > 0] \text{ with ``mode="filter"``})

at every step (stage inequalities) and at the final state (terminal inequalities and
``|h|`` of terminal equalities). ``"penalty"`` is the quadratic exterior penalty; ``"filter"`` also
adds the constant ``M`` (``infeasible_cost``) per violating step, so every feasible candidate ranks
before every infeasible one (feasibility filtering that still orders infeasible candidates by how
far and how long they violate).

Sampling planners evaluate a cost step by step without a time index, so the constraints must be
time-invariant here (the same parameter row at every step; otherwise a ``ValueError``).
"""

from __future__ import annotations

import numpy as np

from .constraints import Constraints
from .contracts import Cost
from .validation import check_in, check_positive

__all__ = ["ConstraintPenaltyCost"]


class ConstraintPenaltyCost(Cost):
    """``cost`` plus a penalty on the violation of ``constraints`` (module docstring).

    Parameters
    ----------
    cost : Cost
    constraints : Constraints
        With the same parameter row at every step.
    weight : float
        ``w`` of the quadratic penalty.
    mode : {"penalty", "filter"}
    infeasible_cost : float
        ``M`` of ``"filter"``.
    """

    def __init__(self, cost: Cost, constraints: Constraints, *, weight: float = 1e3, mode: str = "penalty",
                 infeasible_cost: float = 1e6):
        if not isinstance(cost, Cost):
            raise TypeError(f"cost: expected a planlab Cost, got {type(cost).__name__}")
        if not isinstance(constraints, Constraints):
            raise TypeError(f"constraints: expected a planlab Constraints, got {type(constraints).__name__}")
        if (cost.state_dim, cost.action_dim) != (constraints.state_dim, constraints.action_dim):
            raise ValueError(f"constraints: expected sizes (nx, nu) = ({cost.state_dim}, {cost.action_dim}), got "
                             f"({constraints.state_dim}, {constraints.action_dim})")
        p = constraints.params
        if not np.all(p == p[0]):
            raise ValueError("constraints: the sampling planners evaluate costs without a time index; expected the "
                             "same parameters at every step, got a time-varying table")
        self.cost, self.constraints = cost, constraints
        self.state_dim, self.action_dim = cost.state_dim, cost.action_dim
        self.uses_next_state = cost.uses_next_state
        self.weight = check_positive("weight", weight)
        check_in("mode", mode, {"penalty", "filter"})
        self.mode = mode
        self.infeasible_cost = check_positive("infeasible_cost", infeasible_cost)

    def _penalty(self, g):
        v = np.maximum(g, 0.0)
        out = self.weight * np.sum(v * v, axis=-1)
        if self.mode == "filter":
            out = out + self.infeasible_cost * np.any(v > 0.0, axis=-1)
        return out

    def running(self, x, u, x_next=None):
        c = np.asarray(self.cost.running(x, u, x_next), dtype=np.float64)
        if self.constraints.stage is None:
            return c
        return c + self._penalty(self.constraints.stage_at(x, u))

    def terminal(self, x):
        c = np.asarray(self.cost.terminal(x), dtype=np.float64)
        gf, h = self.constraints.terminal_values(x)
        return c + self._penalty(np.concatenate([gf, np.abs(h)], axis=-1))
