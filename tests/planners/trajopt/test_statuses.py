"""Statuses that say what happened: LQR outside its region, iLQR converged vs stalled, fallbacks that warn once."""

import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from planlab.cli import main
from planlab.core import Dynamics, QuadraticCost
from planlab.core.source import param_index
from planlab.dynamics import Acrobot, AnalyticSystem, DoubleIntegrator, Unicycle
from planlab.envs.models import model_for
from planlab.planners import ILQR, LQR, LQRPlanner
from planlab.planners.trajopt.lqr import finite_horizon_lqr


# ------------------------------------------------------------------ LQR's region
def test_lqr_planner_marks_plans_outside_its_region_failed_and_warns_once():
    d, cost = model_for("planlab/CartPoleSwingup-v0")
    planner = LQRPlanner(d, cost, horizon=30)
    with pytest.warns(RuntimeWarning, match="outside the region") as caught:
        hanging = [planner.plan(np.array([0.0, 0.0, np.pi, 0.0])) for _ in range(3)]
    assert len([w for w in caught if "outside the region" in str(w.message)]) == 1
    assert all(p.status == "failed" for p in hanging)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        near = planner.plan(np.array([0.0, 0.0, 0.2, 0.0]))
    assert near.status == "ok"
    # what the status claims holds in closed loop: from 0.2 rad it stabilises, from hanging it does not
    for x0, settles in (([0, 0, 0.2, 0], True), ([0, 0, np.pi, 0], False)):
        x = np.array(x0, dtype=float)
        for _ in range(150):
            x = d.step(x, planner.controller.act(x))
        assert (np.max(np.abs(planner.controller.error(x))) < 1e-3) == settles


def test_planlab_run_reports_an_lqr_that_left_its_region(capsys):
    assert main(["run", "--env", "planlab/CartPoleSwingup-v0", "--planner", "lqr", "--steps", "5", "--json"]) == 0
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert summary["plan_status"] == {"failed": 5}
    assert "5 of 5 plans ended with status 'failed'" in out.err


def test_lqr_equilibrium_check_compares_angles_modulo_two_pi():
    ctrl = LQR(Acrobot(), Q=np.ones(4), R=[1.0], x_eq=[np.pi, 0, 0, 0])  # steps to -pi: the same state
    assert np.all(np.abs(ctrl.closed_loop_eigenvalues()) < 1)
    with pytest.raises(ValueError, match=r"x_eq, u_eq: expected an equilibrium .*modulo 2 pi"):
        LQR(Acrobot(), Q=np.ones(4), R=[1.0], x_eq=[np.pi / 2, 0, 0, 0])


def test_lqr_planner_names_the_cost_goal_a_user_passed_not_x_eq(capsys):
    d, _ = model_for("planlab/CartPoleSwingup-v0")
    cost = QuadraticCost(Q=np.ones(4), R=[0.1], x_goal=[0, 0, 0.5, 0], angle_indices=[2])
    with pytest.raises(ValueError, match=r"^cost: the LQR planner stabilises the cost's goal \(x_goal, u_goal\)"):
        LQRPlanner(d, cost)


# ------------------------------------------------------------------ iLQR
class BlackBox(Dynamics):
    """A double integrator seen only through numpy (fd) or torch, with an infinite action box."""

    has_torch = True

    def __init__(self):
        self.inner = DoubleIntegrator(accel_max=np.inf)
        super().__init__(2, 1, -np.inf, np.inf, 0.1)

    def step(self, x, u, rng=None):
        return self.inner.step(x, u)

    def step_torch(self, x, u):
        return self.inner.step_torch(x, u)


