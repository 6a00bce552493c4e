"""A check_planner failure report holds the problem as Python that rebuilds it exactly."""

import re

import numpy as np
import pytest

from planlab.core import Plan, Planner, QuadraticCost
from planlab.testing import check_planner
from planlab.testing.checks import PlannerCheckError
from planlab.testing.lqr import riccati_reference
from planlab.testing.systems import LinearSystem


class _Zeros(Planner):
    """Plans zero actions: far from the LQ optimum, so the "lq" check fails."""

    def plan(self, x0, warm_start=None):
        x0 = self._check_x0(x0)
        u = self.dynamics.clip_action(np.zeros((self.horizon, self.dynamics.action_dim)))
        roll = self.dynamics.rollout(x0, u[None], self.cost)
        return Plan(u, roll.states[0], roll.costs[0])


def test_failure_report_rebuilds_the_problem_with_its_matrices_and_box():
    with pytest.raises(PlannerCheckError) as info:
        check_planner(lambda d, c, h, s: _Zeros(d, c, h, seed=s), checks=("lq",), max_examples=10)
    msg = str(info.value)
    code = "\n".join(line.strip() for line in msg.splitlines() if line.strip().startswith(("dynamics =", "cost =", "x0 =")))
    assert "A=np.array(" in code and "action_low=" in code and "Q=np.array(" in code and "R=np.array(" in code
    ns = {"np": np, "LinearSystem": LinearSystem, "QuadraticCost": QuadraticCost}
    exec(code, ns)  # noqa: S102 - the report's own reproduction snippet
    d, c, x0, H = ns["dynamics"], ns["cost"], ns["x0"], ns["horizon"]
    A, B = d.matrices()
    _, P = riccati_reference(A, B, c.Q, c.R, c.Qf, H)
    reported = float(re.search(r"the LQR optimum ([-\d.e+]+)", msg).group(1))
    assert f"{0.5 * x0 @ P[0] @ x0:.6g}" == f"{reported:.6g}"  # the same problem, rebuilt from the report
    zeros = d.rollout(x0, np.zeros((1, H, d.action_dim)), c).costs[0]
    assert f"got {zeros:.6g}" in msg
