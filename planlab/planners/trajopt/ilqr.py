r"""iLQR, DDP and box-DDP.

Minimises over the controls

.. math::

    J(U) = \sum_{t=0}^{T-1} c(x_t, u_t) + c_f(x_T), \qquad x_{t+1} = f(x_t, u_t),

by repeating: linearise the dynamics and quadratise the cost along the nominal trajectory; run the
backward Riccati recursion for the gains ``K_t`` and steps ``k_t`` (Gauss-Newton iLQR, Li & Todorov
2004, or full DDP with the second-order dynamics terms, Jacobson & Mayne 1970); roll the new controls
``u_t = û_t + alpha k_t + K_t (x_t - x̂_t)`` out for decreasing ``alpha`` until the actual decrease is a fraction ``z_min`` of the decrease the
quadratic model predicts. Levenberg-Marquardt regularisation ``Q_uu + mu I`` follows the schedule of
Tassa, Erez & Todorov (2012). Control limits are constraints, not clipping: each backward step solves
the box QP ``min_du 1/2 du' Q_uu du + Q_u' du, lo <= u + du <= hi`` by projected Newton and keeps
feedback only on the free controls (box-DDP, Tassa, Mansard & Todorov 2014).

The backward pass, the forward passes and, for analytic systems, the derivatives of all T steps are
compiled numba kernels (:mod:`planlab.planners.trajopt.riccati`, :mod:`planlab.planners.trajopt.kernels`);
Python runs once per iteration, not once per step.

References: W. Li & E. Todorov, "Iterative linear quadratic regulator design for nonlinear biological
movement systems", ICINCO 2004. D. H. Jacobson & D. Q. Mayne, *Differential Dynamic Programming*,
1970. Y. Tassa, T. Erez & E. Todorov, "Synthesis and stabilization of complex behaviors through
online trajectory optimization", IROS 2012. Y. Tassa, N. Mansard & E. Todorov, "Control-limited
differential dynamic programming", ICRA 2014.

Termination of the model (``Dynamics.terminated``) is ignored: trajectory optimisation needs a
smooth objective.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from ...core.contracts import Cost, Dynamics
from ...core.planning import (
    STATUS_CONVERGED,
    STATUS_FAILED,
    STATUS_MAX_ITERATIONS,
    STATUS_STALLED,
    Plan,
    Planner,
)
from ...core.seeding import SeedLike
from ...core.validation import as_float_array, check_nonnegative, check_positive, check_positive_int
from .derivatives import make_trajectory_model
from .policy import TimeVaryingLinearPolicy

__all__ = ["ILQR", "DEFAULT_ALPHAS"]

#: Step sizes tried by the line search, largest first (Tassa et al. 2012).
DEFAULT_ALPHAS = tuple(float(a) for a in 10.0 ** np.linspace(0.0, -3.0, 11))


class ILQR(Planner):
    r"""iLQR / DDP / box-DDP trajectory optimiser (see the module docstring).

    Parameters
    ----------
    dynamics : Dynamics
        Continuous actions only. Analytic systems get exact (casadi) derivatives.
    cost : Cost
    horizon : int
        ``T``.
    max_iterations : int
        Outer iterations (backward pass + line search).
    tol : float
        Stop when an accepted step improves the cost by less than ``tol * |J|``: status
        ``"converged"`` if the first-order condition then holds at the returned controls (``grad_tol``),
        else ``"stalled"``.
    grad_tol : float
        The first-order condition: the Newton step on the free controls is small,
        ``mean_t max_i |k_t,i| / (|u_t,i| + 1) < grad_tol``, at low regularisation (``mu < 1e-5``).
        ``"converged"`` always means this held at the returned controls.
    ddp : bool
        Full DDP: add the second-order dynamics terms ``V'_x f_xx`` (casadi derivatives only).
    control_limits : bool
        Treat the model's action box as constraints (box-DDP). With False the box is ignored by the
        backward pass and only enforced by clipping in the forward pass (plain iLQR); it is skipped
        anyway when the box is infinite.
    derivatives : {"auto", "casadi", "torch", "fd"}
        Source of derivatives (see :mod:`planlab.planners.trajopt.derivatives`).
    mu_init, mu_min, mu_max, mu_factor : float
        Regularisation schedule: on failure ``mu <- max(mu_min, mu * d)``, ``d <- max(factor, d * factor)``;
        on success ``d <- min(1 / factor, d / factor)``, ``mu <- mu * d`` (0 below ``mu_min``).
    alphas : sequence of float
        Line-search step sizes, tried in order.
    z_min : float
        Acceptance: actual / expected decrease must exceed ``z_min`` (and the cost must decrease).
    seed : int, Generator or None
        Unused (iLQR is deterministic); kept for the planner contract.
    background_compile : bool or None
        casadi derivatives whose kernels are not in the cache yet: None (on unless
        ``PLANLAB_BACKGROUND_COMPILE=0``) or True plans with the same kernels interpreted while a child
        process compiles them, bit for bit the same plans (:mod:`planlab.planners.trajopt.cold`); False
        compiles them in the first plan.

    Examples
    --------
    >>> import numpy as np
    >>> from planlab.dynamics import CartPole
    >>> from planlab.core import QuadraticCost
    >>> sys = CartPole(dt=0.05, force_max=1e3)
    >>> cost = QuadraticCost(Q=[1, 0.1, 1, 0.1], R=[0.01], Qf=100 * np.ones(4))
    >>> plan = ILQR(sys, cost, horizon=100).plan(np.array([0.0, 0.0, np.pi, 0.0]))
    >>> plan.status
    'converged'
    """

    name = "ilqr"
    discrete_actions = False
    cli_options = ("max_iterations",)
    #: Whether a solve ends with the derivatives and backward pass at the final nominal for the policy's
    #: feedback gains (one more derivative evaluation). Set False when only the plan's actions are used:
    #: the plan is the same and its ``policy`` is open loop (zero gains).
    final_gains = True

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int = 50, *, max_iterations: int = 200,
                 tol: float = 1e-7, grad_tol: float = 1e-5, ddp: bool = False, control_limits: bool = True,
                 derivatives: str = "auto", mu_init: float = 0.0, mu_min: float = 1e-6, mu_max: float = 1e10,
                 mu_factor: float = 1.6, alphas=DEFAULT_ALPHAS, z_min: float = 1e-4, seed: SeedLike = None,
                 background_compile: bool | None = None):
        super().__init__(dynamics, cost, horizon, seed=seed)
        if dynamics.is_discrete:
            raise TypeError(f"dynamics: iLQR needs continuous actions, got a discrete model with "
                            f"{dynamics.n_actions} actions")
        if dynamics.stochastic:
            raise TypeError("dynamics: iLQR needs a deterministic model, got a stochastic one")
        self.max_iterations = check_positive_int("max_iterations", max_iterations)
        self.tol = check_nonnegative("tol", tol)
        self.grad_tol = check_nonnegative("grad_tol", grad_tol)
        self.ddp = bool(ddp)
        self.mu_init = check_nonnegative("mu_init", mu_init)
        self.mu_min = check_positive("mu_min", mu_min)
        self.mu_max = check_positive("mu_max", mu_max)
        self.mu_factor = check_positive("mu_factor", mu_factor)
        if self.mu_factor <= 1.0:
            raise ValueError(f"mu_factor: expected a number > 1, got {mu_factor}")
        a = as_float_array("alphas", alphas, ndim=1)
        if a.size == 0 or np.any(a <= 0) or np.any(a > 1):
            raise ValueError(f"alphas: expected step sizes in (0, 1], got {a}")
        self.alphas = np.ascontiguousarray(a)
        self.z_min = check_nonnegative("z_min", z_min)
        self.model = make_trajectory_model(dynamics, cost, derivatives, background_compile=background_compile,
                                           hessians=self.ddp)
        if self.ddp and not self.model.supports_hessians:
            raise ValueError(f"ddp: full DDP needs casadi derivatives (an AnalyticSystem with a SourceCost), got "
                             f"{self.model.method!r} derivatives")
        self.bounded = bool(control_limits) and bool(np.any(np.isfinite(self.model.lo)) or np.any(np.isfinite(self.model.hi)))
        if control_limits:
            self._lo, self._hi = self.model.lo, self.model.hi
        else:
            self._lo = np.full(self.model.nu, -np.inf)
            self._hi = np.full(self.model.nu, np.inf)
        self.policy: TimeVaryingLinearPolicy | None = None

    @property
    def derivatives_method(self) -> str:
        """Where the derivatives come from: ``"casadi"``, ``"torch"`` or ``"fd"``."""
        return self.model.method

    def warmup(self) -> None:
        """Compile (or load) the kernels by solving a 2-iteration problem from zeros (in this process)."""
        cold = getattr(self.model, "cold", None)
        if cold is not None:
            cold.use_compiled()
        self.solve(np.zeros(self.dynamics.state_dim), max_iterations=2)

    def plan(self, x0, warm_start=None) -> Plan:
        """Optimise from ``x0`` (nx,), starting from ``warm_start`` (H, nu) or zero controls.

        Returns a :class:`Plan` whose diagnostics hold ``iterations``, ``cost_history``,
        ``solve_time_s``, ``ms_per_iteration``, ``mu``, ``derivatives``, ``interpreted`` (whether the
        kernels ran interpreted at the end, see ``background_compile``), ``reason`` and ``policy``
        (the :class:`~planlab.planners.trajopt.policy.TimeVaryingLinearPolicy` around the plan).
        """
        x0 = self._check_x0(x0)
        ws = self._check_warm_start(warm_start)
        return self.solve(x0, ws)

    def solve(self, x0, U0=None, *, max_iterations: int | None = None) -> Plan:
        """:meth:`plan` without the warm-start clipping of the contract (``U0`` is clipped to the box)."""
        t_start = time.perf_counter()
        m = self.model
        T, nx, nu = self.horizon, m.nx, m.nu
        x0 = np.ascontiguousarray(as_float_array("x0", x0, shape=(nx,)))
        if U0 is None:
            U = np.zeros((T, nu))
        else:
            U = as_float_array("U0", U0, shape=(T, nu)).copy()
        U = np.ascontiguousarray(np.clip(U, m.lo, m.hi))
        max_it = self.max_iterations if max_iterations is None else check_positive_int("max_iterations", max_iterations)

        X, J = m.rollout(x0, U)
        if not math.isfinite(J):
            U0b = np.ascontiguousarray(np.clip(np.zeros((T, nu)), m.lo, m.hi))
            Xb, Jb = m.rollout(x0, U0b)
            if math.isfinite(Jb):
                U, X, J = U0b, Xb, Jb
            else:
                warnings.warn("iLQR: the initial rollout is not finite; returning the initial controls", RuntimeWarning)
                return self._finish(x0, U, X, J, STATUS_FAILED, "non-finite initial rollout", 0, [J], 0.0,
                                    np.zeros((T, nu, nx)), t_start)
        O = np.empty((T, m.n_packed))
        OT = np.empty(nx + nx * nx)
        HD = np.empty((T, m.n_hess)) if self.ddp else np.zeros((1, 1))
        K = np.zeros((T, nu, nx))
        k = np.zeros((T, nu))
        free = np.empty((T, nu), dtype=np.bool_)
        Xn = np.empty_like(X)
        Un = np.empty_like(U)
        mu, dmu = self.mu_init, 1.0
        f = self.mu_factor
        history = [J]
        steps = []  # accepted step size per iteration (0.0: rejected)
        status, reason = STATUS_MAX_ITERATIONS, "iteration limit"
        need_derivatives = True
        it = 0
        n_backward_fail = 0
        gnorm = math.inf
        small_step = False  # the last accepted step improved by less than tol: test first order, then stop
        while it < max_it:
            it += 1
            if need_derivatives:
                finite = m.derivatives(X, U, O, OT)
                if self.ddp and finite:
                    finite = m.dynamics_hessians(X, U, HD)
                if not finite:
                    status, reason = STATUS_FAILED, "non-finite derivatives"
                    warnings.warn(f"iLQR: non-finite derivatives at iteration {it}; returning the last valid plan",
                                  RuntimeWarning)
                    break
                need_derivatives = False
            # backward pass, raising mu until Q_uu is positive definite
            while True:
                failed_at, dV1, dV2, gnorm = m.backward_pass(O, OT, HD, self.ddp, U, self._lo, self._hi,
                                                             self.bounded, mu, k, K, k, free)
                if failed_at < 0:
                    break
                n_backward_fail += 1
                dmu = max(dmu * f, f)
                mu = max(mu * dmu, self.mu_min)
                if mu > self.mu_max:
                    break
            if mu > self.mu_max:
                status, reason = STATUS_FAILED, "regularisation exceeded mu_max in the backward pass"
                break
            if gnorm < self.grad_tol and mu < 1e-5:
                status, reason = STATUS_CONVERGED, "small step (grad_tol)"
                # take the full step just computed when it lowers the cost at all (on a linear-quadratic
                # problem it is the exact optimum) rather than discard it
                i, Jn = m.line_search(x0, X, U, K, k, self.alphas[:1], J, dV1, dV2, -math.inf, Xn, Un)
                if i >= 0:
                    X, Xn, U, Un, J = Xn, X, Un, U, Jn
                    history.append(J)
                    steps.append(float(self.alphas[0]))
                    need_derivatives = True
                break
            if small_step:
                status, reason = STATUS_STALLED, (f"improvement below tol with step norm {gnorm:.3g} >= grad_tol "
                                                  f"{self.grad_tol:g} (or mu {mu:.3g} >= 1e-5)")
                i, Jn = m.line_search(x0, X, U, K, k, self.alphas, J, dV1, dV2, self.z_min, Xn, Un)
                if i >= 0:  # keep the step just computed when it passes the line search
                    X, Xn, U, Un, J = Xn, X, Un, U, Jn
                    history.append(J)
                    steps.append(float(self.alphas[i]))
                    need_derivatives = True
                break
            i, Jn = m.line_search(x0, X, U, K, k, self.alphas, J, dV1, dV2, self.z_min, Xn, Un)
            steps.append(float(self.alphas[i]) if i >= 0 else 0.0)
            if i >= 0:
                improvement = J - Jn
                X, Xn = Xn, X
                U, Un = Un, U
                J = Jn
                history.append(J)
                need_derivatives = True
                dmu = min(dmu / f, 1.0 / f)
                mu = mu * dmu if mu * dmu > self.mu_min else 0.0
                if improvement < self.tol * abs(J):
                    small_step = True  # the next backward pass tests the first-order condition here
                    if it == max_it:
                        status, reason = STATUS_STALLED, "improvement below tol at the iteration limit"
            else:
                dmu = max(dmu * f, f)
                mu = max(mu * dmu, self.mu_min)
                if mu > self.mu_max:
                    if gnorm < 1e3 * self.grad_tol:
                        status, reason = STATUS_STALLED, f"no further decrease (line search at mu_max, step norm {gnorm:.3g})"
                    else:
                        status, reason = STATUS_FAILED, "line search failed at mu_max"
                        warnings.warn(f"iLQR: no decrease found (step norm {gnorm:.3g}); returning the best plan",
                                      RuntimeWarning)
                    break
        if status == STATUS_MAX_ITERATIONS:
            warnings.warn(f"iLQR: stopped at max_iterations={max_it} before converging (step norm {gnorm:.3g})",
                          RuntimeWarning)
        # feedback gains of the final nominal (zero feedforward: the nominal already includes k)
        if need_derivatives and not self.final_gains:
            K[:] = 0.0  # no gains around the final nominal: an open-loop policy
        elif need_derivatives and status != STATUS_FAILED:
            finite = m.derivatives(X, U, O, OT)
            if self.ddp and finite:
                finite = m.dynamics_hessians(X, U, HD)
            if finite:
                kk = np.zeros((T, nu))
                fa, _, _, _ = m.backward_pass(O, OT, HD, self.ddp, U, self._lo, self._hi, self.bounded,
                                              max(mu, 0.0), kk, K, kk, free)
                if fa >= 0:
                    K[:] = 0.0
        return self._finish(x0, U, X, J, status, reason, it, history, mu, K, t_start,
                            n_backward_fail=n_backward_fail, step_norm=gnorm, step_sizes=steps)

    def _finish(self, x0, U, X, J, status, reason, iterations, history, mu, K, t_start, **extra) -> Plan:
        m = self.model
        lo, hi = m.lo, m.hi  # the plan's actions respect the model's box, and so does the policy
        finite = bool(np.all(np.isfinite(X)))
        # a failed start (non-finite rollout) has no trajectory to feed back around
        self.policy = TimeVaryingLinearPolicy(K.copy(), None, X, U, action_low=lo, action_high=hi) if finite else None
        elapsed = time.perf_counter() - t_start
        diag = {
            "iterations": iterations,
            "cost_history": [float(c) for c in history],
            "solve_time_s": elapsed,
            "ms_per_iteration": 1e3 * elapsed / max(iterations, 1),
            "mu": float(mu),
            "derivatives": m.method,
            "interpreted": getattr(m, "cold", None) is not None and not m.cold.compiled,
            "ddp": self.ddp,
            "box": self.bounded,
            "reason": reason,
            "policy": self.policy,
            **extra,
        }
        cost = J if math.isfinite(J) else math.inf
        return Plan(U, X, cost, status, diag)
