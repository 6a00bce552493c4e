import gymnasium
import numpy as np
import pytest

from planlab.dynamics.learned import TransitionBuffer


def gym_pendulum_transitions(n, seed, speed=8.0):
    """Transitions of gymnasium's own Pendulum-v1 (state set directly, one step each): the reference."""
    env = gymnasium.make("Pendulum-v1").unwrapped
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    x = np.c_[rng.uniform(-np.pi, np.pi, n), rng.uniform(-speed, speed, n)]
    u = rng.uniform(-2.0, 2.0, (n, 1))
    xn = np.empty_like(x)
    r = np.empty(n)
    for i in range(n):
        env.state = x[i].copy()
        obs, r[i], *_ = env.step(u[i].astype(np.float32))
        xn[i] = [np.arctan2(obs[1], obs[0]), obs[2]]
    # gymnasium reports the angle wrapped; the model's state is the unwrapped angle theta + dtheta
    xn[:, 0] = x[:, 0] + np.angle(np.exp(1j * (xn[:, 0] - x[:, 0])))
    return x, u, r, xn


@pytest.fixture(scope="session")
def pendulum_data():
    x, u, r, xn = gym_pendulum_transitions(3000, seed=0)
    buf = TransitionBuffer(2, 1)
    buf.add_batch(x, u, r, xn)
    return buf


@pytest.fixture(scope="session")
def pendulum_transitions():
    return gym_pendulum_transitions
