"""gymnasium environments over planlab's analytic systems.

Every env exposes its model on ``env.unwrapped.dynamics`` and ``env.unwrapped.cost``; the
observation is the system state (float64), the reward is ``-cost.running(x, u, x_next)`` (the one
place cost becomes reward), the action is clipped to the system's box, and ``render()`` returns
``rgb_array`` frames drawn with numpy. ``reset(options={"x0": state})`` starts from a given state.

Success (gymnasium/Stable-Baselines3 convention): every step's ``info["is_success"]`` says whether
the task is solved at that step — the state has been in the task's goal region (:meth:`SystemEnv.in_goal`)
for the last ``success_hold`` steps (e.g. a swing-up held upright for 1-2 s), so the last step's
value is the episode's success. Goal regions are listed in each env's docstring.
"""

from __future__ import annotations

import math

import gymnasium
import numpy as np
from gymnasium import spaces

from ..core.contracts import Cost, Dynamics
from ..core.validation import as_float_array
from ..dynamics import Acrobot, CartPole, DoubleIntegrator, MountainCar, Pendulum, Quadrotor2D, TwoLinkArm, Unicycle
from ..dynamics.systems.pendulum import PendulumGymCost
from ..dynamics.systems.two_link_arm import ReachCost
from .render import Canvas

__all__ = [
    "SystemEnv",
    "PendulumSwingupEnv",
    "CartPoleSwingupEnv",
    "AcrobotSwingupEnv",
    "MountainCarEnv",
    "DoubleIntegratorEnv",
    "Reacher2LinkEnv",
    "UnicycleParkingEnv",
    "Quadrotor2DHoverEnv",
]

_BLUE = (60, 110, 200)
_DARK = (40, 40, 40)
_RED = (210, 60, 50)
_GREEN = (60, 160, 80)


def _wrap(a: float) -> float:
    return math.atan2(math.sin(a), math.cos(a))


class SystemEnv(gymnasium.Env):
    """Base class: a gymnasium env stepping a planlab :class:`~planlab.core.Dynamics` with a :class:`~planlab.core.Cost`.

    Subclasses set ``dynamics`` and ``cost`` in ``__init__`` and implement :meth:`sample_start` and
    :meth:`draw`.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}
    #: consecutive steps in the goal region that count as success
    success_hold: int = 1

    def __init__(self, dynamics: Dynamics, cost: Cost, *, render_mode: str | None = None, render_size: int = 128):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: expected one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.dynamics = dynamics
        self.cost = cost
        self.render_mode = render_mode
        self.render_size = int(render_size)
        self.metadata = dict(self.metadata, render_fps=int(round(1.0 / dynamics.dt)))
        nx = dynamics.state_dim
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(nx,), dtype=np.float64)
        self.action_space = spaces.Box(dynamics.action_low.copy(), dynamics.action_high.copy(), dtype=np.float64)
        self.state = None

    def sample_start(self) -> np.ndarray:
        """Draw a start state with ``self.np_random``."""
        raise NotImplementedError

    def draw(self, canvas_size: int, x: np.ndarray) -> np.ndarray:
        """Render state ``x`` as an ``(size, size, 3)`` uint8 image."""
        raise NotImplementedError

    def in_goal(self, x: np.ndarray) -> bool | None:
        """Whether state ``x`` is in the task's goal region (None: the task defines no success)."""
        return None

    def _success_info(self, xn: np.ndarray, info: dict) -> dict:
        g = self.in_goal(xn)
        if g is not None:
            self._held = self._held + 1 if g else 0
            info["is_success"] = bool(self._held >= self.success_hold)
        return info

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if options and options.get("x0") is not None:
            self.state = as_float_array("options['x0']", options["x0"], shape=(self.dynamics.state_dim,)).copy()
        else:
            self.state = np.asarray(self.sample_start(), dtype=np.float64)
        self._held = 0
        return self.state.copy(), {}

    def step(self, action):
        if self.state is None:
            raise RuntimeError("step() called before reset()")
        u = as_float_array("action", action).reshape(self.dynamics.action_dim)
        u = np.clip(u, self.dynamics.action_low, self.dynamics.action_high)
        x = self.state
        xn = self.dynamics.step(x, u)
        cost = float(self.cost.running(x, u, xn))
        terminated = bool(self.dynamics.terminated(xn))
        self.state = xn
        return xn.copy(), -cost, terminated, False, self._success_info(xn, {"cost": cost})

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self.draw(self.render_size, self.state if self.state is not None else self.sample_start())


