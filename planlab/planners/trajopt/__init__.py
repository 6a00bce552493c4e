"""Trajectory optimisation with derivatives: LQR, iLQR / DDP / box-DDP and direct multiple shooting.

* :mod:`.lqr` — :func:`dlqr`, :func:`finite_horizon_lqr`, :func:`lqr_tracking`, the :class:`LQR`
  stabiliser and :class:`LQRPlanner`; gains act as **u = K x**.
* :mod:`.ilqr` — :class:`ILQR` (iLQR, Li & Todorov 2004; DDP, Jacobson & Mayne 1970; box-DDP,
  Tassa, Mansard & Todorov 2014).
* :mod:`.nlp` — :class:`NLPPlanner`, casadi + IPOPT (Wächter & Biegler 2006).
* :mod:`.constrained` — :class:`ConstrainedILQR`, augmented-Lagrangian box-DDP with time-varying costs,
  constraints and plan-time parameters (:mod:`.stagewise`, :mod:`.al_kernels`).
* :mod:`.riccati`, :mod:`.boxqp` — the compiled backward pass and box QP.
* :mod:`.derivatives`, :mod:`.codegen`, :mod:`.kernels`, :mod:`.quadratic`, :mod:`.layout` — where
  derivatives come from (casadi translated to numba, torch autograd, finite differences) and the
  compiled rollouts and line searches.
* :mod:`.policy` — :class:`TimeVaryingLinearPolicy`, what LQR and iLQR return.
"""

from .constrained import ConstrainedILQR
from .ilqr import ILQR
from .lqr import LQR, LQRPlanner, dlqr, finite_horizon_lqr, lqr_tracking
from .nlp import NLPPlanner
from .policy import TimeVaryingLinearPolicy

__all__ = ["ILQR", "ConstrainedILQR", "LQR", "LQRPlanner", "NLPPlanner", "dlqr", "finite_horizon_lqr", "lqr_tracking",
           "TimeVaryingLinearPolicy"]
