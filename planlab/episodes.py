"""Drive gymnasium environments with planlab controllers: the one module above both planners and envs.

* :func:`mpc_for_env` builds an :class:`~planlab.planners.MPC` controller for a gymnasium env (or
  id) from planlab's model of it (:func:`planlab.envs.model_for`);
* :func:`run_episode` runs a controller (an MPC, or any :class:`~planlab.core.Policy` of model
  states) for one episode and returns states, actions, rewards and plan times;
* :func:`set_env_state` starts an env from a chosen state.

Examples
--------
>>> import gymnasium as gym
>>> from planlab.episodes import mpc_for_env, run_episode
>>> env = gym.make("Pendulum-v1")
>>> mpc = mpc_for_env(env, "shooting", horizon=20, population=200, seed=0)
>>> result = run_episode(env, mpc, steps=5, seed=0)
>>> result.actions.shape
(5, 1)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from .core.contracts import Dynamics
from .core.planning import Planner, Policy
from .core.ops import wrap_angle
from .core.validation import check_positive_int
from .envs.models import model_for
from .planners import MPC, make_planner

__all__ = ["mpc_for_env", "run_episode", "EpisodeResult", "set_env_state", "wrap_states"]


def mpc_for_env(env, planner="shooting", *, horizon: int | None = None, seed=None, mpc_options=None,
                **planner_options) -> MPC:
    """An MPC controller for a gymnasium env (or id), planning on planlab's model of it.

    Parameters
    ----------
    env : gymnasium.Env or str
    planner : str or Planner
        A planner name (``planlab systems`` lists them) or an instance.
    horizon, seed, **planner_options
        Passed to the planner's constructor when ``planner`` is a name.
    mpc_options : dict, optional
        Passed to :class:`~planlab.planners.MPC`.

    Returns
    -------
    MPC
        With the model's kernels compiled (or loaded from cache) already, so the first plan is not
        slowed by compilation.
    """
    if isinstance(planner, Planner):
        p = planner
    else:
        dynamics, cost = model_for(env)
        opts = dict(planner_options)
        if horizon is not None:
            opts["horizon"] = horizon
        p = make_planner(planner, dynamics, cost, seed=seed, **opts)
    p.dynamics.warmup(p.cost)
    return MPC(p, **(mpc_options or {}))


@dataclass
class EpisodeResult:
    """One closed-loop episode.

    Attributes
    ----------
    states : ndarray (T + 1, nx)
    actions : ndarray (T, nu)
    rewards : ndarray (T,)
    plan_times : ndarray (n_plans,) seconds per planner call
    terminated, truncated : bool
    success : bool or None
        The last step's ``info["is_success"]`` when the env reports it (the task defines success),
        else None.
    plan_statuses : tuple of str
        :attr:`~planlab.core.Plan.status` of every plan (``"failed"``: the planner says its plan
        cannot be trusted, e.g. an LQR outside its region).
    frames : list of ndarray (H, W, 3) or None
        Rendered frames (the first after reset, then one per step) when ``run_episode(render=True)``.
    angle_indices : tuple of int
        State components that are angles (wrapped by :meth:`wrapped_states`).
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    plan_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    terminated: bool = False
    truncated: bool = False
    success: bool | None = None
    plan_statuses: tuple = ()
    frames: list | None = None
    angle_indices: tuple = ()

    @property
    def total_return(self) -> float:
        """Sum of the rewards."""
        return float(np.sum(self.rewards))

    @property
    def steps(self) -> int:
        """Number of executed steps ``T``."""
        return int(len(self.rewards))

    @property
    def costs(self) -> np.ndarray:
        """Cost per step, ``-rewards`` (T,)."""
        return -np.asarray(self.rewards, dtype=np.float64)

    def wrapped_states(self) -> np.ndarray:
        """``states`` (T + 1, nx) with angle components wrapped to ``[-pi, pi)``."""
        return wrap_states(self.states, self.angle_indices)

    def status_counts(self) -> dict:
        """How many plans ended with each status, e.g. ``{"ok": 199, "failed": 1}``."""
        out: dict = {}
        for st in self.plan_statuses:
            out[st] = out.get(st, 0) + 1
        return out

    def __repr__(self) -> str:
        final = ", ".join(f"{v:.4g}" for v in self.wrapped_states()[-1]) if len(self.states) else ""
        frames = f", frames={len(self.frames)}" if self.frames else ""
        return (f"EpisodeResult(steps={self.steps}, return={self.total_return:.6g}, success={self.success}, "
                f"terminated={self.terminated}, truncated={self.truncated}, plan_ms_median={self.plan_ms(50):.3g}, "
                f"statuses={self.status_counts()}, final_state=[{final}]{frames})")

    def plan_ms(self, q: float = 50.0) -> float:
        """Percentile ``q`` of the plan times in milliseconds (NaN when nothing was planned)."""
        return float(np.percentile(self.plan_times, q) * 1e3) if len(self.plan_times) else float("nan")


def wrap_states(states, angle_indices) -> np.ndarray:
    """A copy of ``states`` (..., nx) with the components ``angle_indices`` wrapped to ``[-pi, pi)``."""
    out = np.array(states, dtype=np.float64, copy=True)
    for i in angle_indices:
        out[..., i] = wrap_angle(out[..., i])
    return out


