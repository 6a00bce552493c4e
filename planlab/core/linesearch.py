"""The step-acceptance test of the line searches of iLQR / DDP (Tassa, Erez & Todorov 2012, sec. II-F).

One definition for every Python forward pass (the generic trajectory model, the constrained models,
MuJoCo's C-stepped trajectories); the compiled line-search kernels of
:mod:`planlab.planners.trajopt.kernels` evaluate the same test inside numba.
"""

from __future__ import annotations

import math

__all__ = ["step_accepted"]


def step_accepted(J: float, J0: float, alpha: float, dV1: float, dV2: float, zmin: float) -> bool:
    """Whether a forward pass with step size ``alpha`` and cost ``J`` is accepted from cost ``J0``.

    Accepted when ``J`` is finite, lower than ``J0``, and the actual decrease ``J - J0`` is more than
    ``zmin`` times the expected one ``alpha dV1 + alpha^2 dV2`` (any decrease counts when the expected
    change is not negative).

    >>> step_accepted(0.9, 1.0, 1.0, -0.2, 0.0, 0.1)
    True
    >>> step_accepted(0.99, 1.0, 1.0, -0.2, 0.0, 0.1)
    False
    """
    if not math.isfinite(J) or not J < J0:
        return False
    expected = alpha * dV1 + alpha * alpha * dV2
    return expected >= 0.0 or (J - J0) / expected > zmin
