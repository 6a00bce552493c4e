"""The model-free trainers by name, for :meth:`Trainer.load <planlab.policies.trainer.Trainer.load>`,
``planlab train`` and the benchmark.

The table maps each name to ``"module:Class"`` and is resolved on use, like
:data:`planlab.planners.PLANNERS`: importing this module (or :mod:`planlab.policies`) imports no
trainer and no torch, and a fresh process finds every trainer without first importing its module.
A trainer written elsewhere is made loadable by adding its entry::

    from planlab.policies import ALGORITHMS
    ALGORITHMS["my_ppo"] = "mypackage.trainers:MyPPO"   # its ``name`` class attribute is "my_ppo"
"""

from __future__ import annotations

import importlib

__all__ = ["ALGORITHMS", "algorithm_class", "algorithms", "RUNNERS"]

#: Trainer name (its ``name`` class attribute, saved in ``config.json``) -> ``"module:Class"``.
ALGORITHMS: dict[str, str] = {
    "reinforce": "planlab.policies.reinforce:REINFORCE",
    "ac": "planlab.policies.onpolicy:ActorCritic",
    "a2c": "planlab.policies.onpolicy:A2C",
    "online_ac": "planlab.policies.onpolicy:OnlineActorCritic",
    "ppo": "planlab.policies.onpolicy:PPO",
    "sac": "planlab.policies.offpolicy:SAC",
    "offpolicy_ac": "planlab.policies.offpolicy:OffPolicyActorCritic",
}


def algorithm_class(name: str) -> type:
    """The trainer class registered under ``name`` (its module is imported now).

    Raises
    ------
    ValueError
        ``name`` is not in :data:`ALGORITHMS`.
    """
    if name not in ALGORITHMS:
        raise ValueError(f"algo: expected one of {', '.join(sorted(ALGORITHMS))}, got {name!r}")
    module, cls = ALGORITHMS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def algorithms() -> dict[str, type]:
    """Every registered trainer class by name (imports all trainer modules)."""
    return {name: algorithm_class(name) for name in ALGORITHMS}


# ---------------------------------------------------------------------------------- guided policy search, distillation
#: ``planlab train --algo`` names that are not :class:`Trainer` subclasses (no ``learn(steps)``): name ->
#: ``"module:function"`` of a runner ``run(args) -> exit code``, resolved on use like :data:`ALGORITHMS`.
RUNNERS: dict[str, str] = {
    "gps": "planlab.policies.gps.cli:run_gps",
    "distill": "planlab.policies.gps.cli:run_distill",
}
