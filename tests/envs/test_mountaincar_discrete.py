"""``model_for("MountainCar-v0")`` reproduces gymnasium's discrete mountain car."""

from __future__ import annotations

import gymnasium
import numpy as np

from planlab.envs.models import model_for


def test_model_reproduces_gymnasium_mountaincar_v0_step():
    """gymnasium keeps MountainCar-v0's state in float64 (a tuple of numpy floats; only the observation is
    float32), so the model must agree to float64 round-off: gymnasium adds the two velocity terms in a
    different order, hence 1e-15 rather than exact equality."""
    dyn, cost = model_for("MountainCar-v0")
    env = gymnasium.make("MountainCar-v0").unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(3000):
        x = np.array([rng.uniform(-1.2, 0.6), rng.uniform(-0.07, 0.07)])
        a = int(rng.integers(3))
        env.state = (x[0], x[1])
        _, reward, terminated, _, _ = env.step(a)
        u = np.array([float(a)])
        xn = dyn.step(x, u)
        np.testing.assert_allclose(xn, np.array(env.state, dtype=np.float64), rtol=0, atol=1e-15)
        assert bool(dyn.terminated(xn)) == terminated
        assert -float(cost.running(x, u, xn)) == reward


def test_continuous_mountain_car_numbers_are_unchanged():
    dyn, _ = model_for("MountainCarContinuous-v0")
    env = gymnasium.make("MountainCarContinuous-v0").unwrapped
    env.reset(seed=0)
    x = np.array([-0.5, 0.01])
    env.state = x.astype(np.float32)
    env.step(np.array([0.7], dtype=np.float32))
    np.testing.assert_allclose(dyn.step(x, np.array([0.7])), env.state, atol=1e-6)  # gymnasium steps in float32
