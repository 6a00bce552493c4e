"""Every registered planlab env passes gymnasium's checker, is deterministic and renders frames."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import planlab
from planlab.envs import ENV_IDS


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_passes_gymnasium_check_env(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_episode(env_id):
    def episode(seed):
        env = gym.make(env_id)
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for _ in range(20):
            obs, r, term, trunc, _ = env.step(env.action_space.sample())
            out.append(np.r_[obs, r])
            if term or trunc:
                break
        return out

    a, b, c = episode(1), episode(1), episode(2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and len(a) == len(b)
    assert len(a) != len(c) or any(not np.array_equal(x, y) for x, y in zip(a, c))  # another seed, another episode


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_exposes_its_model_and_reward_is_negated_cost(env_id):
    env = gym.make(env_id)
    inner = env.unwrapped
    obs, _ = env.reset(seed=0)
    u = np.clip(np.zeros(inner.dynamics.action_dim), inner.dynamics.action_low, inner.dynamics.action_high)
    obs2, r, *_ = env.step(u)
    if not inner.dynamics.stochastic:  # a stochastic model's step samples; the reward check below still holds
        np.testing.assert_allclose(obs2, inner.dynamics.step(obs, u))
    assert r == pytest.approx(-float(inner.cost.running(obs, u, obs2)))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_render_returns_an_rgb_frame_that_changes_with_the_state(env_id):
    env = gym.make(env_id, render_mode="rgb_array", render_size=64)
    env.reset(seed=0)
    f0 = env.render()
    assert f0.shape == (64, 64, 3) and f0.dtype == np.uint8
    inner = env.unwrapped
    inner.state = inner.state + 0.5
    assert np.abs(env.render().astype(int) - f0.astype(int)).sum() > 0


def test_reset_from_x0_and_bad_x0():
    env = gym.make("planlab/PendulumSwingup-v0")
    obs, _ = env.reset(options={"x0": [0.1, 0.2]})
    assert obs.tolist() == [0.1, 0.2]
    with pytest.raises(ValueError, match=r"options\['x0'\]: expected shape \(2,\), got \(3,\)"):
        env.reset(options={"x0": [0.1, 0.2, 0.3]})


def test_unknown_id_via_planlab_make():
    with pytest.raises(ValueError, match="env: expected a registered gymnasium id"):
        planlab.envs.make("planlab/Nope-v0")
