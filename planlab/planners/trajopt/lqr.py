r"""LQR stabilisers of analytic systems (Kalman 1960; Anderson & Moore, *Optimal Control*, 1990).

* :class:`LQR` — a stabiliser: linearise an analytic system at an equilibrium (cart-pole upright,
  quadrotor hover) and apply the infinite-horizon gain (a :class:`~planlab.core.Policy`).
* :class:`LQRPlanner` — the same stabiliser behind the planner contract (``planlab run --planner lqr``),
  built from a :class:`~planlab.core.QuadraticCost` around its goal.

The Riccati solvers they use (:func:`dlqr`, :func:`finite_horizon_lqr`, :func:`lqr_tracking`) live in
:mod:`planlab.planners.trajopt.lq` and are importable from here too.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ...core.contracts import Cost, Dynamics
from ...core.planning import STATUS_FAILED, STATUS_OK, Plan, Planner, Policy
from ...core.cost import QuadraticCost
from ...core.ops import wrap_angle
from ...core.seeding import SeedLike
from ...core.validation import as_float_array, check_positive_int
from ...dynamics.analytic import AnalyticSystem
from .policy import TimeVaryingLinearPolicy
from .lq import dlqr, finite_horizon_lqr, lqr_tracking

__all__ = ["dlqr", "finite_horizon_lqr", "lqr_tracking", "LQR", "LQRPlanner"]


#: closed-loop steps :class:`LQRPlanner` predicts (at least) to decide whether a state lies in its region
REGION_CHECK_STEPS = 200


# ---------------------------------------------------------------------------------- stabiliser
class LQR(Policy):
    r"""Infinite-horizon LQR stabiliser of an analytic system at an equilibrium.

    Linearises ``x' = f(x, u)`` at ``(x_eq, u_eq)`` with casadi (exact Jacobians), solves the DARE
    (:func:`dlqr`) and acts with ``u = clip(u_eq + K e)``, ``e = x - x_eq`` with the system's angle
    components wrapped to ``[-pi, pi)``.

    Parameters
    ----------
    system : AnalyticSystem
    Q : array_like (nx, nx) or (nx,)
    R : array_like (nu, nu) or (nu,)
    x_eq : array_like (nx,)
    u_eq : array_like (nu,), optional (default zeros)
    equilibrium_tol : float
        ``|f(x_eq, u_eq) - x_eq|`` must be below this (else ``ValueError``): linearising anywhere
        else does not give a stabiliser.
    clip : bool
        Clip actions to the system's box.

    Attributes
    ----------
    K : ndarray (nu, nx), P : ndarray (nx, nx), A : ndarray (nx, nx), B : ndarray (nx, nu)

    Examples
    --------
    >>> import numpy as np
    >>> from planlab.dynamics import CartPole
    >>> ctrl = LQR(CartPole(), Q=[1, 1, 10, 1], R=[0.1], x_eq=np.zeros(4))
    >>> ctrl.K.shape
    (1, 4)
    """

    def __init__(self, system, Q, R, x_eq, u_eq=None, *, equilibrium_tol: float = 1e-8, clip: bool = True):
        if not isinstance(system, AnalyticSystem):
            raise TypeError(f"system: expected an AnalyticSystem (exact linearisation), got {type(system).__name__}")
        if system.is_discrete:
            raise TypeError("system: LQR needs continuous actions, got a discrete model")
        nx, nu = system.state_dim, system.action_dim
        self.system = system
        self.x_eq = as_float_array("x_eq", x_eq, shape=(nx,))
        self.u_eq = np.zeros(nu) if u_eq is None else as_float_array("u_eq", u_eq, shape=(nu,))
        Q = as_float_array("Q", Q)
        R = as_float_array("R", R)
        Q = np.diag(Q) if Q.ndim == 1 else Q
        R = np.diag(R) if R.ndim == 1 else R
        # the equilibrium of f itself (step would clip a u_eq outside the box; the region test then reports it)
        x_next = system._eval_source(self.x_eq, self.u_eq)
        gap = float(np.max(np.abs(self.error(x_next))))  # angles compared modulo 2 pi
        if not gap <= equilibrium_tol:
            raise ValueError(f"x_eq, u_eq: expected an equilibrium (|f(x, u) - x| <= {equilibrium_tol:g}, angles "
                             f"modulo 2 pi), got |f(x, u) - x| = {gap:.3g}")
        self.A, self.B = system.linearize(self.x_eq, self.u_eq)
        self.K, self.P = dlqr(self.A, self.B, Q, R)
        self.region_level = self._unsaturated_level(system.action_low, system.action_high)
        self.Q, self.R = Q, R
        self.clip = bool(clip)
        self.dynamics = system

    def _unsaturated_level(self, lo, hi) -> float:
        """Largest ``c`` with ``lo <= u_eq + K e <= hi`` for all ``e'Pe <= c`` (inf for an unbounded box).

        ``max_{e'Pe <= c} k_i e = sqrt(c k_i P^-1 k_i')``, so ``c = min_i margin_i^2 / (k_i P^-1 k_i')``.
        """
        margin = np.minimum(hi - self.u_eq, self.u_eq - lo)
        if np.any(margin <= 0):
            return 0.0
        Pinv = np.linalg.pinv(self.P)
        g = np.einsum("ij,jk,ik->i", self.K, Pinv, self.K)
        with np.errstate(divide="ignore", invalid="ignore"):
            levels = np.where(g > 0, margin**2 / g, np.inf)
        return float(np.min(levels))

    def error(self, x) -> np.ndarray:
        """``x - x_eq`` with angles wrapped, (..., nx)."""
        e = np.asarray(x, dtype=np.float64) - self.x_eq
        for i in self.system.angle_indices:
            e[..., i] = wrap_angle(e[..., i])
        return e

    def act(self, obs) -> np.ndarray:
        """``clip(u_eq + K e)`` for states (..., nx) -> (..., nu)."""
        x = self.system.check_state(obs, "obs")
        u = self.u_eq + self.error(x) @ self.K.T
        return self.system.clip_action(u) if self.clip else u

    def closed_loop_eigenvalues(self) -> np.ndarray:
        """Eigenvalues of ``A + B K`` (all inside the unit circle for a stabilising gain)."""
        return np.linalg.eigvals(self.A + self.B @ self.K)

    def policy(self, horizon: int) -> TimeVaryingLinearPolicy:
        """The stabiliser as a time-varying linear policy of ``horizon`` steps (constant gains).

        Angle wrapping is not part of the linear policy; use it near the equilibrium.
        """
        T = check_positive_int("horizon", horizon)
        lo, hi = (self.system.action_low, self.system.action_high) if self.clip else (None, None)
        return TimeVaryingLinearPolicy(np.broadcast_to(self.K, (T,) + self.K.shape), None,
                                       np.broadcast_to(self.x_eq, (T, self.x_eq.size)),
                                       np.broadcast_to(self.u_eq, (T, self.u_eq.size)),
                                       action_low=lo, action_high=hi)


class LQRPlanner(Planner):
    """The LQR stabiliser behind the planner contract (``planlab run --planner lqr``).

    Builds :class:`LQR` from a :class:`~planlab.core.QuadraticCost`: ``Q`` and ``R`` are the cost's
    weights, the equilibrium is the cost's goal ``(x_goal, u_goal)``. ``plan(x0)`` rolls the clipped
    feedback out through the model for ``horizon`` steps (the MPC loop executes the first action,
    which is just ``u_goal + K (x - x_goal)``).

    Parameters
    ----------
    dynamics : AnalyticSystem
    cost : QuadraticCost
    horizon : int
    seed : unused (deterministic)
    """

    name = "lqr"
    discrete_actions = False
    cli_options = ()

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int = 50, *, seed: SeedLike = None):
        super().__init__(dynamics, cost, horizon, seed=seed)
        if not isinstance(cost, QuadraticCost):
            raise TypeError(f"cost: the LQR planner needs a QuadraticCost (Q, R and a goal), got {type(cost).__name__}")
        try:
            self.controller = LQR(dynamics, cost.Q, cost.R, cost.x_goal, cost.u_goal)
        except ValueError as exc:
            if not str(exc).startswith("x_eq, u_eq"):
                raise
            raise ValueError(f"cost: the LQR planner stabilises the cost's goal (x_goal, u_goal), which must be an "
                             f"equilibrium of {type(dynamics).__name__}; {str(exc).split(': ', 1)[1]}") from None
        self._warned = False

    def plan(self, x0, warm_start=None) -> Plan:
        t0 = time.perf_counter()
        x0 = self._check_x0(x0)
        self._check_warm_start(warm_start)
        d = self.dynamics
        X = np.empty((self.horizon + 1, d.state_dim))
        U = np.empty((self.horizon, d.action_dim))
        X[0] = x0
        for t in range(self.horizon):
            U[t] = self.controller.act(X[t])
            X[t + 1] = d.step(X[t], U[t])
        status = STATUS_OK
        diag = {}
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(U))):
            status = STATUS_FAILED
            U = np.where(np.isfinite(U), U, d.clip_action(self.controller.u_eq))
            warnings.warn("LQR: the closed loop diverged within the horizon; plan marked failed", RuntimeWarning)
        else:
            # The stabiliser is trusted inside {e'Pe <= c}: the largest level set of the DARE's Lyapunov
            # function on which u_eq + K e stays inside the box, so the linearised closed loop is unsaturated
            # and e'Pe decreases there. A predicted closed loop that never enters it within the horizon
            # means x0 lies outside the region the LQR controls.
            ctrl = self.controller
            E = ctrl.error(X)
            V = np.einsum("ti,ij,tj->t", E, ctrl.P, E)
            diag = {"lyapunov": float(V[0]), "region_level": ctrl.region_level}
            entered = float(V.min()) <= ctrl.region_level
            x = X[-1]
            for _ in range(max(0, REGION_CHECK_STEPS - self.horizon)):  # look past a short horizon
                if entered or not np.all(np.isfinite(x)):
                    break
                x = d.step(x, ctrl.act(x))
                e = ctrl.error(x)
                entered = float(e @ ctrl.P @ e) <= ctrl.region_level
            if not entered:
                status = STATUS_FAILED
                diag["reason"] = "outside the region of the LQR stabiliser"
                if not self._warned:
                    self._warned = True
                    warnings.warn(f"LQR: the state is outside the region the stabiliser at the goal controls: e'Pe "
                                  f"stays above {ctrl.region_level:.3g} (the largest unsaturated level set) over "
                                  f"{max(self.horizon, REGION_CHECK_STEPS)} predicted steps, starting at {V[0]:.3g}; plans marked failed",
                                  RuntimeWarning, stacklevel=2)
        roll = d.rollout(x0, U[None], self.cost)
        cost = float(roll.costs[0])
        return Plan(U, roll.states[0], cost if np.isfinite(cost) else np.inf, status,
                    {"plan_time_s": time.perf_counter() - t0, "K": self.controller.K, **diag,
                     "policy": self.controller.policy(self.horizon)})
