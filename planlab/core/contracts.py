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
* :class:`~planlab.core.planning.Planner` turns (model, cost, state) into a
  :class:`~planlab.core.planning.Plan`; :class:`~planlab.core.planning.Policy` is what is kept when
  planning stops (both in :mod:`planlab.core.planning`).

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
from typing import Any, NamedTuple

import numpy as np

from .seeding import SeedLike, make_rng
from .validation import as_float_array, check_bounds, check_positive, check_positive_int

__all__ = ["Dynamics", "Cost", "Rollout", "CompiledSources", "check_cost_matches", "is_close_cost"]


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


def check_cost_matches(dynamics: Dynamics, cost: Cost) -> None:
    """Raise ``ValueError`` when ``cost`` does not fit ``dynamics``'s state and action sizes.

    A cost that declares its sizes (``state_dim``/``action_dim``) is compared with the model's. A cost
    that declares none (the default of :class:`Cost`, e.g. a user's subclass) is evaluated once on a
    probe batch of two states and actions of the model's sizes (``running`` with ``x_next`` and
    ``terminal``): it must return one number per element, shape ``(2,)``. That refuses the usual
    silent mismatch — weights or targets of another size that numpy would broadcast or a component
    index beyond the state — before any planning is done.
    """
    want = (dynamics.state_dim, dynamics.action_dim)
    got = (getattr(cost, "state_dim", None), getattr(cost, "action_dim", None))
    if any(g is not None and g != w for g, w in zip(got, want)):
        raise ValueError(f"cost: expected sizes (nx, nu) = {want} of {type(dynamics).__name__}, got "
                         f"{type(cost).__name__} with (state_dim, action_dim) = ({got[0]}, {got[1]})")
    if got[0] is None or got[1] is None:
        _probe_cost(dynamics, cost)


def _probe_cost(dynamics: Dynamics, cost: Cost) -> None:
    nx, nu = dynamics.state_dim, dynamics.action_dim
    lo = np.where(np.isfinite(dynamics.action_low), dynamics.action_low, -1.0)
    hi = np.where(np.isfinite(dynamics.action_high), dynamics.action_high, 1.0)
    x = np.zeros((2, nx))
    u = np.stack([0.5 * (lo + hi), hi])
    name = type(cost).__name__
    for what, call in (("running(x, u, x_next)", lambda: cost.running(x, u, x.copy())),
                       ("terminal(x)", lambda: cost.terminal(x))):
        try:
            out = np.shape(call())
        except (ValueError, IndexError, TypeError, RuntimeError) as err:
            raise ValueError(f"cost: {name}.{what} fails on a batch of 2 states of size nx = {nx} and actions of "
                             f"size nu = {nu} of {type(dynamics).__name__} (a cost for other sizes?): "
                             f"{type(err).__name__}: {err}") from err
        if out != (2,):
            raise ValueError(f"cost: expected {name}.{what} to return shape (2,) for a batch of 2 states of size "
                             f"nx = {nx} and actions of size nu = {nu} of {type(dynamics).__name__}, got shape {out}")


def is_close_cost(a: float, b: float, rtol: float = 1e-9, atol: float = 1e-9) -> bool:
    """``math.isclose`` for costs (used by contract checks)."""
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