class PendulumSwingupEnv(SystemEnv):
    """Pendulum-v1's system and cost, starting hanging down (theta = pi) with a small perturbation.

    Success: upright (``|theta| < 0.1``, wrapped) for the last 20 steps (1 s).
    """

    success_hold = 20

    def in_goal(self, x):
        return abs(_wrap(x[0])) < 0.1

    def __init__(self, render_mode=None, render_size=128):
        sys_ = Pendulum()
        super().__init__(sys_, PendulumGymCost(sys_.params.max_torque), render_mode=render_mode, render_size=render_size)

    def sample_start(self):
        return np.array([math.pi, 0.0]) + self.np_random.uniform(-0.05, 0.05, size=2)

    def draw(self, size, x):
        c = Canvas(size, (-1.3, 1.3, -1.3, 1.3))
        tip = (math.sin(x[0]), math.cos(x[0]))
        c.line((0, 0), tip, 0.16, _RED).circle((0, 0), 0.06, _DARK)
        return c.image()


class CartPoleSwingupEnv(SystemEnv):
    """Cart-pole swing-up: gymnasium's cart-pole, dt = 0.05, |force| <= 10, no termination, pole starts down.

    Success: pole upright (``|theta| < 0.2``, wrapped) for the last 40 steps (2 s).
    """

    success_hold = 40

    def in_goal(self, x):
        return abs(_wrap(x[2])) < 0.2

    def __init__(self, render_mode=None, render_size=128, force_max: float = 10.0):
        sys_ = CartPole(dt=0.05, force_max=force_max)
        super().__init__(sys_, sys_.default_cost(), render_mode=render_mode, render_size=render_size)

    def sample_start(self):
        return np.array([0.0, 0.0, math.pi, 0.0]) + self.np_random.uniform(-0.05, 0.05, size=4)

    def draw(self, size, x):
        c = Canvas(size, (-3.0, 3.0, -3.0, 3.0))
        c.line((-3, -0.1), (3, -0.1), 0.03, _DARK)
        c.rect((x[0], 0.0), 0.25, 0.12, _BLUE)
        pole = 2 * self.dynamics.params.length
        c.line((x[0], 0.0), (x[0] + pole * math.sin(x[2]), pole * math.cos(x[2])), 0.08, _RED)
        return c.image()


class AcrobotSwingupEnv(SystemEnv):
    """Acrobot swing-up with continuous torque (|u| <= 2 by default): bring both links upright.

    Success: the tip within 0.1 of its highest point (height ``-cos t1 - cos(t1 + t2) > 1.9``, links
    of length 1) for the last 10 steps (2 s).
    """

    success_hold = 10

    def in_goal(self, x):
        return -math.cos(x[0]) - math.cos(x[0] + x[1]) > 1.9

    def __init__(self, render_mode=None, render_size=128, torque_max: float = 2.0):
        sys_ = Acrobot(torque_max=torque_max)
        super().__init__(sys_, sys_.default_cost(), render_mode=render_mode, render_size=render_size)

    def sample_start(self):
        return self.np_random.uniform(-0.1, 0.1, size=4)

    def draw(self, size, x):
        c = Canvas(size, (-2.2, 2.2, -2.2, 2.2))
        p1 = (math.sin(x[0]), -math.cos(x[0]))
        p2 = (p1[0] + math.sin(x[0] + x[1]), p1[1] - math.cos(x[0] + x[1]))
        c.line((-2.2, 1.0), (2.2, 1.0), 0.02, _DARK)
        c.line((0, 0), p1, 0.1, _BLUE).line(p1, p2, 0.1, _RED).circle((0, 0), 0.06, _DARK)
        return c.image()


class MountainCarEnv(SystemEnv):
    """gymnasium's MountainCarContinuous-v0 dynamics and reward, planlab's rendering.

    Success: the flag reached (``position >= 0.45``, which also ends the episode).
    """

    def in_goal(self, x):
        return bool(x[0] >= self.dynamics.params.goal_position)

    def __init__(self, render_mode=None, render_size=128):
        sys_ = MountainCar()
        super().__init__(sys_, sys_.default_cost(), render_mode=render_mode, render_size=render_size)

    def sample_start(self):
        return np.array([self.np_random.uniform(-0.6, -0.4), 0.0])

    def draw(self, size, x):
        c = Canvas(size, (-1.2, 0.6, -0.6, 1.2))
        xs = np.linspace(-1.2, 0.6, 40)
        ys = 0.45 * np.sin(3 * xs) + 0.3
        for i in range(len(xs) - 1):
            c.line((xs[i], ys[i]), (xs[i + 1], ys[i + 1]), 0.02, _DARK)
        g = self.dynamics.params.goal_position
        c.line((g, 0.45 * math.sin(3 * g) + 0.3), (g, 0.45 * math.sin(3 * g) + 0.45), 0.02, _GREEN)
        c.circle((x[0], 0.45 * math.sin(3 * x[0]) + 0.35), 0.05, _BLUE)
        return c.image()


