r"""Time-varying linear-Gaussian dynamics fitted from sampled trajectories, with a prior.

At every step ``t`` the samples give pairs ``z = (x_t, u_t, x_{t+1})``. A Gaussian over ``z`` is fitted
with a normal-inverse-Wishart prior (Levine & Abbeel 2014, section 3.1) and conditioned on
``(x_t, u_t)``, which gives ``x_{t+1} ~ N(A_t x_t + B_t u_t + c_t, W_t)``. With few samples per step
(``N < nx + nu``), the prior supplies what the data cannot:

.. math::

    \hat\mu = \frac{N \bar z + m \mu_0}{N + m},\qquad
    \hat\Sigma = \frac{N S + \Phi + \frac{N m}{N + m}(\bar z - \mu_0)(\bar z - \mu_0)^\top}{N + n_0}.

Priors (:class:`DynamicsPrior` gives ``μ_0``, ``Φ`` per step):

* :func:`pooled_prior` — one Gaussian over all ``z`` of all steps and samples (a single-component
  version of the Gaussian-mixture prior of Levine & Abbeel; the mixture itself is not implemented);
* :func:`model_prior` — the linearisation ``A, B, c`` of an analytic or learned model along the
  sample mean, the data's own ``(x, u)`` spread and a noise covariance.

Shapes: ``X (N, T + 1, nx)``, ``U (N, T, nu)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...core.cost import QuadraticCost
from ...core.validation import as_float_array, check_nonnegative
from ...planners.trajopt.derivatives import make_trajectory_model
from .linear_gaussian import LinearGaussianDynamics

__all__ = ["DynamicsPrior", "fit_linear_gaussian_dynamics", "pooled_prior", "model_prior", "linearize_model"]


class DynamicsPrior(NamedTuple):
    """A normal-inverse-Wishart prior over ``z = (x, u, x')`` per step.

    Attributes
    ----------
    mu0 : ndarray (T, nz)
        Prior means.
    sigma0 : ndarray (T, nz, nz)
        Prior covariances (``Φ = n0 · sigma0``).
    strength : float
        Pseudo-count ``m = n0`` of the prior (0 = ignore it).
    """

    mu0: np.ndarray
    sigma0: np.ndarray
    strength: float


def _check_samples(X, U):
    X = as_float_array("X", X, ndim=3)
    U = as_float_array("U", U, ndim=3)
    if U.shape[:2] != (X.shape[0], X.shape[1] - 1):
        raise ValueError(f"U: expected shape ({X.shape[0]}, {X.shape[1] - 1}, nu) to match X {X.shape}, got {U.shape}")
    return X, U


def _joint(X, U):
    return np.concatenate([X[:, :-1], U, X[:, 1:]], axis=2)  # (N, T, nz)


def fit_linear_gaussian_dynamics(X, U, prior: DynamicsPrior | None = None, *, regularization: float = 1e-6) -> LinearGaussianDynamics:
    """Fit ``x_{t+1} ~ N(A_t x_t + B_t u_t + c_t, W_t)`` to samples by regression with an optional prior.

    Parameters
    ----------
    X : array_like (N, T + 1, nx)
    U : array_like (N, T, nu)
    prior : DynamicsPrior, optional
        Without a prior, ``N`` must exceed ``nx + nu`` for a unique fit (a ridge ``regularization`` is added).
    regularization : float
        Added to the diagonal of the ``(x, u)`` block before conditioning.

    Returns
    -------
    LinearGaussianDynamics
    """
    X, U = _check_samples(X, U)
    check_nonnegative("regularization", regularization)
    N, T1, nx = X.shape
    T, nu = T1 - 1, U.shape[2]
    nxu, nz = nx + nu, 2 * nx + nu
    if prior is not None:
        if prior.mu0.shape != (T, nz) or prior.sigma0.shape != (T, nz, nz):
            raise ValueError(f"prior: expected mu0 ({T}, {nz}) and sigma0 ({T}, {nz}, {nz}), got "
                             f"{prior.mu0.shape} and {prior.sigma0.shape}")
        check_nonnegative("prior.strength", prior.strength)
    Z = _joint(X, U)
    A = np.empty((T, nx, nx))
    B = np.empty((T, nx, nu))
    c = np.empty((T, nx))
    W = np.empty((T, nx, nx))
    for t in range(T):
        z = Z[:, t]
        zbar = z.mean(axis=0)
        d = z - zbar
        S = d.T @ d / N
        if prior is not None and prior.strength > 0:
            m = n0 = float(prior.strength)
            dz = zbar - prior.mu0[t]
            mu = (N * zbar + m * prior.mu0[t]) / (N + m)
            sig = (N * S + n0 * prior.sigma0[t] + (N * m) / (N + m) * np.outer(dz, dz)) / (N + n0)
        else:
            mu, sig = zbar, S
        sig = 0.5 * (sig + sig.T)
        Sxu = sig[:nxu, :nxu] + regularization * np.eye(nxu)
        F = np.linalg.solve(Sxu, sig[:nxu, nxu:]).T  # (nx, nxu)
        A[t], B[t] = F[:, :nx], F[:, nx:]
        c[t] = mu[nxu:] - F @ mu[:nxu]
        Wt = sig[nxu:, nxu:] - F @ Sxu @ F.T
        W[t] = 0.5 * (Wt + Wt.T)
        lo = np.linalg.eigvalsh(W[t]).min()
        if lo < 0:
            W[t] += (-lo + 1e-12) * np.eye(nx)
    return LinearGaussianDynamics(A, B, c, W)


def pooled_prior(X, U, strength: float = 1.0) -> DynamicsPrior:
    """One Gaussian over ``(x, u, x')`` of every step and sample, repeated for each step."""
    X, U = _check_samples(X, U)
    Z = _joint(X, U).reshape(-1, 2 * X.shape[2] + U.shape[2])
    mu = Z.mean(axis=0)
    d = Z - mu
    sig = d.T @ d / max(len(Z) - 1, 1)
    T = U.shape[1]
    return DynamicsPrior(np.broadcast_to(mu, (T,) + mu.shape).copy(), np.broadcast_to(sig, (T,) + sig.shape).copy(),
                         float(strength))


def model_prior(lin: LinearGaussianDynamics, X, U, strength: float = 1.0, *, min_spread: float = 1e-6) -> DynamicsPrior:
    r"""A prior from a model's linearisation ``x' ≈ A x + B u + c`` with noise ``W``.

    The ``(x, u)`` marginal is the samples' mean at each step and their covariance pooled over all steps
    (plus ``min_spread`` on the diagonal, so it stays invertible with few samples); with the prior alone
    the fit returns ``lin``'s ``A, B, c``.
    """
    X, U = _check_samples(X, U)
    T, nx, nu = U.shape[1], X.shape[2], U.shape[2]
    if lin.A.shape != (T, nx, nx) or lin.B.shape != (T, nx, nu):
        raise ValueError(f"lin: expected A ({T}, {nx}, {nx}) and B ({T}, {nx}, {nu}), got {lin.A.shape} and {lin.B.shape}")
    nxu = nx + nu
    mu0 = np.empty((T, 2 * nx + nu))
    sig0 = np.empty((T, 2 * nx + nu, 2 * nx + nu))
    XU = np.concatenate([X[:, :-1], U], axis=2)
    flat = XU.reshape(-1, nxu)
    d = flat - flat.mean(axis=0)
    S = d.T @ d / max(len(d) - 1, 1) + min_spread * np.eye(nxu)
    for t in range(T):
        m = XU[:, t].mean(axis=0)
        F = np.concatenate([lin.A[t], lin.B[t]], axis=1)
        mu0[t, :nxu], mu0[t, nxu:] = m, F @ m + lin.c[t]
        sig0[t, :nxu, :nxu] = S
        sig0[t, :nxu, nxu:] = S @ F.T
        sig0[t, nxu:, :nxu] = F @ S
        sig0[t, nxu:, nxu:] = F @ S @ F.T + lin.W[t]
    return DynamicsPrior(mu0, sig0, float(strength))


def linearize_model(dynamics, Xbar, Ubar, noise_cov=None, *, derivatives: str = "auto", cost=None) -> LinearGaussianDynamics:
    """Linearise a planlab ``Dynamics`` along ``(Xbar (T + 1, nx), Ubar (T, nu))``.

    ``A_t, B_t`` come from iLQR's derivative machinery (casadi for analytic systems, torch for learned
    models, finite differences otherwise); ``c_t = f(x̄_t, ū_t) - A_t x̄_t - B_t ū_t``; ``W_t = noise_cov``
    (default zeros).
    """
    Xbar = as_float_array("Xbar", Xbar, ndim=2)
    Ubar = as_float_array("Ubar", Ubar, ndim=2)
    T, nx, nu = Ubar.shape[0], Xbar.shape[1], Ubar.shape[1]
    if Xbar.shape[0] != T + 1:
        raise ValueError(f"Xbar: expected shape ({T + 1}, {nx}), got {Xbar.shape}")
    cost = cost if cost is not None else QuadraticCost(Q=np.zeros(nx), R=np.zeros(nu))
    model = make_trajectory_model(dynamics, cost, derivatives)
    O = np.zeros((T, model.layout["size"]))
    OT = np.zeros(nx + nx * nx)
    model.derivatives(Xbar, Ubar, O, OT)
    parts = model.unpack(O)
    A, B = parts["A"].copy(), parts["B"].copy()
    fx = np.asarray(dynamics.step(Xbar[:-1], Ubar), dtype=np.float64)
    c = fx - np.einsum("tij,tj->ti", A, Xbar[:-1]) - np.einsum("tij,tj->ti", B, Ubar)
    W = np.zeros((T, nx, nx)) if noise_cov is None else np.broadcast_to(as_float_array("noise_cov", noise_cov), (T, nx, nx)).copy()
    return LinearGaussianDynamics(A, B, c, W)
