"""The joint-space PD first guess for Reacher-v5, checked in gymnasium's own env."""

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco", reason="MuJoCo tests need the optional extra: pip install planlab[mujoco]")
gymnasium = pytest.importorskip("gymnasium")

from planlab.envs.mujoco_models import GymReacher, ReacherTargetCost  # noqa: E402
from planlab.envs.mujoco_reach import reacher_reach_angles, reacher_reach_controls  # noqa: E402
from planlab.planners import ILQR  # noqa: E402


@pytest.fixture(scope="module")
def reacher():
    dyn = GymReacher(nthread=1, centered_jacobians=False)
    env = gymnasium.make("Reacher-v5")
    yield dyn, env
    env.close()
    dyn.close()


def _reset(env, seed):
    env.reset(seed=seed)
    d = env.unwrapped.data
    return np.concatenate([d.qpos, d.qvel])


def _distance(env):
    inner = env.unwrapped
    return float(np.linalg.norm(inner.get_body_com("fingertip") - inner.get_body_com("target")))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_inverse_kinematics_angles_put_gymnasiums_fingertip_on_the_target(reacher, seed):
    dyn, env = reacher
    x0 = _reset(env, seed)
    q = reacher_reach_angles(dyn, x0)
    inner = env.unwrapped
    qpos, qvel = inner.data.qpos.copy(), inner.data.qvel.copy()
    qpos[:2] = q
    inner.set_state(qpos, qvel)  # MuJoCo's forward kinematics, not planlab's
    assert _distance(env) < 1e-9
    assert abs(q[1]) <= 3.0  # inside the elbow joint's range
    assert abs(q[0] - x0[0]) <= np.pi  # the nearer turn of the free shoulder


def test_reach_guess_ends_near_the_target_in_gymnasium_and_stays_in_the_control_box(reacher):
    dyn, env = reacher
    for seed in range(3):
        x0 = _reset(env, seed)
        start = _distance(env)
        U = reacher_reach_controls(dyn, x0, 20)
        assert U.shape == (20, 2) and np.all(np.abs(U) <= 1.0)
        for u in U:
            env.step(u)
        assert _distance(env) < 0.25 * start, (seed, start, _distance(env))


def test_ilqr_from_the_reach_guess_ends_on_the_target_in_gymnasium(reacher):
    dyn, env = reacher
    x0 = _reset(env, 7)  # the seed zero controls needed the most iterations for
    planner = ILQR(dyn, ReacherTargetCost(dyn), horizon=20, max_iterations=40, derivatives="fd", tol=1e-3)
    plan = planner.plan(x0, reacher_reach_controls(dyn, x0, 20))
    for u in plan.actions:
        env.step(u)
    assert _distance(env) < 0.01, (plan.status, _distance(env))


def test_reach_guess_rejects_a_bad_horizon_and_another_model(reacher):
    dyn, env = reacher
    x0 = _reset(env, 0)
    with pytest.raises(ValueError, match="horizon"):
        reacher_reach_controls(dyn, x0, 0)
    with pytest.raises(ValueError, match="x0"):
        reacher_reach_controls(dyn, x0[:4], 5)
    with pytest.raises(TypeError, match="dynamics: expected a GymReacher"):
        reacher_reach_angles(object(), x0)


def test_ilqr_without_final_gains_returns_the_same_plan_with_one_derivative_pass_less(reacher):
    dyn, env = reacher
    x0 = _reset(env, 1)
    U0 = reacher_reach_controls(dyn, x0, 8)
    plans, calls, gains = [], [], []
    for final_gains in (True, False):
        planner = ILQR(dyn, ReacherTargetCost(dyn), horizon=8, max_iterations=3, derivatives="fd")
        planner.final_gains = final_gains
        inner, n = planner.model.derivatives, [0]

        def counted(*args, inner=inner, n=n):
            n[0] += 1
            return inner(*args)

        planner.model.derivatives = counted
        with pytest.warns(RuntimeWarning, match="max_iterations"):
            plans.append(planner.plan(x0, U0))
        calls.append(n[0])
        gains.append(planner.policy.K)
    assert np.array_equal(plans[0].actions, plans[1].actions) and plans[0].cost == plans[1].cost
    assert calls[1] == calls[0] - 1
    assert np.abs(gains[0]).max() > 0 and not np.any(gains[1])  # open loop without them
