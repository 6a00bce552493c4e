"""``planlab/GridWorld-v0``: the slippery gridworld (:mod:`planlab.dynamics.systems.gridworld`) as a gymnasium env."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from ..core.validation import as_float_array
from ..dynamics.systems.gridworld import AIMA_4X3, GridWorld
from .render import Canvas
from .tasks import SystemEnv

__all__ = ["GridWorldEnv"]


class GridWorldEnv(SystemEnv):
    """``planlab/GridWorld-v0``: the slippery gridworld as a gymnasium env (``Discrete(4)`` actions).

    Observations are the state ``(row, col)`` as float64; the reward is the negated cost. Episodes
    start in the ``S`` cell (or a uniformly random non-exit cell with ``random_start=True``).
    """

    def __init__(self, render_mode=None, render_size=128, layout=AIMA_4X3, slip: float = 0.2,
                 step_cost: float = 0.04, random_start: bool = False):
        world = GridWorld(layout, slip, step_cost)
        super().__init__(world, world.default_cost(), render_mode=render_mode, render_size=render_size)
        self.metadata = dict(self.metadata, render_fps=4)
        self.action_space = spaces.Discrete(4)
        hi = np.array([world.n_rows - 1, world.n_cols - 1], dtype=np.float64)
        self.observation_space = spaces.Box(np.zeros(2), hi, dtype=np.float64)
        self.random_start = bool(random_start)

    def sample_start(self):
        w = self.dynamics
        if w.start is not None and not self.random_start:
            return np.array(w.start, dtype=np.float64)
        exits = {(r, c) for r, c, _ in w.exits}
        cells = [c for c in w.free_cells() if c not in exits]
        return np.array(cells[int(self.np_random.integers(len(cells)))], dtype=np.float64)

    def step(self, action):
        if self.state is None:
            raise RuntimeError("step() called before reset()")
        if not self.action_space.contains(action):
            a = as_float_array("action", action).reshape(-1)
            if a.shape != (1,) or a[0] not in (0.0, 1.0, 2.0, 3.0):
                raise ValueError(f"action: expected an integer in {{0, 1, 2, 3}}, got {action!r}")
            action = int(a[0])
        u = np.array([float(action)])
        x = self.state
        xn = self.dynamics.step(x, u, self.np_random)
        cost = float(self.cost.running(x, u, xn))
        terminated = bool(self.dynamics.terminated(xn))
        self.state = xn
        return xn.copy(), -cost, terminated, False, self._success_info(xn, {"cost": cost})

    def in_goal(self, x):
        """Success: the episode ends in an exit of positive reward."""
        return any(int(x[0]) == r and int(x[1]) == c and v > 0 for r, c, v in self.dynamics.exits)

    def draw(self, size, x):
        w = self.dynamics
        n = max(w.n_rows, w.n_cols)
        c = Canvas(size, (0, n, 0, n))
        for (r, col) in w.walls:
            c.rect((col + 0.5, n - r - 0.5), 0.5, 0.5, (40, 40, 40))
        for r, col, v in w.exits:
            c.rect((col + 0.5, n - r - 0.5), 0.45, 0.45, (60, 160, 80) if v > 0 else (210, 60, 50))
        c.circle((x[1] + 0.5, n - x[0] - 0.5), 0.3, (60, 110, 200))
        return c.image()
