"""Contracts, cost functions, validation and seeding shared by all of planlab."""

from .contracts import CompiledSources, Cost, Dynamics, Rollout
from .planning import STATUS_CONVERGED, STATUS_FAILED, STATUS_MAX_ITERATIONS, STATUS_OK, Plan, Planner, Policy
from .cost import QuadraticCost, SourceCost
from .seeding import make_rng, seed_everything

__all__ = [
    "Dynamics",
    "Cost",
    "Planner",
    "Policy",
    "Plan",
    "Rollout",
    "CompiledSources",
    "QuadraticCost",
    "SourceCost",
    "make_rng",
    "seed_everything",
    "STATUS_OK",
    "STATUS_CONVERGED",
    "STATUS_MAX_ITERATIONS",
    "STATUS_FAILED",
]
