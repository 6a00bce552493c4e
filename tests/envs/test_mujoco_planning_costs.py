"""Planning costs and `planlab run` settings of the MuJoCo tasks, checked against gymnasium's env."""

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco", reason="MuJoCo tests need the optional extra: pip install planlab[mujoco]")
gymnasium = pytest.importorskip("gymnasium")
scipy_linalg = pytest.importorskip("scipy.linalg")

from planlab.benchmarks.suite.tasks import task_settings  # noqa: E402
from planlab.envs.models import model_for  # noqa: E402
from planlab.envs.mujoco_models import (GymInvertedDoublePendulum, GymReacher, ReacherReachCost,  # noqa: E402
                                        InvertedDoublePendulumBalanceCost, reacher_reached)
from planlab.episodes import run_episode  # noqa: E402
from planlab.planners import MPC, make_planner  # noqa: E402


@pytest.fixture(scope="module")
def idp():
    dyn, cost = model_for("InvertedDoublePendulum-v5")
    return dyn, cost, InvertedDoublePendulumBalanceCost(dyn)


def test_balance_terminal_cost_is_the_lqr_cost_to_go_of_the_linearised_model(idp):
    dyn, _, bal = idp
    A, B = dyn.jacobians(np.zeros(6), np.zeros(1))
    Q, R, P = bal.Q, np.array([[bal.r]]), bal.P
    # Riccati fixed point: P = Q + A'PA - A'PB (R + B'PB)^-1 B'PA
    K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    assert np.allclose(P, Q + A.T @ P @ A - A.T @ P @ B @ K, rtol=1e-8, atol=1e-8 * np.abs(P).max())
    assert np.all(np.linalg.eigvalsh(P) > 0)
    # the cost-to-go of the LQR policy summed along the linear model from a state equals x'Px
    x = np.array([0.02, 0.03, -0.04, 0.0, 0.1, -0.05])
    total, xt = 0.0, x.copy()
    for _ in range(3000):
        u = -K @ xt
        total += xt @ Q @ xt + bal.r * float(u @ u)
        xt = A @ xt + B @ u
    assert total == pytest.approx(x @ P @ x, rel=1e-8)


def test_balance_cost_on_a_second_model_instance_equals_the_fused_and_generic_paths(idp):
    dyn, _, bal = idp
    other = InvertedDoublePendulumBalanceCost()  # its own model of the same asset file
    assert dyn.shares_model(other.dynamics) and not GymReacher(nthread=1).shares_model(dyn)
    rng = np.random.default_rng(0)
    U = rng.uniform(-0.3, 0.3, (6, 4, 1))
    x0 = np.array([0.0, 0.05, -0.05, 0.0, 0.0, 0.0])
    fused = dyn.rollout(x0, U, bal)
    via_other = dyn.rollout(x0, U, other)
    assert np.array_equal(fused.costs, via_other.costs)
    # the generic Cost interface, step by step
    for i in range(U.shape[0]):
        states = fused.states[i]
        expect = sum(float(bal.running(states[t], U[i, t], states[t + 1])) for t in range(4))
        if not fused.terminated[i]:
            assert fused.costs[i] == pytest.approx(expect + float(bal.terminal(states[-1])), rel=1e-12)


def test_balance_cost_rejects_a_model_of_another_env_and_bad_weights():
    with pytest.raises(TypeError, match="dynamics: expected a GymInvertedDoublePendulum, got GymReacher"):
        InvertedDoublePendulumBalanceCost(GymReacher(nthread=1))
    dyn = GymInvertedDoublePendulum(nthread=1)
    with pytest.raises(ValueError, match="q: expected"):
        InvertedDoublePendulumBalanceCost(dyn, q=(1.0, 2.0))
    with pytest.raises(ValueError, match="r: expected a finite number > 0, got 0.0"):
        InvertedDoublePendulumBalanceCost(dyn, r=0.0)


def test_planlab_run_settings_for_mppi_keep_gymnasiums_double_pendulum_up():
    opts = task_settings("InvertedDoublePendulum-v5", "mppi", build=True)
    assert isinstance(opts["cost"], InvertedDoublePendulumBalanceCost)
    dyn, _ = model_for("InvertedDoublePendulum-v5")
    cost = opts.pop("cost")
    planner = make_planner("mppi", dyn, cost, seed=0, **opts)
    env = gymnasium.make("InvertedDoublePendulum-v5", max_episode_steps=60)
    result = run_episode(env, MPC(planner), seed=0)
    env.close()
    # gymnasium's own termination (tip height <= 1) never fired; every step paid the alive bonus
    assert result.steps == 60 and not result.terminated
    assert result.total_return > 9.0 * 60


def test_reach_cost_adds_distance_terms_to_the_env_cost_and_the_success_test_reads_the_env():
    dyn, env_cost = model_for("Reacher-v5")
    reach = task_settings("Reacher-v5", "icem", build=True)["cost"]
    assert isinstance(reach, ReacherReachCost) and dyn.shares_model(reach.dynamics)
    env = gymnasium.make("Reacher-v5")
    env.reset(seed=3)
    d = env.unwrapped.data
    x = np.concatenate([d.qpos, d.qvel])
    u = np.array([0.2, -0.1])
    _, _, _, _, info = env.step(u)
    xn = np.concatenate([d.qpos, d.qvel])
    # gymnasium's reward_dist is -|fingertip - target| at the new state (after mj_forward, see the models' doc)
    mujoco.mj_forward(env.unwrapped.model, d)
    e = d.body("fingertip").xpos - d.body("target").xpos
    dist = float(np.linalg.norm(e))
    assert float(reach.running(x, u, xn)) == pytest.approx(float(env_cost.running(x, u, xn)) + 100.0 * dist ** 2,
                                                           rel=1e-12)
    assert float(reach.terminal(xn)) == pytest.approx(10.0 * dist, rel=1e-12)
    assert reacher_reached(None, info, env) == (dist < 0.01)
    # put the target under the fingertip: reached
    inner = env.unwrapped
    qpos = d.qpos.copy()
    qpos[2:4] += e[:2]
    inner.set_state(qpos, d.qvel.copy())
    assert reacher_reached(None, info, env)
    env.close()
    with pytest.raises(ValueError, match="terminal_weight: expected a finite number >= 0, got -1.0"):
        ReacherReachCost(dyn, terminal_weight=-1)


def test_every_mujoco_task_setting_builds_its_planner_and_names_a_known_success_test():
    from planlab.benchmarks.suite.spec import Suite, PlannerEntry
    from planlab.benchmarks.suite.tasks import MUJOCO_TASKS

    assert set(MUJOCO_TASKS) == {"InvertedDoublePendulum-v5", "Reacher-v5", "HalfCheetah-v5"}
    for env_id, task in MUJOCO_TASKS.items():
        assert task.tiers == ()  # not in the stock suite's tiers
        for name in task.settings:
            opts = task_settings(env_id, name, build=True)
            dyn, cost = model_for(env_id)
            planner = make_planner(name, dyn, opts.pop("cost", cost), seed=0, **opts)
            assert planner.horizon == task.settings[name]["horizon"]
            # the suite's own validation accepts the task (success test, options) for that planner
            Suite([task], [PlannerEntry(name)], seeds=1).pairs()
