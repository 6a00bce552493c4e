"""The contracts every planlab piece plugs into.

Shapes (batch dimensions lead; float64 throughout the planning maths)::

    x        (..., nx)        a state, or a batch of states
    u        (..., nu)        an action, or a batch of actions
    actions  (N, H, nu)       N action sequences of horizon H
    states   (N, H + 1, nx)   the state trajectories they produce (x0 first)

* :class:`Dynamics` says what happens: ``x_next = step(x, u)``. Analytic systems, learned MLPs,
  ensembles and latent models all implement it, so any of them feeds any planner. A model may
  offer a torch path (``step_torch``) and a fused ``rollout_cost``; the defaults here are plain
  batched numpy built on ``step``.
* :class:`Cost` says what is good: a running cost ``c(x, u, x_next)`` and a terminal cost
  ``c_f(x)``, both batched. Planners *minimise* cost; environments report ``reward = -cost``.
* :class:`Planner` turns (model, cost, state) into a :class:`Plan`.
* :class:`Policy` is what is kept when planning stops: ``act(obs)``, batched.

What a planner may know of a model is declared on :class:`Dynamics`, with defaults: ``stochastic``
and ``noise_dim`` (how many uniform noise inputs a compiled stochastic source reads),
:meth:`Dynamics.compiled_sources` (the module-level source functions compiled planners fuse into
their kernels, or None) and :meth:`Dynamics.warmup` (compile now rather than at the first plan).
The MPC loop tells a planner how far its warm start was shifted (:meth:`Planner.advance`).

Sign convention of linear feedback, everywhere in planlab: a gain ``K`` acts as ``u = K x`` (the
minus sign of the textbook form ``u = -K x`` is inside ``K``), and the time-varying linear policy is
``u_t = K_t (x - x_hat_t) + k_t + u_hat_t``.

Termination: a model may declare states terminal (``terminated(x)``; e.g. the pole of
gymnasium's ``CartPole-v1`` falling). A rollout stops accumulating running cost after the
transition into a terminal state and holds that state for the rest of the horizon; the terminal
cost is charged on the last state.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple

import numpy as np

from .seeding import SeedLike, make_rng
from .validation import as_float_array, check_bounds, check_positive, check_positive_int

__all__ = [
    "Dynamics",
    "Cost",
    "Planner",
    "Policy",
    "Plan",
    "Rollout",
    "CompiledSources",
    "STATUS_OK",
    "STATUS_CONVERGED",
    "STATUS_MAX_ITERATIONS",
    "STATUS_FAILED",
    "STATUS_STALLED",
    "check_cost_matches",
]

#: Plan status: the planner ran its budget and produced a valid plan.
STATUS_OK = "ok"
#: Plan status: an iterative planner met its convergence tolerance.
STATUS_CONVERGED = "converged"
#: Plan status: an iterative planner stopped at its iteration limit before converging.
STATUS_MAX_ITERATIONS = "max_iterations"
#: Plan status: numerical failure; the plan holds the best valid actions found (never NaN).
STATUS_FAILED = "failed"
#: Plan status: an iterative planner stopped improving (cost change or step below tolerance) before its
#: first-order optimality condition held to the stated tolerance; the plan is valid but not a certified optimum.
STATUS_STALLED = "stalled"


class Rollout(NamedTuple):
    """Result of :meth:`Dynamics.rollout`.

    Attributes
    ----------
    states : ndarray, shape (N, H + 1, nx)
    costs : ndarray, shape (N,) or None
        Total cost (running + terminal) of each sequence; ``None`` when no cost was given.
    terminated : ndarray of bool, shape (N,)
        Whether each trajectory reached a terminal state within the horizon.
    """

    states: np.ndarray
    costs: np.ndarray | None
    terminated: np.ndarray


class CompiledSources(NamedTuple):
    """The single-source functions of a (model, cost) pair, for planners that compile them.

    Every function is module-level, written in the language of :mod:`planlab.core.ops`
    (see :mod:`planlab.core.source`): ``dynamics(x, u, p, out)``, ``termination(x, p) -> bool``,
    ``running(x, u, xn, cp) -> float``, ``terminal(x, cp) -> float``.

    Attributes
    ----------
    dynamics, termination, running, terminal : callable
    params : ndarray, shape (n_p,)
        The model's parameter vector ``p``.
    cost_params : ndarray, shape (n_cp,)
        The cost's parameter vector ``cp``.
    """

    dynamics: Any
    termination: Any
    running: Any
    terminal: Any
    params: np.ndarray
    cost_params: np.ndarray


class Dynamics(ABC):
    """A discrete-time dynamics model ``x_next = step(x, u)``, batched.

    Subclasses must implement :meth:`step`. They may override :meth:`terminated` (default: no
    terminal states), :meth:`rollout_cost` (a fused, faster evaluation), :meth:`step_torch`
    (a differentiable path; set ``has_torch = True``) and :meth:`state_from_observation`.

    Parameters
    ----------
    state_dim, action_dim : int
        ``nx`` and ``nu``.
    action_low, action_high : float or array_like, shape (nu,)
        The action box. Planners never return actions outside it, and :meth:`rollout` clips the
        actions it is given to it (the executed, clipped action is what the cost sees), so an action
        outside the box acts as the nearest action inside it.
    dt : float
        Time step in seconds.
    n_actions : int, optional
        For discrete-action models: actions are the indices ``0 .. n_actions - 1`` stored as
        floats in ``u[..., 0]`` (``action_dim`` must be 1).
    stochastic : bool
        Whether ``step`` samples (then it takes ``rng``).
    state_names, action_names : sequence of str, optional
    angle_indices : sequence of int
        State components that are angles (costs wrap them; plots unwrap them).
    """

    has_torch: bool = False
    #: Uniform [0, 1) noise inputs a stochastic model's compiled source reads after the actions,
    #: ``u[nu], ..., u[nu + noise_dim - 1]`` (0: none; compiled planners then cannot sample it).
    noise_dim: int = 0

    def __init__(
        self,
        state_dim: int,
        action_dim: int,
        action_low,
        action_high,
        dt: float,
        *,
        n_actions: int | None = None,
        stochastic: bool = False,
        state_names=None,
        action_names=None,
        angle_indices=(),
    ):
        self.state_dim = check_positive_int("state_dim", state_dim)
        self.action_dim = check_positive_int("action_dim", action_dim)
        lo, hi = check_bounds("action_low", action_low, "action_high", action_high, self.action_dim)
        self.action_low, self.action_high = lo, hi
        self.action_low.setflags(write=False)
        self.action_high.setflags(write=False)
        self.dt = check_positive("dt", dt)
        if n_actions is not None:
            n_actions = check_positive_int("n_actions", n_actions)
            if self.action_dim != 1:
                raise ValueError(f"action_dim: expected 1 for a discrete model (n_actions set), got {self.action_dim}")
        self.n_actions = n_actions
        self.stochastic = bool(stochastic)
        self.state_names = tuple(state_names) if state_names is not None else tuple(f"x{i}" for i in range(self.state_dim))
        self.action_names = tuple(action_names) if action_names is not None else tuple(f"u{i}" for i in range(self.action_dim))
        if len(self.state_names) != self.state_dim:
            raise ValueError(f"state_names: expected {self.state_dim} names, got {len(self.state_names)}")
        if len(self.action_names) != self.action_dim:
            raise ValueError(f"action_names: expected {self.action_dim} names, got {len(self.action_names)}")
        self.angle_indices = tuple(int(i) for i in angle_indices)
        for i in self.angle_indices:
            if not 0 <= i < self.state_dim:
                raise ValueError(f"angle_indices: expected indices in [0, {self.state_dim}), got {i}")

    # ------------------------------------------------------------------ the model
    @abstractmethod
    def step(self, x: np.ndarray, u: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Next state(s). ``x``: (..., nx), ``u``: (..., nu) -> (..., nx)."""

    def terminated(self, x: np.ndarray) -> np.ndarray:
        """Whether states are terminal. ``x``: (..., nx) -> bool (...)."""
        return np.zeros(np.shape(x)[:-1], dtype=bool)

    def step_torch(self, x, u):
        """Differentiable next state on torch tensors (..., nx), (..., nu) -> (..., nx)."""
        raise NotImplementedError(f"{type(self).__name__} has no torch path (has_torch is False)")

    def state_from_observation(self, obs) -> np.ndarray:
        """Map an environment observation to the model's state (identity by default)."""
        return as_float_array("obs", obs, shape=(self.state_dim,))

    def compiled_sources(self, cost: "Cost") -> CompiledSources | None:
        """The sources compiled planners may fuse for this model with ``cost``, or None (the default).

        A model returns them only when its numba kernels compile with ``cost`` (matching dimensions,
        numba enabled); planners then run their compiled paths and otherwise call :meth:`step` /
        :meth:`rollout_cost`.
        """
        return None

    def warmup(self, cost: "Cost | None" = None) -> None:
        """Compile (or load from cache) whatever planning with ``cost`` needs, now rather than at the
        first plan. The default does nothing."""

    @property
    def is_discrete(self) -> bool:
        """True for discrete-action models (``n_actions`` set)."""
        return self.n_actions is not None

    # ------------------------------------------------------------------ validation
    def check_state(self, x, name: str = "x") -> np.ndarray:
        """Validate a state or batch of states (..., nx): numeric, finite, right size."""
        arr = as_float_array(name, x)
        if arr.ndim == 0 or arr.shape[-1] != self.state_dim:
            raise ValueError(f"{name}: expected shape (..., {self.state_dim}), got {arr.shape}")
        return arr

    def check_actions(self, actions, name: str = "actions", horizon: int | None = None) -> np.ndarray:
        """Validate a batch of action sequences (N, H, nu): finite, within bounds."""
        arr = as_float_array(name, actions)
        if arr.ndim != 3 or arr.shape[-1] != self.action_dim or (horizon is not None and arr.shape[1] != horizon):
            h = "H" if horizon is None else str(horizon)
            raise ValueError(f"{name}: expected shape (N, {h}, {self.action_dim}), got {arr.shape}")
        return arr

    def check_step_inputs(self, x, u) -> tuple[np.ndarray, np.ndarray]:
        """Validate the inputs of :meth:`step`: ``x`` (..., nx) and ``u`` (..., nu), numeric, with
        broadcastable leading shapes. Returns both as float64 arrays (non-finite values pass: a
        model maps them to whatever its maths gives, and planners check their results)."""
        xa = as_float_array("x", x, finite=False)
        ua = as_float_array("u", u, finite=False)
        if xa.ndim == 0 or xa.shape[-1] != self.state_dim:
            raise ValueError(f"x: expected shape (..., {self.state_dim}), got {xa.shape}")
        if ua.ndim == 0 or ua.shape[-1] != self.action_dim:
            raise ValueError(f"u: expected shape (..., {self.action_dim}), got {ua.shape}")
        try:
            np.broadcast_shapes(xa.shape[:-1], ua.shape[:-1])
        except ValueError:
            raise ValueError(f"x, u: expected broadcastable batch shapes, got {xa.shape} and {ua.shape}") from None
        return xa, ua

    def clip_action(self, u: np.ndarray) -> np.ndarray:
        """Clip actions to the box (and round to valid indices for discrete models)."""
        u = np.clip(u, self.action_low, self.action_high)
        if self.is_discrete:
            u = np.rint(u)
        return u

    # ------------------------------------------------------------------ rollouts
    def rollout(self, x0, actions, cost: "Cost | None" = None, *, rng: SeedLike = None) -> Rollout:
        """Roll N action sequences out from one start state (or N of them).

        Parameters
        ----------
        x0 : array_like, shape (nx,) or (N, nx)
        actions : array_like, shape (N, H, nu)
            Finite; clipped to the action box (the clipped actions are executed and costed).
        cost : Cost, optional
            When given, the total cost of every sequence is summed along the way.
        rng : seed or Generator, optional
            For stochastic models.

        Returns
        -------
        Rollout
            ``states`` (N, H + 1, nx), ``costs`` (N,) or None, ``terminated`` (N,).
        """
        U = self.check_actions(actions)
        if np.any(U < self.action_low) or np.any(U > self.action_high):
            U = np.clip(U, self.action_low, self.action_high)
        N, H, _ = U.shape
        x = self._start_states(x0, N)
        gen = make_rng(rng) if self.stochastic else None
        states = np.empty((N, H + 1, self.state_dim))
        states[:, 0] = x
        alive = ~self.terminated(x)
        done_any = ~alive
        total = np.zeros(N) if cost is not None else None
        for t in range(H):
            u = U[:, t]
            xn = self.step(x, u, gen) if self.stochastic else self.step(x, u)
            if total is not None:
                c = cost.running(x, u, xn)
                total += np.where(alive, c, 0.0)
            xn = np.where(alive[:, None], xn, x)
            states[:, t + 1] = xn
            alive = alive & ~self.terminated(xn)
            x = xn
        if total is not None:
            total += cost.terminal(x)
        return Rollout(states, total, ~alive | done_any)

    def rollout_cost(self, x0, actions, cost: "Cost", *, rng: SeedLike = None) -> np.ndarray:
        """Total cost of each of N action sequences, shape (N,). See :meth:`rollout`."""
        return self.rollout(x0, actions, cost, rng=rng).costs

    def _start_states(self, x0, n: int) -> np.ndarray:
        x = self.check_state(x0, "x0")
        if x.ndim == 1:
            return np.broadcast_to(x, (n, self.state_dim)).copy()
        if x.shape != (n, self.state_dim):
            raise ValueError(f"x0: expected shape ({self.state_dim},) or ({n}, {self.state_dim}), got {x.shape}")
        return x.copy()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nx={self.state_dim}, nu={self.action_dim}, dt={self.dt})"


