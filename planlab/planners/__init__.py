"""Planners (random shooting, ...) and the receding-horizon MPC loop.

Every planner implements :class:`planlab.core.Planner`; :func:`make_planner` builds one by the
name the CLI uses.
"""

from __future__ import annotations

import importlib
import inspect

from .mpc import MPC, EpisodeResult, run_episode
from .shooting import RandomShooting
from .cem import CEM, ICEM
from .mppi import MPPI

__all__ = ["MPC", "EpisodeResult", "run_episode", "RandomShooting", "CEM", "ICEM", "MPPI", "PLANNERS", "planner_class",
           "make_planner"]

#: CLI name -> "module:Class" (imported on first use)
PLANNERS = {
    "shooting": "planlab.planners.shooting:RandomShooting",
    "cem": "planlab.planners.cem:CEM",
    "icem": "planlab.planners.cem:ICEM",
    "mppi": "planlab.planners.mppi:MPPI",
    "uct": "planlab.planners.mcts.uct:UCT",
    "lqr": "planlab.planners.lqr:LQRPlanner",
    "ilqr": "planlab.planners.ilqr:ILQR",
    "nlp": "planlab.planners.nlp:NLPPlanner",
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
