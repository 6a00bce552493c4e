"""A planner planlab does not ship, for the suite tests (joins by import path ``bench_helpers:RandomPlanner``)."""

import os
import signal
import time

from planlab.core.planning import Plan, Planner


class RandomPlanner(Planner):
    """Uniform random actions in the box, seeded; can fail, crash or stall on one seed (for the tests)."""

    action_kinds = ("continuous", "discrete")

    def __init__(self, dynamics, cost, horizon=3, *, seed=None, sleep=0.0, fail_on_seed=-1, crash_on_seed=-1,
                 stall_on_seed=-1):
        super().__init__(dynamics, cost, horizon, seed=seed)
        self.sleep, self.job_seed = float(sleep), seed
        if seed == fail_on_seed:
            raise RuntimeError("deliberate failure on this seed")
        if seed == crash_on_seed:
            os.kill(os.getpid(), signal.SIGKILL)
        if seed == stall_on_seed:
            self.sleep = 3600.0

    def plan(self, x0, warm_start=None):
        x0 = self._check_x0(x0)
        if self.sleep:
            time.sleep(self.sleep)
        d = self.dynamics
        U = self.rng.uniform(d.action_low, d.action_high, size=(1, self.horizon, d.action_dim))
        ro = d.rollout(x0, U, self.cost)
        return Plan(U[0], ro.states[0], float(ro.costs[0]))