class Cost(ABC):
    """A running cost ``c(x, u, x_next)`` and a terminal cost ``c_f(x)``, batched.

    Subclasses implement :meth:`running`; :meth:`terminal` defaults to zero. Costs that depend on
    the next state (a bonus for reaching a goal) set ``uses_next_state = True``.
    """

    uses_next_state: bool = False
    #: ``nx`` and ``nu`` the cost is defined for, or None when it accepts any size. Planners and MPC
    #: refuse a cost whose declared sizes differ from their model's (:func:`check_cost_matches`).
    state_dim: int | None = None
    action_dim: int | None = None

    @abstractmethod
    def running(self, x: np.ndarray, u: np.ndarray, x_next: np.ndarray | None = None) -> np.ndarray:
        """Running cost. ``x``: (..., nx), ``u``: (..., nu), ``x_next``: (..., nx) -> (...)."""

    def terminal(self, x: np.ndarray) -> np.ndarray:
        """Terminal cost. ``x``: (..., nx) -> (...)."""
        return np.zeros(np.shape(x)[:-1])

    def trajectory_cost(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Total cost of trajectories, ignoring termination.

        ``states``: (..., H + 1, nx), ``actions``: (..., H, nu) -> (...).
        """
        states = np.asarray(states, dtype=np.float64)
        actions = np.asarray(actions, dtype=np.float64)
        run = self.running(states[..., :-1, :], actions, states[..., 1:, :])
        return run.sum(axis=-1) + self.terminal(states[..., -1, :])


@dataclass(frozen=True)
class Plan:
    """What a planner returns.

    Attributes
    ----------
    actions : ndarray, shape (H, nu)
        The planned action sequence; always within the model's bounds.
    states : ndarray, shape (H + 1, nx)
        The states the model predicts for ``actions`` from ``x0`` (``states[0] == x0``).
    cost : float
        The model's total cost of ``actions`` (running + terminal).
    status : str
        ``"ok"``, ``"converged"`` (first-order condition met to the planner's stated tolerance),
        ``"stalled"`` (stopped improving before that), ``"max_iterations"`` or ``"failed"``.
    diagnostics : mapping
        Planner-specific numbers (iterations, timings, cost history, ...).
    """

    actions: np.ndarray
    states: np.ndarray
    cost: float
    status: str = STATUS_OK
    diagnostics: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("actions", "states"):
            arr = np.array(getattr(self, name), dtype=np.float64)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        if self.actions.ndim != 2 or self.states.ndim != 2 or self.states.shape[0] != self.actions.shape[0] + 1:
            raise ValueError(
                f"Plan: expected actions (H, nu) and states (H + 1, nx), got {self.actions.shape} and {self.states.shape}"
            )
        object.__setattr__(self, "cost", float(self.cost))

    @property
    def horizon(self) -> int:
        """The number of planned actions ``H``."""
        return self.actions.shape[0]

    def __repr__(self) -> str:
        a = self.actions
        first = ", ".join(f"{v:.4g}" for v in a[0]) if a.size else ""
        return (f"Plan(horizon={self.horizon}, nu={a.shape[1]}, nx={self.states.shape[1]}, cost={self.cost:.6g}, "
                f"status={self.status!r}, first_action=[{first}])")

    @property
    def first_action(self) -> np.ndarray:
        """The action the MPC loop executes, shape (nu,)."""
        return self.actions[0]


class Planner(ABC):
    """Turns (dynamics, cost, state) into a :class:`Plan`.

    Subclasses implement :meth:`plan`. Contract: ``plan(x0)`` returns actions of shape
    ``(horizon, nu)`` inside the action box, finite, and the same plan for the same seed; the plan's
    ``cost`` equals the model's cost of re-rolling its actions out from ``x0``.

    Parameters
    ----------
    dynamics : Dynamics
    cost : Cost
    horizon : int
        Planning horizon ``H`` (>= 1).
    seed : int, Generator or None
    """

    #: Name used by the CLI and ``planlab.episodes.mpc_for_env``.
    name: str = "planner"
    #: Whether the planner plans discrete-action models (``n_actions`` set) correctly; planners that
    #: sample or optimise continuous actions set False and refuse such models.
    discrete_actions: bool = True

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int, *, seed: SeedLike = None):
        if not isinstance(dynamics, Dynamics):
            raise TypeError(f"dynamics: expected a planlab Dynamics, got {type(dynamics).__name__}")
        if not isinstance(cost, Cost):
            raise TypeError(f"cost: expected a planlab Cost, got {type(cost).__name__}")
        check_cost_matches(dynamics, cost)
        if dynamics.is_discrete and not type(self).discrete_actions:
            names = sorted({c.name for c in _all_subclasses(Planner) if c.discrete_actions and c.name != Planner.name
                            and not getattr(c, "__abstractmethods__", None) and c.__module__.startswith("planlab.")})
            raise TypeError(
                f"dynamics: {type(self).__name__} plans continuous actions, got a model with {dynamics.n_actions} "
                f"discrete actions (n_actions={dynamics.n_actions}); planners for discrete actions: {', '.join(names)}")
        self.dynamics = dynamics
        self.cost = cost
        self.horizon = check_positive_int("horizon", horizon)
        self._seed = seed
        self.rng = make_rng(seed)

    @abstractmethod
    def plan(self, x0, warm_start: np.ndarray | None = None) -> Plan:
        """Plan from ``x0`` (nx,), optionally warm-started with actions (H, nu)."""

    def advance(self, steps: int) -> None:
        """Told by the MPC loop before a replan: ``steps`` actions of the last plan were executed, and
        the warm start it passes next is that plan shifted by ``steps`` (padded at the end).

        Planners that carry more than the warm start between calls (CEM's elites and sampling
        distribution, UCT's tree) shift it by ``steps``; the default does nothing.
        """

    def reset(self, seed: SeedLike = None) -> None:
        """Forget internal state (warm starts, trees); reseed when ``seed`` is given."""
        if seed is not None:
            self._seed = seed
        self.rng = make_rng(self._seed)

    # helpers for subclasses
    def _check_x0(self, x0) -> np.ndarray:
        return as_float_array("x0", x0, shape=(self.dynamics.state_dim,))

    def _check_warm_start(self, warm_start) -> np.ndarray | None:
        """``warm_start`` (H, nu) validated and clipped to the action box, or None."""
        if warm_start is None:
            return None
        w = as_float_array("warm_start", warm_start, shape=(self.horizon, self.dynamics.action_dim))
        return self.dynamics.clip_action(w)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(horizon={self.horizon}, dynamics={self.dynamics!r})"


class Policy(ABC):
    """A (possibly stochastic) feedback policy ``u = act(obs)``, batched.

    ``act`` accepts one observation (n_obs,) or a batch (..., n_obs) and returns actions of the
    matching leading shape. ``reset`` is called at the start of each episode.
    """

    @abstractmethod
    def act(self, obs) -> np.ndarray:
        """Action(s) for observation(s) ``obs``: (..., n_obs) -> (..., nu)."""

    def reset(self) -> None:
        """Start a new episode (time-varying policies rewind their clock)."""

    def __call__(self, obs) -> np.ndarray:
        return self.act(obs)


def _all_subclasses(cls):
    out = []
    for c in cls.__subclasses__():
        out.append(c)
        out.extend(_all_subclasses(c))
    return out


def check_cost_matches(dynamics: Dynamics, cost: Cost) -> None:
    """Raise ``ValueError`` when ``cost`` declares a state or action size other than ``dynamics``'s.

    Costs that declare no sizes (``state_dim``/``action_dim`` None, the default of :class:`Cost`)
    are not checked here.
    """
    want = (dynamics.state_dim, dynamics.action_dim)
    got = (getattr(cost, "state_dim", None), getattr(cost, "action_dim", None))
    if any(g is not None and g != w for g, w in zip(got, want)):
        raise ValueError(f"cost: expected sizes (nx, nu) = {want} of {type(dynamics).__name__}, got "
                         f"{type(cost).__name__} with (state_dim, action_dim) = ({got[0]}, {got[1]})")


def is_close_cost(a: float, b: float, rtol: float = 1e-9, atol: float = 1e-9) -> bool:
    """``math.isclose`` for costs (used by contract checks)."""
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