def run_episode(env, controller: Policy, *, steps: int | None = None, seed: int | None = None, x0=None,
                progress: bool = False, callback=None, render: bool = False) -> EpisodeResult:
    """Run ``controller`` in ``env`` for one episode.

    Parameters
    ----------
    env : gymnasium.Env
        planlab envs observe the state; gymnasium's own envs are mapped with planlab's model
        (``controller.dynamics.state_from_observation``).
    controller : Policy
        Usually an :class:`MPC`; it receives model states.
    steps : int, optional
        Stop after this many steps (the env's time limit still applies).
    seed : int, optional
        Passed to ``env.reset``.
    x0 : array_like, optional
        Start state instead of the env's reset distribution.
    progress : bool
        Show a tqdm bar (only on a terminal).
    callback : callable ``(t, x, u, reward)``, optional
    render : bool
        Collect ``env.render()`` frames into ``result.frames`` (the env must be made with
        ``render_mode="rgb_array"``; else ``ValueError``; an env that cannot render raises ``RuntimeError``
        before any planning). Save them with :func:`planlab.viz.save_video`.

    Returns
    -------
    EpisodeResult
    """
    if not isinstance(controller, Policy) and not callable(getattr(controller, "act", None)):
        raise TypeError(f"controller: expected a planlab Policy (e.g. an MPC), got {type(controller).__name__}")
    if render and getattr(env, "render_mode", None) != "rgb_array":
        raise ValueError(f"render: expected an env made with render_mode='rgb_array', got render_mode="
                         f"{getattr(env, 'render_mode', None)!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise TypeError(f"seed: expected None or an integer >= 0, got {seed!r}")
    if steps is not None:
        steps = check_positive_int("steps", steps)
    dynamics = getattr(controller, "dynamics", None)
    obs, info = env.reset(seed=seed)
    if x0 is not None:
        if dynamics is None:
            raise ValueError("x0: the controller has no dynamics model to map the state to an observation")
        obs = set_env_state(env, dynamics, x0)
    if steps is not None:
        steps = check_positive_int("steps", steps)
    limit = steps
    if limit is None:
        spec = getattr(env, "spec", None)
        limit = spec.max_episode_steps if spec is not None and spec.max_episode_steps else 1000
    controller.reset()
    to_state = dynamics.state_from_observation if dynamics is not None else (lambda o: np.asarray(o, np.float64))
    discrete = hasattr(env.action_space, "n")
    xs, us, rs = [to_state(obs)], [], []
    frames = None
    if render:
        try:
            frames = [np.asarray(env.render())]
        except Exception as exc:  # a missing renderer (pygame, a display): say so before any planning
            raise RuntimeError(f"render: {type(env.unwrapped).__name__} cannot render rgb_array frames "
                               f"({type(exc).__name__}: {exc})") from exc
    terminated = truncated = False
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=limit, unit="step", disable=not sys.stderr.isatty(), leave=False)
    try:
        for t in range(limit):
            u = np.asarray(controller.act(xs[-1]), dtype=np.float64).reshape(-1)
            a = int(np.rint(u[0])) if discrete else u.astype(env.action_space.dtype)
            obs, r, terminated, truncated, info = env.step(a)
            if frames is not None:
                frames.append(np.asarray(env.render()))
            us.append(u)
            rs.append(float(r))
            xs.append(to_state(obs))
            if callback is not None:
                callback(t, xs[-2], u, float(r))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(ret=f"{sum(rs):.1f}")
            if terminated or truncated:
                break
    finally:
        if bar is not None:
            bar.close()
    plan_times = np.asarray(getattr(controller, "plan_times", []), dtype=np.float64)
    nu = len(us[0]) if us else 1
    success = info.get("is_success") if isinstance(info, dict) else None
    return EpisodeResult(np.array(xs), np.array(us).reshape(-1, nu), np.array(rs), plan_times, bool(terminated),
                         bool(truncated), None if success is None else bool(success),
                         tuple(getattr(controller, "plan_statuses", ())), frames,
                         tuple(getattr(dynamics, "angle_indices", ())))


def set_env_state(env, dynamics: Dynamics, x0) -> np.ndarray:
    """Put ``env`` (after ``reset``) into state ``x0`` (nx,) and return the matching observation.

    Raises
    ------
    TypeError
        If the env has no settable ``state``.
    """
    x0 = dynamics.check_state(x0, "x0")
    if x0.shape != (dynamics.state_dim,):
        raise ValueError(f"x0: expected shape ({dynamics.state_dim},), got {x0.shape}")
    if hasattr(dynamics, "set_env_state"):  # models that know how to set their env (MuJoCo envs)
        return dynamics.set_env_state(env, x0)
    inner = env.unwrapped
    if not hasattr(inner, "state"):
        raise TypeError(f"env: {type(inner).__name__} has no settable state; cannot start it from x0")
    inner.state = np.array(x0, dtype=np.float64)
    if hasattr(dynamics, "observation_from_state"):
        return dynamics.observation_from_state(x0)
    return np.array(x0)
