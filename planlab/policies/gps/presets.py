"""Measured option sets of the GPS loop, by name (the benchmark's ``--preset`` and ``planlab train --algo gps``).

``"cartpole-dagger"`` (``planlab/CartPoleSwingup-v0``, docs/gps.md): the local iLQR controllers give the
policy's first fit; after every C-step the policy runs 3 times from each training condition (the executed
actions the expert's with probability ``0.5^i`` at iteration ``i``, noise of standard deviation 1 N) and an
iLQR MPC expert, warm-started at every visited state from the policy's own open-loop plan, labels each visited
state; every S-step fits a freshly initialised 2×64 network (500 L-BFGS iterations) to all labelled states
with unit precision (the local controllers' samples weigh 0 once labelled states exist), as DAgger does
(Ross et al. 2011). The local controllers keep their own KL-constrained route (``c_step_reference="local"``).
"""

from __future__ import annotations

import dataclasses

from .config import GPSConfig

__all__ = ["PRESETS", "apply_preset"]

#: name -> (GPSConfig fields, GlobalPolicyConfig fields)
PRESETS: dict[str, tuple[dict, dict]] = {
    "cartpole-dagger": (
        {"relabel_rollouts": 3, "relabel_policy_warm": True, "relabel_noise": 1.0, "relabel_mix": 1.0,
         "relabel_mix_decay": 0.5, "relabel_local_weight": 0.0, "relabel_precision": "unit",
         "c_step_reference": "local", "augment": 0, "policy_reinit": True, "relabel_horizon": 50,
         "relabel_iterations": 20},
        {"epochs": 500, "normalization": "refit"},
    ),
}


def apply_preset(name: str, config: GPSConfig) -> GPSConfig:
    """``config`` with the fields of preset ``name`` (one of :data:`PRESETS`) set."""
    if name not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {name!r}")
    gps, policy = PRESETS[name]
    return dataclasses.replace(config, **gps, policy=dataclasses.replace(config.policy, **policy))
