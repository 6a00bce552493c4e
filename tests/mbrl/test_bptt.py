"""Back-propagation through the model: pathwise gradients, the LQR limit, clipping, the trainer's boundaries."""

import numpy as np
import pytest
import scipy.linalg
import torch

from planlab.core.cost import QuadraticCost
from planlab.dynamics.learned import ModelConfig, for_model
from planlab.envs.models import model_for
from planlab.mbrl.bptt import BPTT, BPTTConfig
from planlab.mbrl.pathwise import EnsembleStep, StateFeedbackPolicy, clip_adjoint, exact_step, rollout_cost
from planlab.testing.systems import LinearSystem

TINY = dict(horizon=3, batch_size=8, steps_per_iteration=20, updates_per_iteration=2, hidden=(8,))


def _central_differences(f, params, eps=1e-6):
    grads = []
    with torch.no_grad():
        for p in params:
            g = torch.zeros_like(p)
            flat, gflat = p.view(-1), g.view(-1)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + eps
                hi = f().item()
                flat[i] = old - eps
                lo = f().item()
                flat[i] = old
                gflat[i] = (hi - lo) / (2 * eps)
            grads.append(g)
    return grads


def _check_gradient(objective, policy):
    params = list(policy.parameters())
    policy.zero_grad()
    objective().backward()
    analytic = [p.grad.clone() for p in params]
    numeric = _central_differences(objective, params)
    for a, n in zip(analytic, numeric):
        np.testing.assert_allclose(a.numpy(), n.numpy(), rtol=1e-5, atol=1e-7)
    assert max(float(a.abs().max()) for a in analytic) > 1e-3  # the check is not vacuous


def test_pathwise_gradient_through_the_exact_pendulum_equals_central_finite_differences():
    dynamics, cost = model_for("Pendulum-v1")
    torch.manual_seed(0)
    policy = StateFeedbackPolicy(2, 1, dynamics.action_low, dynamics.action_high, angle_indices=(0,),
                                 hidden=(4,)).double()
    with torch.no_grad():
        for p in policy.parameters():
            p.normal_(0.0, 0.5)
    x0 = torch.tensor([[2.5, 0.3], [-1.0, -0.5], [0.4, 1.0]], dtype=torch.float64)
    step = exact_step(dynamics)
    _check_gradient(lambda: rollout_cost(step, cost, policy, x0, 6, gamma=0.95).mean(), policy)


def test_pathwise_gradient_through_a_sampled_ensemble_member_equals_central_finite_differences():
    dynamics, cost = model_for("Pendulum-v1")
    model = for_model(dynamics, ModelConfig(members=3, hidden=(8,)), seed=0, threads=None)
    model.net.double()
    model.invalidate()
    gen = torch.Generator()
    step = EnsembleStep(model, sample=True, generator=gen)
    torch.manual_seed(1)
    policy = StateFeedbackPolicy(2, 1, dynamics.action_low, dynamics.action_high, angle_indices=(0,),
                                 hidden=(4,)).double()
    with torch.no_grad():
        for p in policy.parameters():
            p.normal_(0.0, 0.5)
    x0 = torch.tensor([[2.5, 0.3], [-1.0, -0.5], [0.4, 1.0], [0.1, 0.1]], dtype=torch.float64)

    def objective():
        gen.manual_seed(7)  # the same members and noise in every evaluation
        step.assign(x0.shape[0])
        return rollout_cost(step, cost, policy, x0, 4, gamma=0.9).mean()

    assert len(set(step.assign(64).tolist())) == 3  # rollouts do follow different members
    _check_gradient(objective, policy)


def test_backpropagation_through_the_exact_linear_model_converges_to_the_lqr_gain():
    dt = 0.1
    A = np.array([[1.0, dt], [0.0, 1.0]])
    B = np.array([[0.5 * dt * dt], [dt]])
    Q, R = np.diag([1.0, 0.5]), np.array([[0.1]])
    P = scipy.linalg.solve_discrete_are(A, B, Q, R)
    K_lqr = -np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)  # u = K x
    system = LinearSystem(A, B, action_low=-100.0, action_high=100.0, dt=dt)
    # with the DARE cost-to-go as the terminal cost, the stationary gain minimising any horizon's
    # cost is the infinite-horizon LQR gain
    cost = QuadraticCost(Q=Q, R=R, Qf=P)
    policy = torch.nn.Linear(2, 1, bias=False).double()
    torch.nn.init.zeros_(policy.weight)
    x0 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]], dtype=torch.float64)
    opt = torch.optim.LBFGS(policy.parameters(), lr=1.0, max_iter=200, tolerance_grad=1e-12,
                            tolerance_change=1e-15, history_size=20, line_search_fn="strong_wolfe")
    step = exact_step(system)

    def closure():
        opt.zero_grad()
        loss = rollout_cost(step, cost, policy, x0, 8).mean()
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    np.testing.assert_allclose(policy.weight.detach().numpy(), K_lqr, rtol=1e-6, atol=1e-8)


