"""planlab's models reproduce gymnasium's own envs (state and reward)."""

import gymnasium as gym
import numpy as np
import pytest

from planlab.core.ops import wrap_angle
from planlab.envs.models import model_for
from planlab.episodes import set_env_state

# gymnasium's MountainCarContinuous stores its state in float32; the model computes in float64.
# One rounding to float32 is a relative error of at most 2**-24 ~ 6e-8.
TOL = {"Pendulum-v1": 1e-12, "CartPole-v1": 1e-12, "Acrobot-v1": 1e-12, "MountainCarContinuous-v0": 2e-7}


def _random_state(env_id, rng):
    if env_id == "Pendulum-v1":
        return np.array([rng.uniform(-np.pi, np.pi), rng.uniform(-8, 8)])
    if env_id == "CartPole-v1":
        return rng.uniform([-2.3, -2, -0.2, -2], [2.3, 2, 0.2, 2])
    if env_id == "Acrobot-v1":
        return rng.uniform([-np.pi, -np.pi, -4 * np.pi, -9 * np.pi], [np.pi, np.pi, 4 * np.pi, 9 * np.pi])
    return np.array([rng.uniform(-1.2, 0.6), rng.uniform(-0.07, 0.07)]).astype(np.float32).astype(np.float64)


def _random_action(env, dyn, rng):
    if dyn.is_discrete:
        a = int(rng.integers(dyn.n_actions))
        return a, np.array([float(a)])
    a = rng.uniform(-1.2, 1.2, size=dyn.action_dim) * dyn.action_high
    return a, a


@pytest.mark.parametrize("env_id", sorted(TOL))
def test_model_reproduces_gymnasium_step_and_reward(env_id, rng):
    env = gym.make(env_id).unwrapped
    dyn, cost = model_for(env_id)
    for i in range(300):
        env.reset(seed=i)  # fresh episode: CartPole pays 0 after a termination until reset
        x = _random_state(env_id, rng)
        set_env_state(env, dyn, x)
        a, u = _random_action(env, dyn, rng)
        obs, reward, terminated, _, _ = env.step(a)
        xn = dyn.step(x, u)
        np.testing.assert_allclose(xn, np.asarray(env.state, dtype=np.float64), rtol=TOL[env_id], atol=1e-12)
        assert float(-cost.running(x, u, xn)) == pytest.approx(reward, rel=1e-9, abs=1e-9)
        assert bool(dyn.terminated(xn)) == terminated
        diff = dyn.state_from_observation(obs) - xn
        diff[list(dyn.angle_indices)] = wrap_angle(diff[list(dyn.angle_indices)])  # observations wrap angles
        assert np.all(np.abs(diff) <= 1e-6 * (1 + np.abs(xn))), diff  # observations are float32


@pytest.mark.parametrize("env_id", sorted(TOL))
def test_a_200_step_episode_replayed_on_both_matches(env_id, rng):
    env = gym.make(env_id).unwrapped
    dyn, cost = model_for(env_id)
    env.reset(seed=3)
    x = np.asarray(env.state, dtype=np.float64)
    for t in range(200):
        a, u = _random_action(env, dyn, rng)
        _, reward, terminated, _, _ = env.step(a)
        xn = dyn.step(x, u)
        # float32 storage in MountainCarContinuous compounds over the episode; the others are exact
        tol = 1e-5 if env_id == "MountainCarContinuous-v0" else 1e-9
        np.testing.assert_allclose(xn, np.asarray(env.state, dtype=np.float64), rtol=tol, atol=tol)
        assert float(-cost.running(x, u, xn)) == pytest.approx(reward, rel=1e-6, abs=1e-6)
        assert bool(dyn.terminated(xn)) == terminated
        if terminated:
            break
        x = np.asarray(env.state, dtype=np.float64) if env_id == "MountainCarContinuous-v0" else xn


def test_unknown_id_names_the_known_ones():
    with pytest.raises(ValueError, match=r"env: expected an id planlab has a model of \(.*Pendulum-v1.*\), got 'Nope-v0'"):
        model_for("Nope-v0")


def test_model_for_a_planlab_env_instance_returns_its_own_objects():
    env = gym.make("planlab/CartPoleSwingup-v0")
    dyn, cost = model_for(env)
    assert dyn is env.unwrapped.dynamics and cost is env.unwrapped.cost
