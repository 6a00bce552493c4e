"""Analytic systems written once, run on numba, numpy, torch and casadi.

A subclass of :class:`AnalyticSystem` provides

* ``dynamics_source(x, u, p, out)`` — a module-level function in the scalar source language of
  :mod:`planlab.core.ops` (``out[i]`` receives the next state's components),
* optionally ``termination_source(x, p) -> bool``,
* a frozen ``Params`` dataclass; its fields, in order, make the parameter vector ``p``, which a
  source reads by name through ``P = param_index(Params)`` (:func:`planlab.core.source.param_index`)
  as ``p[P.name]``,
* ``default_cost()``.

From that one source come the numpy ``step``, the fused numba rollout kernels
(:mod:`planlab.dynamics.compiled`), the torch ``step_torch`` and the casadi Jacobians
(:meth:`AnalyticSystem.linearize`, :mod:`planlab.dynamics.symbolic`).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..core.contracts import CompiledSources, Cost, Dynamics, Rollout
from ..core.cost import SourceCost
from ..core.seeding import SeedLike
from ..core.source import components, eval_dynamics_source
from ..core.validation import as_float_array
from .compiled import check_sources, numba_enabled, rollout_kernels

__all__ = ["AnalyticSystem", "never_terminates", "zero_terminal_cost"]

#: generated kernel module name -> whether its sources compiled (checked once per process)
_compiles: dict = {}


def never_terminates(x, p):
    """Termination source of systems without terminal states."""
    return False


def zero_terminal_cost(x, p):
    """Terminal source of costs without a terminal term."""
    return 0.0


class AnalyticSystem(Dynamics):
    """Base class of planlab's analytic systems (see the module docstring).

    Parameters
    ----------
    params : Params, optional
        Physical constants; the subclass's defaults when omitted.
    threads : {1, "all"}
        Rollout kernel: serial (default; fastest on 2 cores at the sizes measured) or
        ``numba.prange`` over all threads.
    """

    Params: type = None
    dynamics_source = None
    termination_source = staticmethod(never_terminates)
    has_torch = True

    def __init__(self, params=None, *, action_low, action_high, dt, threads=1, **kwargs):
        if params is None:
            params = self.Params()
        if not isinstance(params, self.Params):
            raise TypeError(f"params: expected {self.Params.__qualname__}, got {type(params).__name__}")
        self.params = params
        self.param_vector = np.array(dataclasses.astuple(params), dtype=np.float64)
        self.param_vector.setflags(write=False)
        super().__init__(action_low=action_low, action_high=action_high, dt=dt, **kwargs)
        if threads not in (1, "all"):
            raise ValueError(f"threads: expected 1 or 'all', got {threads!r}")
        self.threads = threads
        self._symbolic = {}

    # ------------------------------------------------------------------ numpy path
    def step(self, x, u, rng=None):
        """Next state(s): ``x`` (..., nx), ``u`` (..., nu) -> (..., nx).

        Actions outside the box are clipped to it (the box is what the system can execute);
        a state or action of the wrong size raises ``ValueError`` naming it.
        """
        x, u = self.check_step_inputs(x, u)
        if np.any(u < self.action_low) or np.any(u > self.action_high):
            u = np.clip(u, self.action_low, self.action_high)
        return self._eval_source(x, u)

    def _eval_source(self, x, u):
        """The dynamics source on validated arrays ``x`` (..., nx), ``u`` (..., nu [+ noise_dim])."""
        return eval_dynamics_source(type(self).dynamics_source, x, u, self.param_vector, self.state_dim)

    def terminated(self, x):
        x = np.asarray(x, dtype=np.float64)
        val = type(self).termination_source(components(x), self.param_vector)
        return np.broadcast_to(np.asarray(val, dtype=bool), x.shape[:-1]).copy()

    # ------------------------------------------------------------------ torch path
    def step_torch(self, x, u):
        """Differentiable next state on torch tensors: (..., nx), (..., nu) -> (..., nx).

        Actions outside the box are clipped to it, as in :meth:`step` (the gradient with respect to a
        clipped component is zero). :meth:`symbolic` is the unclipped dynamics, for derivatives inside
        the box.
        """
        import torch

        lo = torch.tensor(self.action_low, dtype=u.dtype, device=u.device)
        hi = torch.tensor(self.action_high, dtype=u.dtype, device=u.device)
        u = torch.maximum(torch.minimum(u, hi), lo)
        return eval_dynamics_source(type(self).dynamics_source, x, u, self.param_vector.tolist(), self.state_dim)

    # ------------------------------------------------------------------ casadi path
    def symbolic(self, cost: Cost | None = None):
        """The casadi model (exact derivatives) of this system and an optional source cost."""
        from .symbolic import SymbolicModel

        key = id(cost)
        model = self._symbolic.get(key)
        if model is None or model.cost is not cost:
            model = SymbolicModel(self, cost)
            self._symbolic[key] = model
        return model

    def linearize(self, x, u):
        """Exact Jacobians ``A = df/dx`` (nx, nx) and ``B = df/du`` (nx, nu) at ``(x, u)``."""
        x = self.check_state(x, "x")
        u = as_float_array("u", u)
        if x.shape != (self.state_dim,) or u.shape != (self.action_dim,):
            raise ValueError(
                f"x, u: expected shapes ({self.state_dim},) and ({self.action_dim},), got {x.shape} and {u.shape}"
            )
        return self.symbolic().linearize(x, u)

    # ------------------------------------------------------------------ fused rollouts
    def kernels(self, cost: SourceCost):
        """The generated numba kernel module for this system with ``cost``, or None: numba disabled,
        a source that is not a module-level function, or sources numba cannot compile (then a
        ``RuntimeWarning`` says why, once, and every fused path falls back to numpy)."""
        if not numba_enabled():
            return None
        try:
            k = rollout_kernels(
                type(self).dynamics_source,
                type(self).termination_source,
                cost.running_source,
                cost.terminal_source,
            )
        except ValueError:
            return None
        ok = _compiles.get(k.__name__)
        if ok is None:
            ok = _compiles[k.__name__] = self._try_compile(k, cost)
        return k if ok else None

    def _try_compile(self, k, cost) -> bool:
        """Compile the four model sources alone (cheap, and shared by every kernel that calls them);
        the kernels themselves compile on first use, only those a caller needs."""
        from numba.core.errors import NumbaError

        try:
            with np.errstate(all="ignore"):
                check_sources(type(self).dynamics_source, type(self).termination_source, cost.running_source,
                              cost.terminal_source, self.state_dim, self.action_dim, self.param_vector, cost.params)
        except (NumbaError, TypeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            warnings.warn(f"planlab: numba cannot compile the sources of {type(self).__name__} with "
                          f"{type(cost).__name__} ({first}); using the numpy path (slower)", RuntimeWarning,
                          stacklevel=4)
            return False
        return True

    def _fused(self, cost):
        return isinstance(cost, SourceCost) and cost.state_dim == self.state_dim and cost.action_dim == self.action_dim

    def compiled_sources(self, cost: Cost) -> CompiledSources | None:
        """This system's and ``cost``'s sources when ``cost`` is a :class:`~planlab.core.SourceCost` of
        matching dimensions and they compile with numba (see :meth:`kernels`); else None."""
        if cost is None or not self._fused(cost) or self.kernels(cost) is None:
            return None
        d = type(self)
        return CompiledSources(d.dynamics_source, d.termination_source, cost.running_source, cost.terminal_source,
                               self.param_vector, cost.params)

    def _fused_inputs(self, x0, actions, cost):
        """``(kernels, x0s, U)`` for the fused numba path, or None when it does not apply."""
        if cost is None or not self._fused(cost):
            return None
        k = self.kernels(cost)
        if k is None:
            return None
        U = self.check_actions(actions)
        if np.any(U < self.action_low) or np.any(U > self.action_high):
            U = np.clip(U, self.action_low, self.action_high)
        U = np.ascontiguousarray(U)
        return k, self._kernel_starts(x0, U.shape[0]), U

    def rollout_cost(self, x0, actions, cost: Cost, *, rng: SeedLike = None, threads=None) -> np.ndarray:
        """Total cost of N sequences (N,), through the fused numba kernel when possible."""
        fused = self._fused_inputs(x0, actions, cost)
        if fused is None:
            return super().rollout_cost(x0, actions, cost, rng=rng)
        k, x0s, U = fused
        out = np.empty(U.shape[0])
        threads = self.threads if threads is None else threads
        fn = k.rollout_cost_parallel if threads == "all" else k.rollout_cost
        fn(x0s, U, self.param_vector, cost.params, out)
        return out

    def rollout(self, x0, actions, cost: Cost | None = None, *, rng: SeedLike = None) -> Rollout:
        fused = self._fused_inputs(x0, actions, cost)
        if fused is None:
            return super().rollout(x0, actions, cost, rng=rng)
        k, x0s, U = fused
        N, H, _ = U.shape
        S = np.empty((N, H + 1, self.state_dim))
        out = np.empty(N)
        term = np.empty(N, dtype=np.bool_)
        k.rollout_states(x0s, U, self.param_vector, cost.params, S, out, term)
        return Rollout(S, out, term)

    def _kernel_starts(self, x0, n):
        x = self.check_state(x0, "x0")
        if x.ndim == 1:
            return np.ascontiguousarray(x[None, :])
        if x.shape != (n, self.state_dim):
            raise ValueError(f"x0: expected shape ({self.state_dim},) or ({n}, {self.state_dim}), got {x.shape}")
        return np.ascontiguousarray(x)

    def warmup(self, cost: Cost | None = None) -> None:
        """Compile (or load from cache) the kernels for ``cost`` now rather than on first use."""
        cost = self.default_cost() if cost is None else cost
        if not self._fused(cost):
            return
        try:
            U = np.zeros((1, 1, self.action_dim)) + np.clip(0.0, self.action_low, self.action_high)
            self.rollout_cost(np.zeros(self.state_dim), U, cost)
            self.rollout(np.zeros(self.state_dim), U, cost)
        except Exception as exc:  # pragma: no cover - a broken compiler falls back to numpy
            warnings.warn(f"planlab: numba kernels unavailable ({exc}); using numpy", RuntimeWarning)

    def default_cost(self) -> Cost:
        """The task cost planlab's envs use for this system (a system of your own defines none)."""
        raise NotImplementedError(
            f"{type(self).__name__}.default_cost: this system defines no default cost; pass a cost explicitly "
            f"(e.g. planlab.core.QuadraticCost(Q=np.ones({self.state_dim}), R=np.ones({self.action_dim}))) or "
            f"override default_cost()")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"