def test_learned_terminal_value_replaces_the_cost_terminal_at_the_truncation():
    dynamics, cost = model_for("Pendulum-v1")
    policy = StateFeedbackPolicy(2, 1, dynamics.action_low, dynamics.action_high, angle_indices=(0,), hidden=(4,))
    x0 = torch.tensor([[1.0, 0.0], [3.0, -1.0]])
    step = exact_step(dynamics)
    total, states, costs = rollout_cost(step, cost, policy, x0, 5, gamma=0.9, keep=True)

    def value(x):
        return x[:, 0] ** 2 + 3.0

    with_value = rollout_cost(step, cost, policy, x0, 5, gamma=0.9, terminal_value=value)
    discounted = (costs * 0.9 ** torch.arange(5.0)).sum(1)
    torch.testing.assert_close(total, discounted)  # Pendulum's cost has no terminal term
    torch.testing.assert_close(with_value, discounted + 0.9**5 * value(states[:, -1]))


def test_gradient_clipping_bounds_the_policy_gradient_norm():
    norms = {}
    for clip in (None, 1e-3):
        algo = BPTT("Pendulum-v1", seed=0, eval_episodes=1, max_grad_norm=clip, **TINY)
        algo._iterate(20)
        algo.update()
        norms[clip] = float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in algo.actor.parameters()])))
    assert norms[None] > 1e-2
    assert norms[1e-3] <= 1e-3 * (1 + 1e-5)


def test_adjoint_clipping_caps_each_rollouts_gradient_at_k_times_the_batch_median_and_leaves_the_rest():
    w = torch.tensor([[3.0, 4.0], [0.0, 1.0], [6.0, 8.0], [0.3, 0.4], [60.0, 80.0]], dtype=torch.float64)
    x = torch.zeros(5, 2, dtype=torch.float64, requires_grad=True)
    y = clip_adjoint(x, 2.0)
    torch.testing.assert_close(y, x)  # identity forward
    (w * y).sum().backward()  # dL/dy = w; row norms 5, 1, 10, 0.5, 100 -> median 5, cap 10
    expected = w.clone()
    expected[4] *= 10.0 / 100.0  # only the row above the cap is scaled, to norm 10
    torch.testing.assert_close(x.grad, expected)


def test_adjoint_clipping_with_a_large_multiple_gives_the_exact_pathwise_gradient():
    dynamics, cost = model_for("Pendulum-v1")
    torch.manual_seed(0)
    policy = StateFeedbackPolicy(2, 1, dynamics.action_low, dynamics.action_high, angle_indices=(0,),
                                 hidden=(4,)).double()
    x0 = torch.tensor([[2.5, 0.3], [-1.0, -0.5], [0.4, 1.0]], dtype=torch.float64)
    grads = {}
    for k in (None, 1e6, 1.0):
        policy.zero_grad()
        rollout_cost(exact_step(dynamics), cost, policy, x0, 8, gamma=0.95, adjoint_clip=k).mean().backward()
        grads[k] = torch.cat([p.grad.flatten() for p in policy.parameters()])
    torch.testing.assert_close(grads[1e6], grads[None])
    assert not torch.allclose(grads[1.0], grads[None])  # k = 1 clips every row above the median


def test_saturation_penalty_restores_a_gradient_where_the_saturated_tanh_passes_none():
    grads, zmax = {}, {}
    for penalty in (0.0, 1.0):
        algo = BPTT("Pendulum-v1", seed=0, eval_episodes=1, saturation_penalty=penalty, max_grad_norm=None, **TINY)
        algo._iterate(20)
        with torch.no_grad():
            list(algo.actor.net.parameters())[-1].fill_(12.0)  # output bias: tanh(z ~ 12) = 1 - 8e-11
        x0 = torch.as_tensor(algo.data.states[:8], dtype=torch.float32)
        algo.update(x0)
        grads[penalty] = float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in algo.actor.parameters()])))
        with torch.no_grad():
            zmax[penalty] = float(algo.actor.preactivation(x0).abs().max())
    assert grads[0.0] < 1e-6  # the pathwise gradient vanishes through the saturated tanh
    assert grads[1.0] > 1.0  # the penalty's gradient, 2 (z - 2) per state, is not lost
    assert zmax[1.0] < zmax[0.0]  # and the update moves the output back towards the unsaturated range