@pytest.mark.parametrize("derivatives", ["torch", "fd"])
def test_ilqr_with_an_infinite_box_and_torch_or_fd_derivatives_solves_the_lq_problem(derivatives):
    d = BlackBox()
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.1], Qf=[10.0, 1.0])
    x0, T = np.array([1.0, -0.5]), 15
    plan = ILQR(d, cost, horizon=T, derivatives=derivatives).plan(x0)
    assert plan.status == "converged", plan.diagnostics["reason"]
    A, B = d.inner.matrices()
    K, _ = finite_horizon_lqr(A, B, cost.Q, cost.R, cost.Qf, T)
    x, U = x0, []
    for t in range(T):
        U.append(K[t] @ x)
        x = A @ x + B @ U[-1]
    np.testing.assert_allclose(plan.actions, np.array(U), atol=1e-5)


def _unicycle():
    s = Unicycle(max_speed=np.inf, max_turn_rate=np.inf)
    return s, QuadraticCost(Q=[10.0, 10.0, 10.0], R=[1.0, 1.0], Qf=[10.0, 10.0, 10.0]), np.array([-1.0, -1.0, 1.0])


def test_ilqr_converged_means_its_first_order_condition_holds_else_stalled():
    s, cost, x0 = _unicycle()
    loose = ILQR(s, cost, horizon=20).plan(x0)  # default tol stops improving before grad_tol holds
    assert loose.status == "stalled" and loose.diagnostics["step_norm"] >= 1e-5
    for grad_tol in (1e-5, 1e-7):
        plan = ILQR(s, cost, horizon=20, tol=1e-12, grad_tol=grad_tol, max_iterations=300).plan(x0)
        assert plan.status in ("converged", "stalled")
        if plan.status == "converged":
            assert plan.diagnostics["step_norm"] < grad_tol


# ------------------------------------------------------------------ a source numba and casadi cannot handle
@dataclass(frozen=True)
class SigParams:
    dt: float = 0.1


P = param_index(SigParams)


def sigmoid_dynamics(x, u, p, out):
    out[0] = x[0] + p[P.dt] * x[1]
    out[1] = x[1] + p[P.dt] * (expit(u[0]) - 0.5)


class Sigmoid(AnalyticSystem):
    Params = SigParams
    dynamics_source = staticmethod(sigmoid_dynamics)

    def __init__(self):
        super().__init__(SigParams(), action_low=-3, action_high=3, dt=0.1, state_dim=2, action_dim=1)


def test_ilqr_on_a_source_numba_and_casadi_cannot_trace_falls_back_with_one_warning():
    s, cost = Sigmoid(), QuadraticCost(Q=[1.0, 1.0], R=[0.01], Qf=[10.0, 10.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        planner = ILQR(s, cost, horizon=10)
        plan = planner.plan(np.array([1.0, 0.0]))
    ours = [w for w in caught if issubclass(w.category, (RuntimeWarning, FutureWarning, UserWarning))
            and "iLQR" not in str(w.message)]
    assert len(ours) == 1 and "casadi cannot differentiate the sources of Sigmoid" in str(ours[0].message)
    assert planner.derivatives_method in ("torch", "fd")
    zero = float(s.rollout(np.array([1.0, 0.0]), np.zeros((1, 10, 1)), cost).costs[0])
    assert np.all(np.isfinite(plan.actions)) and plan.cost < zero


def test_ddp_keeps_the_step_it_computed_and_matches_ipopt_on_the_unicycle():
    # crocoddyl's unicycle example: weights 10 on the state and 1 on the controls, T = 20, x0 = (-1, -1, 1)
    from planlab.planners import NLPPlanner

    s = Unicycle(max_speed=np.inf, max_turn_rate=np.inf)
    cost = QuadraticCost(Q=[100.0] * 3, R=[1.0, 1.0], Qf=[100.0] * 3)
    x0 = np.array([-1.0, -1.0, 1.0])
    ref = NLPPlanner(s, cost, horizon=20).plan(x0)
    plan = ILQR(s, cost, horizon=20, ddp=True).plan(x0)
    assert plan.status == "converged" and ref.status == "converged"
    np.testing.assert_allclose(plan.actions, ref.actions, atol=1e-9)
