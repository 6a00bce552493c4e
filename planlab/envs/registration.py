"""Registration of planlab's gymnasium ids."""

from __future__ import annotations

import gymnasium

__all__ = ["ENV_IDS", "register_envs", "make"]

#: gymnasium id -> (entry point, max_episode_steps)
_SPECS = {
    "planlab/PendulumSwingup-v0": ("planlab.envs.tasks:PendulumSwingupEnv", 200),
    "planlab/CartPoleSwingup-v0": ("planlab.envs.tasks:CartPoleSwingupEnv", 200),
    "planlab/AcrobotSwingup-v0": ("planlab.envs.tasks:AcrobotSwingupEnv", 200),
    "planlab/MountainCar-v0": ("planlab.envs.tasks:MountainCarEnv", 999),
    "planlab/DoubleIntegrator-v0": ("planlab.envs.tasks:DoubleIntegratorEnv", 100),
    "planlab/Reacher2Link-v0": ("planlab.envs.tasks:Reacher2LinkEnv", 100),
    "planlab/UnicycleParking-v0": ("planlab.envs.tasks:UnicycleParkingEnv", 150),
    "planlab/Quadrotor2DHover-v0": ("planlab.envs.tasks:Quadrotor2DHoverEnv", 150),
    "planlab/GridWorld-v0": ("planlab.envs.gridworld:GridWorldEnv", 100),
}

ENV_IDS = tuple(_SPECS)


def register_envs() -> None:
    """Register planlab's ids with gymnasium (idempotent)."""
    for env_id, (entry, steps) in _SPECS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry, max_episode_steps=steps)


def make(env_id: str, **kwargs):
    """``gymnasium.make`` with a clear error for unknown ids."""
    if env_id not in gymnasium.registry:
        known = sorted(ENV_IDS)
        raise ValueError(f"env: expected a registered gymnasium id (planlab's: {', '.join(known)}), got {env_id!r}")
    return gymnasium.make(env_id, **kwargs)
