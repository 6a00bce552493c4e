"""planlab models of gymnasium's MuJoCo v5 envs: the env's own MJCF file and frame skip, its reward as a cost.

Each model is a :class:`~planlab.dynamics.mujoco.MujocoDynamics` of gymnasium's asset file with the
env's ``frame_skip``; its state is MuJoCo's ``(qpos, qvel)``, so a planlab step is gymnasium's
``step`` (same MuJoCo calls, same numbers). The costs are the negated rewards of the v5 envs with
their default weights. They map observations to states (``state_from_observation``) and back
(``observation_from_state``), and :meth:`set_env_state` puts a gymnasium env into a state.

What the observations do not carry: ``HalfCheetah-v5`` leaves out the forward position ``qpos[0]``
(the state gets 0; the dynamics and the reward do not depend on it), ``Reacher-v5`` the target's
velocity (0 in the env) and ``InvertedDoublePendulum-v5`` clips velocities to ``[-10, 10]``.

Rewards that read positions (the pendulum tip of ``InvertedDoublePendulum-v5``, the fingertip of
``Reacher-v5``) are computed from the positions at the state after the step. Gymnasium reads them
from MuJoCo's data after ``mj_step``, which with these models' Runge-Kutta integrator holds the
positions of the last Runge-Kutta stage rather than of the returned state (about 1e-5 m apart); the
model equals gymnasium's reward function evaluated at the returned state.
"""

from __future__ import annotations

import os

import gymnasium
import numpy as np

from ..core.validation import as_float_array
from ..dynamics.mujoco import MujocoCost, MujocoDynamics

__all__ = ["MUJOCO_MODELS", "GymMujocoDynamics", "asset_path", "GymInvertedPendulum", "GymInvertedDoublePendulum",
           "GymReacher", "GymHalfCheetah", "InvertedPendulumCost", "InvertedDoublePendulumCost",
           "InvertedDoublePendulumBalanceCost", "ReacherCost", "ReacherReachCost", "ReacherTargetCost",
           "reacher_reached",
           "HalfCheetahCost"]


def asset_path(filename: str) -> str:
    """Path of one of gymnasium's MuJoCo asset files."""
    return os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets", filename)



def _model_or_default(dynamics, cls):
    """``dynamics`` if it is a ``cls`` model, a single-threaded ``cls()`` if it is None, else TypeError."""
    if dynamics is None:
        return cls(nthread=1)
    if not isinstance(dynamics, cls):
        raise TypeError(f"dynamics: expected a {cls.__name__}, got {type(dynamics).__name__}")
    return dynamics

class GymMujocoDynamics(MujocoDynamics):
    """Base of the models of gymnasium's MuJoCo envs: asset file, frame skip, observation maps."""

    xml_file = ""
    gym_frame_skip = 1
    gym_positions: tuple = ()
    observation_dim = 0

    def __init__(self, *, nthread: int | None = None, centered_jacobians: bool = True):
        super().__init__(asset_path(self.xml_file), self.gym_frame_skip, positions=self.gym_positions,
                         nthread=nthread, centered_jacobians=centered_jacobians)

    def _forward(self, x):
        """MuJoCo data with the state ``x`` (nx,) set and ``mj_forward`` run (as gymnasium's ``set_state``)."""
        mj, d = self._mj, self._scratch
        mj.mj_resetData(self.model, d)
        d.qpos[:] = x[: self.nq]
        d.qvel[:] = x[self.nq:self.nq + self.nv]
        mj.mj_forward(self.model, d)
        return d

    def set_env_state(self, env, x0) -> np.ndarray:
        """Put gymnasium's MuJoCo ``env`` (after ``reset``) into state ``x0`` (nx,); returns its observation."""
        x0 = as_float_array("x0", x0, shape=(self.state_dim,))
        inner = env.unwrapped
        if not hasattr(inner, "set_state"):
            raise TypeError(f"env: expected a gymnasium MuJoCo env (with set_state), got {type(inner).__name__}")
        inner.set_state(x0[: self.nq], x0[self.nq:self.nq + self.nv])
        return self.observation_from_state(x0)

    def observation_from_state(self, x):
        raise NotImplementedError

    def state_from_observation(self, obs):
        raise NotImplementedError


