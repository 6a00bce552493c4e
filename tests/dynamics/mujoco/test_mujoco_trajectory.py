"""iLQR's single-trajectory MuJoCo path: C-stepped rollouts and line searches, and a Reacher-v5 reach."""

import warnings

import numpy as np
import pytest

pytest.importorskip("mujoco", reason="MuJoCo tests need the optional extra: pip install planlab[mujoco]")
gymnasium = pytest.importorskip("gymnasium")

from planlab.core.cost import QuadraticCost  # noqa: E402
from planlab.dynamics.mujoco import MujocoDynamics  # noqa: E402
from planlab.dynamics.mujoco.cost import chain_derivatives  # noqa: E402
from planlab.envs.mujoco_models import GymReacher, ReacherReachCost, ReacherTargetCost  # noqa: E402
from planlab.planners.trajopt import ILQR  # noqa: E402
from planlab.planners.trajopt.derivatives import TrajectoryModel  # noqa: E402

# a two-link arm with large explicit-Euler steps (MuJoCo finds it unstable from a fast start)
ARM = """
<mujoco>
  <option timestep="5" gravity="0 0 -10" integrator="Euler"/>
  <worldbody>
    <body><joint name="shoulder" type="hinge" axis="0 1 0"/>
      <inertial pos="0 0 0.5" mass="1" diaginertia="0.08 0.08 0.08"/>
      <body pos="0 0 1"><joint name="elbow" type="hinge" axis="0 1 0" damping="0.1"/>
        <inertial pos="0 0 0.4" mass="0.5" diaginertia="0.02 0.02 0.02"/></body>
    </body>
  </worldbody>
  <actuator><motor joint="shoulder"/><motor joint="elbow"/></actuator>
</mujoco>
"""

ALPHAS = 10.0 ** np.linspace(0.0, -3.0, 11)


@pytest.fixture(scope="module")
def reacher():
    dyn = GymReacher(nthread=1)
    env = gymnasium.make("Reacher-v5")
    env.reset(seed=3)
    x0 = np.concatenate([env.unwrapped.data.qpos, env.unwrapped.data.qvel])
    env.close()
    return dyn, x0


def _costs(dyn):
    return [ReacherReachCost(dyn), ReacherTargetCost(dyn), QuadraticCost(Q=np.ones(8), R=np.ones(2), Qf=np.ones(8))]


def test_stepper_rollout_equals_the_batched_rollout_states_and_costs(reacher, rng):
    dyn, x0 = reacher
    U = rng.uniform(-1, 1, (7, 2))
    for cost in _costs(dyn):
        X, J = dyn.trajectory_stepper(cost).rollout(x0, U)
        ref = dyn.rollout(x0[None], U[None], cost)
        assert np.array_equal(X, ref.states[0])
        assert J == pytest.approx(float(ref.costs[0]), rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "InvertedDoublePendulum-v5"])
def test_stepper_rollout_equals_simulate_and_the_generic_path_with_contacts_and_termination(env_id, rng):
    from planlab.envs.models import model_for

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a deprecation warning of MuJoCo's compiler on one asset file
        dyn, cost = model_for(env_id)
    env = gymnasium.make(env_id)
    env.reset(seed=1)
    x0 = np.concatenate([env.unwrapped.data.qpos, env.unwrapped.data.qvel])
    env.close()
    stepper, generic = dyn.trajectory_stepper(cost), TrajectoryModel(dyn, cost)
    for _ in range(2):  # the second pass reuses the stepper's MjData
        U = rng.uniform(-1, 1, (8, dyn.action_dim))
        X, J = stepper.rollout(x0, U)
        assert np.array_equal(X, dyn.simulate(x0[None], U[None])[0])
        assert J == pytest.approx(generic.rollout(x0, U)[1], rel=1e-12, abs=1e-12)


def test_stepper_line_search_picks_the_step_and_trajectory_of_the_generic_batched_one(reacher, rng):
    dyn, x0 = reacher
    U = rng.uniform(-0.5, 0.5, (4, 2))
    K = 0.3 * rng.normal(size=(4, 2, 8))
    k = rng.normal(size=(4, 2))
    for cost in _costs(dyn)[::2]:  # a cost reading sensors, and one on the states only
        stepper, generic = dyn.trajectory_stepper(cost), TrajectoryModel(dyn, cost)
        X, J = stepper.rollout(x0, U)
        # candidate costs of all step sizes (closed loop, clipped), from the generic path
        Js = []
        for a in ALPHAS:
            Xn, Un = np.empty_like(X), np.empty_like(U)
            Js.append(generic.line_search(x0, X, U, K, k, np.array([a]), np.inf, 0.0, 0.0, 0.0, Xn, Un)[1])
        # thresholds midway between the candidates: each makes another step size the first acceptable one
        c = np.sort(np.array(Js)[np.isfinite(Js)])
        for J0 in list(0.5 * (c[1:] + c[:-1])) + [c[-1] + 1.0, J]:
            for dV1, zmin in ((0.0, 0.0), (-10.0, 0.5)):
                out_s = (np.empty_like(X), np.empty_like(U))
                out_g = (np.empty_like(X), np.empty_like(U))
                i_s, J_s = stepper.line_search(x0, X, U, K, k, ALPHAS, J0, dV1, 0.0, zmin, *out_s)
                i_g, J_g = generic.line_search(x0, X, U, K, k, ALPHAS, J0, dV1, 0.0, zmin, *out_g)
                assert i_s == i_g
                assert J_s == pytest.approx(J_g, rel=1e-12, abs=1e-12)
                if i_s >= 0:
                    np.testing.assert_allclose(out_s[0], out_g[0], rtol=0, atol=1e-12)
                    np.testing.assert_allclose(out_s[1], out_g[1], rtol=0, atol=1e-12)


