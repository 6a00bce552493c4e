r"""The constrained, time-indexed trajectory problem as one NLP for casadi + IPOPT.

Direct multiple shooting (Bock & Plitt 1984) of the problem :class:`~planlab.planners.trajopt.constrained.ConstrainedILQR`
solves, with the same sources:

.. math::

    \min_{x, u} \sum_{t<T} \ell(x_t, u_t, p_t) + \ell_f(x_T, p_T) \quad \text{s.t.}\quad x_0 = \bar x_0,\;
    x_{t+1} = f(x_t, u_t),\; u_{lo} \le u_t \le u_{hi},\; g(x_t, u_t, p_t) \le 0,\; g_f(x_T, p_T) \le 0,\;
    h(x_T, p_T) = 0.

The start state and both parameter tables are NLP parameters: the solver is built once and new
targets or obstacle positions (``plan(..., params=...)``) reuse it. IPOPT: A. Wächter & L. T.
Biegler, Mathematical Programming 106, 2006.
"""

from __future__ import annotations

import time
import warnings

import casadi as ca
import numpy as np

from ...core.constraints import Constraints, check_constraint_outputs
from ...core.contracts import Cost, Dynamics
from ...core.planning import STATUS_CONVERGED, STATUS_FAILED, STATUS_MAX_ITERATIONS, Plan, Planner
from ...core.cost import SourceCost
from ...core.seeding import SeedLike
from ...core.tracking import TimeVaryingCost
from ...core.validation import check_nonnegative, check_positive_int
from ...dynamics.analytic import AnalyticSystem
from ...dynamics.symbolic import symbolic_step
from .constrained import set_problem_params

__all__ = ["ConstrainedNLP"]


