"""Augmented-Lagrangian box-DDP: QP and Riccati references, plan-time parameters, statuses and errors."""

import numpy as np
import pytest
import scipy.optimize

from planlab.core.constraints import Constraints, circle_obstacles, state_box
from planlab.core.tracking import TrackingCost
from planlab.dynamics import DoubleIntegrator, Unicycle
from planlab.planners.trajopt import lqr_tracking
from planlab.planners.trajopt.constrained import STATUS_INFEASIBLE, ConstrainedILQR
from planlab.planners.trajopt.stagewise import build_count

T = 15
Q, R, QF = [1.0, 0.1], [0.01], [10.0, 1.0]


@pytest.fixture
def casadi_path(monkeypatch):
    """Evaluate through casadi (no numba compilation of a generated module: quick tests)."""
    monkeypatch.setenv("PLANLAB_DISABLE_NUMBA", "1")


def _system():
    return DoubleIntegrator(accel_max=100.0)


def _linear_map(system, x0):
    """``X(U) = X0 + G U`` of the linear double integrator, from unit-input rollouts."""
    nu = system.action_dim
    base = system.rollout(x0, np.zeros((1, T, nu))).states[0]
    G = np.empty((T + 1, system.state_dim, T * nu))
    for j in range(T * nu):
        e = np.zeros(T * nu)
        e[j] = 1.0
        G[:, :, j] = system.rollout(x0, e.reshape(1, T, nu)).states[0] - base
    return base, G


def _qp_reference(system, cost, x0, vmax):
    """scipy's SLSQP on the condensed QP: min J(U) s.t. v_t(U) <= vmax, t = 0..T."""
    base, G = _linear_map(system, x0)
    q, r, qf = np.array(Q), np.array(R), np.array(QF)
    xr = cost.table.get(cost.params, "x_ref")

    def fun(u):
        X = base + G @ u
        E = X - xr
        return 0.5 * np.sum(q * E[:T] ** 2) + 0.5 * np.sum(r * u ** 2) + 0.5 * np.sum(qf * E[T] ** 2)

    def jac(u):
        X = base + G @ u
        E = X - xr
        W = np.vstack([np.tile(q, (T, 1)), qf[None]])
        return np.einsum("ti,tij->j", W * E, G) + r[0] * u

    cons = {"type": "ineq", "fun": lambda u: vmax - (base[:, 1] + G[:, 1] @ u), "jac": lambda u: -G[:, 1]}
    res = scipy.optimize.minimize(fun, np.zeros(T), jac=jac, constraints=[cons], method="SLSQP",
                                  options={"ftol": 1e-13, "maxiter": 500})
    assert res.success, res.message
    return res.x, res.fun


def test_al_ilqr_equals_qp_solution_with_active_linear_inequality(casadi_path):
    system = _system()
    cost = TrackingCost(T, Q=Q, R=R, Qf=QF, x_ref=[1.0, 0.0])
    vmax = 0.3
    speed = state_box(2, 1, T, [1], low=[-10.0], high=[vmax])
    x0 = np.zeros(2)
    plan = ConstrainedILQR(system, cost, constraints=speed).plan(x0)
    u_ref, j_ref = _qp_reference(system, cost, x0, vmax)
    assert plan.status == "converged"
    assert plan.diagnostics["violation"] <= 1e-6
    assert plan.states[:, 1].max() > vmax - 1e-6  # the constraint is active
    np.testing.assert_allclose(plan.actions[:, 0], u_ref, atol=2e-5)
    assert abs(plan.cost - j_ref) <= 1e-6 * abs(j_ref)
    lam = plan.diagnostics["multipliers"]["stage"]
    assert lam.max() > 0 and plan.diagnostics["penalty"] > 0


def test_inactive_constraint_changes_nothing(casadi_path):
    system = _system()
    cost = TrackingCost(T, Q=Q, R=R, Qf=QF, x_ref=[1.0, 0.0])
    free = ConstrainedILQR(system, cost).plan(np.zeros(2))
    loose = ConstrainedILQR(system, cost, constraints=state_box(2, 1, T, [1], low=[-10.0], high=[10.0]))
    plan = loose.plan(np.zeros(2))
    np.testing.assert_allclose(plan.actions, free.actions, atol=1e-10)
    assert plan.diagnostics["outer_iterations"] == 1
    assert np.all(plan.diagnostics["multipliers"]["stage"] == 0.0)


