r"""Constraints of trajectory optimisation, written once in the scalar source language.

A :class:`Constraints` object holds up to three source functions over the horizon ``T``:

* ``stage(x, u, p, out)``: inequalities ``g(x_t, u_t, p_t) <= 0`` for ``t = 0 .. T-1``
  (``out`` receives ``n_stage`` values);
* ``terminal(x, p, out)``: inequalities ``g_f(x_T, p_T) <= 0`` (``n_terminal`` values);
* ``terminal_equality(x, p, out)``: equalities ``h(x_T, p_T) = 0`` (``n_equality`` values).

``p`` is a row of a per-step parameter table (:class:`~planlab.core.tracking.ParamTable`), so
obstacle positions or limits can change at plan time. The sources run on numpy here and on casadi
symbols in the solvers (exact Jacobians). The state at ``t = 0`` is given, so a stage constraint it
violates cannot be repaired: solvers report such problems as infeasible.

Helpers build the common cases: :func:`state_box` (state and joint-velocity limits) and
:func:`circle_obstacles` (keep a point out of discs).
"""

from __future__ import annotations

import numpy as np

from .source import components
from .tracking import ParamTable
from .validation import as_float_array, check_positive_int

__all__ = ["Constraints", "state_box", "circle_obstacles", "check_constraint_outputs"]


class _Outputs(list):
    """A list of fixed length that reports writes past its end by name."""

    def __init__(self, n, name):
        super().__init__([None] * n)
        self._name = name

    def __setitem__(self, i, v):
        if not isinstance(i, (int, np.integer)) or not 0 <= i < len(self):
            raise ValueError(f"{self._name}: wrote output {i!r}, but the constraint declares {len(self)} outputs")
        super().__setitem__(i, v)


def check_constraint_outputs(name, fn, args, n):
    """Call a constraint source on ``args`` and return its ``n`` outputs; raise if it writes another number."""
    out = _Outputs(n, name)
    fn(*args, out)
    missing = [i for i, v in enumerate(out) if v is None]
    if missing:
        raise ValueError(f"{name}: expected {n} outputs, but outputs {missing} were never written")
    return list(out)


class Constraints:
    """Stage inequalities, terminal inequalities and terminal equalities (module docstring).

    Parameters
    ----------
    state_dim, action_dim, horizon : int
    stage, terminal, terminal_equality : callable, optional
        Sources ``(x, u, p, out)``, ``(x, p, out)`` and ``(x, p, out)``.
    n_stage, n_terminal, n_equality : int
        Their numbers of outputs (checked by calling each source once).
    fields : sequence of (str, int)
        The parameter table's fields; ``values`` their initial values.
    """

    def __init__(self, state_dim, action_dim, horizon, *, stage=None, n_stage=0, terminal=None, n_terminal=0,
                 terminal_equality=None, n_equality=0, fields=(), values=None):
        self.state_dim = check_positive_int("state_dim", state_dim)
        self.action_dim = check_positive_int("action_dim", action_dim)
        self.table = ParamTable(horizon, fields)
        self.horizon = self.table.horizon
        self._params = self.table.fill(self.table.empty(), dict(values or {}), where="values")
        self._params.setflags(write=False)
        self.stage, self.terminal, self.terminal_equality = stage, terminal, terminal_equality
        self.n_stage, self.n_terminal, self.n_equality = (int(n_stage), int(n_terminal), int(n_equality))
        for fn, n, name in ((stage, self.n_stage, "stage"), (terminal, self.n_terminal, "terminal"),
                            (terminal_equality, self.n_equality, "terminal_equality")):
            if (fn is None) != (n == 0) or n < 0:
                raise ValueError(f"{name}: give a source together with its number of outputs n >= 1, got "
                                 f"{'a source' if fn is not None else 'no source'} and n = {n}")
        x = np.zeros(self.state_dim)
        u = np.zeros(self.action_dim)
        p0 = self._params[0]
        if stage is not None:
            check_constraint_outputs("stage", stage, (tuple(x), tuple(u), p0), self.n_stage)
        if terminal is not None:
            check_constraint_outputs("terminal", terminal, (tuple(x), self._params[-1]), self.n_terminal)
        if terminal_equality is not None:
            check_constraint_outputs("terminal_equality", terminal_equality, (tuple(x), self._params[-1]),
                                     self.n_equality)

    @property
    def params(self) -> np.ndarray:
        """The current parameter table (T + 1, size), read-only."""
        return self._params

    def set_params(self, **values) -> None:
        """Replace fields of the parameter table (see :meth:`ParamTable.fill`)."""
        p = self.table.fill(self._params, values)
        p.setflags(write=False)
        self._params = p

    def stage_at(self, x, u, t: int = 0):
        """Stage inequality values ``g(x, u, p_t)``: ``x`` (..., nx), ``u`` (..., nu) -> (..., n_stage)."""
        x = np.asarray(x, dtype=np.float64)
        u = np.asarray(u, dtype=np.float64)
        batch = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        if self.stage is None:
            return np.zeros(batch + (0,))
        if not 0 <= int(t) < self.horizon:
            raise ValueError(f"t: expected a step in [0, {self.horizon}), got {t}")
        return self._eval(self.stage, self.n_stage, (components(x), components(u), self._params[int(t)]), batch)

    def _eval(self, fn, n, args, batch):
        vals = check_constraint_outputs("constraint", fn, args, n)
        out = np.empty(batch + (n,))
        for i, v in enumerate(vals):
            out[..., i] = v
        return out

    def stage_values(self, states, actions):
        """``g`` along a trajectory: ``states`` (..., T + 1, nx), ``actions`` (..., T, nu) -> (..., T, n_stage)."""
        X = np.asarray(states, dtype=np.float64)
        U = np.asarray(actions, dtype=np.float64)
        T = self.horizon
        batch = np.broadcast_shapes(X.shape[:-2], U.shape[:-2])
        out = np.zeros(batch + (T, self.n_stage))
        if self.stage is None:
            return out
        for t in range(T):
            out[..., t, :] = self._eval(self.stage, self.n_stage,
                                        (components(X[..., t, :]), components(U[..., t, :]), self._params[t]), batch)
        return out

    def terminal_values(self, x):
        """``(g_f, h)`` at final states ``x`` (..., nx): shapes (..., n_terminal) and (..., n_equality)."""
        x = np.asarray(x, dtype=np.float64)
        b = x.shape[:-1]
        pT = self._params[self.horizon]
        g = self._eval(self.terminal, self.n_terminal, (components(x), pT), b) if self.terminal else np.zeros(b + (0,))
        h = (self._eval(self.terminal_equality, self.n_equality, (components(x), pT), b) if self.terminal_equality
             else np.zeros(b + (0,)))
        return g, h

    def violation(self, states, actions):
        """Largest violation ``max(max g, max g_f, max |h|, 0)`` of each trajectory (...)."""
        g = self.stage_values(states, actions)
        gf, h = self.terminal_values(np.asarray(states)[..., -1, :])
        v = np.zeros(g.shape[:-2])
        if g.shape[-1]:
            v = np.maximum(v, g.max(axis=(-2, -1)))
        if gf.shape[-1]:
            v = np.maximum(v, gf.max(axis=-1))
        if h.shape[-1]:
            v = np.maximum(v, np.abs(h).max(axis=-1))
        return v