class ConstrainedNLP(Planner):
    """casadi/IPOPT direct multiple shooting of a time-indexed, constrained problem (module docstring).

    Parameters
    ----------
    dynamics : AnalyticSystem
    cost : TimeVaryingCost or SourceCost
    horizon : int, optional
        Defaults to the cost's.
    constraints : Constraints, optional
    max_iterations : int
        IPOPT's ``max_iter``.
    tol : float
        IPOPT's ``tol`` (and ``constr_viol_tol``).
    ipopt_options : dict, optional
    seed : unused (deterministic)
    """

    name = "al-nlp"
    discrete_actions = False
    cli_options = ("max_iterations",)

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int | None = None, constraints: Constraints | None = None,
                 *, max_iterations: int = 1000, tol: float = 1e-10, ipopt_options=None, seed: SeedLike = None):
        if horizon is None:
            if not isinstance(cost, TimeVaryingCost):
                raise ValueError("horizon: required when the cost is not a TimeVaryingCost")
            horizon = cost.horizon
        super().__init__(dynamics, cost, horizon, seed=seed)
        if not isinstance(dynamics, AnalyticSystem):
            raise TypeError(f"dynamics: expected an AnalyticSystem (casadi source), got {type(dynamics).__name__}")
        if not isinstance(cost, (TimeVaryingCost, SourceCost)):
            raise TypeError(f"cost: expected a TimeVaryingCost or a SourceCost, got {type(cost).__name__}")
        for name, obj in (("cost", cost), ("constraints", constraints)):
            if obj is not None and getattr(obj, "horizon", self.horizon) != self.horizon:
                raise ValueError(f"{name}: expected horizon {self.horizon}, got {obj.horizon}")
        self.constraints = constraints
        self.max_iterations = check_positive_int("max_iterations", max_iterations)
        self.tol = check_nonnegative("tol", tol)
        self.ipopt_options = dict(ipopt_options or {})
        t0 = time.perf_counter()
        self._build()
        self.build_time_s = time.perf_counter() - t0

    def set_params(self, **values) -> None:
        """Set cost/constraint parameters by name for the following plans (no rebuild)."""
        set_problem_params(self.cost, self.constraints, values)

    def _tables(self):
        T = self.horizon
        pc = self.cost.params if isinstance(self.cost, TimeVaryingCost) else np.zeros((T + 1, 1))
        pg = self.constraints.params if self.constraints is not None else np.zeros((T + 1, 1))
        return pc, pg

    def _build(self):
        d, c, con = self.dynamics, self.cost, self.constraints
        nx, nu, T = d.state_dim, d.action_dim, self.horizon
        pc0, pg0 = self._tables()
        ncp, ngp = pc0.shape[1], pg0.shape[1]
        x, u = ca.SX.sym("x", nx), ca.SX.sym("u", nu)
        pc, pg = ca.SX.sym("pc", ncp), ca.SX.sym("pg", ngp)
        xs, us = [x[i] for i in range(nx)], [u[i] for i in range(nu)]
        pcs, pgs = [pc[i] for i in range(ncp)], [pg[i] for i in range(ngp)]
        f = symbolic_step(d, x, u)
        if isinstance(c, TimeVaryingCost):
            l, lf = ca.SX(c.running_source(xs, us, pcs)), ca.SX(c.terminal_source(xs, pcs))
        else:
            l = ca.SX(c.running_source(xs, us, [f[i] for i in range(nx)], c.params.tolist()))
            lf = ca.SX(c.terminal_source(xs, c.params.tolist()))
        ng = con.n_stage if con else 0
        nt = con.n_terminal if con else 0
        ne = con.n_equality if con else 0
        g = ca.vertcat(*check_constraint_outputs("stage", con.stage, (xs, us, pgs), ng)) if ng else ca.SX(0, 1)
        gT = ca.vertcat(*check_constraint_outputs("terminal", con.terminal, (xs, pgs), nt)) if nt else ca.SX(0, 1)
        hT = (ca.vertcat(*check_constraint_outputs("terminal_equality", con.terminal_equality, (xs, pgs), ne))
              if ne else ca.SX(0, 1))
        F = ca.Function("stage", [x, u, pc, pg], [f, l, g]).map(T)
        FT = ca.Function("final", [x, pc, pg], [lf, gT, hT])
        Xv, Uv = ca.SX.sym("X", nx, T + 1), ca.SX.sym("U", nu, T)
        x0 = ca.SX.sym("x0", nx)
        PC, PG = ca.SX.sym("PC", ncp, T + 1), ca.SX.sym("PG", ngp, T + 1)
        Xn, L, G = F(Xv[:, :T], Uv, PC[:, :T], PG[:, :T])
        lT, GT, HT = FT(Xv[:, T], PC[:, T], PG[:, T])
        J = ca.sum2(L) + lT
        dyn = ca.vertcat(ca.vec(Xv[:, 0] - x0), ca.vec(Xv[:, 1:] - Xn))
        cons = ca.vertcat(dyn, ca.vec(G), GT, HT)
        self._n_dyn, self._n_ineq, self._n_eq = nx * (T + 1), ng * T + nt, ne
        w = ca.vertcat(ca.vec(Xv), ca.vec(Uv))
        p = ca.vertcat(x0, ca.vec(PC), ca.vec(PG))
        opts = {"ipopt.print_level": 0, "print_time": False, "ipopt.sb": "yes", "ipopt.max_iter": self.max_iterations,
                "ipopt.tol": self.tol, "ipopt.constr_viol_tol": max(self.tol, 1e-12), "ipopt.bound_relax_factor": 0.0}
        opts.update({k if k.startswith("ipopt.") else f"ipopt.{k}": v for k, v in self.ipopt_options.items()})
        self._solver = ca.nlpsol("constrained_trajopt", "ipopt", {"x": w, "f": J, "g": cons, "p": p}, opts)
        self._cost_fn = ca.Function("J", [w, p], [J])
        lbx = np.full((T + 1) * nx, -np.inf)
        ubx = np.full((T + 1) * nx, np.inf)
        self._lbw = np.concatenate([lbx, np.tile(d.action_low, T)])
        self._ubw = np.concatenate([ubx, np.tile(d.action_high, T)])
        self._lbg = np.concatenate([np.zeros(self._n_dyn), np.full(self._n_ineq, -np.inf), np.zeros(ne)])
        self._ubg = np.zeros(self._n_dyn + self._n_ineq + ne)

    def plan(self, x0, warm_start=None, *, params=None) -> Plan:
        """Solve from ``x0`` (nx,); initial guess ``warm_start`` (or zeros) and its rollout.

        ``params`` ({name: value}) updates the parameter tables first (:meth:`set_params`).
        Diagnostics: ``iterations``, ``solve_time_s``, ``build_time_s``, ``ipopt_status``,
        ``nlp_objective``, ``violation`` (largest constraint violation of the re-rolled plan).
        """
        x0 = self._check_x0(x0)
        ws = self._check_warm_start(warm_start)
        set_problem_params(self.cost, self.constraints, params)
        d = self.dynamics
        T, nx, nu = self.horizon, d.state_dim, d.action_dim
        U0 = ws if ws is not None else d.clip_action(np.zeros((T, nu)))
        X0 = d.rollout(x0, U0[None]).states[0]
        if not np.all(np.isfinite(X0)):
            X0 = np.tile(x0, (T + 1, 1))
        pc, pg = self._tables()
        p = np.concatenate([x0, pc.ravel(), pg.ravel()])  # vec() of (n, T+1) columns = row-major (T+1, n)
        w0 = np.concatenate([X0.ravel(), U0.ravel()])
        t0 = time.perf_counter()
        sol = self._solver(x0=w0, p=p, lbx=self._lbw, ubx=self._ubw, lbg=self._lbg, ubg=self._ubg)
        solve_time = time.perf_counter() - t0
        stats = self._solver.stats()
        wsol = np.asarray(sol["x"]).ravel()
        U = np.clip(wsol[nx * (T + 1):].reshape(T, nu), d.action_low, d.action_high)
        ret = stats.get("return_status", "")
        status = (STATUS_CONVERGED if stats.get("success", False)
                  else STATUS_MAX_ITERATIONS if ret == "Maximum_Iterations_Exceeded" else STATUS_FAILED)
        if not np.all(np.isfinite(U)):
            U, status = U0, STATUS_FAILED
        X = d.rollout(x0, U[None]).states[0]
        wr = np.concatenate([X.ravel(), U.ravel()])
        cost = float(self._cost_fn(wr, p))
        viol = float(self.constraints.violation(X, U)) if self.constraints is not None else 0.0
        if status != STATUS_CONVERGED:
            warnings.warn(f"constrained NLP: IPOPT returned {ret!r}", RuntimeWarning)
        return Plan(U, X, cost if np.isfinite(cost) else np.inf, status, {
            "iterations": int(stats.get("iter_count", -1)),
            "solve_time_s": solve_time,
            "build_time_s": self.build_time_s,
            "ipopt_status": ret,
            "nlp_objective": float(sol["f"]),
            "violation": viol,
        })
