"""planlab's models of gymnasium's MuJoCo v5 envs against gymnasium's own ``step``."""

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco", reason="MuJoCo tests need the optional extra: pip install planlab[mujoco]")
gymnasium = pytest.importorskip("gymnasium")

from planlab.envs.models import model_for  # noqa: E402
from planlab.envs.mujoco_models import GymMujocoDynamics  # noqa: E402
from planlab.episodes import set_env_state  # noqa: E402

ENVS = ["InvertedPendulum-v5", "InvertedDoublePendulum-v5", "Reacher-v5", "HalfCheetah-v5"]
# HalfCheetah's contacts: gymnasium's data carries the contact solver's warm start from its previous
# step, a planlab step starts it afresh; the states agree to the solver's rounding.
STATE_ATOL = {"HalfCheetah-v5": 1e-10}


@pytest.fixture(scope="module", params=ENVS)
def case(request):
    dyn, cost = model_for(request.param)
    env = gymnasium.make(request.param)
    env.reset(seed=0)
    yield request.param, dyn, cost, env
    env.close()


def _env_state(env):
    d = env.unwrapped.data
    return np.concatenate([d.qpos, d.qvel])


def _gym_reward_at_returned_state(env_id, env, action, reward):
    """gymnasium's reward function with the positions of the state ``step`` returned.

    gymnasium reads positions from MuJoCo's data after ``mj_step``; with the RK4 integrator of
    these assets those are the positions of the last Runge-Kutta stage. ``mj_forward`` recomputes
    them at the returned state; the rest of the reward is unchanged.
    """
    inner = env.unwrapped
    if env_id == "InvertedDoublePendulum-v5":
        mujoco.mj_forward(inner.model, inner.data)
        x, _, y = inner.data.site_xpos[0]
        return inner._get_rew(x, y, bool(y <= 1))[0]
    if env_id == "Reacher-v5":
        mujoco.mj_forward(inner.model, inner.data)
        return inner._get_rew(action)[0]
    return reward


def _random_state(env_id, dyn, rng):
    x = np.zeros(dyn.state_dim)
    nq = dyn.nq
    if env_id == "InvertedPendulum-v5":
        x[:] = rng.uniform(-0.15, 0.15, 4)
    elif env_id == "InvertedDoublePendulum-v5":
        x[:] = np.concatenate([rng.uniform(-0.5, 0.5, 3) * [1, 0.3, 0.3], rng.uniform(-1, 1, 3)])
    elif env_id == "Reacher-v5":
        x[:nq] = np.concatenate([rng.uniform(-2, 2, 2), rng.uniform(-0.2, 0.2, 2)])
        x[nq:nq + 2] = rng.uniform(-3, 3, 2)
    else:
        x[:nq] = np.concatenate([[rng.uniform(-1, 1)], [rng.uniform(-0.05, 0.05)], rng.uniform(-0.3, 0.3, nq - 2)])
        x[nq:] = rng.uniform(-1, 1, dyn.nv)
    return x


def _actions(dyn, rng, n):
    # float32-representable, as gymnasium's Box(float32) action space would pass them
    return rng.uniform(dyn.action_low, dyn.action_high, (n, dyn.action_dim)).astype(np.float32).astype(np.float64)


def test_model_for_gives_the_mujoco_model_with_the_envs_control_box(case):
    env_id, dyn, cost, env = case
    assert isinstance(dyn, GymMujocoDynamics)
    assert cost.state_dim == dyn.state_dim and cost.action_dim == dyn.action_dim
    np.testing.assert_array_equal(dyn.action_low, env.action_space.low)
    np.testing.assert_array_equal(dyn.action_high, env.action_space.high)
    assert dyn.dt == pytest.approx(env.unwrapped.dt)


def test_model_step_equals_gymnasium_step_from_random_states(case, rng):
    env_id, dyn, cost, env = case
    for x, u in zip([_random_state(env_id, dyn, rng) for _ in range(8)], _actions(dyn, rng, 8)):
        env.reset(seed=1)
        obs = set_env_state(env, dyn, x)
        np.testing.assert_allclose(obs, env.unwrapped._get_obs(), rtol=0, atol=1e-12)
        _, r, terminated, _, _ = env.step(u)
        xn = dyn.step(x, u)
        np.testing.assert_allclose(xn, _env_state(env), rtol=0, atol=STATE_ATOL.get(env_id, 1e-12))
        model_reward = -cost.running(x[None], u[None], xn[None])[0]
        assert model_reward == pytest.approx(_gym_reward_at_returned_state(env_id, env, u, r), rel=1e-12, abs=1e-12)
        assert bool(dyn.terminated(xn)) == terminated


