"""MBPO: branched rollouts from buffer states, scheduled length, terminal stops, real/model mixing, refits."""

import numpy as np
import pytest
import torch

from planlab.envs.models import model_for
from planlab.mbrl.mbpo import MBPO, MBPOConfig, MixedReplay, branched_rollouts, rollout_length
from planlab.policies.buffers import ReplayBuffer

TINY = dict(learning_starts=20, model_train_freq=20, rollout_freq=10, rollout_batch_size=30, gradient_steps=1,
            batch_size=16, model_epochs=2, model_hidden=(16,), model_members=3, model_elites=2, hidden=(16,),
            rollout_schedule=(2, 4, 20, 40))


def test_rollout_length_follows_the_schedule():
    s = (1, 5, 100, 500)
    assert [rollout_length(t, s) for t in (0, 100, 200, 300, 500, 10_000)] == [1, 1, 2, 3, 5, 5]


def test_rollouts_branch_from_buffer_states_with_the_scheduled_length():
    algo = MBPO("Pendulum-v1", seed=0, eval_episodes=1, **TINY)
    algo._iterate(20)  # random steps, then the first fit
    buffer_states = {tuple(r) for r in algo.data.states}
    for step, k in ((20, 2), (30, 3), (40, 4)):
        out = algo.generate_rollouts(step)
        assert k == rollout_length(step, algo.config.rollout_schedule)
        first = out["states"][out["depth"] == 0]
        assert len(first) == 30 and all(tuple(r) in buffer_states for r in first)
        assert out["depth"].max() == k - 1  # pendulum never terminates: every rollout runs k steps
        assert np.bincount(out["depth"]).tolist() == [30] * k
        # each step continues from the previous step's next states
        for d in range(1, k):
            np.testing.assert_array_equal(out["states"][out["depth"] == d], out["next_states"][out["depth"] == d - 1])


def test_rollouts_stop_at_terminal_states():
    dynamics, cost = model_for("MountainCarContinuous-v0")
    starts = np.array([[0.449, 0.06], [0.448, 0.065], [-0.5, 0.0], [-0.4, 0.01], [0.3, 0.0]])
    out = branched_rollouts(dynamics.step, lambda x: np.ones((len(x), 1)), cost, starts, 6,
                            terminated=dynamics.terminated)
    depth, done = out["depth"], out["terminated"]
    np.testing.assert_array_equal(done, dynamics.terminated(out["next_states"]))
    assert done[depth == 0].tolist() == [True, True, False, False, False]
    for d in range(5):
        alive = (depth == d) & ~done
        assert (depth == d + 1).sum() == alive.sum()
        np.testing.assert_array_equal(out["states"][depth == d + 1], out["next_states"][alive])
    assert (depth == 5).sum() == 3


def test_minibatches_mix_real_and_model_data_at_the_configured_ratio():
    real = ReplayBuffer(100, 3, 1, generator=torch.Generator().manual_seed(0))
    for i in range(50):
        real.add(np.zeros(3), np.zeros(1), 1.0, np.zeros(3), False)  # real: reward +1
    mixed = MixedReplay(real, 1000, 3, 1, real_ratio=0.25, generator=torch.Generator().manual_seed(1))
    _, _, r, _, _ = mixed.sample(64)
    assert (r == 1).all()  # no model data yet: all real
    m = 300
    mixed.add_model(np.zeros((m, 3)), np.zeros((m, 1)), -np.ones(m), np.zeros((m, 3)), np.zeros(m, bool))
    for batch in (64, 200, 7):
        _, _, r, _, _ = mixed.sample(batch)
        n_real = round(0.25 * batch)
        assert len(r) == batch and int((r == 1).sum()) == n_real and int((r == -1).sum()) == batch - n_real
    assert MixedReplay(real, 10, 3, 1, real_ratio=1.0).split(64) == (64, 0)