def test_reset_starts_take_that_fraction_of_rollouts_from_gymnasium_reset_states():
    import gymnasium

    algo = BPTT("Pendulum-v1", model="exact", seed=0, reset_starts=0.25, reset_pool=6, **TINY)
    algo._iterate(20)
    env = gymnasium.make("Pendulum-v1")
    seeds = np.random.SeedSequence([0, 7_919]).generate_state(6)
    resets = np.stack([env.unwrapped.state.copy() for s in seeds if env.reset(seed=int(s)) is not None])
    torch.testing.assert_close(algo.reset_states, torch.as_tensor(resets, dtype=torch.float32))  # gymnasium's own
    x0 = algo._starts()
    visited = {tuple(r) for r in torch.as_tensor(algo.data.states, dtype=torch.float32).tolist()}
    pool = {tuple(r) for r in algo.reset_states.tolist()}
    assert all(tuple(r) in visited for r in x0[:6].tolist())  # round(0.75 * 8) visited states ...
    assert all(tuple(r) in pool for r in x0[6:].tolist())  # ... and 2 reset states


def test_bptt_through_a_learned_ensemble_saves_and_loads_with_weights_only(tmp_path):
    algo = BPTT("Pendulum-v1", seed=1, eval_every=40, eval_episodes=1, model="ensemble", random_steps=20,
                model_epochs=2, model_hidden=(16,), model_members=2, **TINY)
    algo.learn(40)
    assert algo.fits == 2 and len(algo.data) == 40  # refitted after each 20-step iteration
    path = algo.save(tmp_path / "bptt")
    same = BPTT.load(path, eval_episodes=1)
    obs = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, -2.0]], dtype=np.float32)
    np.testing.assert_array_equal(same.predict(obs)[0], algo.predict(obs)[0])
    for a, b in zip(same.learned.net.state_dict().values(), algo.learned.net.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert same.config == algo.config


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(model="mlp"), ValueError, "model"),
    (dict(horizon=0), ValueError, "horizon"),
    (dict(max_grad_norm=-1.0), ValueError, "max_grad_norm"),
    (dict(exploration_noise=-0.1), ValueError, "exploration_noise"),
    (dict(model_elites=9), ValueError, "elites"),
    (dict(reset_starts=1.5), ValueError, "reset_starts"),
    (dict(value_updates=0), ValueError, "value_updates"),
    (dict(adjoint_clip=0.0), ValueError, "adjoint_clip"),
    (dict(saturation_penalty=-1.0), ValueError, "saturation_penalty"),
])
def test_bad_options_raise_errors_naming_them(kwargs, error, match):
    with pytest.raises(error, match=match):
        BPTTConfig(**kwargs)


def test_envs_without_a_model_or_with_discrete_actions_are_rejected():
    with pytest.raises(TypeError, match="continuous"):
        BPTT("CartPole-v1")
    with pytest.raises(ValueError, match="env: BPTT needs an env planlab has a model of"):
        BPTT(_unmodelled_env)


def _unmodelled_env():
    """A pendulum env built without gymnasium.make: no id, so planlab cannot know its model."""
    import gymnasium

    return gymnasium.wrappers.TimeLimit(type(gymnasium.make("Pendulum-v1").unwrapped)(), 50)


def test_default_model_fit_runs_to_its_early_stop_and_beats_a_50_epoch_cap():
    """BPTT fits its ensemble until the held-out loss stops improving; the old fixed 50-epoch cap
    stopped the first fit (on 199 random transitions) far from that point."""
    from planlab.dynamics.learned import TrainConfig, fit

    small = dict(model_members=3, model_hidden=(32, 32), model_elites=2)  # the default epochs; a smaller net
    algo = BPTT("Pendulum-v1", seed=0, eval_episodes=1, model="ensemble", random_steps=200, **small)
    algo._iterate(199)  # random steps only: no fit yet
    assert algo.fits == 0 and len(algo.data) == 199
    capped = for_model(algo.dynamics, ModelConfig(members=3, hidden=(32, 32), elites=2), seed=algo.seed, threads=None)
    res = algo.fit_model()
    assert algo.fits == 1
    assert res.status == "early_stopped" and res.epochs < algo.config.model_epochs
    res50 = fit(capped, algo.data, TrainConfig(epochs=50, progress=False, threads=None), seed=0)
    assert res50.status == "ok" and res50.epochs == 50  # the cap, not the held-out loss, ended it
    assert np.median(res.best_val) < 0.5 * np.median(res50.best_val)