class GymInvertedPendulum(GymMujocoDynamics):
    """``InvertedPendulum-v5``: observation = state ``(qpos, qvel)``; terminal when ``|pole angle| > 0.2``."""

    xml_file = "inverted_pendulum.xml"
    gym_frame_skip = 2
    observation_dim = 4

    def terminated_with(self, x, s):
        x = np.asarray(x)
        return ~np.isfinite(x).all(axis=-1) | (np.abs(x[..., 1]) > 0.2)

    def state_from_observation(self, obs):
        return as_float_array("obs", obs, shape=(4,)).copy()

    def observation_from_state(self, x):
        return np.asarray(x, dtype=np.float64).copy()


class InvertedPendulumCost(MujocoCost):
    """Negated reward of ``InvertedPendulum-v5``: -1 for every step that does not end terminal."""

    def __init__(self, dynamics):
        super().__init__(dynamics, reads_sensors=False)

    def running_with(self, x, u, xn, sn):
        return -(1.0 - self.dynamics.terminated_with(xn, sn))


class GymInvertedDoublePendulum(GymMujocoDynamics):
    """``InvertedDoublePendulum-v5``: terminal when the tip's height is at most 1 m."""

    xml_file = "inverted_double_pendulum.xml"
    gym_frame_skip = 5
    gym_positions = ("site:tip",)
    observation_dim = 9
    termination_reads_sensors = True

    def terminated_with(self, x, s):
        return self.position(s, "site:tip")[..., 2] <= 1.0

    def state_from_observation(self, obs):
        o = as_float_array("obs", obs, shape=(9,))
        return np.array([o[0], np.arctan2(o[1], o[3]), np.arctan2(o[2], o[4]), o[5], o[6], o[7]])

    def observation_from_state(self, x):
        x = as_float_array("x", x, shape=(6,))
        d = self._forward(x)
        return np.concatenate([x[:1], np.sin(x[1:3]), np.cos(x[1:3]), np.clip(x[3:6], -10, 10),
                               np.clip(d.qfrc_constraint, -10, 10)[:1]])


class InvertedDoublePendulumCost(MujocoCost):
    """Negated reward of ``InvertedDoublePendulum-v5``: alive bonus 10 minus distance and velocity penalties."""

    def __init__(self, dynamics, healthy_reward: float = 10.0):
        super().__init__(dynamics)
        self.healthy_reward = float(healthy_reward)

    def running_with(self, x, u, xn, sn):
        tip = self.dynamics.position(sn, "site:tip")
        px, py = tip[..., 0], tip[..., 2]
        v = self.dynamics.qvel(xn)
        dist = 0.01 * px ** 2 + (py - 2.0) ** 2
        vel = 1e-3 * v[..., 1] ** 2 + 5e-3 * v[..., 2] ** 2
        alive = self.healthy_reward * (py > 1.0)
        return -(alive - dist - vel)


class InvertedDoublePendulumBalanceCost(MujocoCost):
    r"""A planning cost that balances ``InvertedDoublePendulum-v5`` with a short horizon.

    .. math::

        c(x, u, x') = -b\,[y_{tip}(x') > 1] + x'^\top Q x' + r u^2, \qquad c_f(x) = x^\top P x

    where ``b`` is the env's alive bonus (falling still costs the bonus of every step not lived),
    and ``P`` solves the discrete algebraic Riccati equation of the model linearised at the upright
    rest state (Jacobians from :meth:`~planlab.dynamics.mujoco.MujocoDynamics.jacobians`): the
    infinite-horizon LQR cost-to-go, used as the terminal cost of a receding horizon (Mayne et al.,
    2000, "Constrained model predictive control: Stability and optimality"). With it a sampling
    planner needs only a horizon of a few steps. The env's reward is nearly flat until the pendulum
    falls, which gives a short sampled horizon nothing to follow.

    Parameters
    ----------
    dynamics : GymInvertedDoublePendulum, optional
        The model (a new single-threaded one when omitted, so the cost can be named by import path).
    q : array_like (6,)
        Diagonal of ``Q`` over ``(slider, hinge, hinge2, their velocities)``.
    r : float > 0
        Weight of the squared control.
    healthy_reward : float
        ``b``, gymnasium's ``healthy_reward`` (10).
    """

    def __init__(self, dynamics=None, *, q=(1.0, 10.0, 10.0, 0.1, 0.1, 0.1), r: float = 1.0,
                 healthy_reward: float = 10.0):
        import scipy.linalg

        dynamics = _model_or_default(dynamics, GymInvertedDoublePendulum)
        super().__init__(dynamics)
        qd = as_float_array("q", q, shape=(6,))
        if np.any(qd < 0):
            raise ValueError(f"q: expected values >= 0, got {qd}")
        r = float(r)
        if not (np.isfinite(r) and r > 0):
            raise ValueError(f"r: expected a finite number > 0, got {r}")
        self.Q, self.r, self.healthy_reward = np.diag(qd), r, float(healthy_reward)
        A, B = dynamics.jacobians(np.zeros(6), np.zeros(1))
        self.P = scipy.linalg.solve_discrete_are(A, B, self.Q, np.array([[r]]))

    def running_with(self, x, u, xn, sn):
        xn = np.asarray(xn)
        alive = self.healthy_reward * (self.dynamics.position(sn, "site:tip")[..., 2] > 1.0)
        return -alive + np.einsum("...i,ij,...j->...", xn, self.Q, xn) + self.r * np.asarray(u)[..., 0] ** 2

    def terminal_with(self, x, s):
        x = np.asarray(x)
        return np.einsum("...i,ij,...j->...", x, self.P, x)


