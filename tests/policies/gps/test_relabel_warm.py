"""The expert warm-started from the policy's own plan: the plan is the policy's clipped closed-loop actions,
the labels are the expert's plan from exactly that warm start, and the GPS options reach the labelling."""

import numpy as np
import pytest

from planlab.core import QuadraticCost
from planlab.dynamics import DoubleIntegrator
from planlab.dynamics.systems.cartpole import CartPole
from planlab.planners.trajopt.ilqr import ILQR
from planlab.policies.gps.global_policy import GlobalPolicyConfig
from planlab.policies.gps.loop import GPS, GPSConfig
from planlab.policies.gps.relabel import policy_plan, policy_visits

SYS = DoubleIntegrator(n=1, accel_max=2.0)


def test_policy_plan_is_the_clipped_closed_loop_of_the_policy():
    act = lambda x: np.array([-3.0 * x[0] - 1.0 * x[1]])  # noqa: E731 - saturates at the start, not later
    U = policy_plan(SYS, act, np.array([1.5, 0.0]), 12)
    x = np.array([1.5, 0.0])
    for t in range(12):
        u = min(max(-3.0 * x[0] - 1.0 * x[1], -2.0), 2.0)
        assert U[t, 0] == u
        x = SYS.step(x, np.array([u]))
    assert U[0, 0] == -2.0  # -4.5 clipped to the box


def test_labels_are_the_expert_plan_from_the_policy_warm_start():
    # a nonlinear system: one iLQR iteration's answer depends on where it starts, so this checks the warm start
    cp = CartPole(dt=0.05)
    cost = cp.default_cost()
    act = lambda x: np.array([3.0 * np.sin(x[2]) - 0.5 * x[1]])  # noqa: E731
    X, U = policy_visits(cp, cost, act, np.array([0.0, 0.0, 2.5, 0.0]), 8, rollouts=1, noise_cov=np.zeros((1, 1)),
                         rng=np.random.default_rng(0), mpc_horizon=6, mpc_iterations=1, warm_from_policy=True)
    planner = ILQR(cp, cost, 6, max_iterations=1)
    for t in range(8):
        want = planner.plan(X[t], warm_start=policy_plan(cp, act, X[t], 6)).actions[0]
        np.testing.assert_allclose(U[t], want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(X[t + 1] if t < 7 else X[t], cp.step(X[t], act(X[t])) if t < 7 else X[t])
    cold = np.array([planner.plan(x).actions[0] for x in X])
    assert np.abs(cold - U).max() > 1e-3  # one iteration from zeros is another answer: the warm start mattered


def test_bad_warm_start_options_raise():
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01])
    with pytest.raises(ValueError, match="nominal"):
        policy_visits(SYS, cost, lambda x: np.zeros(1), np.zeros(2), 5, rollouts=1, noise_cov=np.eye(1),
                      rng=np.random.default_rng(0), mpc_horizon=4, mpc_iterations=1, nominal=np.zeros((5, 1)),
                      warm_from_policy=True)
    with pytest.raises(ValueError, match="relabel_policy_warm"):
        GPSConfig(relabel_policy_warm=True, relabel_anchor=True)
    with pytest.raises(ValueError, match="relabel_mix_decay"):
        GPSConfig(relabel_mix_decay=0.0)
    with pytest.raises(ValueError, match="relabel_noise"):
        GPSConfig(relabel_noise=-1.0)
    with pytest.raises(ValueError, match="horizon"):
        policy_plan(SYS, lambda x: np.zeros(1), np.zeros(2), 0)


def test_gps_with_policy_warm_start_noise_and_decaying_mix_aggregates_and_resumes(tmp_path):
    sys_ = DoubleIntegrator(n=1)
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    train = np.array([[1.0, 0.0], [-1.0, 0.0]])
    cfg = GPSConfig(iterations=3, horizon=10, samples=2, init="zero", init_var=0.5, kl_step=2.0, relabel_rollouts=2,
                    relabel_policy_warm=True, relabel_noise=0.3, relabel_mix=1.0, relabel_mix_decay=0.5,
                    c_step_reference="local", relabel_horizon=6, relabel_iterations=2,
                    policy=GlobalPolicyConfig(hidden=(), epochs=20, optimizer="lbfgs"), seed=0)
    whole = GPS(sys_, cost, train, cfg)
    whole.run(progress=False)
    assert [r["relabelled"] for r in whole.curve] == [40, 80, 120]  # 2 conditions x 2 rollouts x 10 steps each
    GPS(sys_, cost, train, cfg, out=tmp_path).run(2, progress=False)
    resumed = GPS(sys_, cost, train, cfg, out=tmp_path)
    assert len(resumed._agg[0]) == 80
    resumed.run(progress=False)
    np.testing.assert_allclose(resumed._agg[0], whole._agg[0], rtol=0, atol=0)
    np.testing.assert_allclose(resumed.policy.mean(train), whole.policy.mean(train), rtol=1e-9, atol=1e-12)


