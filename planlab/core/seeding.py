"""Seeding: one place that turns a seed into generators.

Planners and environments take ``seed`` (an int, ``None`` or a ``numpy.random.Generator``) and use
:func:`make_rng`; :func:`seed_everything` seeds the global generators of ``random``, numpy and (if
imported) torch for scripts that rely on them.
"""

from __future__ import annotations

import random
import sys

import numpy as np

__all__ = ["make_rng", "seed_everything", "SeedLike"]

SeedLike = int | np.random.Generator | None


def make_rng(seed: SeedLike = None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed``.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
        An int seeds a new PCG64 generator; a Generator is returned as is (shared state);
        ``None`` draws fresh entropy.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed: expected an int, a numpy Generator or None, got {seed!r} ({type(seed).__name__})")
    if seed is not None and seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed}")
    return np.random.default_rng(seed)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (when imported)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
