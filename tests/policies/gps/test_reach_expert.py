"""The reacher's receding-horizon expert (its success judged by the env's own flag), its relabelling contract,
the GPS ``relabel_expert`` hook, and DAgger's data aggregation."""

import gymnasium as gym
import numpy as np
import pytest

from planlab.envs.registration import register_envs
from planlab.policies.gps.global_policy import GaussianMLPPolicy, GlobalPolicyConfig
from planlab.policies.gps.loop import GPSConfig
from planlab.policies.gps.reach import ReachExpert, reach_dagger, rollout_goal_policy
from planlab.policies.gps.tasks import build_gps, gps_problem, reach_pairs


def test_expert_success_by_the_env_is_success_flag():
    register_envs()
    starts, goals = reach_pairs(4, 12345)
    flags, mine = [], []
    for x0, g in zip(starts, goals):
        env = gym.make("planlab/Reacher2Link-v0", target=tuple(g))
        x, _ = env.reset(seed=0, options={"x0": x0})
        expert = ReachExpert(env.unwrapped.dynamics)
        expert.start(x0, g)
        X = [x]
        for _ in range(100):
            x, _, _, truncated, info = env.step(expert.act(x))
            X.append(x)
        assert truncated  # the env's own 100-step limit
        flags.append(info["is_success"])
        mine.append(gps_problem("planlab/Reacher2Link-v0", 0, n_train=1, n_heldout=1).success(np.array(X)[None], g[None])[0])
    assert flags == mine
    assert sum(flags) >= 3, flags  # the first pair ends 0.024 from its target but inside too late


def test_visits_follow_the_contract_of_policy_visits():
    prob = gps_problem("planlab/Reacher2Link-v0", seed=0, n_train=1, n_heldout=1)
    dyn, cost, x0 = prob.dynamics, prob.train_costs[0], prob.train[0]
    expert = ReachExpert(dyn, horizon=20, iterations=5)
    rng = np.random.default_rng(0)
    calls = []
    X, U = expert.visits(dyn, cost, lambda x: calls.append(x) or np.zeros(2), x0, 12, rollouts=2,
                         noise_cov=np.zeros((2, 2)), rng=rng, mix=1.0, mpc_horizon=50, mpc_iterations=20)
    assert X.shape == (24, 4) and U.shape == (24, 2) and not calls  # mix = 1: the expert's actions only
    np.testing.assert_allclose(X[:12], X[12:])  # no noise: both rollouts are the same trajectory
    np.testing.assert_allclose(X[1:12], dyn.step(X[:11], U[:11]))  # executed = labelled
    # the policy executes at mix = 0; the labels are still the expert's (a replay from the same states)
    X, U = expert.visits(dyn, cost, lambda x: np.array([0.5, -0.5]), x0, 6, rollouts=1, noise_cov=np.zeros((2, 2)),
                         rng=rng, mix=0.0)
    np.testing.assert_allclose(X[1:], dyn.step(X[:-1], np.tile([0.5, -0.5], (5, 1))))
    expert.start(x0, np.asarray(cost.target))
    np.testing.assert_allclose(U, np.stack([expert.act(x) for x in X]))
    with pytest.raises(ValueError, match="nominal, warm_from_policy"):
        expert.visits(dyn, cost, lambda x: np.zeros(2), x0, 3, rollouts=1, noise_cov=np.zeros((2, 2)), rng=rng,
                      nominal=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="cost: expected a ReachCost"):
        expert.visits(dyn, object(), lambda x: np.zeros(2), x0, 3, rollouts=1, noise_cov=np.zeros((2, 2)), rng=rng)
    with pytest.raises(RuntimeError, match="start"):
        ReachExpert(dyn).act(x0)


def test_gps_relabels_with_the_given_expert():
    prob = gps_problem("planlab/Reacher2Link-v0", seed=0, n_train=2, n_heldout=2, n_pool=3, pool_nominal=False,
                       reach_weights={"w_pos_final": 300.0, "w_vel_final": 30.0})
    assert prob.pool[3] is None and list(prob.train_costs[0].params[-2:]) == [300.0, 30.0]
    seen = []

    def stub(dynamics, cost, act, x0, horizon, **kw):
        seen.append((tuple(cost.target), kw["rollouts"]))
        X = np.tile(x0, (horizon, 1))
        return X, np.full((horizon, 2), 0.25)

    cfg = GPSConfig(iterations=1, horizon=5, samples=2, init="zero", augment=0, relabel_rollouts=1, relabel_fresh=3,
                    relabel_precision="unit",
                    policy=GlobalPolicyConfig(hidden=(8,), epochs=2, feature_map="reach2link"))
    g = build_gps(prob, cfg, relabel_expert=stub)
    g.step()
    assert len(seen) == 5  # 2 training conditions + 3 fresh pool pairs
    assert {s[0] for s in seen} == {tuple(t) for t in prob.train_inputs} | {tuple(t) for t in prob.pool[2]}
    assert len(g._agg[0]) == 25 and np.all(g._agg[1] == 0.25) and g._agg[0].shape[1] == 6


def test_dagger_aggregates_every_round_and_reports_held_out_success():
    prob = gps_problem("planlab/Reacher2Link-v0", seed=0, n_train=1, n_heldout=3)
    dyn = prob.dynamics
    pi = GaussianMLPPolicy(6, 2, GlobalPolicyConfig(hidden=(8,), epochs=2, feature_map="reach2link"),
                           action_low=dyn.action_low, action_high=dyn.action_high)
    rows = reach_dagger(dyn, pi, ReachExpert(dyn, horizon=10, iterations=3), (prob.heldout, prob.heldout_inputs),
                        rounds=1, pairs=2, epochs=2, steps=8)
    assert [r["samples"] for r in rows] == [16, 32] and [r["beta"] for r in rows] == [1.0, 0.5]
    X = rollout_goal_policy(dyn, pi.act, prob.heldout, prob.heldout_inputs, 100)
    ok = prob.success(X, prob.heldout_inputs)
    assert rows[-1]["heldout_success"] == pytest.approx(float(np.mean(ok)))


def test_act_with_an_alternative_warm_start_takes_the_cheaper_plan():
    from planlab.planners.trajopt.ilqr import ILQR

    prob = gps_problem("planlab/Reacher2Link-v0", seed=0, n_train=1, n_heldout=1)
    dyn, x0, goal = prob.dynamics, prob.train[0], prob.train_inputs[0]
    expert = ReachExpert(dyn, horizon=15, iterations=3)
    cost = expert.cost(goal)
    expert.start(x0, goal)
    refined = ILQR(dyn, cost, 15, max_iterations=100).plan(x0, warm_start=expert._warm).actions
    picked = []
    # full torque against the expert's own plan; the refined plan against a plan made for another start
    for alt, start in ((np.full((15, 2), 2.0), x0), (refined, x0 + np.array([1.5, -1.0, 0.0, 0.0]))):
        expert.start(start, goal)
        own = ILQR(dyn, cost, 15, max_iterations=3).plan(x0, warm_start=expert._warm)
        other = ILQR(dyn, cost, 15, max_iterations=3).plan(x0, warm_start=alt)
        best = own if own.cost <= other.cost else other
        np.testing.assert_allclose(expert.act(x0, alt), best.actions[0])
        picked.append(best is other)
    assert picked == [False, True]
