"""The random draws of the UCT search, all from numba's generator.

The compiled search and the Python search (:mod:`.python`) call these same compiled functions, so
one seed (:func:`seed`) gives both the same stream: tie-breaks, rollout actions, new actions of
progressive widening and the noise inputs of stochastic models.
"""

from __future__ import annotations

import numpy as np

from planlab.dynamics.compiled.jit import jit, jit_inline

__all__ = ["seed", "random_unit", "random_index", "random_uniform"]


@jit
def seed(s):
    """Seed numba's generator."""
    np.random.seed(s)


@jit_inline
def random_unit():
    """Uniform in [0, 1)."""
    return np.random.random()


@jit_inline
def random_index(n):
    """Uniform integer in ``0 .. n - 1``."""
    return np.random.randint(n)


@jit_inline
def random_uniform(low, high):
    """Uniform in ``[low, high)``."""
    return np.random.uniform(low, high)
