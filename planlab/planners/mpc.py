"""Receding-horizon control: the inner loop of Algorithm 25 (plan, execute the first action, replan).

:class:`MPC` wraps any :class:`~planlab.core.Planner`; it owns the warm start (the previous plan
shifted by the steps executed and padded with its last action) and times every replanning call.
:func:`run_episode` runs an MPC controller (or any policy of states) in a gymnasium env.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..core.contracts import Plan, Planner, Policy
from ..core.validation import check_in, check_positive_int

__all__ = ["MPC", "EpisodeResult", "run_episode", "shift_actions"]


def shift_actions(actions: np.ndarray, k: int, fill: str = "last", low=None, high=None) -> np.ndarray:
    """Shift an action sequence (H, nu) forward by ``k`` steps and pad the end.

    ``fill``: ``"last"`` repeats the final action, ``"zero"`` pads zeros clipped to the box,
    ``"mean"`` pads the centre of the box ``(low + high) / 2``.
    """
    H = actions.shape[0]
    k = min(k, H)
    out = np.empty_like(actions)
    out[: H - k] = actions[k:]
    if fill == "last":
        pad = actions[-1]
    elif fill == "zero":
        pad = np.clip(np.zeros(actions.shape[1]), low, high) if low is not None else np.zeros(actions.shape[1])
    else:
        pad = 0.5 * (np.asarray(low) + np.asarray(high))
    out[H - k:] = pad
    return out


class MPC(Policy):
    """Model-predictive control around a planner.

    Parameters
    ----------
    planner : Planner
    replan_every : int
        Replan after this many executed actions (1 = classic MPC).
    warm_start : bool
        Pass the shifted previous plan to the planner.
    shift_fill : {"last", "zero", "mean"}
        How the shifted warm start is padded.

    Attributes
    ----------
    plan_times : list of float
        Wall seconds of every ``planner.plan`` call since :meth:`reset`.
    last_plan : Plan or None

    Examples
    --------
    >>> import numpy as np
    >>> from planlab.dynamics import Pendulum
    >>> from planlab.planners import RandomShooting
    >>> sys = Pendulum()
    >>> mpc = MPC(RandomShooting(sys, sys.default_cost(), horizon=20, population=100, seed=0))
    >>> mpc.act(np.array([np.pi, 0.0])).shape
    (1,)
    """

    def __init__(self, planner: Planner, *, replan_every: int = 1, warm_start: bool = True, shift_fill: str = "last"):
        if not isinstance(planner, Planner):
            raise TypeError(f"planner: expected a planlab Planner, got {type(planner).__name__}")
        self.planner = planner
        self.dynamics = planner.dynamics
        self.replan_every = check_positive_int("replan_every", replan_every)
        if self.replan_every > planner.horizon:
            raise ValueError(f"replan_every: expected at most the horizon ({planner.horizon}), got {replan_every}")
        check_in("shift_fill", shift_fill, {"last", "zero", "mean"})
        self.warm_start = bool(warm_start)
        self.shift_fill = shift_fill
        self.reset()

    def reset(self) -> None:
        """Forget the previous plan and timings (the planner keeps its random stream)."""
        self.last_plan: Plan | None = None
        self._k = 0
        self.plan_times: list[float] = []

    def act(self, x) -> np.ndarray:
        """The action (nu,) to execute in state ``x`` (nx,); replans when due."""
        x = self.dynamics.check_state(x, "x")
        if x.ndim != 1:
            raise ValueError(f"x: MPC acts on one state of shape ({self.dynamics.state_dim},), got {x.shape}")
        if self.last_plan is None or self._k >= self.replan_every:
            ws = None
            if self.warm_start and self.last_plan is not None:
                d = self.dynamics
                ws = shift_actions(self.last_plan.actions, self._k, self.shift_fill, d.action_low, d.action_high)
                self.planner.advance(self._k)
            t0 = time.perf_counter()
            self.last_plan = self.planner.plan(x, warm_start=ws)
            self.plan_times.append(time.perf_counter() - t0)
            self._k = 0
        u = self.last_plan.actions[self._k]
        self._k += 1
        return u.copy()

    @classmethod
    def for_env(cls, env, planner="shooting", *, horizon: int | None = None, seed=None, mpc_options=None,
                **planner_options) -> "MPC":
        """Build MPC for a gymnasium env (or id) from planlab's model of it.

        Parameters
        ----------
        env : gymnasium.Env or str
        planner : str or Planner
            A planner name (``planlab systems`` lists them) or an instance.
        horizon, seed, **planner_options
            Passed to the planner's constructor when ``planner`` is a name.
        mpc_options : dict, optional
            Passed to :class:`MPC`.
        """
        from ..envs.models import model_for  # envs stay out of the planners' import graph
        from . import make_planner

        if isinstance(planner, Planner):
            p = planner
        else:
            dynamics, cost = model_for(env)
            opts = dict(planner_options)
            if horizon is not None:
                opts["horizon"] = horizon
            p = make_planner(planner, dynamics, cost, seed=seed, **opts)
        warm = getattr(p.dynamics, "warmup", None)
        if warm is not None:
            warm(p.cost)
        return cls(p, **(mpc_options or {}))


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
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    plan_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    terminated: bool = False
    truncated: bool = False

    @property
    def total_return(self) -> float:
        return float(np.sum(self.rewards))

    @property
    def steps(self) -> int:
        return int(len(self.rewards))

    def plan_ms(self, q: float = 50.0) -> float:
        """Percentile ``q`` of the plan times in milliseconds (NaN when nothing was planned)."""
        return float(np.percentile(self.plan_times, q) * 1e3) if len(self.plan_times) else float("nan")


def run_episode(env, controller: Policy, *, steps: int | None = None, seed: int | None = None, x0=None,
                progress: bool = False, callback=None) -> EpisodeResult:
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
    """
    from ..envs.models import set_env_state

    dynamics = getattr(controller, "dynamics", None)
    obs, _ = env.reset(seed=seed)
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
    terminated = truncated = False
    bar = None
    if progress:
        import sys

        from tqdm.auto import tqdm

        bar = tqdm(total=limit, unit="step", disable=not sys.stderr.isatty(), leave=False)
    try:
        for t in range(limit):
            u = np.asarray(controller.act(xs[-1]), dtype=np.float64).reshape(-1)
            a = int(np.rint(u[0])) if discrete else u.astype(env.action_space.dtype)
            obs, r, terminated, truncated, _ = env.step(a)
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
    return EpisodeResult(np.array(xs), np.array(us).reshape(-1, nu), np.array(rs), plan_times, bool(terminated),
                         bool(truncated))
