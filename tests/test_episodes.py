import gymnasium as gym
import numpy as np
import pytest

from planlab.dynamics import Pendulum
from planlab.envs.models import model_for
from planlab.episodes import mpc_for_env, run_episode, set_env_state
from planlab.planners import MPC, RandomShooting


def test_run_episode_on_gymnasium_pendulum_swings_up_with_random_shooting():
    env = gym.make("Pendulum-v1")
    mpc = mpc_for_env(env, "shooting", horizon=30, population=1000, seed=0)
    res = run_episode(env, mpc, seed=0, x0=[np.pi, 0.0])
    assert res.steps == 200 and len(res.plan_times) == 200
    # hanging start: the swing-up costs about -364 at best; doing nothing costs about -1970
    assert res.total_return > -700
    assert abs(np.cos(res.states[-1][0]) - 1.0) < 0.05  # upright at the end


def test_run_episode_starts_the_env_from_x0_and_records_the_trajectory():
    env = gym.make("Pendulum-v1")
    dyn, cost = model_for("Pendulum-v1")
    mpc = MPC(RandomShooting(dyn, cost, horizon=10, population=50, seed=0))
    res = run_episode(env, mpc, steps=3, seed=0, x0=[1.0, 0.5])
    assert res.states.shape == (4, 2) and res.actions.shape == (3, 1) and res.rewards.shape == (3,)
    np.testing.assert_allclose(res.states[0], [1.0, 0.5])
    # every recorded next state is what gymnasium's env produced from the executed action
    np.testing.assert_allclose(res.states[1], dyn.step(res.states[0], res.actions[0]), rtol=1e-6, atol=1e-6)


def test_mpc_for_env_builds_named_planners_and_rejects_unknown_options():
    mpc = mpc_for_env("Pendulum-v1", "cem", horizon=7, seed=0)
    assert mpc.planner.horizon == 7
    with pytest.raises(ValueError, match="not_an_option: not an option of planner 'cem'"):
        mpc_for_env("Pendulum-v1", "cem", not_an_option=1)


def test_set_env_state_refuses_an_env_without_a_settable_state():
    class NoState(gym.Env):
        observation_space = gym.spaces.Box(-1, 1, (2,))
        action_space = gym.spaces.Box(-1, 1, (1,))

    with pytest.raises(TypeError, match="no settable state"):
        set_env_state(NoState(), Pendulum(), [0.0, 0.0])