def test_model_buffer_keeps_the_newest_transitions():
    mixed = MixedReplay(ReplayBuffer(10, 1, 1), 5, 1, 1, real_ratio=0.0)
    mixed.add_model(np.arange(4.0)[:, None], np.zeros((4, 1)), np.arange(4.0), np.zeros((4, 1)), np.zeros(4))
    mixed.add_model(np.arange(4.0, 7.0)[:, None], np.zeros((3, 1)), np.arange(4.0, 7.0), np.zeros((3, 1)), np.zeros(3))
    assert len(mixed.model) == 5 and sorted(mixed.model.rewards.tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]


def test_ensemble_is_refitted_every_F_steps_with_its_elites_and_sac_trains_on_the_mix(tmp_path):
    algo = MBPO("Pendulum-v1", seed=0, eval_every=30, eval_episodes=1, log_dir=tmp_path, **TINY)
    algo.learn(60)
    assert algo.fits == 3  # at 20, 40, 60
    assert algo.learned.elites.size == 2
    assert len(algo.buffer.model) > 0 and algo._updates == 41  # SAC updates from step 20 on
    assert (tmp_path / "progress.jsonl").exists() and (tmp_path / "learning_curve.png").exists()
    path = algo.save(tmp_path / "model")
    same = MBPO.load(path, eval_episodes=1)
    obs = np.array([[1.0, 0.0, 0.5]], dtype=np.float32)
    np.testing.assert_array_equal(same.predict(obs)[0], algo.predict(obs)[0])
    np.testing.assert_array_equal(same.learned.elites, algo.learned.elites)


def test_the_same_seed_reproduces_the_run():
    curves = []
    for _ in range(2):
        algo = MBPO("Pendulum-v1", seed=3, eval_every=30, eval_episodes=1, **TINY)
        algo.learn(40)
        curves.append([(r["step"], r["eval_mean"]) for r in algo.curve])
    assert curves[0] == curves[1]


@pytest.mark.parametrize("kwargs, match", [
    (dict(real_ratio=1.5), "real_ratio"),
    (dict(rollout_schedule=(0, 5, 0, 10)), "rollout_schedule"),
    (dict(rollout_schedule=(1, 5, 10, 0)), "rollout_schedule"),
    (dict(model_train_freq=0), "model_train_freq"),
    (dict(model_elites=6, model_members=5), "elites"),
])
def test_bad_options_raise_errors_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MBPOConfig(**kwargs)


def test_branched_rollouts_reject_empty_starts():
    dynamics, cost = model_for("Pendulum-v1")
    with pytest.raises(ValueError, match="starts"):
        branched_rollouts(dynamics.step, lambda x: np.zeros((len(x), 1)), cost, np.zeros((0, 2)), 3)


def test_default_model_fit_runs_to_its_early_stop_and_beats_a_50_epoch_cap():
    """MBPO fits its model until the held-out loss stops improving; the old fixed 50-epoch cap
    (200 Adam steps on 250 transitions) stopped the first fit far from that point."""
    from planlab.dynamics.learned import ModelConfig, TrainConfig, fit, for_model

    small = dict(model_members=3, model_hidden=(32, 32), model_elites=2)  # the default epochs; a smaller net
    algo = MBPO("Pendulum-v1", seed=0, eval_episodes=1, **small)
    algo._iterate(algo.config.learning_starts - 1)  # random steps only: no fit yet
    assert algo.fits == 0
    capped = for_model(algo.dynamics, ModelConfig(members=3, hidden=(32, 32), elites=2, particles=1,
                                                  propagation="ts1"), seed=algo.seed, threads=None)
    res = algo.fit_model()
    assert res.status == "early_stopped" and res.epochs < algo.config.model_epochs
    assert algo.model_info["model_fit_epochs"] == res.epochs
    res50 = fit(capped, algo.data, TrainConfig(epochs=50, progress=False, threads=None), seed=0)
    assert res50.status == "ok" and res50.epochs == 50  # the cap, not the held-out loss, ended it
    assert np.median(res.best_val) < 0.5 * np.median(res50.best_val)


def test_every_mbpo_benchmark_task_has_a_valid_config():
    from planlab.benchmarks.modelpolicy import TASKS

    tasks = {name: t for name, t in TASKS.items() if t[0] == "mbpo"}
    assert "mbpo-swingup" in tasks
    for name, (_, _, _, _, _, overrides) in tasks.items():
        config = MBPOConfig(**overrides)
        assert all(getattr(config, k) == (tuple(v) if isinstance(v, tuple) else v) for k, v in overrides.items()), name


