"""Planners, their plans and policies: what turns a model and a cost into actions.

* :class:`Planner` turns (model, cost, state) into a :class:`Plan`; every planner checks its model
  and cost against each other (:func:`planlab.core.contracts.check_cost_matches`).
* :class:`Policy` is what is kept when planning stops: ``act(obs)``, batched.
* The ``STATUS_*`` strings are the statuses a :class:`Plan` reports.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .contracts import Cost, Dynamics, check_cost_matches
from .seeding import SeedLike, make_rng
from .validation import as_float_array, check_positive_int

__all__ = [
    "Planner",
    "Policy",
    "Plan",
    "STATUS_OK",
    "STATUS_CONVERGED",
    "STATUS_MAX_ITERATIONS",
    "STATUS_FAILED",
    "STATUS_STALLED",
]

#: Plan status: the planner ran its budget and produced a valid plan.
STATUS_OK = "ok"
#: Plan status: an iterative planner met its convergence tolerance.
STATUS_CONVERGED = "converged"
#: Plan status: an iterative planner stopped at its iteration limit before converging.
STATUS_MAX_ITERATIONS = "max_iterations"
#: Plan status: numerical failure; the plan holds the best valid actions found (never NaN).
STATUS_FAILED = "failed"
#: Plan status: an iterative planner stopped improving (cost change or step below tolerance) before its
#: first-order optimality condition held to the stated tolerance; the plan is valid but not a certified optimum.
STATUS_STALLED = "stalled"


@dataclass(frozen=True)
class Plan:
    """What a planner returns.

    Attributes
    ----------
    actions : ndarray, shape (H, nu)
        The planned action sequence; always within the model's bounds.
    states : ndarray, shape (H + 1, nx)
        The states the model predicts for ``actions`` from ``x0`` (``states[0] == x0``).
    cost : float
        The model's total cost of ``actions`` (running + terminal).
    status : str
        ``"ok"``, ``"converged"`` (first-order condition met to the planner's stated tolerance),
        ``"stalled"`` (stopped improving before that), ``"max_iterations"`` or ``"failed"``.
    diagnostics : mapping
        Planner-specific numbers (iterations, timings, cost history, ...).
    """

    actions: np.ndarray
    states: np.ndarray
    cost: float
    status: str = STATUS_OK
    diagnostics: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("actions", "states"):
            arr = np.array(getattr(self, name), dtype=np.float64)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        if self.actions.ndim != 2 or self.states.ndim != 2 or self.states.shape[0] != self.actions.shape[0] + 1:
            raise ValueError(
                f"Plan: expected actions (H, nu) and states (H + 1, nx), got {self.actions.shape} and {self.states.shape}"
            )
        object.__setattr__(self, "cost", float(self.cost))

    @property
    def horizon(self) -> int:
        """The number of planned actions ``H``."""
        return self.actions.shape[0]

    def __repr__(self) -> str:
        a = self.actions
        first = ", ".join(f"{v:.4g}" for v in a[0]) if a.size else ""
        return (f"Plan(horizon={self.horizon}, nu={a.shape[1]}, nx={self.states.shape[1]}, cost={self.cost:.6g}, "
                f"status={self.status!r}, first_action=[{first}])")

    @property
    def first_action(self) -> np.ndarray:
        """The action the MPC loop executes, shape (nu,)."""
        return self.actions[0]


class Planner(ABC):
    """Turns (dynamics, cost, state) into a :class:`Plan`.

    Subclasses implement :meth:`plan`. Contract: ``plan(x0)`` returns actions of shape
    ``(horizon, nu)`` inside the action box, finite, and the same plan for the same seed; the plan's
    ``cost`` equals the model's cost of re-rolling its actions out from ``x0``.

    Parameters
    ----------
    dynamics : Dynamics
    cost : Cost
    horizon : int
        Planning horizon ``H`` (>= 1).
    seed : int, Generator or None
    """

    #: Name used by the CLI and ``planlab.episodes.mpc_for_env``.
    name: str = "planner"
    #: Whether the planner plans discrete-action models (``n_actions`` set) correctly; planners that
    #: sample or optimise continuous actions set False and refuse such models.
    discrete_actions: bool = True

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int, *, seed: SeedLike = None):
        if not isinstance(dynamics, Dynamics):
            raise TypeError(f"dynamics: expected a planlab Dynamics, got {type(dynamics).__name__}")
        if not isinstance(cost, Cost):
            raise TypeError(f"cost: expected a planlab Cost, got {type(cost).__name__}")
        check_cost_matches(dynamics, cost)
        if dynamics.is_discrete and not type(self).discrete_actions:
            names = sorted({c.name for c in _all_subclasses(Planner) if c.discrete_actions and c.name != Planner.name
                            and not getattr(c, "__abstractmethods__", None) and c.__module__.startswith("planlab.")})
            raise TypeError(
                f"dynamics: {type(self).__name__} plans continuous actions, got a model with {dynamics.n_actions} "
                f"discrete actions (n_actions={dynamics.n_actions}); planners for discrete actions: {', '.join(names)}")
        self.dynamics = dynamics
        self.cost = cost
        self.horizon = check_positive_int("horizon", horizon)
        self._seed = seed
        self.rng = make_rng(seed)

    @abstractmethod
    def plan(self, x0, warm_start: np.ndarray | None = None) -> Plan:
        """Plan from ``x0`` (nx,), optionally warm-started with actions (H, nu)."""

    def advance(self, steps: int) -> None:
        """Told by the MPC loop before a replan: ``steps`` actions of the last plan were executed, and
        the warm start it passes next is that plan shifted by ``steps`` (padded at the end).

        Planners that carry more than the warm start between calls (CEM's elites and sampling
        distribution, UCT's tree) shift it by ``steps``; the default does nothing.
        """

    def reset(self, seed: SeedLike = None) -> None:
        """Forget internal state (warm starts, trees); reseed when ``seed`` is given."""
        if seed is not None:
            self._seed = seed
        self.rng = make_rng(self._seed)

    # helpers for subclasses
    def _check_x0(self, x0) -> np.ndarray:
        return as_float_array("x0", x0, shape=(self.dynamics.state_dim,))

    def _check_warm_start(self, warm_start) -> np.ndarray | None:
        """``warm_start`` (H, nu) validated and clipped to the action box, or None."""
        if warm_start is None:
            return None
        w = as_float_array("warm_start", warm_start, shape=(self.horizon, self.dynamics.action_dim))
        return self.dynamics.clip_action(w)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(horizon={self.horizon}, dynamics={self.dynamics!r})"


class Policy(ABC):
    """A (possibly stochastic) feedback policy ``u = act(obs)``, batched.

    ``act`` accepts one observation (n_obs,) or a batch (..., n_obs) and returns actions of the
    matching leading shape. ``reset`` is called at the start of each episode.
    """

    @abstractmethod
    def act(self, obs) -> np.ndarray:
        """Action(s) for observation(s) ``obs``: (..., n_obs) -> (..., nu)."""

    def reset(self) -> None:
        """Start a new episode (time-varying policies rewind their clock)."""

    def __call__(self, obs) -> np.ndarray:
        return self.act(obs)


def _all_subclasses(cls):
    out = []
    for c in cls.__subclasses__():
        out.append(c)
        out.extend(_all_subclasses(c))
    return out
