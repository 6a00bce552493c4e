"""The goal-conditioned reacher problem: its success test is the env's, its goals reach the policy input; the
cart-pole policy sees the pole angle as (sin, cos)."""

import gymnasium as gym
import numpy as np

from planlab.envs.registration import register_envs
from planlab.policies.gps.global_policy import GaussianMLPPolicy, GlobalPolicyConfig
from planlab.policies.gps.loop import GPSConfig
from planlab.policies.gps.tasks import build_gps, gps_problem


def test_reach_success_agrees_with_the_env_is_success_flag():
    register_envs()
    prob = gps_problem("planlab/Reacher2Link-v0", seed=0, n_train=2, n_heldout=2)
    rng = np.random.default_rng(0)
    seen = set()
    for goal in prob.heldout_inputs:
        env = gym.make("planlab/Reacher2Link-v0", target=tuple(goal)).unwrapped
        for start_close in (True, False):
            env.reset(seed=1)
            # a state whose fingertip sits on the goal (elbow solution by the law of cosines) or one that does not
            r = np.hypot(*goal)
            q2 = np.arccos(np.clip((r ** 2 - 2.0) / 2.0, -1, 1))
            q1 = np.arctan2(goal[1], goal[0]) - np.arctan2(np.sin(q2), 1 + np.cos(q2))
            q = np.array([q1, q2]) if start_close else rng.uniform(-np.pi, np.pi, 2)
            env.state = np.array([q[0], q[1], 0.0, 0.0])
            X = [env.state.copy()]
            for _ in range(12):
                _, _, _, _, info = env.step(np.zeros(2))
                X.append(env.state.copy())
            mine = prob.success(np.array(X)[None], goal[None])[0]
            assert mine == info["is_success"]
            seen.add((start_close, bool(mine)))
    assert (True, True) in seen and (False, False) in seen  # both outcomes were checked


def test_reacher_gps_feeds_each_condition_its_goal_and_cost():
    prob = gps_problem("planlab/Reacher2Link-v0", seed=1, n_train=2, n_heldout=3)
    assert prob.train_inputs.shape == (2, 2) and prob.heldout_inputs.shape == (3, 2)
    assert not np.allclose(prob.train_inputs, prob.heldout_inputs[:2])
    assert [c.target for c in prob.train_costs] == [tuple(g) for g in prob.train_inputs]
    cfg = GPSConfig(iterations=1, horizon=4, samples=2, init="zero", augment=0,
                    policy=GlobalPolicyConfig(hidden=(8,), epochs=2, optimizer="lbfgs", angle_indices=prob.angle_indices))
    g = build_gps(prob, cfg)
    assert g.policy.obs_dim == 6
    row = g.step()
    assert row["heldout_success"] is not None and len(row["kl"]) == 2


def test_reach_warm_start_puts_ilqr_on_the_target_and_the_pool_is_disjoint():
    from planlab.dynamics.systems.two_link_arm import ReachCost
    from planlab.planners.trajopt.ilqr import ILQR
    from planlab.policies.gps.tasks import reach_warm_start

    prob = gps_problem("planlab/Reacher2Link-v0", seed=0, n_train=2, n_heldout=2, n_pool=2)
    x0, goal = np.array([2.5, -1.0, 0.0, 0.0]), np.array([1.2, 0.6])  # about one radian of shoulder travel
    cost = ReachCost(tuple(goal), 1.0, 1.0)
    U = reach_warm_start(prob.dynamics, cost, x0, goal, 100)
    plan = ILQR(prob.dynamics, cost, 100, max_iterations=50).plan(x0, warm_start=U)
    tip = prob.dynamics.fingertip(plan.states[-11:])
    assert np.all(np.linalg.norm(tip - goal, axis=-1) < 0.05)
    starts, costs, inputs, nominal = prob.pool
    assert nominal.shape == (2, 100, 2) and [c.target for c in costs] == [tuple(g) for g in inputs]
    for other in (prob.train, prob.heldout):
        assert not np.any(np.all(np.isclose(starts[:, None], other[None]), axis=-1))
    assert prob.train_warm.shape == (2, 100, 2) and prob.clip_targets
def test_cartpole_policy_sees_the_pole_angle_as_sin_and_cos_so_a_full_turn_is_the_same_input():
    prob = gps_problem("planlab/CartPoleSwingup-v0", 0, n_train=1, n_heldout=1)
    assert prob.angle_indices == (2,) and prob.dynamics.state_names[2] == "theta"
    pi = GaussianMLPPolicy(4, 1, GlobalPolicyConfig(angle_indices=prob.angle_indices))
    x = np.array([0.3, -1.2, 2.5, 0.7])
    np.testing.assert_array_equal(pi.features(x), [0.3, -1.2, 0.7, np.sin(2.5), np.cos(2.5)])
    np.testing.assert_allclose(pi.features(x + [0, 0, 2 * np.pi, 0]), pi.features(x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(pi.features(x * [1, 1, -1, 1]), [0.3, -1.2, 0.7, -np.sin(2.5), np.cos(2.5)], rtol=0, atol=0)