def test_time_varying_tracking_equals_finite_horizon_riccati(casadi_path):
    system = _system()
    t = np.arange(T + 1) * system.dt
    x_ref = np.column_stack([np.sin(2 * t), 2 * np.cos(2 * t)])
    u_ref = 0.1 * np.cos(t[:T])[:, None]
    cost = TrackingCost(T, Q=Q, R=R, Qf=QF, x_ref=x_ref, u_ref=u_ref)
    x0 = np.array([0.3, -0.2])
    plan = ConstrainedILQR(system, cost).plan(x0)
    A, B = system.linearize(np.zeros(2), np.zeros(1))
    policy = lqr_tracking(A, B, np.diag(Q), np.diag(R), np.diag(QF), x_ref, u_ref)
    X, U = [x0], []
    for k in range(T):
        U.append(policy.act_at(k, X[-1]))
        X.append(system.step(X[-1], U[-1]))
    np.testing.assert_allclose(plan.actions, np.array(U), atol=1e-6)
    np.testing.assert_allclose(plan.states, np.array(X), atol=1e-6)


def test_params_between_plans_change_the_plan_without_rebuilding(casadi_path):
    system = _system()
    cost = TrackingCost(T, Q=Q, R=R, Qf=QF, x_ref=[1.0, 0.0])
    planner = ConstrainedILQR(system, cost, constraints=state_box(2, 1, T, [1], low=[-10.0], high=[0.3]))
    first = planner.plan(np.zeros(2))
    builds = build_count()
    moved = planner.plan(np.zeros(2), params={"x_ref": [-1.0, 0.0], "high": [0.2], "low": [-0.25]})
    assert build_count() == builds
    assert not np.allclose(moved.actions, first.actions)
    assert moved.states[:, 1].min() >= -0.25 - 1e-6 and moved.diagnostics["violation"] <= 1e-6
    fresh = ConstrainedILQR(system, TrackingCost(T, Q=Q, R=R, Qf=QF, x_ref=[-1.0, 0.0]),
                            constraints=state_box(2, 1, T, [1], low=[-0.25], high=[0.2])).plan(np.zeros(2))
    np.testing.assert_allclose(moved.actions, fresh.actions, atol=1e-6)


def test_infeasible_constraints_give_a_status_not_nan(casadi_path):
    system = Unicycle()
    cost = TrackingCost(10, Q=[1.0, 1.0, 0.1], R=[0.01, 0.01], Qf=[10.0, 10.0, 1.0], x_ref=[1.0, 0.0, 0.0])
    # the start lies inside the disc: no control can repair x_0
    disc = circle_obstacles(3, 2, 10, centres=[[0.0, 0.0]], radii=[0.5])
    with pytest.warns(RuntimeWarning, match="infeasible"):
        plan = ConstrainedILQR(system, cost, constraints=disc, penalty_max=1e4).plan(np.zeros(3))
    assert plan.status == STATUS_INFEASIBLE
    assert np.all(np.isfinite(plan.actions)) and np.isfinite(plan.cost)
    assert plan.diagnostics["violation"] == pytest.approx(0.25)


def test_compiled_kernels_equal_casadi_evaluation(monkeypatch):
    system = _system()
    make = lambda: ConstrainedILQR(system, TrackingCost(T, Q=Q, R=R, Qf=QF, x_ref=[1.0, 0.0]),  # noqa: E731
                                   constraints=state_box(2, 1, T, [1], low=[-10.0], high=[0.3]))
    compiled = make()
    monkeypatch.setenv("PLANLAB_DISABLE_NUMBA", "1")
    plain = make()
    assert compiled.model.compiled and not plain.model.compiled
    a, b = compiled.plan(np.zeros(2)), plain.plan(np.zeros(2))
    np.testing.assert_allclose(a.actions, b.actions, atol=1e-9)
    assert a.diagnostics["iterations"] == b.diagnostics["iterations"]
    # new parameters (and a warm start) reuse the compiled code: no new numba specialisation, no new build
    k = compiled.model.fns.kernels
    sigs = {n: len(getattr(k, n).signatures) for n in ("derivatives", "forward", "line_search", "constraint_values")}
    builds = build_count()
    c = compiled.plan(np.zeros(2), a.actions, params={"x_ref": [0.5, 0.0], "high": [0.1]})
    assert c.diagnostics["violation"] <= 1e-6 and not np.allclose(c.actions, a.actions)
    assert {n: len(getattr(k, n).signatures) for n in sigs} == sigs and build_count() == builds
    # another time step and control box are inputs too: the same compiled module serves them
    monkeypatch.delenv("PLANLAB_DISABLE_NUMBA")
    other = ConstrainedILQR(DoubleIntegrator(dt=0.05, accel_max=0.5), TrackingCost(T, Q=Q, R=R, Qf=QF),
                            constraints=state_box(2, 1, T, [1], low=[-10.0], high=[0.3]))
    assert other.model.fns.kernels is k
    p = other.plan(np.array([1.0, 0.0]))
    assert np.all(np.abs(p.actions) <= 0.5) and p.status == "converged"