class DoubleIntegratorEnv(SystemEnv):
    """Point mass in the plane (n = 2): drive position and velocity to zero.

    Success: ``||(p, v)|| < 0.1`` for the last 10 steps (1 s).
    """

    success_hold = 10

    def in_goal(self, x):
        return float(np.linalg.norm(x)) < 0.1

    def __init__(self, render_mode=None, render_size=128, n: int = 2):
        sys_ = DoubleIntegrator(n=n)
        super().__init__(sys_, sys_.default_cost(), render_mode=render_mode, render_size=render_size)

    def sample_start(self):
        n = self.dynamics.n
        return np.concatenate([self.np_random.uniform(-1, 1, n), self.np_random.uniform(-0.5, 0.5, n)])

    def draw(self, size, x):
        c = Canvas(size, (-2, 2, -2, 2))
        c.circle((0, 0), 0.08, _GREEN)
        y = x[1] if self.dynamics.n > 1 else 0.0
        c.circle((x[0], y), 0.1, _BLUE)
        return c.image()


class Reacher2LinkEnv(SystemEnv):
    """Two-link arm reaching a target point (default (1, 1)) from a random configuration.

    Success: fingertip within 0.05 of the target for the last 10 steps (0.2 s).
    """

    success_hold = 10

    def in_goal(self, x):
        l1, l2 = self.dynamics.params.l1, self.dynamics.params.l2
        tip = (l1 * math.cos(x[0]) + l2 * math.cos(x[0] + x[1]), l1 * math.sin(x[0]) + l2 * math.sin(x[0] + x[1]))
        return math.hypot(tip[0] - self.cost.target[0], tip[1] - self.cost.target[1]) < 0.05

    def __init__(self, render_mode=None, render_size=128, target=(1.0, 1.0)):
        sys_ = TwoLinkArm()
        super().__init__(sys_, ReachCost(target, sys_.params.l1, sys_.params.l2), render_mode=render_mode,
                         render_size=render_size)

    def sample_start(self):
        return np.concatenate([self.np_random.uniform(-math.pi, math.pi, 2), np.zeros(2)])

    def draw(self, size, x):
        c = Canvas(size, (-2.2, 2.2, -2.2, 2.2))
        l1, l2 = self.dynamics.params.l1, self.dynamics.params.l2
        p1 = (l1 * math.cos(x[0]), l1 * math.sin(x[0]))
        p2 = (p1[0] + l2 * math.cos(x[0] + x[1]), p1[1] + l2 * math.sin(x[0] + x[1]))
        c.circle(self.cost.target, 0.08, _GREEN)
        c.line((0, 0), p1, 0.08, _BLUE).line(p1, p2, 0.08, _RED).circle((0, 0), 0.06, _DARK)
        return c.image()


class UnicycleParkingEnv(SystemEnv):
    """Park a unicycle at the origin facing +x from a random pose.

    Success: within 0.1 of the origin, heading within 0.2 rad of +x, for the last 10 steps (1 s).
    """

    success_hold = 10

    def in_goal(self, x):
        return math.hypot(x[0], x[1]) < 0.1 and abs(_wrap(x[2])) < 0.2

    def __init__(self, render_mode=None, render_size=128):
        sys_ = Unicycle()
        super().__init__(sys_, sys_.default_cost(), render_mode=render_mode, render_size=render_size)

    def sample_start(self):
        return np.array([*self.np_random.uniform(-2, 2, 2), self.np_random.uniform(-math.pi, math.pi)])

    def draw(self, size, x):
        c = Canvas(size, (-3, 3, -3, 3))
        c.rect((0, 0), 0.3, 0.2, (200, 230, 200))
        c.circle((x[0], x[1]), 0.15, _BLUE)
        c.line((x[0], x[1]), (x[0] + 0.3 * math.cos(x[2]), x[1] + 0.3 * math.sin(x[2])), 0.06, _RED)
        return c.image()


class Quadrotor2DHoverEnv(SystemEnv):
    """Hover a planar quadrotor at the origin from a random nearby pose.

    Success: within 0.1 of the origin for the last 10 steps (0.2 s).
    """

    success_hold = 10

    def in_goal(self, x):
        return math.hypot(x[0], x[1]) < 0.1

    def __init__(self, render_mode=None, render_size=128):
        sys_ = Quadrotor2D()
        super().__init__(sys_, sys_.default_cost(), render_mode=render_mode, render_size=render_size)

    def sample_start(self):
        r = self.np_random
        return np.concatenate([r.uniform(-1, 1, 2), r.uniform(-0.3, 0.3, 1), r.uniform(-0.2, 0.2, 3)])

    def draw(self, size, x):
        c = Canvas(size, (-2, 2, -2, 2))
        c.circle((0, 0), 0.05, _GREEN)
        a = self.dynamics.params.arm
        dx, dz = a * math.cos(x[2]), a * math.sin(x[2])
        c.line((x[0] - dx, x[1] - dz), (x[0] + dx, x[1] + dz), 0.06, _BLUE)
        c.circle((x[0] - dx, x[1] - dz), 0.05, _RED).circle((x[0] + dx, x[1] + dz), 0.05, _RED)
        return c.image()
