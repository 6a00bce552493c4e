r"""Time-indexed costs: references, per-step weights and terminal costs with parameters set at plan time.

A :class:`TimeVaryingCost` minimised over a horizon of ``T`` steps is

.. math::

    J = \sum_{t=0}^{T-1} \ell(x_t, u_t, p_t) + \ell_f(x_T, p_T),

where ``p_t`` is row ``t`` of a parameter table (``T + 1`` rows: one per step and one for the
terminal cost, as trajax's ``cost(x, u, t)``). The sources ``running_source(x, u, p)`` and
``terminal_source(x, p)`` are written in planlab's scalar source language
(:mod:`planlab.core.source`, :mod:`planlab.core.ops`): the same code runs on numpy arrays here and on
casadi symbols in the trajectory optimisers, which take exact gradients and Hessians of it and keep
``p`` a run-time input, so new references, targets, weights or obstacle positions never rebuild a
solver.

The table's columns are named fields (:class:`ParamTable`); a source reads field ``name`` through
the offsets ``O = table.index`` as ``p[O.name + i]``.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .contracts import Cost
from .ops import exp, wrap_angle
from .source import components, eval_scalar_source
from .validation import as_float_array, check_positive, check_positive_int

__all__ = ["ParamTable", "TimeVaryingCost", "TrackingCost", "tracking_running", "tracking_terminal", "SumCost",
           "DiscPenaltyCost"]


class ParamTable:
    """Named, fixed-width fields of a per-step parameter table of ``horizon + 1`` rows.

    Parameters
    ----------
    horizon : int
        ``T``; the table has ``T + 1`` rows (row ``T`` is the terminal row).
    fields : sequence of (str, int)
        Field names and widths, in column order.

    Attributes
    ----------
    index : NamedTuple of int
        Column offset of each field (``index.name``), for sources.
    size : int
        Number of columns (at least 1).
    """

    def __init__(self, horizon, fields):
        self.horizon = check_positive_int("horizon", horizon)
        names, widths, offsets = [], [], []
        off = 0
        for name, width in fields:
            if not str(name).isidentifier() or name in names:
                raise ValueError(f"fields: expected distinct identifier names, got {name!r}")
            w = check_positive_int(f"width of {name}", width)
            names.append(str(name))
            widths.append(w)
            offsets.append(off)
            off += w
        self.names = tuple(names)
        self.widths = dict(zip(names, widths))
        self.offsets = dict(zip(names, offsets))
        self.index = namedtuple("ParamIndex", names)(*offsets) if names else ()
        self.size = max(off, 1)

    def empty(self) -> np.ndarray:
        """A zero table, shape (horizon + 1, size)."""
        return np.zeros((self.horizon + 1, self.size))

    def fill(self, table: np.ndarray, values: dict, *, where: str = "params") -> np.ndarray:
        """A copy of ``table`` (T + 1, size) with the fields in ``values`` replaced.

        Each value may be a constant (``width``,) (a scalar for width 1), one row per step
        (T, width) (the terminal row keeps its previous value) or (T + 1, width).

        Raises
        ------
        ValueError
            Unknown field name or a value of the wrong shape (naming the field, expected and actual shape).
        """
        out = np.array(table, dtype=np.float64, copy=True)
        T = self.horizon
        for name, value in values.items():
            if name not in self.widths:
                raise ValueError(f"{where}: unknown parameter {name!r}; expected one of {sorted(self.widths)}")
            w, o = self.widths[name], self.offsets[name]
            v = as_float_array(f"{where}[{name!r}]", value)
            if v.ndim == 0 and w == 1:
                v = v.reshape(1)
            if v.shape == (w,):
                out[:, o:o + w] = v
            elif v.shape == (T, w):
                out[:T, o:o + w] = v
            elif v.shape == (T + 1, w):
                out[:, o:o + w] = v
            else:
                raise ValueError(f"{where}[{name!r}]: expected shape ({w},), ({T}, {w}) or ({T + 1}, {w}), "
                                 f"got {v.shape}")
        return out

    def get(self, table: np.ndarray, name: str) -> np.ndarray:
        """Field ``name`` of ``table``, shape (T + 1, width)."""
        o, w = self.offsets[name], self.widths[name]
        return table[:, o:o + w]


def _zero_terminal(x, p):
    return 0.0


class TimeVaryingCost(Cost):
    """A cost whose running and terminal sources read a per-step parameter row (module docstring).

    Parameters
    ----------
    state_dim, action_dim, horizon : int
    running_source : callable ``(x, u, p) -> scalar``
    terminal_source : callable ``(x, p) -> scalar``, optional
    fields : sequence of (str, int)
        The parameter table's fields (:class:`ParamTable`).
    values : dict, optional
        Initial field values (see :meth:`ParamTable.fill`); other fields are zero.
    """

    def __init__(self, state_dim, action_dim, horizon, running_source, terminal_source=None, *, fields=(),
                 values=None):
        self.state_dim = check_positive_int("state_dim", state_dim)
        self.action_dim = check_positive_int("action_dim", action_dim)
        self.table = ParamTable(horizon, fields)
        self.horizon = self.table.horizon
        self.running_source = running_source
        self.terminal_source = terminal_source if terminal_source is not None else _zero_terminal
        self._params = self.table.fill(self.table.empty(), dict(values or {}))
        self._params.setflags(write=False)

    @property
    def params(self) -> np.ndarray:
        """The current parameter table (T + 1, size), read-only."""
        return self._params

    def set_params(self, **values) -> None:
        """Replace fields of the parameter table (see :meth:`ParamTable.fill`)."""
        p = self.table.fill(self._params, values)
        p.setflags(write=False)
        self._params = p

    @property
    def time_invariant(self) -> bool:
        """Whether every running step has the same parameter row (then ``t`` may be omitted)."""
        p = self._params[:self.horizon]
        return bool(np.all(p == p[0]))

    def running(self, x, u, x_next=None, *, t: int | None = None):
        """Running cost of step ``t``: ``x`` (..., nx), ``u`` (..., nu) -> (...).

        ``t`` may be omitted only when the running rows are all equal (:attr:`time_invariant`);
        callers without a time index (``Dynamics.rollout``, the sampling planners) get a
        ``ValueError`` for a time-varying table instead of a silently wrong cost.
        """
        x = np.asarray(x, dtype=np.float64)
        u = np.asarray(u, dtype=np.float64)
        if t is None:
            if not self.time_invariant:
                raise ValueError("t: this cost varies with the time step; pass t= or use trajectory_cost")
            t = 0
        if not 0 <= int(t) < self.horizon:
            raise ValueError(f"t: expected a step in [0, {self.horizon}), got {t}")
        batch = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        return eval_scalar_source(self.running_source(components(x), components(u), self._params[int(t)]), batch)

    def terminal(self, x):
        """Terminal cost ``x`` (..., nx) -> (...) with the terminal row of the table."""
        x = np.asarray(x, dtype=np.float64)
        return eval_scalar_source(self.terminal_source(components(x), self._params[self.horizon]), x.shape[:-1])

    def trajectory_cost(self, states, actions):
        """Total cost of trajectories ``states`` (..., T + 1, nx), ``actions`` (..., T, nu) -> (...)."""
        states = np.asarray(states, dtype=np.float64)
        actions = np.asarray(actions, dtype=np.float64)
        T = self.horizon
        if states.shape[-2:] != (T + 1, self.state_dim) or actions.shape[-2:] != (T, self.action_dim):
            raise ValueError(f"states, actions: expected (..., {T + 1}, {self.state_dim}) and (..., {T}, "
                             f"{self.action_dim}), got {states.shape} and {actions.shape}")
        total = self.terminal(states[..., T, :])
        for t in range(T):
            total = total + self.running(states[..., t, :], actions[..., t, :], t=t)
        return total


def tracking_running(x, u, p):
    """``1/2 sum_i q_i e_i^2 + 1/2 sum_j r_j (u_j - u_ref_j)^2``, ``e = x - x_ref`` (wrapped where flagged).

    Parameter row layout (see :class:`TrackingCost`): ``x_ref`` (nx), ``u_ref`` (nu), ``q`` (nx),
    ``r`` (nu), ``qf`` (nx), ``wrap`` (nx).
    """
    nx = len(x)
    nu = len(u)
    o_ur = nx
    o_q = nx + nu
    o_r = 2 * nx + nu
    o_w = 3 * nx + 2 * nu
    c = 0.0
    for i in range(nx):
        e = x[i] - p[i]
        e = e - p[o_w + i] * (e - wrap_angle(e))  # wrapped where flagged, without a branch on p
        c = c + 0.5 * p[o_q + i] * e * e
    for j in range(nu):
        d = u[j] - p[o_ur + j]
        c = c + 0.5 * p[o_r + j] * d * d
    return c


def tracking_terminal(x, p):
    """``1/2 sum_i qf_i e_i^2`` at the terminal row (layout of :func:`tracking_running`)."""
    nx = len(x)
    nu = (len(p) - 4 * nx) // 2
    o_qf = 2 * nx + 2 * nu
    o_w = 3 * nx + 2 * nu
    c = 0.0
    for i in range(nx):
        e = x[i] - p[i]
        e = e - p[o_w + i] * (e - wrap_angle(e))
        c = c + 0.5 * p[o_qf + i] * e * e
    return c


class TrackingCost(TimeVaryingCost):
    r"""Tracking of time-indexed references with per-step diagonal weights.

    .. math::

        \ell_t = \tfrac12 \sum_i q_{t,i} (x_{t,i} - r_{t,i})^2 + \tfrac12 \sum_j \rho_{t,j} (u_{t,j} - \bar u_{t,j})^2,
        \qquad \ell_f = \tfrac12 \sum_i q_{f,i} (x_{T,i} - r_{T,i})^2

    Parameters
    ----------
    horizon : int
    Q : array_like (nx,) or (T + 1, nx)
        Diagonal state weights (per step when 2-D).
    R : array_like (nu,) or (T, nu)
    Qf : array_like (nx,), optional
        Terminal weights (zeros by default).
    x_ref : array_like (nx,), (T, nx) or (T + 1, nx), optional
    u_ref : array_like (nu,) or (T, nu), optional
    angle_indices : sequence of int
        State components whose error is wrapped to ``[-pi, pi)``.

    All of ``x_ref``, ``u_ref``, ``q``, ``r``, ``qf`` are plan-time parameters (``set_params`` or a
    planner's ``plan(..., params=...)``).

    Examples
    --------
    >>> import numpy as np
    >>> c = TrackingCost(3, Q=[1.0], R=[0.1], x_ref=np.arange(4.0)[:, None])
    >>> float(c.running(np.array([1.0]), np.array([0.0]), t=1))
    0.0
    """

    def __init__(self, horizon, Q, R, Qf=None, x_ref=None, u_ref=None, angle_indices=()):
        T = check_positive_int("horizon", horizon)
        q = as_float_array("Q", Q)
        r = as_float_array("R", R)
        if q.ndim not in (1, 2) or r.ndim not in (1, 2):
            raise ValueError(f"Q, R: expected diagonals (n,) or per-step (T, n), got {q.shape} and {r.shape}")
        nx, nu = q.shape[-1], r.shape[-1]
        fields = (("x_ref", nx), ("u_ref", nu), ("q", nx), ("r", nu), ("qf", nx), ("wrap", nx))
        wrap = np.zeros(nx)
        for i in angle_indices:
            if not 0 <= int(i) < nx:
                raise ValueError(f"angle_indices: expected indices in [0, {nx}), got {i}")
            wrap[int(i)] = 1.0
        values = {"q": q, "r": r, "qf": np.zeros(nx) if Qf is None else Qf, "wrap": wrap}
        if x_ref is not None:
            values["x_ref"] = x_ref
        if u_ref is not None:
            values["u_ref"] = u_ref
        super().__init__(nx, nu, T, tracking_running, tracking_terminal, fields=fields, values=values)
        for name, arg in (("q", "Q"), ("r", "R"), ("qf", "Qf")):
            w = self.table.get(self.params, name)
            if np.any(w < 0):
                raise ValueError(f"{arg}: expected non-negative weights, got min {w.min()}")


class SumCost(TimeVaryingCost):
    """The sum of time-varying costs of the same sizes and horizon.

    The parameter table is the parts' tables side by side; field ``name`` of part ``i`` becomes
    ``f"{name}{i}"`` (e.g. ``x_ref0``, ``discs1``), so parameters stay settable by name at plan time.
    """

    def __init__(self, *costs):
        if not costs or not all(isinstance(c, TimeVaryingCost) for c in costs):
            raise TypeError(f"costs: expected TimeVaryingCost objects, got {[type(c).__name__ for c in costs]}")
        c0 = costs[0]
        for c in costs[1:]:
            if (c.state_dim, c.action_dim, c.horizon) != (c0.state_dim, c0.action_dim, c0.horizon):
                raise ValueError(f"costs: expected equal (nx, nu, horizon) = {(c0.state_dim, c0.action_dim, c0.horizon)}"
                                 f", got {(c.state_dim, c.action_dim, c.horizon)}")
        self.parts = costs
        offsets, fields, values, off = [], [], {}, 0
        for i, c in enumerate(costs):
            offsets.append((off, off + c.table.size))
            if c.table.names:
                pad = c.table.size - sum(c.table.widths.values())
                for n in c.table.names:
                    fields.append((f"{n}{i}", c.table.widths[n]))
                    values[f"{n}{i}"] = c.table.get(c.params, n)
            else:
                pad = c.table.size
            if pad:
                fields.append((f"_unused{i}", pad))
            off += c.table.size
        sources = [(c.running_source, c.terminal_source, a, b) for c, (a, b) in zip(costs, offsets)]

        def running(x, u, p):
            return sum(r(x, u, p[a:b]) for r, _, a, b in sources)

        def terminal(x, p):
            return sum(f(x, p[a:b]) for _, f, a, b in sources)

        super().__init__(c0.state_dim, c0.action_dim, c0.horizon, running, terminal, fields=fields, values=values)


class DiscPenaltyCost(TimeVaryingCost):
    r"""Smooth penalty of discs: ``w sum_j exp((r_j^2 - |p - c_j|^2) / s)`` at every step and at the end.

    Equal to ``w`` on a disc's boundary, growing inside it and vanishing away from it; infinitely
    differentiable (a soft alternative to :func:`~planlab.core.constraints.circle_obstacles`).
    Plan-time parameters: ``discs`` (``cx, cy, r`` per disc) and ``weight`` (``w, s``).
    """

    def __init__(self, state_dim, action_dim, horizon, centres, radii, *, weight=1.0, softness=0.05,
                 position_indices=(0, 1)):
        c = as_float_array("centres", centres, ndim=2)
        if c.shape[1] != 2:
            raise ValueError(f"centres: expected shape (k, 2), got {c.shape}")
        r = as_float_array("radii", radii, shape=(c.shape[0],))
        i, j = (int(v) for v in position_indices)
        if not (0 <= i < state_dim and 0 <= j < state_dim):
            raise ValueError(f"position_indices: expected state components in [0, {state_dim}), got {position_indices}")
        k = c.shape[0]

        def terminal(x, p):
            total = 0.0
            for d in range(k):
                dx = x[i] - p[2 + 3 * d]
                dy = x[j] - p[3 + 3 * d]
                rad = p[4 + 3 * d]
                total = total + exp((rad * rad - dx * dx - dy * dy) / p[1])
            return p[0] * total

        def running(x, u, p):
            return terminal(x, p)

        super().__init__(state_dim, action_dim, horizon, running, terminal, fields=(("weight", 2), ("discs", 3 * k)),
                         values={"weight": [check_positive("weight", weight), check_positive("softness", softness)],
                                 "discs": np.column_stack([c, r]).ravel()})

