"""Gymnasium environments over planlab's analytic systems, and models of gymnasium's own envs.

Importing planlab registers the ids below; ``gymnasium.make("planlab/CartPoleSwingup-v0")``
then works. :func:`model_for` returns planlab ``(dynamics, cost)`` models of gymnasium ids.
"""

from __future__ import annotations

from .registration import ENV_IDS, register_envs

register_envs()

from ..core.lazy import lazy_names

__all__ = ["ENV_IDS", "register_envs", "model_for", "make"]

# ``model_for`` and ``make`` load on first use, keeping ``import planlab`` light.
__getattr__, __dir__ = lazy_names(globals(), {"model_for": "models", "make": "registration"})
