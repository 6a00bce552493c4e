"""Interrupting a model-based run and resuming it from a checkpoint gives the uninterrupted run's rows."""

import numpy as np
import pytest
import torch

from planlab.mbrl.bptt import BPTT
from planlab.mbrl.mbpo import MBPO
from planlab.mbrl.resume import checkpoint_callback, resume, save_checkpoint

MBPO_TINY = dict(learning_starts=20, model_train_freq=20, rollout_freq=10, rollout_batch_size=20, gradient_steps=2,
                 batch_size=16, model_epochs=2, model_hidden=(16,), model_members=3, model_elites=2, hidden=(16,),
                 rollout_schedule=(1, 3, 20, 60))
BPTT_TINY = dict(model="ensemble", horizon=3, batch_size=8, steps_per_iteration=20, updates_per_iteration=2,
                 hidden=(8,), model_epochs=2, model_hidden=(8,), model_members=2, random_steps=20, reset_starts=0.5,
                 reset_pool=16)


def _rows(curve):
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in curve]


@pytest.mark.parametrize("cls, kw", [(MBPO, MBPO_TINY), (BPTT, BPTT_TINY)], ids=["mbpo", "bptt-ensemble"])
def test_resumed_run_reproduces_the_uninterrupted_rows(tmp_path, cls, kw):
    # Pendulum episodes last 200 steps: the run is killed at step 40, mid-episode, with model data
    # and (MBPO) model rollouts in the buffers and the optimisers' moments non-zero; the last
    # checkpoint (written after every iteration) is what survives.
    opts = dict(seed=3, eval_every=20, eval_episodes=1)
    full = cls("Pendulum-v1", **opts, **kw).learn(80)

    save = checkpoint_callback(tmp_path / "ckpt")

    def killed_at_40(trainer, info):
        save(trainer, info)
        return trainer.num_timesteps < 40

    cls("Pendulum-v1", **opts, **kw).learn(80, callback=killed_at_40)
    torch.manual_seed(12345)  # whatever happens in between must not matter
    np.random.default_rng(7).random(10)
    again = resume(cls, tmp_path / "ckpt", eval_every=20, eval_episodes=1)
    assert again.num_timesteps == 40 and len(again.curve) == 2
    again.learn(40)

    assert _rows(again.curve) == _rows(full.curve)
    for a, b in zip(again.policy.parameters(), full.policy.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_resume_without_a_checkpoint_names_the_missing_file(tmp_path):
    algo = MBPO("Pendulum-v1", seed=0, eval_episodes=1, **MBPO_TINY)
    algo.save(tmp_path / "weights-only")
    with pytest.raises(FileNotFoundError, match="resume.pt"):
        resume(MBPO, tmp_path / "weights-only")