# ------------------------------------------------------------------------------------------ helpers
# The state components a helper reads are part of its code (closures), not parameters: they pick
# expressions, which a run-time input cannot do.


def state_box(state_dim, action_dim, horizon, indices, low, high, *, terminal=True):
    """Limits ``low <= x_i <= high`` on state components ``indices`` at ``t = 0 .. T-1`` (and ``T``).

    Outputs ``x_i - high`` then ``low - x_i`` per component. The bounds are the plan-time parameters
    ``low`` and ``high`` (each (k,) or per step (T + 1, k)); they must be finite.
    """
    idx = tuple(int(i) for i in indices)
    k = len(idx)
    if k == 0 or any(not 0 <= i < state_dim for i in idx):
        raise ValueError(f"indices: expected state components in [0, {state_dim}), got {tuple(indices)}")
    lo = as_float_array("low", low)
    hi = as_float_array("high", high)

    def box(x, p, out):
        for j, i in enumerate(idx):
            out[2 * j] = x[i] - p[k + j]
            out[2 * j + 1] = p[j] - x[i]

    def stage(x, u, p, out):
        box(x, p, out)

    return Constraints(state_dim, action_dim, horizon, stage=stage, n_stage=2 * k,
                       terminal=box if terminal else None, n_terminal=2 * k if terminal else 0,
                       fields=(("low", k), ("high", k)), values={"low": lo, "high": hi})


def circle_obstacles(state_dim, action_dim, horizon, centres, radii, *, position_indices=(0, 1)):
    """Keep the point ``(x[i], x[j])`` (``position_indices``) out of discs at ``centres`` (k, 2), ``radii`` (k,).

    The constraint is ``r^2 - |p - c|^2 <= 0`` at ``t = 0 .. T``; the discs are the plan-time
    parameter ``discs``: ``(cx, cy, r)`` per disc, 3k values (or per step (T + 1, 3k)).
    """
    c = as_float_array("centres", centres, ndim=2)
    if c.shape[1] != 2:
        raise ValueError(f"centres: expected shape (k, 2), got {c.shape}")
    r = as_float_array("radii", radii, shape=(c.shape[0],))
    if np.any(r <= 0):
        raise ValueError(f"radii: expected positive radii, got {r}")
    i, j = (int(v) for v in position_indices)
    if not (0 <= i < state_dim and 0 <= j < state_dim):
        raise ValueError(f"position_indices: expected state components in [0, {state_dim}), got {position_indices}")
    k = c.shape[0]

    def discs(x, p, out):
        for d in range(k):
            dx = x[i] - p[3 * d]
            dy = x[j] - p[3 * d + 1]
            rad = p[3 * d + 2]
            out[d] = rad * rad - dx * dx - dy * dy

    def stage(x, u, p, out):
        discs(x, p, out)

    return Constraints(state_dim, action_dim, horizon, stage=stage, n_stage=k, terminal=discs, n_terminal=k,
                       fields=(("discs", 3 * k),), values={"discs": np.column_stack([c, r]).ravel()})
