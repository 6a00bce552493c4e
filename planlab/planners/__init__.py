"""Planners and the receding-horizon MPC loop.

Three families, one contract (:class:`planlab.core.Planner`: ``plan(x0, warm_start=None) -> Plan``):

* :mod:`~planlab.planners.sampling` — random shooting, CEM, iCEM, MPPI;
* :mod:`~planlab.planners.trajopt` — LQR, iLQR / DDP / box-DDP, casadi + IPOPT, and the
  time-varying linear policy they return;
* :mod:`~planlab.planners.mcts` — UCT tree search;

plus :class:`MPC` (:mod:`~planlab.planners.mpc`). :data:`PLANNERS` maps the names the CLI uses to
classes, :func:`make_planner` builds one by name. Trajectory optimisation loads on first use (it
imports casadi and scipy).
"""

from __future__ import annotations

import importlib
import inspect

from .mpc import MPC, shift_actions
from .sampling import CEM, ICEM, MPPI, RandomShooting
from .mcts import UCT
from ..core.lazy import lazy_names

# Trajectory optimisation (LQR, iLQR/DDP, NLP) imports casadi and scipy: loaded on first use.
_LAZY = {name: "trajopt" for name in ("ILQR", "LQR", "LQRPlanner", "NLPPlanner", "TimeVaryingLinearPolicy", "dlqr",
                                      "finite_horizon_lqr", "lqr_tracking")}

__all__ = ["MPC", "shift_actions", "RandomShooting", "CEM", "ICEM", "MPPI", "UCT", "ILQR", "LQR", "LQRPlanner",
           "NLPPlanner", "TimeVaryingLinearPolicy", "dlqr", "finite_horizon_lqr", "lqr_tracking", "PLANNERS",
           "planner_class", "make_planner"]

#: CLI name -> "module:Class" (imported on first use)
PLANNERS = {
    "shooting": "planlab.planners.sampling.shooting:RandomShooting",
    "cem": "planlab.planners.sampling.cem:CEM",
    "icem": "planlab.planners.sampling.cem:ICEM",
    "mppi": "planlab.planners.sampling.mppi:MPPI",
    "uct": "planlab.planners.mcts.uct:UCT",
    "lqr": "planlab.planners.trajopt.lqr:LQRPlanner",
    "ilqr": "planlab.planners.trajopt.ilqr:ILQR",
    "nlp": "planlab.planners.trajopt.nlp:NLPPlanner",
}


def planner_class(name: str):
    """The planner class registered under ``name``."""
    if name not in PLANNERS:
        raise ValueError(f"planner: expected one of {', '.join(sorted(PLANNERS))}, got {name!r}")
    mod, cls = PLANNERS[name].split(":")
    return getattr(importlib.import_module(mod), cls)


def make_planner(name: str, dynamics, cost, **options):
    """Build the planner ``name`` for ``(dynamics, cost)``; unknown options raise a clear error."""
    cls = planner_class(name)
    params = inspect.signature(cls.__init__).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in options if k not in params] if not accepts_any else []
    if unknown:
        allowed = sorted(k for k in params if k not in ("self", "dynamics", "cost"))
        raise ValueError(f"{unknown[0]}: not an option of planner {name!r} (its options: {', '.join(allowed)})")
    return cls(dynamics, cost, **options)


__getattr__, __dir__ = lazy_names(globals(), _LAZY)