def test_model_rollout_replays_100_gymnasium_steps(case, rng):
    env_id, dyn, cost, env = case
    obs, _ = env.reset(seed=3)
    x0 = _env_state(env)
    U = _actions(dyn, rng, 100)
    if env_id in ("InvertedPendulum-v5", "InvertedDoublePendulum-v5"):
        U *= 0.05  # stay up longer before the episode ends
    rewards, states = [], [x0]
    for u in U:
        _, r, terminated, _, _ = env.step(u)
        rewards.append(_gym_reward_at_returned_state(env_id, env, u, r))
        states.append(_env_state(env))
        if terminated:
            break
    T = len(rewards)
    roll = dyn.rollout(x0, U[None, :T], cost)
    np.testing.assert_allclose(roll.states[0], np.array(states), rtol=0, atol=STATE_ATOL.get(env_id, 1e-12))
    assert roll.costs[0] == pytest.approx(-np.sum(rewards), rel=1e-11, abs=1e-11)
    assert roll.terminated[0] == (T < 100 or bool(dyn.terminated(states[-1])))


def test_observation_maps_round_trip_the_envs_observation(case, rng):
    env_id, dyn, cost, env = case
    obs, _ = env.reset(seed=5)
    x = dyn.state_from_observation(obs)
    truth = _env_state(env)
    unobserved = {"HalfCheetah-v5": [0], "Reacher-v5": [6, 7]}.get(env_id, [])
    keep = np.setdiff1d(np.arange(dyn.state_dim), unobserved)
    np.testing.assert_allclose(x[keep], truth[keep], rtol=0, atol=1e-12)
    np.testing.assert_allclose(dyn.observation_from_state(truth), obs, rtol=0, atol=1e-12)


def test_set_env_state_rejects_a_state_of_the_wrong_size(case):
    env_id, dyn, cost, env = case
    with pytest.raises(ValueError, match="x0: expected shape"):
        set_env_state(env, dyn, np.zeros(dyn.state_dim + 1))


def test_rgb_array_frames_come_through_a_headless_gl_backend_or_planlab_says_it_cannot_render():
    import os
    import subprocess
    import sys

    script = ("import gymnasium as gym\n"
              "env = gym.make('InvertedDoublePendulum-v5', render_mode='rgb_array', width=32, height=24)\n"
              "env.reset(seed=0)\n"
              "f = env.render()\n"
              "print(f.shape, f.dtype, int(f.max()))\n")
    for backend in ("egl", "osmesa"):
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "MUJOCO_GL": backend})
        if proc.returncode == 0:
            shape, dtype, peak = proc.stdout.strip().rsplit(" ", 1)[0], proc.stdout.split()[-2], proc.stdout.split()[-1]
            assert shape.startswith("(24, 32, 3)") and dtype == "uint8", proc.stdout
            assert int(peak) > 0, "the frame is black"
            return
    # no headless backend: with MuJoCo's default GL, an episode asked for frames either renders them (a
    # machine with a display) or stops with planlab's named error before the controller ever acts
    episode = ("import gymnasium as gym, numpy as np\n"
               "from planlab.episodes import run_episode\n"
               "env = gym.make('InvertedDoublePendulum-v5', render_mode='rgb_array', width=32, height=24)\n"
               "acted = []\n"
               "class Zero:\n"
               "    def reset(self): pass\n"
               "    def act(self, x):\n"
               "        acted.append(1)\n"
               "        return np.zeros(1)\n"
               "try:\n"
               "    r = run_episode(env, Zero(), steps=3, render=True)\n"
               "    f = np.asarray(r.frames)\n"
               "    print('FRAMES', f.shape, f.dtype)\n"
               "except RuntimeError as exc:\n"
               "    print('ERROR', len(acted), exc)\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    proc = subprocess.run([sys.executable, "-c", episode], capture_output=True, text=True, timeout=120, env=clean)
    assert proc.returncode == 0, proc.stderr[-2000:]
    if proc.stdout.startswith("FRAMES"):
        assert proc.stdout.split()[1:] == ["(4,", "24,", "32,", "3)", "uint8"], proc.stdout
    else:
        assert proc.stdout.startswith("ERROR 0 render: InvertedDoublePendulumEnv cannot render rgb_array frames"), \
            proc.stdout


def test_batched_rollout_equals_the_generic_rollout_with_termination(rng):
    # the contract's reference rollout (step by step, termination held, costs stopped) on the IDP model
    from planlab.core import Dynamics

    dyn, cost = model_for("InvertedDoublePendulum-v5")
    x0 = np.stack([_random_state("InvertedDoublePendulum-v5", dyn, rng) for _ in range(6)])
    U = rng.uniform(-1, 1, (6, 12, 1))
    U[:3] *= 0.01  # these stay up, the others fall within the horizon
    x0[:3, 1:] *= 0.1
    fused, ref = dyn.rollout(x0, U, cost), Dynamics.rollout(dyn, x0, U, cost)
    assert ref.terminated.any() and not ref.terminated.all()
    np.testing.assert_allclose(fused.states, ref.states, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fused.costs, ref.costs, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(fused.terminated, ref.terminated)
