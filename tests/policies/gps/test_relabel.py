"""Labelling the policy's own states with an MPC expert: the labels are the LQR action (scipy's Riccati
solution) on a linear-quadratic system, the states are the policy's, and the GPS loop keeps the labels."""

import numpy as np
import pytest
from scipy.linalg import solve_discrete_are

from planlab.core import QuadraticCost
from planlab.dynamics import DoubleIntegrator
from planlab.policies.gps.global_policy import GlobalPolicyConfig
from planlab.policies.gps.loop import GPS, GPSConfig
from planlab.policies.gps.relabel import policy_visits

SYS = DoubleIntegrator(n=1, accel_max=100.0)
Q, R = np.diag([1.0, 0.1]), np.array([[0.5]])


def _fd_AB():
    """A, B of the system by central finite differences of its step (it is linear)."""
    x0, u0, h = np.zeros(2), np.zeros(1), 1e-4
    A = np.stack([(SYS.step(x0 + h * e, u0) - SYS.step(x0 - h * e, u0)) / (2 * h) for e in np.eye(2)], axis=1)
    B = ((SYS.step(x0, u0 + h) - SYS.step(x0, u0 - h)) / (2 * h))[:, None]
    return A, B


@pytest.mark.parametrize("nominal", [None, np.full((20, 1), 0.3)])
def test_labels_are_the_lqr_action_at_the_states_the_noisy_policy_visits(nominal):
    A, B = _fd_AB()
    P = solve_discrete_are(A, B, Q, R)
    K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    cost = QuadraticCost(Q=Q, R=R, Qf=P)  # terminal weight = the Riccati solution: every horizon gives the LQR gain
    X, U = policy_visits(SYS, cost, lambda x: np.zeros(1), np.array([1.0, 0.0]), 20, rollouts=2,
                         noise_cov=25 * np.eye(1), rng=np.random.default_rng(0), mpc_horizon=10, mpc_iterations=5,
                         nominal=nominal)  # a linear-quadratic plan does not depend on its warm start
    assert X.shape == (40, 2) and U.shape == (40, 1)
    assert np.ptp(X[:, 0]) > 0.5  # the noise took the policy to many different states
    np.testing.assert_allclose(U, -X @ K.T, rtol=1e-6, atol=1e-8)


def test_states_follow_the_policy_without_noise_and_the_expert_with_mix_one():
    cost = QuadraticCost(Q=Q, R=R, Qf=10 * Q)
    act = lambda x: np.array([-0.3 * x[0]])  # noqa: E731 - a weak controller, unlike the expert's
    X, U = policy_visits(SYS, cost, act, np.array([1.0, 0.0]), 15, rollouts=1, noise_cov=np.zeros((1, 1)),
                         rng=np.random.default_rng(0), mpc_horizon=10, mpc_iterations=5)
    for t in range(14):
        np.testing.assert_allclose(X[t + 1], SYS.step(X[t], act(X[t])), rtol=1e-12, atol=1e-14)
    Xe, Ue = policy_visits(SYS, cost, act, np.array([1.0, 0.0]), 15, rollouts=1, noise_cov=np.zeros((1, 1)),
                           rng=np.random.default_rng(0), mpc_horizon=10, mpc_iterations=5, mix=1.0)
    for t in range(14):
        np.testing.assert_allclose(Xe[t + 1], SYS.step(Xe[t], Ue[t]), rtol=1e-12, atol=1e-14)
    assert np.abs(Xe[-1, 0]) < np.abs(X[-1, 0])  # the expert gets closer to the goal than the weak policy


