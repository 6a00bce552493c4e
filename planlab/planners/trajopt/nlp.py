r"""Direct multiple shooting with casadi + IPOPT: the reference optimum for trajectory optimisation.

Solves the trajectory optimisation problem as a nonlinear programme over states and controls
(direct multiple shooting, Bock & Plitt 1984),

.. math::

    \min_{x_{0:T}, u_{0:T-1}} \sum_t c(x_t, u_t) + c_f(x_T) \quad \text{s.t.}\quad
    x_0 = \bar x_0,\; x_{t+1} = f(x_t, u_t),\; u_{lo} \le u_t \le u_{hi},\; x_{lo} \le x_t \le x_{hi},

with the dynamics and cost evaluated from the system's single source on casadi ``SX`` symbols (exact
derivatives; ``expand`` is implicit). The solver is built once per planner (``build_time_s``); the start
state is a parameter, so MPC re-solves without rebuilding.

IPOPT is the interior-point filter line-search method of A. Wächter & L. T. Biegler, "On the
implementation of an interior-point filter line-search algorithm for large-scale nonlinear
programming", Mathematical Programming 106, 2006; casadi: J. A. E. Andersson et al., Mathematical
Programming Computation 11, 2019.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

import casadi as ca

from ...core.contracts import Cost, Dynamics
from ...core.planning import STATUS_CONVERGED, STATUS_FAILED, STATUS_MAX_ITERATIONS, Plan, Planner
from ...core.cost import SourceCost
from ...core.seeding import SeedLike
from ...core.validation import check_bounds, check_nonnegative, check_positive_int
from ...dynamics.analytic import AnalyticSystem
from ...dynamics.symbolic import symbolic_step

__all__ = ["NLPPlanner"]


class NLPPlanner(Planner):
    """casadi/IPOPT direct multiple shooting (control bounds, optional state bounds).

    Parameters
    ----------
    dynamics : AnalyticSystem
    cost : SourceCost
    horizon : int
    max_iterations : int
        IPOPT's ``max_iter``.
    tol : float
        IPOPT's ``tol``.
    state_low, state_high : float or array_like (nx,), optional
        State bounds on ``x_1 .. x_T`` (``-inf``/``inf`` entries are free).
    ipopt_options : dict, optional
        Extra IPOPT options (e.g. ``{"linear_solver": "ma27"}``). ``bound_relax_factor`` defaults to 0
        (bounds held exactly; see the comment in ``_build``).
    seed : unused (deterministic)

    Examples
    --------
    >>> import numpy as np
    >>> from planlab.dynamics import Pendulum
    >>> sys = Pendulum()
    >>> plan = NLPPlanner(sys, sys.default_cost(), horizon=20).plan(np.array([np.pi, 0.0]))
    >>> plan.actions.shape
    (20, 1)
    """

    name = "nlp"
    discrete_actions = False
    cli_options = ("max_iterations",)

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int = 50, *, max_iterations: int = 1000,
                 tol: float = 1e-8, state_low=None, state_high=None, ipopt_options=None, seed: SeedLike = None):
        super().__init__(dynamics, cost, horizon, seed=seed)
        if not isinstance(dynamics, AnalyticSystem):
            raise TypeError(f"dynamics: the NLP planner needs an AnalyticSystem (casadi source), got {type(dynamics).__name__}")
        if not isinstance(cost, SourceCost):
            raise TypeError(f"cost: the NLP planner needs a SourceCost (casadi source), got {type(cost).__name__}")
        if dynamics.is_discrete:
            raise TypeError("dynamics: the NLP planner needs continuous actions")
        nx = dynamics.state_dim
        if (cost.state_dim, cost.action_dim) != (nx, dynamics.action_dim):
            raise ValueError(f"cost: expected sizes (nx, nu) = ({nx}, {dynamics.action_dim}), got "
                             f"({cost.state_dim}, {cost.action_dim})")
        self.max_iterations = check_positive_int("max_iterations", max_iterations)
        self.tol = check_nonnegative("tol", tol)
        lo = -np.inf if state_low is None else state_low
        hi = np.inf if state_high is None else state_high
        self.state_low, self.state_high = check_bounds("state_low", lo, "state_high", hi, nx)
        self.ipopt_options = dict(ipopt_options or {})
        t0 = time.perf_counter()
        self._build()
        self.build_time_s = time.perf_counter() - t0

    def _build(self):
        d, c = self.dynamics, self.cost
        nx, nu, T = d.state_dim, d.action_dim, self.horizon
        x = ca.SX.sym("x", nx)
        u = ca.SX.sym("u", nu)
        f = symbolic_step(d, x, u)
        p = c.params.tolist()
        xs = [x[i] for i in range(nx)]
        us = [u[i] for i in range(nu)]
        l = ca.SX(c.running_source(xs, us, [f[i] for i in range(nx)], p))
        lf = ca.SX(c.terminal_source(xs, p))
        F = ca.Function("f", [x, u], [f, l])
        Ff = ca.Function("lf", [x], [lf])
        Fm = F.map(T)
        Xv = ca.SX.sym("X", nx, T + 1)
        Uv = ca.SX.sym("U", nu, T)
        x0 = ca.SX.sym("x0", nx)
        Xnext, L = Fm(Xv[:, :T], Uv)
        J = ca.sum2(L) + Ff(Xv[:, T])
        g = ca.vertcat(ca.vec(Xv[:, 0] - x0), ca.vec(Xv[:, 1:] - Xnext))
        w = ca.vertcat(ca.vec(Xv), ca.vec(Uv))
        # bound_relax_factor 0: planlab systems saturate their own input at the action bound (clip in the
        # source); IPOPT's default relaxation (1e-8) lets iterates step past it onto the flat part of the
        # saturation, where the derivative vanishes and IPOPT stalls (Pendulum: 1000 iterations vs 9).
        opts = {"ipopt.print_level": 0, "print_time": False, "ipopt.sb": "yes",
                "ipopt.max_iter": self.max_iterations, "ipopt.tol": self.tol, "ipopt.bound_relax_factor": 0.0}
        opts.update({k if k.startswith("ipopt.") else f"ipopt.{k}": v for k, v in self.ipopt_options.items()})
        self._solver = ca.nlpsol("trajopt", "ipopt", {"x": w, "f": J, "g": g, "p": x0}, opts)
        lbw_x = np.tile(self.state_low, (T + 1, 1))
        ubw_x = np.tile(self.state_high, (T + 1, 1))
        lbw_x[0] = -np.inf
        ubw_x[0] = np.inf
        lbw_u = np.tile(d.action_low, (T, 1))
        ubw_u = np.tile(d.action_high, (T, 1))
        # vec() stacks columns: X column t is x_t -> row-major (T+1, nx) flattening
        self._lbw = np.concatenate([lbw_x.ravel(), lbw_u.ravel()])
        self._ubw = np.concatenate([ubw_x.ravel(), ubw_u.ravel()])
        self._ng = nx * (T + 1)

    def plan(self, x0, warm_start=None) -> Plan:
        """Solve from ``x0`` (nx,); the initial guess is ``warm_start`` (or zeros) and its rollout."""
        x0 = self._check_x0(x0)
        ws = self._check_warm_start(warm_start)
        d = self.dynamics
        T, nx, nu = self.horizon, d.state_dim, d.action_dim
        U0 = ws if ws is not None else d.clip_action(np.zeros((T, nu)))
        X0 = d.rollout(x0, U0[None]).states[0]
        if not np.all(np.isfinite(X0)):
            X0 = np.tile(x0, (T + 1, 1))
        if np.any(np.isfinite(self.state_low)) or np.any(np.isfinite(self.state_high)):
            X0 = np.clip(X0, self.state_low, self.state_high)
            X0[0] = x0
        w0 = np.concatenate([X0.ravel(), U0.ravel()])
        t0 = time.perf_counter()
        sol = self._solver(x0=w0, p=x0, lbx=self._lbw, ubx=self._ubw, lbg=np.zeros(self._ng), ubg=np.zeros(self._ng))
        solve_time = time.perf_counter() - t0
        stats = self._solver.stats()
        w = np.asarray(sol["x"]).ravel()
        U = np.clip(w[nx * (T + 1):].reshape(T, nu), d.action_low, d.action_high)
        ret = stats.get("return_status", "")
        if stats.get("success", False):
            status = STATUS_CONVERGED
        elif ret == "Maximum_Iterations_Exceeded":
            status = STATUS_MAX_ITERATIONS
        else:
            status = STATUS_FAILED
        if not np.all(np.isfinite(U)):
            U = U0
            status = STATUS_FAILED
        roll = d.rollout(x0, U[None], self.cost)
        cost = float(roll.costs[0])
        if status != STATUS_CONVERGED:
            warnings.warn(f"NLP: IPOPT returned {ret!r}", RuntimeWarning)
        return Plan(U, roll.states[0], cost if np.isfinite(cost) else np.inf, status, {
            "iterations": int(stats.get("iter_count", -1)),
            "solve_time_s": solve_time,
            "build_time_s": self.build_time_s,
            "ipopt_status": ret,
            "nlp_objective": float(sol["f"]),
            "state_violation": float(np.max(np.maximum(0, np.maximum(self.state_low - roll.states[0],
                                                                         roll.states[0] - self.state_high)))),
        })
