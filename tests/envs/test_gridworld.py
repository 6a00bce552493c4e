"""``planlab/GridWorld-v0``: the gymnasium env contract over the gridworld system."""

from __future__ import annotations

import gymnasium
from gymnasium.utils.env_checker import check_env

import planlab  # noqa: F401  (registers the ids)
from planlab.dynamics.systems.gridworld import GridWorld
from planlab.envs.models import model_for


def test_registered_env_passes_gymnasium_checks_and_is_deterministic_per_seed():
    env = gymnasium.make("planlab/GridWorld-v0")
    check_env(env.unwrapped, skip_render_check=True)

    def episode(seed):
        env.reset(seed=seed)
        out = []
        for t in range(30):
            obs, r, term, trunc, _ = env.step(t % 4)
            out.append((*obs, r))
            if term or trunc:
                break
        return out

    assert episode(3) == episode(3)
    dyn, cost = model_for("planlab/GridWorld-v0")
    assert isinstance(dyn, GridWorld) and dyn.stochastic and dyn.n_actions == 4
    img = gymnasium.make("planlab/GridWorld-v0", render_mode="rgb_array")
    img.reset(seed=0)
    assert img.render().shape == (128, 128, 3)
