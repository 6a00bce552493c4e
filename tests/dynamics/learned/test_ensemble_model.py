import json

import numpy as np
import pytest
import torch

from planlab.dynamics import DoubleIntegrator
from planlab.dynamics.learned import (LearnedDynamics, ModelConfig, TrainConfig, TransitionBuffer, fit,
                                      for_model)
from planlab.envs.models import model_for


@pytest.fixture(scope="module")
def pendulum_model(pendulum_data):
    dyn, _ = model_for("Pendulum-v1")
    model = for_model(dyn, ModelConfig(members=5, hidden=(64, 64, 64)), seed=0)
    res = fit(model, pendulum_data, TrainConfig(epochs=60, progress=False), seed=0)
    assert res.status in ("ok", "early_stopped")
    return model


def test_ensemble_predicts_held_out_pendulum_steps_within_stated_error(pendulum_model, pendulum_transitions):
    # held out: fresh transitions of gymnasium's Pendulum-v1 from another seed, same state range
    x, u, _, xn = pendulum_transitions(500, seed=123)
    pred = pendulum_model.predict(x, u).mean
    rms = np.sqrt(np.mean((pred - xn) ** 2, axis=0))
    # stated bound: RMS one-step error below 0.005 rad in theta and 0.1 rad/s in theta_dot
    # (the one-step change of theta_dot spans about +-2.3 rad/s)
    assert rms[0] < 0.005 and rms[1] < 0.1, rms


def test_epistemic_variance_is_larger_far_from_the_data(pendulum_model):
    # the data cover |theta_dot| <= 8; far = |theta_dot| in [20, 30]
    rng = np.random.default_rng(1)
    th = rng.uniform(-np.pi, np.pi, 100)
    u = rng.uniform(-2, 2, (100, 1))
    near = pendulum_model.predict(np.c_[th, rng.uniform(-4, 4, 100)], u).epistemic_var.sum(-1)
    far = pendulum_model.predict(np.c_[th, rng.choice([-1, 1], 100) * rng.uniform(20, 30, 100)], u).epistemic_var.sum(-1)
    assert np.median(far) > 10 * np.median(near)


def test_variance_split_is_the_law_of_total_variance(pendulum_model):
    x = np.array([[0.3, 1.0], [2.0, -5.0]])
    u = np.array([[0.5], [-1.0]])
    p = pendulum_model.predict(x, u)
    np.testing.assert_allclose(p.epistemic_var, p.member_means.var(0), rtol=1e-12)
    np.testing.assert_allclose(p.mean, p.member_means.mean(0), rtol=1e-12)
    assert np.all(p.aleatoric_var > 0)
    np.testing.assert_allclose(p.variance, p.epistemic_var + p.aleatoric_var)


def _marked_ensemble(propagation, members=4, particles=8):
    """Deterministic members that predict Delta s = member index + 1 for any input (weights zero)."""
    cfg = ModelConfig(members=members, hidden=(4,), probabilistic=False, propagation=propagation,
                      particles=particles)
    m = LearnedDynamics(1, 1, -1.0, 1.0, 0.1, config=cfg, seed=0)
    with torch.no_grad():
        for w in m.net.weights:
            w.zero_()
        m.net.biases[-1].copy_(torch.arange(1.0, members + 1).view(members, 1, 1))
    m.invalidate()
    return m


