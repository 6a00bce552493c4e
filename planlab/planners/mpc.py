"""Receding-horizon control (model-predictive control): plan, execute the first action(s), replan.

:class:`MPC` wraps any :class:`~planlab.core.Planner`; it owns the warm start (the previous plan
shifted by the steps executed and padded with its last action, see Garcia, Prett & Morari 1989 and
Mayne et al. 2000 for MPC; the shifted warm start as in Tassa, Erez & Todorov 2012) and times every
replanning call. Driving an environment with it lives in :mod:`planlab.episodes`
(:func:`~planlab.episodes.run_episode`, :func:`~planlab.episodes.mpc_for_env`).
"""

from __future__ import annotations

import time

import numpy as np

from ..core.contracts import check_cost_matches
from ..core.planning import Plan, Planner, Policy
from ..core.validation import check_in, check_positive_int

__all__ = ["MPC", "shift_actions"]


def shift_actions(actions: np.ndarray, k: int, fill: str = "last", low=None, high=None) -> np.ndarray:
    """Shift an action sequence (H, nu) forward by ``k`` steps and pad the end.

    ``fill``: ``"last"`` repeats the final action, ``"zero"`` pads zeros clipped to the box,
    ``"mean"`` pads the centre of the box ``(low + high) / 2``.
    """
    H = actions.shape[0]
    k = min(k, H)
    out = np.empty_like(actions)
    out[: H - k] = actions[k:]
    if fill == "last":
        pad = actions[-1]
    elif fill == "zero":
        pad = np.clip(np.zeros(actions.shape[1]), low, high) if low is not None else np.zeros(actions.shape[1])
    else:
        pad = 0.5 * (np.asarray(low) + np.asarray(high))
    out[H - k:] = pad
    return out


class MPC(Policy):
    """Model-predictive control around a planner.

    Parameters
    ----------
    planner : Planner
    replan_every : int
        Replan after this many executed actions (1 = classic MPC).
    warm_start : bool
        Pass the shifted previous plan to the planner.
    shift_fill : {"last", "zero", "mean"}
        How the shifted warm start is padded.

    Attributes
    ----------
    plan_times : list of float
        Wall seconds of every ``planner.plan`` call since :meth:`reset`.
    plan_statuses : list of str
        The :attr:`Plan.status` of every ``planner.plan`` call since :meth:`reset`.
    last_plan : Plan or None

    Examples
    --------
    >>> import numpy as np
    >>> from planlab.dynamics import Pendulum
    >>> from planlab.planners import RandomShooting
    >>> sys = Pendulum()
    >>> mpc = MPC(RandomShooting(sys, sys.default_cost(), horizon=20, population=100, seed=0))
    >>> mpc.act(np.array([np.pi, 0.0])).shape
    (1,)
    """

    def __init__(self, planner: Planner, *, replan_every: int = 1, warm_start: bool = True, shift_fill: str = "last"):
        if not isinstance(planner, Planner):
            raise TypeError(f"planner: expected a planlab Planner, got {type(planner).__name__}")
        check_cost_matches(planner.dynamics, planner.cost)
        self.planner = planner
        self.dynamics = planner.dynamics
        self.replan_every = check_positive_int("replan_every", replan_every)
        if self.replan_every > planner.horizon:
            raise ValueError(f"replan_every: expected at most the horizon ({planner.horizon}), got {replan_every}")
        check_in("shift_fill", shift_fill, {"last", "zero", "mean"})
        self.warm_start = bool(warm_start)
        self.shift_fill = shift_fill
        self.reset()

    def reset(self) -> None:
        """Forget the previous plan and timings (the planner keeps its random stream)."""
        self.last_plan: Plan | None = None
        self._k = 0
        self.plan_times: list[float] = []
        self.plan_statuses: list[str] = []

    def act(self, x) -> np.ndarray:
        """The action (nu,) to execute in state ``x`` (nx,); replans when due."""
        x = self.dynamics.check_state(x, "x")
        if x.ndim != 1:
            raise ValueError(f"x: MPC acts on one state of shape ({self.dynamics.state_dim},), got {x.shape}")
        if self.last_plan is None or self._k >= self.replan_every:
            ws = None
            if self.warm_start and self.last_plan is not None:
                d = self.dynamics
                ws = shift_actions(self.last_plan.actions, self._k, self.shift_fill, d.action_low, d.action_high)
                self.planner.advance(self._k)
            t0 = time.perf_counter()
            self.last_plan = self.planner.plan(x, warm_start=ws)
            self.plan_times.append(time.perf_counter() - t0)
            self.plan_statuses.append(self.last_plan.status)
            self._k = 0
        u = self.last_plan.actions[self._k]
        self._k += 1
        return u.copy()
