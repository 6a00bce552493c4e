"""Environments for the trainers: building copies of an env, and evaluating a policy on them."""

from __future__ import annotations

from typing import Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = ["make_env_fn", "evaluate_policy"]


def make_env_fn(env) -> tuple[Callable[[], gym.Env], str | None]:
    """Turn ``env`` (an id, an env with a spec, or a zero-argument factory) into a factory.

    Returns
    -------
    factory : callable
        Builds a fresh environment each call (trainers need several: vector copies, evaluation).
    env_id : str or None
        The gymnasium id when known (stored by ``save`` so ``load`` can rebuild the env).
    """
    if isinstance(env, str):
        if env not in gym.registry:
            raise ValueError(f"env: expected a registered gymnasium id, got {env!r}")
        return (lambda: gym.make(env)), env
    if isinstance(env, gym.Env):
        if env.spec is None:
            raise TypeError("env: expected a gymnasium id, a factory, or an env created by gym.make (with a spec), "
                            f"got {type(env).__name__} without a spec")
        spec = env.spec
        return (lambda: gym.make(spec)), spec.id
    if callable(env):
        probe = env()
        env_id = probe.spec.id if getattr(probe, "spec", None) is not None else None
        probe.close()
        return env, env_id
    raise TypeError(f"env: expected a gymnasium id, a gymnasium.Env or a factory, got {type(env).__name__}")


def evaluate_policy(act: Callable[[np.ndarray], np.ndarray], envs: list[gym.Env], seeds: list[int],
                    action_space: spaces.Space) -> np.ndarray:
    """Run one episode in each of ``envs`` in lockstep, the policy batched over them.

    Parameters
    ----------
    act : callable
        Maps observations (n, n_obs) to actions (n,) or (n, nu).
    envs : list of gymnasium.Env
    seeds : list of int
        Reset seed of each episode (fixed seeds make evaluations comparable and reproducible).
    action_space : gymnasium.spaces.Space

    Returns
    -------
    ndarray, shape (len(envs),)
        Undiscounted episode returns.
    """
    n = len(envs)
    obs = np.stack([e.reset(seed=s)[0] for e, s in zip(envs, seeds)]).astype(np.float32)
    alive = np.ones(n, dtype=bool)
    ret = np.zeros(n)
    box = isinstance(action_space, spaces.Box)
    while alive.any():
        a = act(obs)
        if box:
            a = np.clip(a, action_space.low, action_space.high)
        for i in np.flatnonzero(alive):
            o, r, term, trunc, _ = envs[i].step(a[i])
            ret[i] += r
            obs[i] = o
            if term or trunc:
                alive[i] = False
    return ret