def test_rollouts_end_before_their_first_untrusted_transition():
    """With an uncertainty and a threshold, every kept transition is trusted and a rollout ends
    at its first untrusted one; a threshold above every uncertainty changes nothing."""
    dynamics, cost = model_for("Pendulum-v1")
    starts = np.array([[0.0, 0.0], [0.5, 1.0], [2.0, -3.0], [3.0, 0.0], [-1.0, 4.0]])
    policy = lambda x: np.full((len(x), 1), 2.0)  # noqa: E731
    speed = lambda x, u: np.abs(x[:, 1])  # noqa: E731  "uncertain" above a speed
    out = branched_rollouts(dynamics.step, policy, cost, starts, 8, uncertainty=speed, max_uncertainty=3.5)
    plain = branched_rollouts(dynamics.step, policy, cost, starts, 8)
    assert (speed(out["states"], out["actions"]) <= 3.5).all()
    # follow every start through the plain rollout: it is kept exactly up to its first fast state
    kept, dropped = 0, 0
    for i in range(len(starts)):
        traj = plain["states"][i::len(starts)]  # the plain rollouts all run 8 steps
        fast = np.flatnonzero(np.abs(traj[:, 1]) > 3.5)
        n = fast[0] if len(fast) else 8
        kept += n
        dropped += int(n < 8)
    assert len(out["rewards"]) == kept and out["untrusted"] == dropped > 0
    assert 0 < kept < len(plain["rewards"])
    loose = branched_rollouts(dynamics.step, policy, cost, starts, 8, uncertainty=speed, max_uncertainty=1e9)
    np.testing.assert_array_equal(loose["next_states"], plain["next_states"])
    assert loose["untrusted"] == 0


@pytest.mark.parametrize("kwargs", [dict(max_uncertainty=1.0), dict(uncertainty=lambda x, u: x[:, 0]),
                                    dict(uncertainty=lambda x, u: x[:, 0], max_uncertainty=0.0)])
def test_branched_rollouts_reject_a_threshold_without_uncertainty_or_the_reverse(kwargs):
    dynamics, cost = model_for("Pendulum-v1")
    with pytest.raises(ValueError, match="max_uncertainty"):
        branched_rollouts(dynamics.step, lambda x: np.zeros((len(x), 1)), cost, np.zeros((2, 2)), 3, **kwargs)


def test_ensemble_disagreement_is_larger_off_the_data_and_gates_the_rollouts():
    algo = MBPO("Pendulum-v1", seed=0, eval_episodes=1, **{**TINY, "model_epochs": 50, "rollout_uncertainty": 1.0})
    algo._iterate(20)  # random steps, then the first fit
    x, u = algo.data.states, algo.data.actions
    on = algo.disagreement(x, u)
    off = algo.disagreement(x + np.array([0.0, 40.0]), u)  # spinning 5x faster than Pendulum-v1 allows
    assert on.shape == (len(x),) and np.median(off) > 5 * np.median(on)
    out = algo.generate_rollouts(20)
    limit = algo.model_info["uncertainty_limit"]
    assert limit == pytest.approx(np.quantile(on, 0.95), rel=0.5)  # from (a subsample of) the real transitions
    assert (algo.disagreement(out["states"], out["actions"]) <= limit).all()
    assert algo.model_info["untrusted_transitions"] == out["untrusted"]


def test_angle_features_reach_the_mbpo_actor_and_critics():
    algo = MBPO("planlab/CartPoleSwingup-v0", seed=0, eval_episodes=1, angle_features=(2,), **TINY)
    o = torch.tensor([[0.1, 0.0, 0.3, 0.0]])
    turned = o + torch.tensor([[0.0, 0.0, 4 * np.pi, 0.0]])
    torch.testing.assert_close(algo.actor.mode(o), algo.actor.mode(turned))
    a = torch.zeros(1, 1)
    torch.testing.assert_close(algo.critic(o, a), algo.critic(turned, a))
