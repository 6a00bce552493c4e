"""Gymnasium environments over planlab's analytic systems, and models of gymnasium's own envs.

Importing planlab registers the ids below; ``gymnasium.make("planlab/CartPoleSwingup-v0")``
then works. :func:`model_for` returns planlab ``(dynamics, cost)`` models of gymnasium ids.
"""

from __future__ import annotations

from .registration import ENV_IDS, register_envs

register_envs()

__all__ = ["ENV_IDS", "register_envs", "model_for", "make"]


def __getattr__(name):  # lazy: keep ``import planlab`` light
    if name == "model_for":
        from .models import model_for

        return model_for
    if name == "make":
        from .registration import make

        return make
    raise AttributeError(name)
