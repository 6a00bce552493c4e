"""Success tests of suite tasks: ``(result, info, env) -> bool``.

A test receives the :class:`~planlab.episodes.EpisodeResult`, the last step's ``info`` and the env:

* ``"env"``: the env's own ``info["is_success"]`` on the last step (planlab's envs report it; see
  :mod:`planlab.envs.tasks` for each goal region);
* ``"reward_threshold"``: return >= the gymnasium spec's ``reward_threshold`` (gymnasium's own
  "solved" level: CartPole-v1 475, Acrobot-v1 -100, MountainCarContinuous-v0 90, MountainCar-v0 -110);
* ``"upright"``: ``Pendulum-v1`` (no threshold in its spec): ``|theta| < 0.1`` for the last 20 steps.

A user's test joins as ``"pkg.mod:function"``.
"""

from __future__ import annotations

import math

import numpy as np

from .imports import import_path

__all__ = ["SUCCESS_TESTS", "success_test"]


def _env_success(result, info, env) -> bool:
    if "is_success" not in info:
        raise ValueError("success 'env': the env reports no info['is_success']; give the task a success test")
    return bool(info["is_success"])


def _reward_threshold(result, info, env) -> bool:
    spec = getattr(env, "spec", None)
    thr = getattr(spec, "reward_threshold", None)
    if thr is None:
        raise ValueError(f"success 'reward_threshold': env {getattr(spec, 'id', env)!r} has no reward_threshold")
    return bool(result.total_return >= thr)


def _upright(result, info, env) -> bool:
    th = np.asarray(result.states)[-20:, 0]
    return bool(len(result.states) >= 20 and np.all(np.abs((th + math.pi) % (2 * math.pi) - math.pi) < 0.1))


#: name -> test ``(result, info, env) -> bool``
SUCCESS_TESTS = {"env": _env_success, "reward_threshold": _reward_threshold, "upright": _upright}


def success_test(name: str):
    """The success test registered as ``name`` or given as ``"pkg.mod:function"``."""
    if name in SUCCESS_TESTS:
        return SUCCESS_TESTS[name]
    return import_path(name, f"success test {name!r}")
