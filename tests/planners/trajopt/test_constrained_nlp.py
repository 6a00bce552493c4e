"""IPOPT on the constrained, time-indexed problem: agreement with augmented-Lagrangian box-DDP, parameters."""

import numpy as np
import pytest

from planlab.core.constraints import circle_obstacles
from planlab.core.tracking import TrackingCost
from planlab.dynamics import Unicycle
from planlab.planners.trajopt.constrained import ConstrainedILQR
from planlab.planners.trajopt.constrained_nlp import ConstrainedNLP

T = 20


def _problem():
    cost = TrackingCost(T, Q=[0.1, 0.1, 0.01], R=[0.1, 0.1], Qf=[50.0, 50.0, 10.0], angle_indices=[2])
    disc = circle_obstacles(3, 2, T, [[-0.6, -0.05]], [0.3])
    return Unicycle(), cost, disc, np.array([-1.2, 0.05, 0.0])


def test_ipopt_and_al_ilqr_agree_on_a_disc_avoidance_problem(monkeypatch):
    monkeypatch.setenv("PLANLAB_DISABLE_NUMBA", "1")
    system, cost, disc, x0 = _problem()
    ref = ConstrainedNLP(system, cost, constraints=disc).plan(x0)
    plan = ConstrainedILQR(system, cost, constraints=disc).plan(x0)
    assert ref.status == plan.status == "converged"
    assert ref.diagnostics["violation"] <= 1e-8 and plan.diagnostics["violation"] <= 1e-6
    d2 = (plan.states[:, 0] + 0.6) ** 2 + (plan.states[:, 1] + 0.05) ** 2
    assert np.max(0.3 ** 2 - d2) <= 1e-6 and np.max(0.3 ** 2 - d2) > -1e-3  # active, satisfied
    assert plan.cost == pytest.approx(ref.cost, rel=1e-5)
    np.testing.assert_allclose(plan.actions, ref.actions, atol=1e-3)


def test_ipopt_takes_new_obstacles_without_rebuilding():
    system, cost, disc, x0 = _problem()
    nlp = ConstrainedNLP(system, cost, constraints=disc)
    solver = nlp._solver
    first = nlp.plan(x0)
    moved = nlp.plan(x0, params={"discs": [-0.6, 0.1, 0.3]})
    assert nlp._solver is solver
    assert moved.diagnostics["violation"] <= 1e-8
    assert np.max(0.3 ** 2 - (moved.states[:, 0] + 0.6) ** 2 - (moved.states[:, 1] - 0.1) ** 2) <= 1e-8
    assert not np.allclose(first.actions, moved.actions, atol=1e-3)
