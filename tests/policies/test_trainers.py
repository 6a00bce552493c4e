"""Trainer interface: persistence, determinism, logging, callbacks and input validation."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

from planlab.core.planning import Policy
from planlab.policies import (A2C, ALGORITHMS, PPO, REINFORCE, SAC, ActorCritic, ActorCriticNet, OffPolicyActorCritic,
                              OnlineActorCritic, PPOConfig, ReinforceConfig, SACConfig, Trainer)

SMALL = {
    "reinforce": (REINFORCE, "CartPole-v1", dict(batch_steps=200)),
    "ac": (ActorCritic, "CartPole-v1", dict(n_envs=2, n_steps=16)),
    "online_ac": (OnlineActorCritic, "CartPole-v1", {}),
    "a2c": (A2C, "CartPole-v1", dict(n_envs=2, n_steps=8)),
    "ppo": (PPO, "CartPole-v1", dict(n_envs=2, n_steps=32, batch_size=32, n_epochs=2)),
    "sac": (SAC, "Pendulum-v1", dict(learning_starts=100, batch_size=32)),
    "offpolicy_ac": (OffPolicyActorCritic, "Pendulum-v1", dict(learning_starts=100, batch_size=32)),
}


def _make(name, **kw):
    cls, env, cfg = SMALL[name]
    return cls(env, seed=3, eval_every=200, eval_episodes=2, **cfg, **kw)


def _curve(trainer):
    return [{k: v for k, v in row.items() if k != "wall_time"} for row in trainer.curve]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_same_seed_gives_the_same_learning_curve(name):
    a = _make(name).learn(400)
    b = _make(name).learn(400)
    assert len(a.curve) >= 1
    assert _curve(a) == _curve(b)


def test_different_seeds_give_different_curves():
    a = PPO("CartPole-v1", seed=0, eval_every=256, eval_episodes=2, n_envs=2, n_steps=64).learn(512)
    b = PPO("CartPole-v1", seed=1, eval_every=256, eval_episodes=2, n_envs=2, n_steps=64).learn(512)
    assert _curve(a) != _curve(b)


@pytest.mark.parametrize("name", ["reinforce", "ppo", "sac"])
def test_save_load_round_trips(tmp_path, name):
    t = _make(name).learn(300)
    path = t.save(tmp_path / "model")
    meta = json.loads((path / "config.json").read_text())
    assert meta["algo"] == name and type(t.config).from_dict(meta["config"]) == t.config
    u = Trainer.load(path)
    assert type(u) is type(t) and u.config == t.config and u.num_timesteps == t.num_timesteps
    for key, mod in t._state().items():
        if isinstance(mod, torch.nn.Module):
            for (k1, v1), (k2, v2) in zip(mod.state_dict().items(), u._state()[key].state_dict().items()):
                assert k1 == k2 and torch.equal(v1, v2)
    obs = np.stack([t.observation_space.sample() for _ in range(8)])
    np.testing.assert_array_equal(t.predict(obs)[0], u.predict(obs)[0])
    if name == "sac":
        assert torch.equal(t.log_alpha, u.log_alpha)


def test_load_through_a_subclass_checks_the_saved_algorithm(tmp_path):
    path = _make("a2c").learn(64).save(tmp_path / "a2c")
    assert isinstance(A2C.load(path), A2C)
    with pytest.raises(TypeError, match="A2C"):
        PPO.load(path)


def test_learn_writes_flushed_jsonl_and_a_png(tmp_path):
    seen = []

    def cb(trainer, info):
        rows = (tmp_path / "progress.jsonl").read_text().splitlines() if (tmp_path / "progress.jsonl").exists() else []
        seen.append(len(rows) == len(trainer.curve))  # already on disk while training runs

    t = _make("a2c", log_dir=tmp_path).learn(600, callback=cb)
    rows = [json.loads(line) for line in (tmp_path / "progress.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [r["step"] for r in t.curve]
    assert {"step", "wall_time", "eval_mean", "eval_std", "train_mean"} <= set(rows[0])
    assert all(seen)
    png = (tmp_path / "learning_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_callback_returning_false_stops_training():
    calls = []
    t = _make("a2c").learn(10_000, callback=lambda tr, info: calls.append(info["step"]) or False)
    assert len(calls) == 1 and t.num_timesteps == calls[0] < 10_000


def test_target_return_stops_training_early():
    t = PPO("CartPole-v1", seed=0, eval_every=64, eval_episodes=2, target_return=5.0, n_envs=2, n_steps=32)
    t.learn(10_000)
    assert t.solved_at == t.num_timesteps == t.curve[-1]["step"] < 10_000
    assert t.curve[-1]["eval_mean"] >= 5.0


def test_policies_implement_the_planlab_policy_contract():
    t = _make("ppo")
    assert isinstance(t.policy, Policy) and isinstance(t.policy, ActorCriticNet)
    obs = np.zeros((5, 4), np.float32)
    assert t.policy.act(obs).shape == (5,)
    assert t.predict(obs[0])[0].shape == ()
    s = _make("sac")
    a, state = s.predict(np.zeros(3))
    assert state is None and a.shape == (1,) and -2.0 <= a[0] <= 2.0
    a = s.policy.act(np.zeros((7, 3)))
    assert a.shape == (7, 1) and np.all(np.abs(a) <= 2.0)


def test_predict_rejects_wrong_observation_shape():
    with pytest.raises(ValueError, match=r"obs: expected shape \(4,\)"):
        _make("ppo").predict(np.zeros(3))


@pytest.mark.parametrize("cls", [SAC, OffPolicyActorCritic])
def test_continuous_algorithm_on_discrete_env_raises(cls):
    with pytest.raises(TypeError, match=r"env: .*continuous.*Discrete\(2\)"):
        cls("CartPole-v1")


def test_discrete_only_env_space_is_checked_against_the_algorithm():
    class Ctx(PPO):  # a discrete-only variant
        name = "test_discrete_only"
        supports_continuous = False

    try:
        with pytest.raises(TypeError, match=r"env: .*discrete.*Box"):
            Ctx("Pendulum-v1")
    finally:
        ALGORITHMS.pop(Ctx.name, None)


@pytest.mark.parametrize("cfg", [PPOConfig, ReinforceConfig, SACConfig])
@pytest.mark.parametrize("gamma", [-0.01, 1.01])
def test_gamma_outside_unit_interval_raises(cfg, gamma):
    with pytest.raises(ValueError, match=rf"gamma: expected a number in \[0, 1\], got {gamma}"):
        cfg(gamma=gamma)


@pytest.mark.parametrize("lr", [0.0, -1e-3])
def test_non_positive_learning_rate_raises(lr):
    with pytest.raises(ValueError, match=r"lr: expected a positive number"):
        PPO("CartPole-v1", lr=lr)
    with pytest.raises(ValueError, match=r"value_lr: expected a positive number"):
        ReinforceConfig(value_lr=lr)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match=r"env: expected a registered gymnasium id, got 'NoSuchEnv-v0'"):
        PPO("NoSuchEnv-v0")
    with pytest.raises(TypeError, match=r"env: expected a gymnasium id"):
        PPO(42)
    with pytest.raises(TypeError, match=r"config: expected a PPOConfig, got SACConfig"):
        PPO("CartPole-v1", SACConfig())
    with pytest.raises(ValueError, match="baseline"):
        ReinforceConfig(baseline="median")
    with pytest.raises(ValueError, match="baseline"):
        ReinforceConfig(baseline="value", causal=False)
    with pytest.raises(TypeError, match="total_steps"):
        _make("ppo").learn(1.5)
    with pytest.raises(ValueError, match="hidden"):
        PPOConfig(hidden=(64, 0))
    with pytest.raises(TypeError, match=r"n_epoch: expected a PPOConfig field"):
        PPO("CartPole-v1", n_epoch=3)


def test_env_can_be_an_instance_or_a_factory():
    e = gym.make("CartPole-v1")
    assert A2C(e, n_envs=2).env_id == "CartPole-v1"
    assert A2C(lambda: gym.make("CartPole-v1"), n_envs=2).env_id == "CartPole-v1"


def test_shared_trunk_and_two_network_designs_both_train():
    for shared in (False, True):
        t = A2C("CartPole-v1", seed=0, n_envs=2, n_steps=8, shared=shared, eval_every=10_000)
        before = [p.detach().clone() for p in t.policy.parameters()]
        t.learn(64)
        assert any(not torch.equal(a, b) for a, b in zip(before, t.policy.parameters()))
        assert hasattr(t.policy, "trunk") == shared


def test_reinforce_options_run_and_importance_weights_move_off_one():
    for kw in (dict(baseline="optimal"), dict(baseline="average", causal=False), dict(discount="from_start"),
               dict(baseline="none", n_updates=3)):
        t = REINFORCE("CartPole-v1", seed=0, batch_steps=100, eval_every=10_000, **kw)
        t.learn(100)
        assert np.isfinite(t.curve[-1]["policy_loss"])
    # with several passes the last pass is off-policy: its mean weight is no longer exactly 1
    assert t.curve[-1]["mean_weight"] != 1.0


def test_close_then_learn_again_continues_counting_steps():
    t = _make("a2c").learn(64)
    n = t.num_timesteps
    t.close()
    t.learn(64)
    assert t.num_timesteps >= n + 64


def test_a_non_finite_loss_skips_the_update_with_a_warning_instead_of_poisoning_the_network():
    t = _make("ppo")
    before = [p.detach().clone() for p in t.policy.parameters()]
    bad = sum(p.sum() for p in t.policy.parameters()) * float("nan")
    with pytest.warns(RuntimeWarning, match="non-finite loss"):
        assert t._optimize(t.optimizer, bad, t.policy.parameters(), 0.5) is False
    assert t.skipped_updates == 1
    assert all(torch.equal(a, b) for a, b in zip(before, t.policy.parameters()))
