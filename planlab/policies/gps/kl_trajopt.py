r"""KL-constrained trajectory optimisation: the local step of guided policy search.

Given a linear-Gaussian model (:class:`~planlab.policies.gps.linear_gaussian.LinearGaussianDynamics`),
a quadratic expansion of the cost and a reference controller ``q`` (the previous local controller, or
the global policy linearised along the samples in mirror-descent GPS), the step solves

.. math::

    \min_p\ \mathbb E_p\Big[\sum_t c(x_t, u_t)\Big] \quad \text{s.t.}\quad D_{KL}(p(\tau)\,\|\,q(\tau)) \le \epsilon.

Its Lagrangian is an LQG problem on the augmented cost ``c(x, u)/η − log q(u|x)`` with an entropy bonus,
whose solution is a linear-Gaussian controller with ``Σ_t = Q_uu,t⁻¹`` (Levine & Abbeel 2014);
:func:`kl_step` finds the dual variable ``η`` by bisection on ``log η`` so that the KL meets ``ε``.
:func:`adapt_epsilon` changes ``ε`` from the improvement the linearisation predicted against the one
that happened (mirror-descent GPS, Montgomery & Levine 2016).

Coordinates are absolute: ``z_t = (x_t, u_t)``, cost ``½ z'C_t z + g_t'z + c0_t``, dynamics
``x_{t+1} = F_t z_t + f_t``.

References: S. Levine & P. Abbeel, NIPS 2014. W. Montgomery & S. Levine, "Guided policy search via
approximate mirror descent", NIPS 2016.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ...core.contracts import Cost, Dynamics
from ...core.validation import as_float_array, check_positive
from ...planners.trajopt.derivatives import make_trajectory_model
from .linear_gaussian import (LinearGaussianController, LinearGaussianDynamics, TrajectoryDistribution,
                              controller_kl, trajectory_distribution)

__all__ = ["CostExpansion", "expand_cost", "expected_cost", "lqg_backward", "KLStepResult", "kl_step", "adapt_epsilon"]


class CostExpansion(NamedTuple):
    """Quadratic cost in absolute coordinates ``z = (x, u)``.

    Attributes
    ----------
    C : ndarray (T, nx + nu, nx + nu)
    g : ndarray (T, nx + nu)
    c0 : ndarray (T,)
    CT : ndarray (nx, nx)
    gT : ndarray (nx,)
    c0T : float
    """

    C: np.ndarray
    g: np.ndarray
    c0: np.ndarray
    CT: np.ndarray
    gT: np.ndarray
    c0T: float


def expand_cost(dynamics: Dynamics, cost: Cost, Xbar, Ubar, *, derivatives: str = "auto") -> CostExpansion:
    """Second-order expansion of ``cost`` along ``(Xbar (T + 1, nx), Ubar (T, nu))`` (iLQR's derivatives)."""
    Xbar = as_float_array("Xbar", Xbar, ndim=2)
    Ubar = as_float_array("Ubar", Ubar, ndim=2)
    T, nu, nx = Ubar.shape[0], Ubar.shape[1], Xbar.shape[1]
    if Xbar.shape != (T + 1, nx) or nx != dynamics.state_dim or nu != dynamics.action_dim:
        raise ValueError(f"Xbar, Ubar: expected shapes ({T + 1}, {dynamics.state_dim}) and ({T}, {dynamics.action_dim}), "
                         f"got {Xbar.shape} and {Ubar.shape}")
    model = make_trajectory_model(dynamics, cost, derivatives)
    O = np.zeros((T, model.layout["size"]))
    OT = np.zeros(nx + nx * nx)
    model.derivatives(Xbar, Ubar, O, OT)
    d = model.unpack(O)
    H = np.empty((T, nx + nu, nx + nu))
    H[:, :nx, :nx], H[:, nx:, nx:] = d["lxx"], d["luu"]
    H[:, nx:, :nx] = d["lux"]
    H[:, :nx, nx:] = np.swapaxes(d["lux"], 1, 2)
    gz = np.concatenate([d["lx"], d["lu"]], axis=1)
    Z = np.concatenate([Xbar[:-1], Ubar], axis=1)
    val = np.asarray(cost.running(Xbar[:-1], Ubar, Xbar[1:]), dtype=np.float64)
    HZ = np.einsum("tij,tj->ti", H, Z)
    g = gz - HZ
    c0 = val - np.sum(gz * Z, axis=1) + 0.5 * np.sum(Z * HZ, axis=1)
    gT0, HT = OT[:nx], OT[nx:].reshape(nx, nx)
    xT = Xbar[-1]
    valT = float(np.asarray(cost.terminal(xT[None]), dtype=np.float64)[0])
    return CostExpansion(H, g, c0, HT.copy(), gT0 - HT @ xT, valT - gT0 @ xT + 0.5 * xT @ HT @ xT)


def expected_cost(traj: TrajectoryDistribution, exp: CostExpansion) -> float:
    """``E[Σ_t c(x_t, u_t) + c_f(x_T)]`` of the quadratic expansion under a trajectory distribution."""
    mu, S = traj.mu, traj.sigma
    run = 0.5 * (np.einsum("tij,tji->t", exp.C, S) + np.einsum("ti,tij,tj->t", mu, exp.C, mu)) + np.sum(exp.g * mu, 1) + exp.c0
    m, Sf = traj.mu_final, traj.sigma_final
    fin = 0.5 * (np.trace(exp.CT @ Sf) + m @ exp.CT @ m) + exp.gT @ m + exp.c0T
    return float(run.sum() + fin)


def lqg_backward(dyn: LinearGaussianDynamics, exp: CostExpansion, eta: float | None = None,
                 ref: LinearGaussianController | None = None) -> LinearGaussianController | None:
    r"""Backward Riccati pass of the (augmented) LQG problem.

    With ``eta=None``: minimise the cost itself; the controller is LQR's with ``Σ_t = Q_uu,t⁻¹``.
    With ``eta > 0`` and ``ref``: minimise ``c/η − log ref(u|x)`` (plus entropy), the Lagrangian of the
    KL-constrained step.

    Returns
    -------
    LinearGaussianController, or None when some ``Q_uu`` is not positive definite (``η`` too small).
    """
    T = dyn.horizon
    nx, nu = dyn.B.shape[1], dyn.B.shape[2]
    s = 1.0 if eta is None else 1.0 / check_positive("eta", eta)
    if eta is not None and ref is None:
        raise ValueError("ref: expected the reference controller when eta is given, got None")
    if ref is not None:
        Kq, cq = ref.affine()
    F = dyn.F()
    V = s * exp.CT
    v = s * exp.gT
    K = np.empty((T, nu, nx))
    k = np.empty((T, nu))
    cov = np.empty((T, nu, nu))
    for t in range(T - 1, -1, -1):
        Q = s * exp.C[t] + F[t].T @ V @ F[t]
        q = s * exp.g[t] + F[t].T @ (V @ dyn.c[t] + v)
        if eta is not None:
            P = ref.precision[t]
            PK = P @ Kq[t]
            Q[nx:, nx:] += P
            Q[:nx, :nx] += Kq[t].T @ PK
            Q[nx:, :nx] -= PK
            Q[:nx, nx:] -= PK.T
            q[nx:] -= P @ cq[t]
            q[:nx] += PK.T @ cq[t]
        Q = 0.5 * (Q + Q.T)
        Quu = Q[nx:, nx:]
        try:
            L = np.linalg.cholesky(Quu)
        except np.linalg.LinAlgError:
            return None
        Linv = np.linalg.inv(L)
        Quu_inv = Linv.T @ Linv
        K[t] = -Quu_inv @ Q[nx:, :nx]
        k[t] = -Quu_inv @ q[nx:]
        cov[t] = 0.5 * (Quu_inv + Quu_inv.T)
        V = Q[:nx, :nx] + Q[:nx, nx:] @ K[t]
        V = 0.5 * (V + V.T)
        v = q[:nx] + Q[:nx, nx:] @ k[t]
    if not (np.all(np.isfinite(K)) and np.all(np.isfinite(k)) and np.all(np.isfinite(cov))):
        return None
    try:
        return LinearGaussianController.from_affine(K, k, cov)
    except ValueError:
        return None


class KLStepResult(NamedTuple):
    """Outcome of :func:`kl_step`.

    Attributes
    ----------
    controller : LinearGaussianController
    eta : float
        The dual variable found.
    kl : float
        ``D_KL(p ‖ ref)`` of the returned controller under the model.
    predicted_cost : float
        Expected cost of the returned controller under the model and the expansion.
    status : str
        ``"converged"`` (KL within ``[(1 - tol) ε, ε]``), ``"inactive"`` (the unconstrained optimum meets
        the bound), ``"max_iterations"`` (best feasible controller found) or ``"failed"`` (no
        feasible controller: ``ref`` itself is returned).
    iterations : int
    """

    controller: LinearGaussianController
    eta: float
    kl: float
    predicted_cost: float
    status: str
    iterations: int


def kl_step(dyn: LinearGaussianDynamics, exp: CostExpansion, ref: LinearGaussianController, mu0, sigma0,
            epsilon: float, *, eta_min: float = 1e-8, eta_max: float = 1e16, tol: float = 0.1,
            max_iterations: int = 60) -> KLStepResult:
    """The KL-constrained local step: ``η`` by bisection on ``log η`` so that ``D_KL(p ‖ ref) ≤ ε``.

    Parameters
    ----------
    dyn : LinearGaussianDynamics
    exp : CostExpansion
    ref : LinearGaussianController
        The controller the step stays close to (same T, nx, nu as ``dyn``).
    mu0 : array_like (nx,); sigma0 : array_like (nx, nx)
        Initial-state distribution.
    epsilon : float > 0
        KL bound (nats over the whole trajectory).
    tol : float in (0, 1)
        Accept a KL in ``[(1 - tol) ε, ε]``.
    """
    epsilon = check_positive("epsilon", epsilon)
    if not 0 < tol < 1:
        raise ValueError(f"tol: expected a value in (0, 1), got {tol}")
    if (ref.horizon, ref.state_dim, ref.action_dim) != (dyn.horizon,) + dyn.B.shape[1:]:
        raise ValueError(f"ref: expected a controller of (T, nx, nu) = {(dyn.horizon,) + dyn.B.shape[1:]}, "
                         f"got {(ref.horizon, ref.state_dim, ref.action_dim)}")

    def solve(eta):
        p = lqg_backward(dyn, exp, eta, ref)
        if p is None:
            return None, math.inf
        return p, controller_kl(p, ref, dyn, mu0, sigma0)

    p, kl = solve(eta_min)
    if p is not None and kl <= epsilon:
        return _result(p, eta_min, kl, dyn, exp, mu0, sigma0, "inactive", 1)
    lo, hi = math.log(eta_min), math.log(eta_max)
    best = None
    for it in range(1, max_iterations + 1):
        mid = 0.5 * (lo + hi)
        eta = math.exp(mid)
        p, kl = solve(eta)
        if kl > epsilon:
            lo = mid
        else:
            best = (p, eta, kl)
            hi = mid
            if kl >= (1 - tol) * epsilon:
                return _result(p, eta, kl, dyn, exp, mu0, sigma0, "converged", it)
    if best is None:
        p, kl = solve(eta_max)
        if p is None or kl > epsilon:
            return _result(ref, eta_max, 0.0, dyn, exp, mu0, sigma0, "failed", max_iterations)
        best = (p, eta_max, kl)
    return _result(*best, dyn, exp, mu0, sigma0, "max_iterations", max_iterations)


def _result(p, eta, kl, dyn, exp, mu0, sigma0, status, it):
    cost = expected_cost(trajectory_distribution(p, dyn, mu0, sigma0), exp)
    return KLStepResult(p, float(eta), float(kl), cost, status, it)


def adapt_epsilon(epsilon: float, predicted_improvement: float, actual_improvement: float, *, base: float,
                  min_mult: float = 0.1, max_mult: float = 10.0) -> float:
    r"""Mirror-descent GPS step size: scale ``ε`` by the ratio of predicted to actual improvement.

    .. math::

        \epsilon \leftarrow \epsilon \cdot \operatorname{clip}\Big(\frac{\Delta_{pred}}{2\max(10^{-4},
        \Delta_{pred} - \Delta_{act})},\ 0.1,\ 5\Big),\quad \text{kept in } [\text{min\_mult}, \text{max\_mult}]\cdot\text{base}

    (Montgomery & Levine 2016): when the linearisation predicts the change well, the step grows;
    when the actual improvement falls short (or the cost rose), it shrinks.
    """
    check_positive("epsilon", epsilon)
    check_positive("base", base)
    if not (math.isfinite(predicted_improvement) and math.isfinite(actual_improvement)):
        return max(min_mult * base, 0.5 * epsilon)
    denom = max(1e-4, predicted_improvement - actual_improvement)
    mult = float(np.clip(predicted_improvement / (2.0 * denom), 0.1, 5.0))
    return float(np.clip(epsilon * mult, min_mult * base, max_mult * base))
