"""Tools to test planners: hypothesis strategies, LQR references and :func:`check_planner`.

``check_planner(factory)`` runs the planner contract (shapes, bounds, no NaN, determinism under a
seed, returned cost equal to a re-rollout, and on linear-quadratic problems a cost within a stated
factor of the LQR optimum) on random problems; every planlab planner is run through it in planlab's
tests, and you can run it on your own planner. Needs ``hypothesis`` (``pip install planlab[test]``).
"""

from ..core.lazy import lazy_names
from .checks import ALL_CHECKS, PlannerCheckError, check_plan, check_planner
from .lqr import dare_reference, feedback_rollout, riccati_reference
from .systems import LinearSystem, linear_dynamics

__all__ = ["check_planner", "check_plan", "PlannerCheckError", "ALL_CHECKS", "riccati_reference", "feedback_rollout",
           "dare_reference", "LinearSystem", "linear_dynamics", "strategies"]



# ``planlab.testing.strategies`` (needs hypothesis) loads on first use.
__getattr__, __dir__ = lazy_names(globals(), {"strategies": "strategies"})