def test_bad_inputs_raise_clear_errors(casadi_path):
    system = _system()
    with pytest.raises(ValueError, match=r"x_ref.*expected shape \(2,\), \(15, 2\) or \(16, 2\), got \(7, 2\)"):
        TrackingCost(T, Q=Q, R=R, x_ref=np.zeros((7, 2)))

    def three_outputs(x, u, p, out):
        out[0], out[1], out[2] = x[0], x[1], u[0]

    with pytest.raises(ValueError, match="stage: wrote output 2, but the constraint declares 2 outputs"):
        Constraints(2, 1, T, stage=three_outputs, n_stage=2)
    with pytest.raises(ValueError, match=r"stage: expected 4 outputs, but outputs \[3\] were never written"):
        Constraints(2, 1, T, stage=three_outputs, n_stage=4)
    cost = TrackingCost(T, Q=Q, R=R)
    planner = ConstrainedILQR(system, cost)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['target'\]"):
        planner.plan(np.zeros(2), params={"target": [1.0, 0.0]})
    with pytest.raises(ValueError, match="constraints: expected horizon 15, got 5"):
        ConstrainedILQR(system, cost, constraints=state_box(2, 1, 5, [1], low=[-1.0], high=[1.0]))


def _reach(x, p, out):
    out[0] = x[0] - p[0]
    out[1] = x[1] - p[1]


def test_terminal_equality_equals_the_kkt_solution(casadi_path):
    system = _system()
    cost = TrackingCost(T, Q=Q, R=R, x_ref=[0.0, 0.0])  # no terminal weight: the equality decides x_T
    reach = Constraints(2, 1, T, terminal_equality=_reach, n_equality=2, fields=(("goal", 2),),
                        values={"goal": [1.0, 0.0]})
    x0 = np.array([0.2, 0.0])
    plan = ConstrainedILQR(system, cost, constraints=reach).plan(x0)
    # KKT system of min 1/2 u'Hu + h'u s.t. C u = d (the condensed problem)
    base, G = _linear_map(system, x0)
    W = np.vstack([np.tile(Q, (T, 1)), np.zeros((1, 2))])
    Hm = np.einsum("ti,tij,tik->jk", W, G, G) + R[0] * np.eye(T)
    hv = np.einsum("ti,ti,tij->j", W, base, G)
    C, d = G[T], np.array([1.0, 0.0]) - base[T]
    kkt = np.block([[Hm, C.T], [C, np.zeros((2, 2))]])
    u_ref = np.linalg.solve(kkt, np.concatenate([-hv, d]))[:T]
    assert plan.status == "converged" and plan.diagnostics["violation"] <= 1e-6
    np.testing.assert_allclose(plan.actions[:, 0], u_ref, atol=1e-5)
    np.testing.assert_allclose(plan.states[-1], [1.0, 0.0], atol=1e-6)
    assert np.all(plan.diagnostics["multipliers"]["equality"] != 0.0)


def test_constrained_ilqr_meets_the_planner_contract_and_is_lq_optimal():
    from planlab.testing import check_planner

    check_planner(lambda d, c, h, s: ConstrainedILQR(d, c, h, compiled=False, seed=s), lq_factor=1 + 1e-6,
                  max_examples=5)


def test_mpc_follows_a_moving_reference_within_the_limit_without_rebuilding(casadi_path):
    from planlab.planners.mpc import MPC

    system = _system()
    cost = TrackingCost(T, Q=[10.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    planner = ConstrainedILQR(system, cost, constraints=state_box(2, 1, T, [1], low=[-0.28], high=[0.28]))
    mpc = MPC(planner)
    x, builds, errors, speeds = np.zeros(2), build_count(), [], []
    for k in range(40):
        t = system.dt * (k + np.arange(T + 1))
        ref = np.column_stack([0.5 * np.sin(0.5 * t), 0.25 * np.cos(0.5 * t)])  # speed <= 0.25 < 0.28
        planner.set_params(x_ref=ref)
        x = system.step(x, mpc.act(x))
        speeds.append(abs(x[1]))
        errors.append(abs(x[0] - 0.5 * np.sin(0.5 * system.dt * (k + 1))))
    assert build_count() == builds
    assert 0.28 - 1e-6 <= max(speeds) <= 0.28 + 1e-6  # catching up from rest runs into the limit
    assert max(errors[20:]) < 1e-3  # then locked on the moving target
