"""A small stochastic test model for the particle path of the sampling planners (the particle
estimate of PETS, Chua et al., 2018).

A plain module, not a conftest, so that other planner test files can keep their own conftest.
"""

import numpy as np

from planlab.core.contracts import Dynamics


class NoisyDoubleIntegrator(Dynamics):
    """1-D double integrator with additive Gaussian noise on the velocity, ``v' = v + dt a + sigma w``."""

    def __init__(self, sigma=0.1, dt=0.1):
        super().__init__(2, 1, -1.0, 1.0, dt, stochastic=True)
        self.sigma = sigma

    def step(self, x, u, rng=None):
        x = np.asarray(x, dtype=np.float64)
        u = np.asarray(u, dtype=np.float64)
        dt = self.dt
        out = np.empty(np.broadcast_shapes(x.shape, (u.shape[:-1]) + (2,)))
        out[..., 0] = x[..., 0] + dt * x[..., 1] + 0.5 * dt * dt * u[..., 0]
        noise = self.sigma * rng.standard_normal(out.shape[:-1]) if rng is not None else 0.0
        out[..., 1] = x[..., 1] + dt * u[..., 0] + noise
        return out