@pytest.mark.parametrize("propagation", ["tsinf", "ts1"])
def test_trajectory_sampling_assigns_members_as_documented(propagation):
    m = _marked_ensemble(propagation)
    N, H, P, K = 6, 5, 8, 4
    states, _ = m.rollout_particles(np.zeros(1), np.zeros((N, H, 1)), rng=7)
    assert states.shape == (N, P, H + 1, 1)
    used = np.rint(np.diff(states[..., 0], axis=-1)).astype(int) - 1  # (N, P, H) member of each step
    expected = m.member_assignment(N * P, H, rng=7)  # (H, N * P)
    np.testing.assert_array_equal(used.reshape(N * P, H).T, expected)
    # every step: each member gets exactly N * P / K particles
    for t in range(H):
        assert np.bincount(expected[t], minlength=K).tolist() == [N * P // K] * K
    if propagation == "tsinf":
        assert np.all(expected == expected[0])  # fixed member per particle
    else:
        assert np.mean(expected[1:] != expected[:-1]) > 0.5  # reassigned every step
    # seeded: same seed, same assignment; another seed, another one
    again, _ = m.rollout_particles(np.zeros(1), np.zeros((N, H, 1)), rng=7)
    np.testing.assert_array_equal(again, states)
    other, _ = m.rollout_particles(np.zeros(1), np.zeros((N, H, 1)), rng=8)
    assert not np.array_equal(other, states)


def test_expectation_moves_every_state_to_the_mean_of_members():
    m = _marked_ensemble("expectation")
    states, _ = m.rollout_particles(np.zeros(1), np.zeros((3, 5, 1)), rng=0)
    assert states.shape == (3, 1, 6, 1)  # one particle per sequence suffices
    np.testing.assert_allclose(np.diff(states[..., 0], axis=-1), 2.5)  # mean of 1, 2, 3, 4
    assert (m.member_assignment(3, 5) == -1).all()


def test_ts_infinity_with_particle_count_not_divisible_by_members():
    m = _marked_ensemble("tsinf", members=3, particles=5)
    states, _ = m.rollout_particles(np.zeros(1), np.zeros((2, 4, 1)), rng=3)
    used = np.rint(np.diff(states[..., 0], axis=-1)).astype(int) - 1
    np.testing.assert_array_equal(used.reshape(10, 4).T, m.member_assignment(10, 4, rng=3))


def test_rollout_cost_is_the_particle_mean_of_rollout_costs(pendulum_model):
    _, cost = model_for("Pendulum-v1")
    U = np.random.default_rng(0).uniform(-2, 2, (7, 10, 1))
    x0 = np.array([np.pi, 0.0])
    c = pendulum_model.rollout_cost(x0, U, cost, rng=5)
    roll = pendulum_model.rollout(x0, U, cost, rng=5)
    np.testing.assert_array_equal(c, roll.costs)
    assert roll.states.shape == (7, 11, 2) and c.shape == (7,)
    # costs evaluated in torch agree with the numpy cost of the same particle trajectories
    states, costs = pendulum_model.rollout_particles(x0, U, cost, rng=5)
    ref = cost.trajectory_cost(states, np.broadcast_to(U[:, None], (7, states.shape[1], 10, 1))).mean(1)
    np.testing.assert_allclose(costs, ref, rtol=1e-4)


@pytest.mark.parametrize("name", ["shooting", "cem", "icem", "mppi"])
def test_every_sampling_planner_plans_through_the_ensemble_in_one_batched_call_per_step(name, pendulum_model,
                                                                                        monkeypatch):
    from planlab.planners import make_planner

    _, cost = model_for("Pendulum-v1")
    H, N = 8, 60
    calls, rollouts = [], []
    forward, roll = pendulum_model._forward_raw, pendulum_model._rollout

    def counting_forward(z, ws, bs):
        calls.append(z.shape[0] * z.shape[1])  # rows of all members in this call
        return forward(z, ws, bs)

    def counting_rollout(x0, actions, cost, rng, keep_states):  # behind rollout and rollout_cost
        rollouts.append(np.shape(actions)[0])
        return roll(x0, actions, cost, rng, keep_states)

    monkeypatch.setattr(pendulum_model, "_forward_raw", counting_forward)
    monkeypatch.setattr(pendulum_model, "_rollout", counting_rollout)
    planner = make_planner(name, pendulum_model, cost, horizon=H, seed=0, population=N)
    plan = planner.plan(np.array([np.pi, 0.0]))
    assert plan.actions.shape == (H, 1) and np.all(np.abs(plan.actions) <= 2.0) and np.isfinite(plan.cost)
    assert max(rollouts) == N  # a whole population per call
    # one network call per horizon step for all sequences x particles x members: no per-sample loop
    assert len(calls) == H * len(rollouts)
    P = pendulum_model.particles_for(N)
    assert max(calls) >= N * P


def test_step_samples_and_respects_shapes(pendulum_model):
    x = np.zeros((3, 4, 2))
    u = np.zeros((3, 4, 1))
    a = pendulum_model.step(x, u, np.random.default_rng(0))
    b = pendulum_model.step(x, u, np.random.default_rng(0))
    assert a.shape == (3, 4, 2) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert pendulum_model.stochastic


def test_save_load_round_trips_bit_exactly_with_weights_only(pendulum_model, tmp_path, monkeypatch):
    path = pendulum_model.save(tmp_path / "model")
    assert path.suffix == ".pt" and json.loads(path.with_suffix(".json").read_text())["config"]["members"] == 5
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    back = LearnedDynamics.load(path)
    assert calls == [True]
    for (k, v), (k2, v2) in zip(pendulum_model.net.state_dict().items(), back.net.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    x = np.random.default_rng(0).normal(size=(20, 2))
    u = np.random.default_rng(1).uniform(-2, 2, (20, 1))
    np.testing.assert_array_equal(back.predict(x, u).member_means, pendulum_model.predict(x, u).member_means)
    _, cost = model_for("Pendulum-v1")
    U = np.random.default_rng(2).uniform(-2, 2, (9, 6, 1))
    np.testing.assert_array_equal(back.rollout_cost(x[0], U, cost, rng=3), pendulum_model.rollout_cost(x[0], U, cost, rng=3))
    np.testing.assert_array_equal(back.elites, pendulum_model.elites)


def test_bad_inputs_raise_clear_errors(pendulum_model):
    with pytest.raises(ValueError, match=r"x: expected shape \(\.\.\., 2\), got \(4, 3\)"):
        pendulum_model.predict(np.zeros((4, 3)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"u: expected shape \(\.\.\., 1\), got \(4, 2\)"):
        pendulum_model.step(np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="x: expected finite values"):
        pendulum_model.predict(np.array([[np.nan, 0.0]]), np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"actions: expected shape \(N, H, 1\)"):
        pendulum_model.rollout_cost(np.zeros(2), np.zeros((3, 4)), model_for("Pendulum-v1")[1])
    with pytest.raises(ValueError, match="elites: expected at most members"):
        ModelConfig(members=2, elites=3)
    with pytest.raises(ValueError, match="propagation: expected one of"):
        ModelConfig(propagation="ts2")


def test_learned_double_integrator_plan_is_close_to_the_true_model_plan():
    from planlab.planners import make_planner

    true = DoubleIntegrator()
    cost = true.default_cost()
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.uniform(-3, 3, (n, true.state_dim))
    u = rng.uniform(true.action_low, true.action_high, (n, true.action_dim))
    buf = TransitionBuffer(true.state_dim, true.action_dim)
    buf.add_batch(x, u, -cost.running(x, u), true.step(x, u))
    model = for_model(true, ModelConfig(members=1, hidden=(64, 64), probabilistic=False), seed=0)
    fit(model, buf, TrainConfig(epochs=150, lr=3e-3, progress=False), seed=0)
    name = "cem"
    x0 = np.array([2.0, -1.0] + [0.0] * (true.state_dim - 2))[: true.state_dim]
    plans = {}
    for label, dyn in (("true", true), ("learned", model)):
        planner = make_planner(name, dyn, cost, horizon=20, seed=0)
        plans[label] = planner.plan(x0)
    # judge both plans by the true model's cost
    true_cost = {k: float(true.rollout_cost(x0, p.actions[None], cost)[0]) for k, p in plans.items()}
    assert true_cost["learned"] <= 1.05 * true_cost["true"] + 1e-3, true_cost
    # and the learned model's predicted states track the true ones along its plan
    roll = true.rollout(x0, plans["learned"].actions[None], cost).states[0]
    assert np.max(np.abs(plans["learned"].states - roll)) < 0.2


@pytest.mark.parametrize("propagation", ["tsinf", "ts1"])
def test_particles_take_their_members_one_step_prediction_from_the_shared_start(propagation):
    # random (untrained) weights: every member predicts something different for every input
    cfg = ModelConfig(members=3, hidden=(16, 16), probabilistic=False, propagation=propagation, particles=6)
    m = LearnedDynamics(2, 1, -2.0, 2.0, 0.05, config=cfg, seed=4)
    U = np.random.default_rng(0).uniform(-2, 2, (5, 3, 1))
    x0 = np.array([0.3, -0.2])
    states, _ = m.rollout_particles(x0, U, rng=11)
    members = m.member_assignment(5 * 6, 3, rng=11)  # (H, N * P)
    with torch.no_grad():
        pred, _ = m.predict_torch(torch.tensor(np.tile(x0, (5, 1)), dtype=torch.float32),
                                  torch.tensor(U[:, 0], dtype=torch.float32))
    expected = pred.numpy()[members[0].reshape(5, 6), np.arange(5)[:, None]]  # (N, P, nx)
    np.testing.assert_allclose(states[:, :, 1], expected, rtol=1e-5, atol=1e-6)


def test_learned_reward_plans_without_a_cost(pendulum_data):
    dyn, cost = model_for("Pendulum-v1")
    model = for_model(dyn, ModelConfig(members=3, hidden=(64, 64), learn_reward=True, particles=3), seed=1)
    fit(model, pendulum_data, TrainConfig(epochs=40, progress=False), seed=1)
    U = np.random.default_rng(3).uniform(-2, 2, (200, 20, 1))
    x0 = np.array([1.0, 0.0])  # where the actions decide between falling and recovering
    learned = model.rollout_cost(x0, U, None, rng=0)  # cost = -(learned reward), no terminal cost
    known = model.rollout_cost(x0, U, cost, rng=0)  # the known cost along the very same particles
    np.testing.assert_allclose(learned, known, rtol=0.03)
    with pytest.raises(ValueError, match="cost: expected a Cost"):
        for_model(dyn, ModelConfig(members=1, hidden=(4,))).rollout_cost(x0, U, None)


def test_a_learned_model_executes_an_action_outside_the_box_as_the_nearest_action_inside():
    # an untrained network is not flat in u, so an unclipped action would give another next state
    m = LearnedDynamics(2, 1, -0.5, 0.5, 0.1, config=ModelConfig(members=2, hidden=(8,), propagation="expectation"),
                        seed=3)
    x = np.array([[0.2, -0.1], [1.0, 0.3]])
    far, edge = np.array([[3.0], [-7.0]]), np.array([[0.5], [-0.5]])
    np.testing.assert_array_equal(m.step(x, far), m.step(x, edge))
    assert not np.allclose(m.step(x, far), m.step(x, np.zeros((2, 1))))
    np.testing.assert_array_equal(m.rollout(x[0], np.full((1, 4, 1), 9.0)).states,
                                  m.rollout(x[0], np.full((1, 4, 1), 0.5)).states)
    xt = torch.tensor(x)
    ut = torch.tensor(far, requires_grad=True)
    out = m.step_torch(xt, ut)
    np.testing.assert_allclose(out.detach().numpy(), m.step_torch(xt, torch.tensor(edge)).detach().numpy())
    out.sum().backward()
    np.testing.assert_array_equal(ut.grad.numpy(), 0.0)   # a clipped component has no gradient