def test_bad_relabelling_arguments_raise():
    cost = QuadraticCost(Q=Q, R=R)
    kw = dict(rollouts=1, rng=np.random.default_rng(0), mpc_horizon=5, mpc_iterations=2)
    with pytest.raises(ValueError, match="mix"):
        policy_visits(SYS, cost, lambda x: np.zeros(1), np.zeros(2), 5, noise_cov=np.eye(1), mix=1.5, **kw)
    with pytest.raises(ValueError, match="noise_cov"):
        policy_visits(SYS, cost, lambda x: np.zeros(1), np.zeros(2), 5, noise_cov=np.eye(2), **kw)
    with pytest.raises(ValueError, match="x0"):
        policy_visits(SYS, cost, lambda x: np.zeros(1), np.zeros(3), 5, noise_cov=np.eye(1), **kw)
    with pytest.raises(ValueError, match="relabel_mix"):
        GPSConfig(relabel_mix=-0.1)
    with pytest.raises(ValueError, match="relabel_rollouts"):
        GPSConfig(relabel_rollouts=-1)
    with pytest.raises(ValueError, match="nominal"):
        policy_visits(SYS, cost, lambda x: np.zeros(1), np.zeros(2), 5, noise_cov=np.eye(1), nominal=np.zeros((4, 1)), **kw)
    with pytest.raises(ValueError, match="c_step_reference"):
        GPSConfig(c_step_reference="previous")


def test_gps_aggregates_relabelled_states_and_resumes_them(tmp_path):
    sys_ = DoubleIntegrator(n=1)
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    train = np.array([[1.0, 0.0], [-1.0, 0.0]])
    cfg = GPSConfig(iterations=2, horizon=10, samples=2, init="zero", init_var=0.5, kl_step=2.0, relabel_rollouts=1,
                    relabel_anchor=True, c_step_reference="local", relabel_horizon=8, relabel_iterations=3, policy=GlobalPolicyConfig(hidden=(), epochs=20,
                                                                                     optimizer="lbfgs"), seed=0)
    whole = GPS(sys_, cost, train, cfg)
    whole.run(progress=False)
    assert [r["relabelled"] for r in whole.curve] == [20, 40]  # 2 conditions x 1 rollout x 10 steps per iteration
    GPS(sys_, cost, train, cfg, out=tmp_path).run(1, progress=False)
    resumed = GPS(sys_, cost, train, cfg, out=tmp_path)
    assert len(resumed._agg[0]) == 20
    resumed.run(progress=False)
    np.testing.assert_allclose(resumed.policy.mean(train), whole.policy.mean(train), rtol=1e-9, atol=1e-12)


def test_relabel_fresh_takes_the_next_pool_conditions_each_iteration_and_aggregates_them():
    sys_ = DoubleIntegrator(n=1)
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    train = np.array([[1.0, 0.0], [-1.0, 0.0]])
    pool = np.array([[0.3, 0.0], [-0.7, 0.1], [0.9, -0.2]])
    cfg = GPSConfig(iterations=2, horizon=10, samples=2, init="zero", init_var=0.5, kl_step=2.0, relabel_rollouts=1,
                    relabel_fresh=2, relabel_horizon=8, relabel_iterations=3,
                    policy=GlobalPolicyConfig(hidden=(), epochs=20, optimizer="lbfgs"), seed=0)
    g = GPS(sys_, cost, train, cfg, relabel_pool=(pool, [cost] * 3, None, None))
    g.run(progress=False)
    assert [r["relabelled"] for r in g.curve] == [40, 80]  # (2 conditions + 2 fresh) x 1 rollout x 10 steps
    firsts = g._agg[0][::10]  # the first state of every relabelled rollout, in order
    np.testing.assert_array_equal(firsts, np.concatenate([train, pool[[0, 1]], train, pool[[2, 0]]]))
    with pytest.raises(ValueError, match="relabel_pool"):
        GPS(sys_, cost, train, cfg)
    with pytest.raises(ValueError, match="relabel_pool starts"):
        GPS(sys_, cost, train, cfg, relabel_pool=(np.zeros((3, 3)), [cost] * 3, None, None))
    with pytest.raises(ValueError, match="relabel_fresh"):
        GPSConfig(relabel_fresh=2)  # needs relabel_rollouts