class GymReacher(GymMujocoDynamics):
    """``Reacher-v5``: state ``(qpos (4), qvel (4))`` with the target's position in ``qpos[2:4]``."""

    xml_file = "reacher.xml"
    gym_frame_skip = 2
    gym_positions = ("body:fingertip", "body:target")
    observation_dim = 10

    def fingertip_to_target(self, s):
        """``fingertip - target`` (..., 3) from sensor values."""
        return self.position(s, "body:fingertip") - self.position(s, "body:target")

    def state_from_observation(self, obs):
        o = as_float_array("obs", obs, shape=(10,))
        return np.array([np.arctan2(o[2], o[0]), np.arctan2(o[3], o[1]), o[4], o[5], o[6], o[7], 0.0, 0.0])

    def observation_from_state(self, x):
        x = as_float_array("x", x, shape=(8,))
        vec = self.fingertip_to_target(self.sensors(x))
        return np.concatenate([np.cos(x[:2]), np.sin(x[:2]), x[2:4], x[4:6], vec[:2]])


class ReacherCost(MujocoCost):
    """Negated reward of ``Reacher-v5``: distance fingertip-target after the step plus squared controls."""

    def __init__(self, dynamics, reward_dist_weight: float = 1.0, reward_control_weight: float = 1.0):
        super().__init__(dynamics)
        self.w_dist, self.w_ctrl = float(reward_dist_weight), float(reward_control_weight)

    def running_with(self, x, u, xn, sn):
        dist = np.linalg.norm(self.dynamics.fingertip_to_target(sn), axis=-1)
        return self.w_dist * dist + self.w_ctrl * (np.asarray(u) ** 2).sum(axis=-1)


class ReacherReachCost(ReacherCost):
    r"""A planning cost for ending ``Reacher-v5`` on the target: the env's cost plus distance shaping.

    .. math::

        c(x, u, x') = c_{env}(x, u, x') + w_s \lVert e(x') \rVert^2, \qquad c_f(x) = w_f \lVert e(x) \rVert

    with ``e`` = fingertip - target. The env's own cost pays as much for 1 cm at the last step as at
    any other, so a sampled plan that sweeps past the target scores almost like one that stops on
    it; the squared term and the terminal term make stopping on it pay.

    Parameters
    ----------
    dynamics : GymReacher, optional
        The model (a new single-threaded one when omitted, so the cost can be named by import path).
    squared_distance_weight : float >= 0
        ``w_s``.
    terminal_weight : float >= 0
        ``w_f``.
    """

    def __init__(self, dynamics=None, *, squared_distance_weight: float = 100.0, terminal_weight: float = 10.0):
        dynamics = _model_or_default(dynamics, GymReacher)
        super().__init__(dynamics)
        ws, wf = float(squared_distance_weight), float(terminal_weight)
        for name, w in (("squared_distance_weight", ws), ("terminal_weight", wf)):
            if not (np.isfinite(w) and w >= 0):
                raise ValueError(f"{name}: expected a finite number >= 0, got {w}")
        self.w_sq, self.w_final = ws, wf

    def running_with(self, x, u, xn, sn):
        e = self.dynamics.fingertip_to_target(sn)
        return super().running_with(x, u, xn, sn) + self.w_sq * (e ** 2).sum(axis=-1)

    def terminal_with(self, x, s):
        return self.w_final * np.linalg.norm(self.dynamics.fingertip_to_target(s), axis=-1)


