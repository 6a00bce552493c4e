r"""Constrained iLQR: an augmented Lagrangian around box-DDP, with time-varying costs and plan-time parameters.

Solves

.. math::

    \min_U \sum_{t<T} \ell(x_t, u_t, p_t) + \ell_f(x_T, p_T) \quad\text{s.t.}\quad
    x_{t+1} = f(x_t, u_t),\; u_{lo} \le u_t \le u_{hi},\; g(x_t, u_t, p_t) \le 0,\;
    g_f(x_T, p_T) \le 0,\; h(x_T, p_T) = 0

by the augmented-Lagrangian method (Hestenes 1969; Powell 1969; Rockafellar 1973) as trajax's
``constrained_ilqr`` and ALTRO (T. A. Howell, B. E. Jackson & Z. Manchester, "ALTRO: A fast solver
for constrained trajectory optimization", IROS 2019) do: each outer iteration minimises the
augmented Lagrangian (:mod:`planlab.planners.trajopt.stagewise`) over the controls with box-DDP
(Y. Tassa, N. Mansard & E. Todorov, "Control-limited differential dynamic programming", ICRA 2014;
:class:`~planlab.planners.trajopt.ilqr.ILQR`, which keeps the control box as hard constraints), then
updates the multipliers ``λ <- max(0, λ + ρ g)``, ``ν <- ν + ρ h`` and multiplies the penalty ``ρ`` of
the constraints still violated by ``penalty_factor``.

Status: ``"converged"`` when the largest violation is at most ``constraint_tol`` and the last inner
solve converged; ``"stalled"`` when the plan was feasible but box-DDP stalled short of its tolerance
in three outer iterations running; ``"infeasible"`` when the penalty reached ``penalty_max`` with the constraints still
violated (the returned plan is the least-violating one found, finite); ``"max_iterations"`` when
the outer iterations ran out; ``"failed"`` on non-finite numbers.

Costs and constraints read per-step parameter tables that are inputs of the solver's functions:
:meth:`ConstrainedILQR.plan` takes ``params={name: value}`` (targets, references, weights, obstacle
positions) and never rebuilds anything (:func:`~planlab.planners.trajopt.stagewise.build_count`).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from ...core.constraints import Constraints
from ...core.contracts import Cost, Dynamics
from ...core.planning import STATUS_CONVERGED, STATUS_FAILED, STATUS_MAX_ITERATIONS, Plan, Planner
from ...core.cost import SourceCost
from ...core.seeding import SeedLike
from ...core.tracking import TimeVaryingCost
from ...core.validation import check_nonnegative, check_positive, check_positive_int
from .ilqr import ILQR
from .stagewise import AugmentedLagrangianModel

__all__ = ["ConstrainedILQR", "STATUS_INFEASIBLE", "set_problem_params"]

#: Status of a constrained solve whose constraints stayed violated at the largest penalty.
STATUS_INFEASIBLE = "infeasible"
#: An iLQR status: stopped on a small improvement before its first-order tolerance.
_STALLED = "stalled"


def set_problem_params(cost, constraints, params) -> None:
    """Route ``params`` ({name: value}) to the cost's and the constraints' parameter tables.

    A name in both tables sets both. Raises ``ValueError`` for a name in neither.
    """
    if not params:
        return
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of parameter values by name, got {type(params).__name__}")
    cnames = set(cost.table.names) if isinstance(cost, TimeVaryingCost) else set()
    gnames = set(constraints.table.names) if constraints is not None else set()
    unknown = sorted(set(params) - cnames - gnames)
    if unknown:
        raise ValueError(f"params: unknown parameter(s) {unknown}; expected names among {sorted(cnames | gnames)}")
    if cnames & set(params):
        cost.set_params(**{k: v for k, v in params.items() if k in cnames})
    if gnames & set(params):
        constraints.set_params(**{k: v for k, v in params.items() if k in gnames})


class ConstrainedILQR(Planner):
    """Augmented-Lagrangian box-DDP (see the module docstring).

    Parameters
    ----------
    dynamics : AnalyticSystem
        Continuous, deterministic; its single source gives the casadi derivatives.
    cost : TimeVaryingCost or SourceCost
    horizon : int, optional
        ``T``; defaults to the cost's (and must equal it and the constraints').
    constraints : Constraints, optional
    max_outer : int
        Augmented-Lagrangian (outer) iterations.
    max_iterations : int
        Box-DDP iterations per outer iteration.
    constraint_tol : float
        Largest violation accepted as feasible.
    penalty_init, penalty_factor, penalty_max : float
        Initial penalty ``ρ``, its growth on violated constraints, and its ceiling.
    tol, grad_tol : float
        Convergence tolerances of the inner box-DDP (see :class:`~planlab.planners.trajopt.ilqr.ILQR`).
    compiled : bool or None
        None: numba-compiled loops over casadi's generated code (compiled on the first solve, then
        cached on disk) unless numba is disabled; False: casadi's own evaluation (no compilation).
    seed : unused (deterministic)

    Examples
    --------
    >>> import numpy as np
    >>> from planlab.dynamics import DoubleIntegrator
    >>> from planlab.core.tracking import TrackingCost
    >>> from planlab.core.constraints import state_box
    >>> sys = DoubleIntegrator()
    >>> cost = TrackingCost(20, Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0], x_ref=[1.0, 0.0])
    >>> speed = state_box(2, 1, 20, [1], low=[-0.5], high=[0.5])
    >>> plan = ConstrainedILQR(sys, cost, constraints=speed).plan(np.zeros(2))
    >>> bool(plan.diagnostics["violation"] <= 1e-6)
    True
    """

    name = "al-ilqr"
    discrete_actions = False
    cli_options = ("max_iterations",)

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int | None = None, constraints: Constraints | None = None,
                 *, max_outer: int = 30, max_iterations: int = 100, constraint_tol: float = 1e-6,
                 penalty_init: float = 1.0, penalty_factor: float = 10.0, penalty_max: float = 1e9,
                 tol: float = 1e-9, grad_tol: float = 1e-6, compiled: bool | None = None, seed: SeedLike = None):
        if horizon is None:
            if not isinstance(cost, TimeVaryingCost):
                raise ValueError("horizon: required when the cost is not a TimeVaryingCost")
            horizon = cost.horizon
        super().__init__(dynamics, cost, horizon, seed=seed)
        nx, nu = dynamics.state_dim, dynamics.action_dim
        for name, obj in (("cost", cost), ("constraints", constraints)):
            if obj is None:
                continue
            if (obj.state_dim, obj.action_dim) != (nx, nu):
                raise ValueError(f"{name}: expected sizes (nx, nu) = ({nx}, {nu}), got ({obj.state_dim}, "
                                 f"{obj.action_dim})")
            if getattr(obj, "horizon", self.horizon) != self.horizon:
                raise ValueError(f"{name}: expected horizon {self.horizon}, got {obj.horizon}")
        if not isinstance(cost, (TimeVaryingCost, SourceCost)):
            raise TypeError(f"cost: expected a TimeVaryingCost or a SourceCost, got {type(cost).__name__}")
        if constraints is not None and not isinstance(constraints, Constraints):
            raise TypeError(f"constraints: expected a planlab Constraints, got {type(constraints).__name__}")
        self.constraints = constraints
        self.max_outer = check_positive_int("max_outer", max_outer)
        self.max_iterations = check_positive_int("max_iterations", max_iterations)
        self.constraint_tol = check_positive("constraint_tol", constraint_tol)
        self.penalty_init = check_positive("penalty_init", penalty_init)
        self.penalty_factor = check_positive("penalty_factor", penalty_factor)
        if self.penalty_factor <= 1.0:
            raise ValueError(f"penalty_factor: expected a number > 1, got {penalty_factor}")
        self.penalty_max = check_positive("penalty_max", penalty_max)
        # the inner solver: box-DDP on the augmented Lagrangian (its own model is replaced by ours)
        self.inner = ILQR(dynamics, _NoCost(nx, nu), self.horizon, max_iterations=self.max_iterations, tol=tol,
                          grad_tol=check_nonnegative("grad_tol", grad_tol), derivatives="fd")
        self.model = AugmentedLagrangianModel(dynamics, cost, constraints, self.horizon, compiled=compiled)
        self.inner.model = self.model
        self._multipliers = None  # (lam, rho, lam_t, rho_t, nu_e, rho_e) carried to the next plan

    def set_params(self, **values) -> None:
        """Set cost/constraint parameters by name for the following plans (no rebuild)."""
        set_problem_params(self.cost, self.constraints, values)

    def warmup(self) -> None:
        """Compile (or load) the kernels now by a 2-iteration solve from zeros."""
        self.inner.solve(np.zeros(self.dynamics.state_dim), max_iterations=2)

    def advance(self, steps: int) -> None:
        """Shift the stored stage multipliers by ``steps`` (the MPC loop executed them)."""
        if self._multipliers is not None and steps > 0:
            T = self.horizon
            s = min(int(steps), T)
            for a in self._multipliers[:2]:  # stage multipliers and penalties, padded with the last step's
                a[:T - s] = a[s:].copy()
                a[T - s:] = a[T - 1]

    def reset(self, seed: SeedLike = None) -> None:
        super().reset(seed)
        self._multipliers = None

    def _load_params(self):
        m = self.model
        if isinstance(self.cost, TimeVaryingCost):
            m.PC[:] = self.cost.params
        if self.constraints is not None:
            m.PG[:] = self.constraints.params

    def plan(self, x0, warm_start=None, *, params=None) -> Plan:
        """Optimise from ``x0`` (nx,), warm-started with ``warm_start`` (H, nu) and earlier multipliers.

        ``params`` ({name: value}) updates the cost's and constraints' parameter tables first
        (persistently; :meth:`set_params`). Diagnostics: ``violation``, ``multipliers`` (dict of
        ``stage`` (T, ng), ``terminal`` (nt,), ``equality`` (ne,)), ``penalty`` (largest ρ),
        ``outer_iterations``, ``iterations`` (all box-DDP iterations), ``al_history``, ``solve_time_s``,
        ``reason`` and ``policy``.
        """
        x0 = self._check_x0(x0)
        ws = self._check_warm_start(warm_start)
        set_problem_params(self.cost, self.constraints, params)
        return self._solve(x0, ws)

    def _solve(self, x0, U) -> Plan:
        t0 = time.perf_counter()
        m, T = self.model, self.horizon
        self._load_params()
        F = m.fns
        if self._multipliers is not None and U is not None:
            m.lam, m.rho, m.lam_t, m.rho_t, m.nu_e, m.rho_e = (a.copy() for a in self._multipliers)
            for a in (m.rho, m.rho_t, m.rho_e):
                np.maximum(a, self.penalty_init, out=a)
        else:
            m.lam, m.rho = np.zeros((T, F.ng)), np.full((T, F.ng), self.penalty_init)
            m.lam_t, m.rho_t = np.zeros(F.nt), np.full(F.nt, self.penalty_init)
            m.nu_e, m.rho_e = np.zeros(F.ne), np.full(F.ne, self.penalty_init)
        if U is None:
            U = np.zeros((T, m.nu))
        history, total_it, best, stalled = [], 0, None, 0
        status, reason = STATUS_MAX_ITERATIONS, "outer iteration limit"
        inner = None
        for outer in range(1, self.max_outer + 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                inner = self.inner.solve(x0, U)
            total_it += int(inner.diagnostics["iterations"])
            U, X = np.array(inner.actions), np.array(inner.states)
            if inner.status == STATUS_FAILED or not np.all(np.isfinite(X)):
                status, reason = STATUS_FAILED, f"inner solve failed: {inner.diagnostics.get('reason')}"
                break
            g, gT, hT = m.constraint_values(X, U)
            viol = max(float(np.max(g, initial=0.0)), float(np.max(gT, initial=0.0)),
                       float(np.max(np.abs(hT), initial=0.0)))
            _, _, _, cost = m.evaluate(x0, X, U, np.zeros((T, m.nu, m.nx)), np.zeros((T, m.nu)), 0.0)
            pen = max(float(np.max(m.rho, initial=0.0)), float(np.max(m.rho_t, initial=0.0)),
                      float(np.max(m.rho_e, initial=0.0)))
            history.append({"outer": outer, "violation": viol, "penalty": pen, "cost": cost,
                            "inner_iterations": int(inner.diagnostics["iterations"]), "inner_status": inner.status})
            if best is None or viol < best[0] - 1e-12 or (viol <= self.constraint_tol and cost < best[3]):
                best = (viol, U.copy(), X.copy(), cost, inner)
            if viol <= self.constraint_tol and inner.status == STATUS_CONVERGED:
                status, reason, best = STATUS_CONVERGED, "feasible and stationary", (viol, U, X, cost, inner)
                break
            # feasible, but box-DDP stopped short of its first-order tolerance ("stalled") three times running
            stalled = stalled + 1 if viol <= self.constraint_tol and inner.status == _STALLED else 0
            if stalled >= 3:
                status, reason, best = _STALLED, "feasible; the inner solves stalled", (viol, U, X, cost, inner)
                break
            if pen >= self.penalty_max and viol > self.constraint_tol:
                status, reason = STATUS_INFEASIBLE, f"violation {viol:.3g} at the largest penalty {pen:.3g}"
                break
            # multiplier and penalty updates (PHR; ALTRO Algorithm 2)
            m.lam = np.maximum(0.0, m.lam + m.rho * g)
            m.lam_t = np.maximum(0.0, m.lam_t + m.rho_t * gT)
            m.nu_e = m.nu_e + m.rho_e * hT
            tol = self.constraint_tol
            m.rho = np.where(g > tol, np.minimum(m.rho * self.penalty_factor, self.penalty_max), m.rho)
            m.rho_t = np.where(gT > tol, np.minimum(m.rho_t * self.penalty_factor, self.penalty_max), m.rho_t)
            m.rho_e = np.where(np.abs(hT) > tol, np.minimum(m.rho_e * self.penalty_factor, self.penalty_max),
                               m.rho_e)
        self._multipliers = (m.lam, m.rho, m.lam_t, m.rho_t, m.nu_e, m.rho_e)
        if inner is None or best is None:
            U = np.clip(U, self.dynamics.action_low, self.dynamics.action_high)
            X, _ = m.rollout(x0, U)
            best = (math.inf, U, X, math.inf, None)
        viol, U, X, cost, last = best
        if status != STATUS_CONVERGED:
            warnings.warn(f"constrained iLQR: {status} ({reason})", RuntimeWarning)
        diag = {
            "iterations": total_it,
            "outer_iterations": len(history),
            "violation": float(viol),
            "multipliers": {"stage": m.lam.copy(), "terminal": m.lam_t.copy(), "equality": m.nu_e.copy()},
            "penalty": history[-1]["penalty"] if history else self.penalty_init,
            "al_history": history,
            "solve_time_s": time.perf_counter() - t0,
            "reason": reason,
            "policy": last.diagnostics.get("policy") if last is not None else None,
            "derivatives": "casadi",
        }
        return Plan(U, X, cost if math.isfinite(cost) else math.inf, status, diag)


class _NoCost(Cost):
    """Placeholder cost of the inner solver (its model, which carries the real cost, is replaced)."""

    def __init__(self, nx, nu):
        self.state_dim, self.action_dim = nx, nu

    def running(self, x, u, x_next=None):
        return np.zeros(np.broadcast_shapes(np.shape(x)[:-1], np.shape(u)[:-1]))
