"""Moved: :class:`~planlab.planners.trajopt.policy.TimeVaryingLinearPolicy` (kept importable from here)."""

from ..planners.trajopt.policy import TimeVaryingLinearPolicy

__all__ = ["TimeVaryingLinearPolicy"]