class ReacherTargetCost(MujocoCost):
    r"""A smooth cost for ending ``Reacher-v5`` on the target, for derivative-based planners (iLQR).

    .. math::

        c(x, u, x') = w_s \lVert e(x') \rVert^2 + r \lVert u \rVert^2, \qquad c_f(x) = w_f \lVert e(x) \rVert^2

    with ``e`` = fingertip - target. The env's cost (and :class:`ReacherReachCost`) has the distance
    ``|e|``, whose Hessian is unbounded next to the target; iLQR's quadratic models want squares.

    Parameters
    ----------
    dynamics : GymReacher, optional
        The model (a new single-threaded one when omitted).
    squared_distance_weight, control_weight, terminal_weight : float >= 0
        ``w_s``, ``r``, ``w_f``.
    """

    def __init__(self, dynamics=None, *, squared_distance_weight: float = 0.0, control_weight: float = 0.1,
                 terminal_weight: float = 1000.0):
        dynamics = _model_or_default(dynamics, GymReacher)
        super().__init__(dynamics)
        w = {}
        for name, v in (("squared_distance_weight", squared_distance_weight), ("control_weight", control_weight),
                        ("terminal_weight", terminal_weight)):
            w[name] = float(v)
            if not (np.isfinite(w[name]) and w[name] >= 0):
                raise ValueError(f"{name}: expected a finite number >= 0, got {v}")
        self.w_sq, self.r, self.w_final = w["squared_distance_weight"], w["control_weight"], w["terminal_weight"]

    def running_with(self, x, u, xn, sn):
        e = self.dynamics.fingertip_to_target(sn)
        return self.w_sq * (e ** 2).sum(axis=-1) + self.r * (np.asarray(u) ** 2).sum(axis=-1)

    def terminal_with(self, x, s):
        return self.w_final * (self.dynamics.fingertip_to_target(s) ** 2).sum(axis=-1)


def reacher_reached(result, info, env, tolerance: float = 0.01) -> bool:
    """Success test of ``Reacher-v5`` (gymnasium reports none): the fingertip within ``tolerance`` (m)
    of the target in the env's state at the end of the episode."""
    d = env.unwrapped.data
    model = GymReacher(nthread=1)
    x = np.concatenate([d.qpos, d.qvel])
    return bool(np.linalg.norm(model.fingertip_to_target(model.sensors(x))) < tolerance)


class GymHalfCheetah(GymMujocoDynamics):
    """``HalfCheetah-v5``: the observation leaves out ``qpos[0]`` (the state gets 0 there)."""

    xml_file = "half_cheetah.xml"
    gym_frame_skip = 5
    observation_dim = 17

    def state_from_observation(self, obs):
        o = as_float_array("obs", obs, shape=(17,))
        return np.concatenate([[0.0], o])

    def observation_from_state(self, x):
        return as_float_array("x", x, shape=(18,))[1:].copy()


class HalfCheetahCost(MujocoCost):
    """Negated reward of ``HalfCheetah-v5``: forward velocity minus ``0.1 |u|^2``."""

    def __init__(self, dynamics, forward_reward_weight: float = 1.0, ctrl_cost_weight: float = 0.1):
        super().__init__(dynamics, reads_sensors=False)
        self.w_fwd, self.w_ctrl = float(forward_reward_weight), float(ctrl_cost_weight)

    def running_with(self, x, u, xn, sn):
        velocity = (np.asarray(xn)[..., 0] - np.asarray(x)[..., 0]) / self.dynamics.dt
        return -(self.w_fwd * velocity) + self.w_ctrl * (np.asarray(u) ** 2).sum(axis=-1)


def _pair(model_cls, cost_cls):
    def factory():
        d = model_cls()
        return d, cost_cls(d)

    factory.__name__ = f"_{model_cls.__name__}"
    return factory


#: gymnasium id -> factory of ``(dynamics, cost)`` (needs the ``mujoco`` extra when called)
MUJOCO_MODELS = {
    "InvertedPendulum-v5": _pair(GymInvertedPendulum, InvertedPendulumCost),
    "InvertedDoublePendulum-v5": _pair(GymInvertedDoublePendulum, InvertedDoublePendulumCost),
    "Reacher-v5": _pair(GymReacher, ReacherCost),
    "HalfCheetah-v5": _pair(GymHalfCheetah, HalfCheetahCost),
}
