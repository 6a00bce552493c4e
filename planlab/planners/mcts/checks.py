"""Checks of the UCT options that depend on the model, and the compiled search for a model's sources."""

from __future__ import annotations

import numpy as np

from planlab.core.contracts import Dynamics
from planlab.dynamics.compiled import model_sources, specialise
from planlab.planners.mcts import hashing, rng, search, settings, tree, values

__all__ = ["check_widening", "check_mask", "search_kernel"]


def check_widening(d: Dynamics, progressive_widening, action_mask) -> tuple[float, float]:
    """``(k, alpha)`` of progressive widening for continuous actions, ``(0, 0)`` for discrete ones."""
    if d.is_discrete:
        if progressive_widening is not None:
            raise ValueError("progressive_widening: expected None for a discrete-action model "
                             f"(n_actions={d.n_actions}), got {progressive_widening!r}")
        return 0.0, 0.0
    if progressive_widening is None:
        raise ValueError(
            f"dynamics: plain UCT needs a discrete action space (n_actions set), got a continuous box "
            f"of dimension {d.action_dim}; pass progressive_widening=(k, alpha) for continuous actions")
    try:
        k, alpha = (float(v) for v in progressive_widening)
    except (TypeError, ValueError):
        raise ValueError(f"progressive_widening: expected a pair (k, alpha), got {progressive_widening!r}") from None
    if not (k > 0 and 0 < alpha < 1):
        raise ValueError(f"progressive_widening: expected k > 0 and 0 < alpha < 1, got ({k}, {alpha})")
    if action_mask is not None:
        raise ValueError("action_mask: expected None for continuous actions (masks index discrete actions)")
    return k, alpha


def check_mask(action_mask, n_actions: int) -> np.ndarray:
    """A static action mask as a bool array (n_actions,) with at least one legal action (a copy)."""
    m = np.asarray(action_mask)
    if m.shape != (n_actions,) or m.dtype != np.bool_:
        raise ValueError(f"action_mask: expected a bool array of shape ({n_actions},) or a callable, "
                         f"got {m.dtype} array of shape {m.shape}")
    if not m.any():
        raise ValueError("action_mask: expected at least one legal action, got none")
    return m.copy()


def search_kernel(sources):
    """The :mod:`.search` module specialised for a model's :class:`~planlab.core.CompiledSources`.

    Raises
    ------
    ValueError
        If a source is not a module-level function.
    """
    return specialise(search, model_sources(sources.dynamics, sources.termination, sources.running,
                                            sources.terminal),
                      prefix="planlab_uct", depends=(tree, hashing, values, rng, settings))
