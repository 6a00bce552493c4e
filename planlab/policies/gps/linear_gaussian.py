r"""Linear-Gaussian controllers and models, and the trajectory distribution they induce.

A linear-Gaussian controller (Levine & Abbeel 2014) is

.. math::

    p(u_t \mid x_t) = \mathcal N\big(K_t (x_t - \hat x_t) + k_t + \hat u_t,\ \Sigma_t\big),

the time-varying linear policy of iLQR with Gaussian noise; with the cost's ``Q_uu`` from an LQG
backward pass, ``Σ_t = Q_uu,t⁻¹`` is the maximum-entropy controller. A linear-Gaussian model is
``x_{t+1} ~ N(A_t x_t + B_t u_t + c_t, W_t)``. Together, from ``x_0 ~ N(μ_0, S_0)``, they induce a
Gaussian over every ``(x_t, u_t)`` (:func:`trajectory_distribution`), under which the KL divergence
between two controllers is a sum of closed-form expectations (:func:`controller_kl`).

Shapes: ``T`` steps, ``nx`` states, ``nu`` controls; ``K (T, nu, nx)``, ``Σ (T, nu, nu)``,
``A (T, nx, nx)``, ``B (T, nx, nu)``, ``c (T, nx)``, ``W (T, nx, nx)``.

References: S. Levine & P. Abbeel, "Learning neural network policies with guided policy search
under unknown dynamics", NIPS 2014. S. Levine & V. Koltun, "Guided policy search", ICML 2013.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...core.seeding import SeedLike, make_rng
from ...core.validation import as_float_array
from ...planners.trajopt.policy import TimeVaryingLinearPolicy

__all__ = ["LinearGaussianController", "LinearGaussianDynamics", "TrajectoryDistribution",
           "trajectory_distribution", "controller_kl", "sample_linear_gaussian", "check_covariances"]


def check_covariances(name: str, S, shape) -> np.ndarray:
    """Validate a stack of symmetric positive definite matrices of ``shape``; returns it symmetrised."""
    S = as_float_array(name, S, shape=shape)
    S = 0.5 * (S + np.swapaxes(S, -1, -2))
    try:
        np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        lo = float(np.min(np.linalg.eigvalsh(S)))
        raise ValueError(f"{name}: expected positive definite matrices, got smallest eigenvalue {lo:.3g}") from None
    return S


class LinearGaussianController(TimeVaryingLinearPolicy):
    r"""``p(u_t|x_t) = N(K_t (x_t - x̂_t) + k_t + û_t, Σ_t)`` (gains act as u = K x).

    Parameters
    ----------
    K, k, x_ref, u_ref
        As :class:`~planlab.planners.trajopt.policy.TimeVaryingLinearPolicy`.
    cov : array_like (T, nu, nu) or (nu, nu)
        Positive definite action covariances ``Σ_t``.
    stochastic : bool
        Whether :meth:`act` samples (True) or returns the mean (False).
    seed : int, Generator or None
        Noise of :meth:`act` when ``stochastic``.

    Examples
    --------
    >>> import numpy as np
    >>> p = LinearGaussianController(K=np.zeros((2, 1, 1)), cov=np.eye(1))
    >>> float(p.log_prob(0, np.zeros(1), np.zeros(1))) == -0.5 * np.log(2 * np.pi)
    True
    """

    def __init__(self, K, k=None, x_ref=None, u_ref=None, cov=None, *, stochastic: bool = False,
                 seed: SeedLike = None, action_low=None, action_high=None):
        super().__init__(K, k, x_ref, u_ref, action_low=action_low, action_high=action_high)
        T, nu = self.horizon, self.action_dim
        if cov is None:
            raise ValueError("cov: expected action covariances of shape (T, nu, nu) or (nu, nu), got None")
        cov = as_float_array("cov", cov)
        if cov.shape == (nu, nu):
            cov = np.broadcast_to(cov, (T, nu, nu))
        self.cov = check_covariances("cov", cov, (T, nu, nu))
        self.chol = np.linalg.cholesky(self.cov)
        self.precision = np.linalg.inv(self.cov)
        self.precision = 0.5 * (self.precision + np.swapaxes(self.precision, -1, -2))
        self.stochastic = bool(stochastic)
        self.rng = make_rng(seed)

    # ------------------------------------------------------------------ affine form
    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        """``(K (T, nu, nx), c (T, nu))`` with mean ``u = K_t x + c_t``."""
        c = self.k + self.u_ref - np.einsum("tux,tx->tu", self.K, self.x_ref)
        return self.K.copy(), c

    @classmethod
    def from_affine(cls, K, c, cov, **kwargs) -> "LinearGaussianController":
        """The controller with mean ``K_t x + c_t`` (``x̂ = 0``, ``û = 0``, ``k = c``)."""
        return cls(K, k=c, cov=cov, **kwargs)

    # ------------------------------------------------------------------ density
    def mean(self, t: int, x) -> np.ndarray:
        """Mean action(s) of step ``t`` for state(s) ``x`` (..., nx) -> (..., nu) (no clipping)."""
        x = as_float_array("x", x)
        if x.ndim == 0 or x.shape[-1] != self.state_dim:
            raise ValueError(f"x: expected shape (..., {self.state_dim}), got {x.shape}")
        t = min(int(t), self.horizon - 1)
        return (x - self.x_ref[t]) @ self.K[t].T + self.k[t] + self.u_ref[t]

    def sample(self, t: int, x, rng: SeedLike = None) -> np.ndarray:
        """Draw ``u ~ p(u|x)`` at step ``t`` for state(s) ``x`` (..., nx) -> (..., nu)."""
        gen = self.rng if rng is None else make_rng(rng)
        m = self.mean(t, x)
        t = min(int(t), self.horizon - 1)
        return m + gen.standard_normal(m.shape) @ self.chol[t].T

    def log_prob(self, t: int, x, u) -> np.ndarray:
        """``log p(u|x)`` at step ``t``; ``x`` (..., nx), ``u`` (..., nu) -> (...)."""
        u = as_float_array("u", u)
        m = self.mean(t, x)
        if u.shape[-1:] != (self.action_dim,):
            raise ValueError(f"u: expected shape (..., {self.action_dim}), got {u.shape}")
        t = min(int(t), self.horizon - 1)
        d = u - m
        maha = np.einsum("...i,ij,...j->...", d, self.precision[t], d)
        logdet = 2.0 * np.sum(np.log(np.diag(self.chol[t])))
        return -0.5 * (maha + logdet + self.action_dim * np.log(2 * np.pi))

    def act(self, obs) -> np.ndarray:
        """Action of the current step (a sample when ``stochastic``); advances the clock."""
        t = self.t
        u = self.sample(t, obs) if self.stochastic else self.mean(t, obs)
        self.t += 1
        return np.clip(u, self.low, self.high) if self.low is not None else u

    def __repr__(self) -> str:
        return f"LinearGaussianController(T={self.horizon}, nx={self.state_dim}, nu={self.action_dim})"


class LinearGaussianDynamics(NamedTuple):
    """``x_{t+1} ~ N(A_t x_t + B_t u_t + c_t, W_t)``.

    Attributes
    ----------
    A : ndarray (T, nx, nx)
    B : ndarray (T, nx, nu)
    c : ndarray (T, nx)
    W : ndarray (T, nx, nx)
        Noise covariances (positive semidefinite).
    """

    A: np.ndarray
    B: np.ndarray
    c: np.ndarray
    W: np.ndarray

    @property
    def horizon(self) -> int:
        return self.A.shape[0]

    def F(self) -> np.ndarray:
        """``[A_t, B_t]`` (T, nx, nx + nu)."""
        return np.concatenate([self.A, self.B], axis=2)


class TrajectoryDistribution(NamedTuple):
    """The Gaussian marginals of a linear-Gaussian controller run through a linear-Gaussian model.

    Attributes
    ----------
    mu : ndarray (T, nx + nu)
        Mean of ``(x_t, u_t)``.
    sigma : ndarray (T, nx + nu, nx + nu)
        Covariance of ``(x_t, u_t)``.
    mu_final : ndarray (nx,)
    sigma_final : ndarray (nx, nx)
        Marginal of ``x_T``.
    """

    mu: np.ndarray
    sigma: np.ndarray
    mu_final: np.ndarray
    sigma_final: np.ndarray


def _check_pair(ctrl: LinearGaussianController, dyn: LinearGaussianDynamics):
    T, nx, nu = ctrl.horizon, ctrl.state_dim, ctrl.action_dim
    shapes = {"A": (T, nx, nx), "B": (T, nx, nu), "c": (T, nx), "W": (T, nx, nx)}
    for name, shp in shapes.items():
        if np.shape(getattr(dyn, name)) != shp:
            raise ValueError(f"dynamics.{name}: expected shape {shp} to match the controller, got {np.shape(getattr(dyn, name))}")


def trajectory_distribution(ctrl: LinearGaussianController, dyn: LinearGaussianDynamics, mu0, sigma0) -> TrajectoryDistribution:
    r"""Forward pass: the Gaussian marginals of ``(x_t, u_t)`` under ``ctrl`` and ``dyn`` from ``N(mu0, sigma0)``.

    .. math::

        \mu_{u} = K \mu_x + c,\quad \Sigma_{xu} = \Sigma_x K^\top,\quad \Sigma_{uu} = K \Sigma_x K^\top + \Sigma,\quad
        \mu_x' = F \mu_{xu} + c_{dyn},\quad \Sigma_x' = F \Sigma_{xu,xu} F^\top + W

    Parameters
    ----------
    mu0 : array_like (nx,)
    sigma0 : array_like (nx, nx), positive semidefinite
    """
    _check_pair(ctrl, dyn)
    T, nx, nu = ctrl.horizon, ctrl.state_dim, ctrl.action_dim
    mx = as_float_array("mu0", mu0, shape=(nx,))
    Sx = as_float_array("sigma0", sigma0, shape=(nx, nx))
    K, kc = ctrl.affine()
    F = dyn.F()
    mu = np.empty((T, nx + nu))
    sig = np.empty((T, nx + nu, nx + nu))
    for t in range(T):
        mu[t, :nx] = mx
        mu[t, nx:] = K[t] @ mx + kc[t]
        SK = Sx @ K[t].T
        sig[t, :nx, :nx] = Sx
        sig[t, :nx, nx:] = SK
        sig[t, nx:, :nx] = SK.T
        sig[t, nx:, nx:] = K[t] @ SK + ctrl.cov[t]
        mx = F[t] @ mu[t] + dyn.c[t]
        Sx = F[t] @ sig[t] @ F[t].T + dyn.W[t]
        Sx = 0.5 * (Sx + Sx.T)
    return TrajectoryDistribution(mu, sig, mx, Sx)


def controller_kl(p: LinearGaussianController, q: LinearGaussianController, dyn: LinearGaussianDynamics, mu0, sigma0,
                  *, per_step: bool = False):
    r"""``D_KL(p(τ) ‖ q(τ))`` of the trajectory distributions two controllers induce with one model.

    The dynamics cancel, so the divergence is the expected per-step action KL under ``p``'s state marginals:

    .. math::

        \sum_t \mathbb E_{x_t \sim p}\Big[\tfrac12\big(\operatorname{tr}(\Sigma_q^{-1}\Sigma_p) - n_u
        + \log\tfrac{|\Sigma_q|}{|\Sigma_p|} + d^\top \Sigma_q^{-1} d\big)\Big],\quad d = (K_p - K_q) x + c_p - c_q,

    with ``E[d'Md] = \bar d' M \bar d + tr(ΔK' M ΔK Σ_x)``.

    Returns
    -------
    float, or ndarray (T,) with ``per_step=True``
    """
    if (q.horizon, q.state_dim, q.action_dim) != (p.horizon, p.state_dim, p.action_dim):
        raise ValueError(f"q: expected a controller of (T, nx, nu) = {(p.horizon, p.state_dim, p.action_dim)}, "
                         f"got {(q.horizon, q.state_dim, q.action_dim)}")
    traj = trajectory_distribution(p, dyn, mu0, sigma0)
    nx, nu = p.state_dim, p.action_dim
    Kp, cp = p.affine()
    Kq, cq = q.affine()
    out = np.empty(p.horizon)
    for t in range(p.horizon):
        mx, Sx = traj.mu[t, :nx], traj.sigma[t, :nx, :nx]
        Pq = q.precision[t]
        dK = Kp[t] - Kq[t]
        dbar = dK @ mx + cp[t] - cq[t]
        logdet = 2 * np.sum(np.log(np.diag(q.chol[t]))) - 2 * np.sum(np.log(np.diag(p.chol[t])))
        quad = dbar @ Pq @ dbar + np.trace(dK.T @ Pq @ dK @ Sx)
        out[t] = 0.5 * (np.trace(Pq @ p.cov[t]) - nu + logdet + quad)
    out = np.maximum(out, 0.0)
    return out if per_step else float(out.sum())


def sample_linear_gaussian(ctrl: LinearGaussianController, dyn: LinearGaussianDynamics, mu0, sigma0, n: int,
                           rng: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` trajectories of ``ctrl`` through the linear-Gaussian model ``dyn``.

    Returns
    -------
    X : ndarray (n, T + 1, nx)
    U : ndarray (n, T, nu)
    """
    _check_pair(ctrl, dyn)
    gen = make_rng(rng)
    T, nx, nu = ctrl.horizon, ctrl.state_dim, ctrl.action_dim
    X = np.empty((n, T + 1, nx))
    U = np.empty((n, T, nu))
    X[:, 0] = gen.multivariate_normal(as_float_array("mu0", mu0, shape=(nx,)), as_float_array("sigma0", sigma0, shape=(nx, nx)), size=n)
    Wc = [np.linalg.cholesky(dyn.W[t] + 1e-300 * np.eye(nx)) if np.any(dyn.W[t]) else np.zeros((nx, nx)) for t in range(T)]
    for t in range(T):
        U[:, t] = ctrl.sample(t, X[:, t], gen)
        X[:, t + 1] = X[:, t] @ dyn.A[t].T + U[:, t] @ dyn.B[t].T + dyn.c[t] + gen.standard_normal((n, nx)) @ Wc[t].T
    return X, U