def test_an_unstable_simulation_gives_nan_states_and_cost():
    dyn = MujocoDynamics(ARM, nthread=1)
    cost = QuadraticCost(Q=np.ones(4), R=np.ones(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, J = dyn.trajectory_stepper(cost).rollout(np.array([1.0, 2.0, 50.0, -80.0]), np.ones((30, 2)))
        ref = dyn.rollout(np.array([1.0, 2.0, 50.0, -80.0]), np.ones((1, 30, 2)), cost)
    assert np.isnan(J) and np.isnan(ref.costs[0])
    assert np.array_equal(np.isnan(X).any(axis=1), np.isnan(ref.states[0]).any(axis=1))


def test_chain_derivatives_skip_only_inputs_the_cost_does_not_read(reacher, rng):
    # the Reacher costs read the controls and the fingertip/target positions only: skipping the other
    # inputs must not change the derivatives computed over all of them
    from planlab.dynamics.mujoco import cost as cost_module

    dyn, x0 = reacher
    U = rng.uniform(-0.5, 0.5, (3, 2))
    X, _ = dyn.trajectory_stepper(ReacherTargetCost(dyn)).rollout(x0, U)
    A, B = dyn.jacobians(X[:3], U)
    for cost in (ReacherReachCost(dyn), ReacherTargetCost(dyn, squared_distance_weight=5.0)):
        fast = chain_derivatives(cost, X, U, A, B)
        full = _chain_over_all_inputs(cost_module, cost, X, U, A, B)
        for a, b in zip(fast, full):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def _chain_over_all_inputs(cost_module, cost, X, U, A, B):
    every = lambda fun, W: np.arange(W.shape[1])  # noqa: E731
    orig = cost_module._read_columns, cost_module._sensor_state_width
    try:
        cost_module._read_columns = every
        cost_module._sensor_state_width = lambda dyn, rows: dyn.state_dim
        return chain_derivatives(cost, X, U, A, B)
    finally:
        cost_module._read_columns, cost_module._sensor_state_width = orig


def test_ilqr_with_finite_differences_ends_a_reacher_reach_on_the_target_in_gymnasium():
    env = gymnasium.make("Reacher-v5")
    env.reset(seed=0)
    x0 = np.concatenate([env.unwrapped.data.qpos, env.unwrapped.data.qvel])
    dyn = GymReacher(nthread=1, centered_jacobians=False)  # as the benchmark's reach solves
    start = np.linalg.norm(env.unwrapped.get_body_com("fingertip") - env.unwrapped.get_body_com("target"))
    planner = ILQR(dyn, ReacherTargetCost(dyn), horizon=20, max_iterations=40, derivatives="fd", tol=1e-4)
    plan = planner.plan(x0)
    assert plan.diagnostics["derivatives"] == "fd"
    for u in plan.actions:  # the plan acts in gymnasium's own env
        env.step(u)
    end = np.linalg.norm(env.unwrapped.get_body_com("fingertip") - env.unwrapped.get_body_com("target"))
    env.close()
    assert start > 0.05
    assert end < 0.01, (plan.status, end)


@pytest.mark.parametrize("integrator", ["Euler", "RK4"])
def test_forward_difference_jacobians_agree_with_central_ones(integrator, rng):
    # Euler: MuJoCo's mjd_transitionFD with and without centring; RK4: planlab's batched differences
    xml = ARM.replace('timestep="5"', 'timestep="0.01"').replace('integrator="Euler"', f'integrator="{integrator}"')
    d = MujocoDynamics(xml, frame_skip=2, nthread=1, centered_jacobians=False)
    X = rng.normal(size=(3, 4))
    U = rng.normal(size=(3, 2))
    A_f, B_f = d.jacobians(X, U)
    A_c, B_c = d.jacobians(X, U, centered=True)
    assert not np.array_equal(A_f, A_c)  # really another difference scheme
    np.testing.assert_allclose(A_f, A_c, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(B_f, B_c, rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match="centered_jacobians: expected a bool"):
        MujocoDynamics(xml, nthread=1, centered_jacobians="no")


def test_reach_solve_benchmark_rows_report_time_distance_and_success():
    from planlab.benchmarks.mujoco import reach_solves

    rows = reach_solves(1, quick=True)
    assert [r["initial_guess"] for r in rows] == ["zeros", "reach-pd"]
    for row in rows:
        assert row["kind"] == "solve" and row["env"] == "Reacher-v5" and row["planner"] == "ilqr"
        assert row["success"] == (row["final_distance"] < 0.01)
        assert row["solve_ms_cpu"] > 0 and row["solve_ms_wall"] > 0 and row["iterations"] >= 1
        parts = row["cpu_ms_parts"]
        assert {"derivatives", "backward_pass", "line_search"} <= set(parts) and min(parts.values()) >= 0
        assert sum(parts.values()) <= row["solve_ms_cpu"] * 1.01 + 0.5  # parts of the solve, not more
        assert row["grouped_jacobians"] is True
