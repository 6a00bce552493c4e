"""iLQR / DDP / box-DDP: LQR (finite-horizon Riccati) and IPOPT as references, derivative sources
cross-checked, and the contract's invariants (bounds, monotone cost, status instead of NaN)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from planlab.benchmarks.trajopt import swingup_problem
from planlab.core import STATUS_CONVERGED, STATUS_FAILED, STATUS_MAX_ITERATIONS, Dynamics, QuadraticCost
from planlab.dynamics import CartPole, DoubleIntegrator, Pendulum
from planlab.envs.models import model_for
from planlab.planners import MPC
from planlab.planners.trajopt.derivatives import make_trajectory_model
from planlab.planners.trajopt.ilqr import ILQR
from planlab.planners.trajopt.lqr import finite_horizon_lqr
from planlab.planners.trajopt.nlp import NLPPlanner


class TorchCartPole(Dynamics):
    """CartPole seen only through ``step`` / ``step_torch`` (no casadi source): autograd derivatives."""

    has_torch = True

    def __init__(self, inner):
        super().__init__(4, 1, inner.action_low, inner.action_high, inner.dt)
        self.inner = inner

    def step(self, x, u, rng=None):
        return self.inner.step(x, u)

    def step_torch(self, x, u):
        return self.inner.step_torch(x, u)


class BlackBoxCartPole(Dynamics):
    """CartPole as a black box: only the batched numpy ``step`` (finite-difference derivatives)."""

    def __init__(self, inner):
        super().__init__(4, 1, inner.action_low, inner.action_high, inner.dt)
        self.inner = inner

    def step(self, x, u, rng=None):
        return self.inner.step(x, u)


#: solve to high accuracy where solutions (not only costs) are compared with IPOPT's (a step norm of 1e-7
#: is what float64 reaches on the swing-up before the improvement drops below tol: "converged" certifies it)
TIGHT = dict(tol=1e-12, grad_tol=1e-7, max_iterations=500)


@pytest.fixture(scope="module")
def swingup():
    system, cost, x0, T = swingup_problem(bounded=False)
    plan = ILQR(system, cost, horizon=T, control_limits=False, **TIGHT).plan(x0)
    return system, cost, x0, T, plan


@pytest.fixture(scope="module")
def swingup_bounded():
    system, cost, x0, T = swingup_problem(bounded=True)
    plan = ILQR(system, cost, horizon=T, **TIGHT).plan(x0)
    return system, cost, x0, T, plan


# ------------------------------------------------------------------ linear-quadratic problem
def test_ilqr_equals_lqr_on_linear_quadratic_problem():
    system = DoubleIntegrator(n=2, dt=0.1, accel_max=1e6)
    cost = QuadraticCost(Q=[1.0, 2.0, 0.1, 0.2], R=[0.1, 0.3], Qf=[10.0, 10.0, 1.0, 1.0])
    x0 = np.array([1.0, -2.0, 0.5, 0.3])
    T = 40
    plan = ILQR(system, cost, horizon=T).plan(x0)
    assert plan.status == STATUS_CONVERGED
    assert len(plan.diagnostics["cost_history"]) == 2  # the start and one accepted step
    A, B = system.matrices()
    K, _ = finite_horizon_lqr(A, B, cost.Q, cost.R, cost.Qf, T)
    x, U = x0, []
    for t in range(T):
        U.append(K[t] @ x)
        x = A @ x + B @ U[-1]
    np.testing.assert_allclose(plan.actions, np.array(U), atol=1e-10)
    np.testing.assert_allclose(plan.diagnostics["policy"].K, K, atol=1e-10)


# ------------------------------------------------------------------ swing-up against IPOPT
def test_ilqr_swingup_reaches_ipopts_optimum(swingup):
    system, cost, x0, T, plan = swingup
    ref = NLPPlanner(system, cost, horizon=T).plan(x0)
    assert plan.status == STATUS_CONVERGED and ref.status == STATUS_CONVERGED
    opt = ref.diagnostics["nlp_objective"]
    assert abs(plan.cost - opt) <= 1e-3 * abs(opt)
    np.testing.assert_allclose(plan.actions, ref.actions, atol=1e-4)


def test_box_ddp_never_violates_bounds_and_matches_ipopts_bounded_optimum(swingup_bounded):
    system, cost, x0, T, plan = swingup_bounded
    assert plan.status == STATUS_CONVERGED
    assert np.all(plan.actions >= -5.0) and np.all(plan.actions <= 5.0)
    assert np.isclose(np.abs(plan.actions).max(), 5.0)  # the bound is active, not ignored
    for step_plan in plan.diagnostics["cost_history"]:
        assert np.isfinite(step_plan)
    ref = NLPPlanner(system, cost, horizon=T).plan(x0)
    opt = ref.diagnostics["nlp_objective"]
    assert ref.status == STATUS_CONVERGED
    assert abs(plan.cost - opt) <= 1e-3 * abs(opt)
    np.testing.assert_allclose(plan.actions, ref.actions, atol=1e-4)


@pytest.mark.parametrize("seed", range(4))
def test_box_ddp_iterates_stay_in_the_box(seed):
    """Every accepted iterate respects the bounds: stop after 1..n iterations and look."""
    system, cost, x0, T = swingup_problem(bounded=True, force_bound=3.0)
    rng = np.random.default_rng(seed)
    U0 = rng.uniform(-6.0, 6.0, size=(T, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plan = ILQR(system, cost, horizon=T, max_iterations=int(rng.integers(1, 30))).plan(x0, U0)
    assert np.all(np.abs(plan.actions) <= 3.0)


@pytest.mark.parametrize("bounded,ddp", [(False, False), (True, False), (False, True)])
def test_accepted_iterations_never_increase_the_cost(bounded, ddp):
    system, cost, x0, T = swingup_problem(bounded=bounded)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plan = ILQR(system, cost, horizon=T, ddp=ddp, control_limits=bounded, max_iterations=300).plan(x0)
    h = np.array(plan.diagnostics["cost_history"])
    assert len(h) > 10
    assert np.all(np.diff(h) < 0.0)
    assert plan.cost == h[-1]


@pytest.mark.parametrize("seed", range(3))
def test_accepted_iterations_never_increase_the_cost_on_pendulum(seed):
    system = Pendulum()
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    x0 = np.random.default_rng(seed).uniform([-np.pi, -1.0], [np.pi, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plan = ILQR(system, cost, horizon=60).plan(x0)
    h = np.array(plan.diagnostics["cost_history"])
    assert np.all(np.diff(h) < 0.0)
    assert np.all(np.abs(plan.actions) <= system.action_high)


def test_plan_cost_equals_the_models_rollout_cost(swingup_bounded):
    system, cost, x0, T, plan = swingup_bounded
    roll = system.rollout(x0, plan.actions[None], cost)
    assert plan.cost == pytest.approx(float(roll.costs[0]), rel=1e-12)
    np.testing.assert_allclose(plan.states, roll.states[0], atol=1e-12)


# ------------------------------------------------------------------ time-varying policy
@pytest.mark.parametrize("which", ["swingup", "swingup_bounded"])
def test_tv_policy_reproduces_the_optimal_trajectory(which, request):
    system, cost, x0, T, plan = request.getfixturevalue(which)
    policy = plan.diagnostics["policy"]
    X, U = policy.rollout(system, x0)
    np.testing.assert_allclose(U, plan.actions, atol=1e-12)
    np.testing.assert_allclose(X, plan.states, atol=1e-12)
    policy.reset()
    x = x0.copy()
    for t in range(T):
        u = policy.act(x)
        x = system.step(x, u)
    np.testing.assert_allclose(x, plan.states[-1], atol=1e-12)


def test_tv_policy_feedback_beats_open_loop_under_a_start_perturbation(swingup):
    system, cost, x0, T, plan = swingup
    x0p = x0 + np.array([0.0, 0.0, 0.01, 0.0])
    X_fb, U_fb = plan.diagnostics["policy"].rollout(system, x0p)
    open_loop = system.rollout(x0p, plan.actions[None], cost)
    closed = cost.trajectory_cost(X_fb, U_fb)
    assert closed < open_loop.costs[0]
    assert np.abs(X_fb[-1]).max() < 0.05


# ------------------------------------------------------------------ derivative sources
def test_torch_and_finite_difference_derivatives_equal_casadis():
    system, cost, _, _ = swingup_problem()
    rng = np.random.default_rng(0)
    T = 8
    X = rng.normal(size=(T + 1, 4))
    U = rng.normal(size=(T, 1))
    out = {}
    for name, dyn in (("casadi", system), ("torch", TorchCartPole(system)), ("fd", BlackBoxCartPole(system))):
        m = make_trajectory_model(dyn, cost)
        assert m.method == name
        O = np.empty((T, m.n_packed))
        OT = np.empty(4 + 16)
        assert m.derivatives(X, U, O, OT)
        out[name] = (O, OT)
    np.testing.assert_allclose(out["torch"][0], out["casadi"][0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out["torch"][1], out["casadi"][1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out["fd"][0], out["casadi"][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["fd"][1], out["casadi"][1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("wrapper,method", [(TorchCartPole, "torch"), (BlackBoxCartPole, "fd")])
def test_torch_and_black_box_models_reach_the_casadi_solution(swingup, wrapper, method):
    system, cost, x0, T, plan = swingup
    planner = ILQR(wrapper(system), cost, horizon=T, control_limits=False, **TIGHT)
    assert planner.derivatives_method == method
    other = planner.plan(x0)
    assert other.status == STATUS_CONVERGED
    assert other.cost == pytest.approx(plan.cost, rel=1e-7)
    np.testing.assert_allclose(other.actions, plan.actions, atol=1e-3)


# ------------------------------------------------------------------ DDP
def test_ddp_converges_quadratically_near_the_optimum(swingup):
    """Full DDP is Newton's method on the controls: from a near-optimal start it needs far fewer
    iterations than Gauss-Newton iLQR, and both end at the same cost."""
    from planlab.planners.trajopt.policy import TimeVaryingLinearPolicy

    system, cost, x0, T, plan = swingup
    pol = plan.diagnostics["policy"]
    _, U0 = TimeVaryingLinearPolicy(pol.K, 0.5 * np.sin(np.arange(T))[:, None], pol.x_ref, pol.u_ref).rollout(system, x0)
    kw = dict(horizon=T, control_limits=False, tol=1e-12, grad_tol=1e-9)
    ddp = ILQR(system, cost, ddp=True, **kw).plan(x0, U0)
    gn = ILQR(system, cost, ddp=False, **kw).plan(x0, U0)
    assert ddp.cost == pytest.approx(gn.cost, rel=1e-10)
    assert ddp.diagnostics["iterations"] <= 5 < gn.diagnostics["iterations"]


def test_ddp_needs_second_derivatives():
    with pytest.raises(ValueError, match="ddp"):
        ILQR(BlackBoxCartPole(CartPole()), QuadraticCost(Q=np.ones(4), R=[0.1]), horizon=10, ddp=True)


# ------------------------------------------------------------------ MPC
def test_ilqr_mpc_balances_the_cartpole_with_warm_starts():
    system = CartPole(dt=0.05)
    cost = QuadraticCost(Q=[1.0, 0.1, 10.0, 0.1], R=[0.01], Qf=[10.0, 1.0, 100.0, 1.0])
    planner = ILQR(system, cost, horizon=30, max_iterations=20)
    mpc = MPC(planner)
    x = np.array([0.2, 0.0, 0.3, 0.0])
    iterations = []
    for _ in range(60):
        u = mpc.act(x)
        iterations.append(mpc.last_plan.diagnostics["iterations"])
        x = system.step(x, u)
    assert np.all(np.abs(x) < 0.05)
    assert np.mean(iterations[1:]) < iterations[0]  # the shifted plan is a good start


# ------------------------------------------------------------------ failures become statuses
class NaNModel(Dynamics):
    def __init__(self):
        super().__init__(1, 1, -1.0, 1.0, 0.1)

    def step(self, x, u, rng=None):
        return np.full(np.broadcast_shapes(np.shape(x), np.shape(u)), np.nan)


def test_non_finite_model_gives_failed_status_not_nan():
    planner = ILQR(NaNModel(), QuadraticCost(Q=[1.0], R=[1.0], Qf=[1.0]), horizon=5)
    with pytest.warns(RuntimeWarning, match="not finite"):
        plan = planner.plan(np.array([1.0]))
    assert plan.status == STATUS_FAILED
    assert np.all(np.isfinite(plan.actions))


def test_iteration_limit_gives_max_iterations_status_and_warning():
    system, cost, x0, T = swingup_problem()
    with pytest.warns(RuntimeWarning, match="max_iterations"):
        plan = ILQR(system, cost, horizon=T, max_iterations=3).plan(x0)
    assert plan.status == STATUS_MAX_ITERATIONS
    assert np.isfinite(plan.cost) and np.all(np.isfinite(plan.actions))


# ------------------------------------------------------------------ bad input
def test_bad_input_raises_clear_errors():
    system, cost, x0, T = swingup_problem()
    planner = ILQR(system, cost, horizon=T)
    with pytest.raises(ValueError, match="x0: expected finite"):
        planner.plan(np.array([0.0, np.nan, np.pi, 0.0]))
    with pytest.raises(ValueError, match=r"x0: expected shape \(4,\)"):
        planner.plan(np.zeros(3))
    with pytest.raises(ValueError, match=r"warm_start: expected shape \(100, 1\)"):
        planner.plan(x0, np.zeros((99, 1)))
    with pytest.raises(ValueError, match="derivatives: expected one of"):
        ILQR(system, cost, horizon=T, derivatives="magic")
    with pytest.raises(ValueError, match="derivatives: 'casadi' needs"):
        ILQR(BlackBoxCartPole(system), cost, horizon=T, derivatives="casadi")
    with pytest.raises(ValueError, match="alphas"):
        ILQR(system, cost, horizon=T, alphas=[1.0, 2.0])
    with pytest.raises(ValueError, match="horizon"):
        ILQR(system, cost, horizon=0)
    dynamics, gym_cost = model_for("CartPole-v1")
    with pytest.raises(TypeError, match="continuous actions"):
        ILQR(dynamics, gym_cost, horizon=10)
    with pytest.raises(ValueError, match="Q: expected a square matrix"):
        QuadraticCost(Q=np.ones((4, 3)), R=[0.1])
    with pytest.raises(ValueError, match="R: expected a positive semidefinite"):
        QuadraticCost(Q=np.ones(4), R=[-0.1])


# ------------------------------------------------------------------ CLI
@pytest.mark.parametrize("planner,extra", [("ilqr", ["--max-iterations", "20"]), ("lqr", []), ("nlp", ["--max-iterations", "200"])])
def test_cli_runs_the_derivative_planners(planner, extra, capsys):
    import json

    from planlab.cli import main

    code = main(["run", "--env", "planlab/CartPoleSwingup-v0", "--planner", planner, "--horizon", "20", "--steps", "30",
                 "--x0", "0,0,0.1,0", "--json", *extra])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["planner"] == planner and out["steps"] == 30
    assert abs(out["final_state"][2]) < 0.1  # still balancing


def test_cli_rejects_max_iterations_for_lqr(capsys):
    from planlab.cli import main

    code = main(["run", "--env", "planlab/CartPoleSwingup-v0", "--planner", "lqr", "--max-iterations", "3", "--steps", "2"])
    assert code == 2
    assert "--max-iterations: not an option of planner 'lqr'" in capsys.readouterr().err


# ------------------------------------------------------------------ the box QP itself, and several controls
@pytest.mark.parametrize("seed", range(20))
def test_box_qp_matches_scipy_bounded_minimiser(seed):
    from scipy.optimize import minimize

    from planlab.planners.trajopt.boxqp import box_qp

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    M = rng.normal(size=(n, n))
    H = M @ M.T + 0.1 * np.eye(n)
    g = 3.0 * rng.normal(size=n)
    lo = -rng.uniform(0.1, 1.0, size=n)
    hi = rng.uniform(0.1, 1.0, size=n)
    x = np.empty(n)
    free = np.empty(n, dtype=np.bool_)
    L = np.empty((n, n))
    code = box_qp(H, g, lo, hi, np.zeros(n), x, free, L)
    assert code in (1, 2)
    ref = minimize(lambda z: 0.5 * z @ H @ z + g @ z, np.zeros(n), jac=lambda z: H @ z + g,
                   bounds=list(zip(lo, hi)), method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-12})
    np.testing.assert_allclose(x, ref.x, atol=1e-6)
    grad = H @ x + g
    clamped = ((x == lo) & (grad > 0)) | ((x == hi) & (grad < 0))
    np.testing.assert_array_equal(free, ~clamped)
    if free.any():
        Hf = H[np.ix_(free, free)]
        nf = int(free.sum())
        np.testing.assert_allclose(L[:nf, :nf] @ L[:nf, :nf].T, Hf, atol=1e-10)


def test_box_ddp_with_two_controls_matches_ipopt():
    system = DoubleIntegrator(n=2, dt=0.1, accel_max=0.5)
    cost = QuadraticCost(Q=[1.0, 1.0, 0.1, 0.1], R=[0.01, 0.01], Qf=[50.0, 50.0, 5.0, 5.0], x_goal=[1.0, -2.0, 0.0, 0.0])
    x0 = np.zeros(4)
    plan = ILQR(system, cost, horizon=40, **TIGHT).plan(x0)
    ref = NLPPlanner(system, cost, horizon=40).plan(x0)
    assert plan.status == STATUS_CONVERGED and ref.status == STATUS_CONVERGED
    assert np.all(np.abs(plan.actions) <= 0.5)
    assert np.sum(np.isclose(np.abs(plan.actions), 0.5)) > 5  # both axes hit the bound
    assert plan.cost == pytest.approx(ref.diagnostics["nlp_objective"], rel=1e-6)
    np.testing.assert_allclose(plan.actions, ref.actions, atol=1e-4)


def test_generated_derivatives_equal_casadis_for_dense_wrapped_quadratic_costs():
    """The kernel's QuadraticCost derivatives (dense Q, goals, a wrapped angle) are casadi's numbers."""
    system = CartPole(dt=0.03)
    rng = np.random.default_rng(3)
    M = rng.normal(size=(4, 4))
    cost = QuadraticCost(Q=M @ M.T, R=[0.2], Qf=M.T @ M, x_goal=[0.5, 0.0, 0.3, 0.0], u_goal=[1.0],
                         angle_indices=[2])
    m = make_trajectory_model(system, cost)
    T = 6
    X = rng.normal(size=(T + 1, 4)) * 3.0
    U = rng.normal(size=(T, 1))
    O = np.empty((T, m.n_packed))
    OT = np.empty(20)
    m.derivatives(X, U, O, OT)
    sym = system.symbolic(cost)
    d = m.unpack(O)
    for t in range(T):
        A, B = sym.linearize(X[t], U[t])
        _, lx, lu, lxx, luu, lux = sym.cost_derivatives(X[t], U[t])
        for name, ref in (("A", A), ("B", B), ("lx", lx), ("lu", lu), ("lxx", lxx), ("luu", luu), ("lux", lux)):
            np.testing.assert_allclose(d[name][t], ref, rtol=1e-12, atol=1e-12, err_msg=name)
    _, gT, hT = sym.terminal_derivatives(X[T])
    np.testing.assert_allclose(OT[:4], gT, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(OT[4:].reshape(4, 4), hT, rtol=1e-12, atol=1e-12)


def test_new_weights_and_time_step_reuse_the_compiled_kernels():
    a = make_trajectory_model(CartPole(dt=0.05), QuadraticCost(Q=np.ones(4), R=[0.01]))
    b = make_trajectory_model(CartPole(dt=0.02, force_max=3.0),
                              QuadraticCost(Q=[2.0, 1.0, 5.0, 1.0], R=[1.0], x_goal=[1.0, 0, 0, 0], angle_indices=[2]))
    assert a.kernels is b.kernels