def test_local_weight_scales_the_local_samples_once_relabelled_states_exist(monkeypatch):
    sys_ = DoubleIntegrator(n=1)
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    cfg = GPSConfig(iterations=2, horizon=10, samples=2, init="zero", init_var=0.5, kl_step=2.0, relabel_rollouts=1,
                    relabel_local_weight=0.25, relabel_horizon=6, relabel_iterations=2,
                    policy=GlobalPolicyConfig(hidden=(), epochs=5, optimizer="lbfgs"), seed=0)
    gps = GPS(sys_, cost, np.array([[1.0, 0.0]]), cfg)
    fits = []
    real_fit = gps.policy.fit
    monkeypatch.setattr(gps.policy, "fit", lambda O, Y, P, weights, seed: fits.append((len(O), weights.copy())) or real_fit(O, Y, P, weights=weights, seed=seed))
    gps.run(progress=False)
    # iteration 1: the first fit (20 local samples, none relabelled yet: weight 1), then 20 local + 10 relabelled
    assert [n for n, _ in fits] == [20, 30, 40]  # iteration 2: 20 local + 20 relabelled (10 per iteration)
    assert np.all(fits[0][1] == 1.0)
    for n, w in fits[1:]:
        assert np.all(w[:20] == 0.25) and np.all(w[20:] == 1.0)
    with pytest.raises(ValueError, match="relabel_local_weight"):
        GPSConfig(relabel_local_weight=-1.0)


def test_policy_warm_start_begins_at_its_iteration(monkeypatch):
    import planlab.policies.gps.sstep as sstep

    calls = []
    real = sstep.policy_visits
    monkeypatch.setattr(sstep, "policy_visits", lambda *a, **k: calls.append(k["warm_from_policy"]) or real(*a, **k))
    sys_ = DoubleIntegrator(n=1)
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    cfg = GPSConfig(iterations=3, horizon=6, samples=2, init="zero", kl_step=2.0, relabel_rollouts=1,
                    relabel_policy_warm=True, relabel_policy_warm_from=2, relabel_horizon=4, relabel_iterations=1,
                    policy=GlobalPolicyConfig(hidden=(), epochs=3, optimizer="lbfgs"), seed=0)
    GPS(sys_, cost, np.array([[1.0, 0.0]]), cfg).run(progress=False)
    assert calls == [False, False, True]
    with pytest.raises(ValueError, match="relabel_policy_warm_from"):
        GPSConfig(relabel_policy_warm_from=-1)


def test_expert_executed_rollouts_explore_with_the_noise():
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    kw = dict(rollouts=2, rng=np.random.default_rng(0), mpc_horizon=5, mpc_iterations=2, mix=1.0)
    X, U = policy_visits(SYS, cost, lambda x: np.zeros(1), np.array([1.0, 0.0]), 6, noise_cov=np.zeros((1, 1)), **kw)
    np.testing.assert_array_equal(X[:6], X[6:])  # no noise: the expert's rollouts from one start are one trajectory
    kw["rng"] = np.random.default_rng(0)
    X, U = policy_visits(SYS, cost, lambda x: np.zeros(1), np.array([1.0, 0.0]), 6, noise_cov=0.25 * np.eye(1), **kw)
    assert np.abs(X[1:6] - X[7:]).max() > 1e-3  # with noise they explore
    rng = np.random.default_rng(0)  # each step: the mix draw, then the noise draw
    for r in range(2):
        for t in range(5):
            rng.random()
            u = np.clip(U[6 * r + t] + 0.5 * rng.standard_normal(1), SYS.action_low, SYS.action_high)
            np.testing.assert_allclose(X[6 * r + t + 1], SYS.step(X[6 * r + t], u), rtol=1e-12, atol=1e-14)
        rng.random(), rng.standard_normal(1)  # the last step of the rollout


@pytest.mark.parametrize("kind", ["controller", "unit"])
def test_relabelled_precision_is_the_median_controller_one_or_the_identity(kind):
    sys_ = DoubleIntegrator(n=1)
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    cfg = GPSConfig(iterations=1, horizon=6, samples=2, init="zero", kl_step=2.0, relabel_rollouts=1,
                    relabel_precision=kind, relabel_weight=3.0, relabel_horizon=4, relabel_iterations=1,
                    policy=GlobalPolicyConfig(hidden=(), epochs=3, optimizer="lbfgs"), seed=0)
    gps = GPS(sys_, cost, np.array([[1.0, 0.0]]), cfg)
    gps.run(progress=False)
    P = gps.controllers[0].precision
    want = 3.0 * (np.sort(P[:, 0, 0])[len(P) // 2] if kind == "controller" else 1.0)
    np.testing.assert_allclose(gps._agg[2][:, 0, 0], want, rtol=1e-12)
    assert len(gps._agg[2]) == 6
    with pytest.raises(ValueError, match="relabel_precision"):
        GPSConfig(relabel_precision="median")
