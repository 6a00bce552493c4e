r"""Linear-quadratic regulators: the closed-form solutions (Kalman 1960; Anderson & Moore, *Optimal Control*, 1990).

For ``x_{t+1} = A x_t + B u_t`` and cost ``sum_t 1/2 x'Qx + 1/2 u'Ru (+ x'N u) + 1/2 x_T' Q_f x_T``:

* :func:`dlqr` — infinite horizon: scipy's discrete algebraic Riccati solver, gain
  ``K = -(R + B'PB)^{-1} (B'PA + N')``, so that **u = K x** (the sign is inside ``K``, as in the
  time-varying policy ``u = K_t (x - x̂_t) + k_t + û_t``; the convention of :mod:`planlab.core.contracts`).
* :func:`finite_horizon_lqr` — the backward Riccati recursion with (optionally) time-varying
  ``A_t``, ``B_t``.
* :func:`lqr_tracking` — tracking a reference ``(x_ref, u_ref)`` through affine dynamics
  ``x_{t+1} = A_t x_t + B_t u_t + c_t``; returns a :class:`~planlab.planners.trajopt.policy.TimeVaryingLinearPolicy`.

The stabilisers built on them (:class:`~planlab.planners.trajopt.lqr.LQR`,
:class:`~planlab.planners.trajopt.lqr.LQRPlanner`) are in :mod:`planlab.planners.trajopt.lqr`.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ...core.validation import as_float_array, check_positive_int
from .policy import TimeVaryingLinearPolicy

__all__ = ["dlqr", "finite_horizon_lqr", "lqr_tracking"]


# ---------------------------------------------------------------------------------- validation
def _square(name, M, n=None):
    M = as_float_array(name, M)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {M.shape}")
    if n is not None and M.shape[0] != n:
        raise ValueError(f"{name}: expected shape ({n}, {n}), got {M.shape}")
    return M


def _symmetric(name, M, n, *, definite: bool):
    M = _square(name, M, n)
    scale = max(1.0, float(np.max(np.abs(M))))
    if np.max(np.abs(M - M.T)) > 1e-10 * scale:
        raise ValueError(f"{name}: expected a symmetric matrix, got max asymmetry {np.max(np.abs(M - M.T)):.3g}")
    if definite:
        try:
            np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            lo = float(np.linalg.eigvalsh(0.5 * (M + M.T)).min())
            raise ValueError(f"{name}: expected a positive definite matrix, got smallest eigenvalue {lo:.3g}") from None
    else:
        lo = float(np.linalg.eigvalsh(0.5 * (M + M.T)).min())
        if lo < -1e-10 * scale:
            raise ValueError(f"{name}: expected a positive semidefinite matrix, got smallest eigenvalue {lo:.3g}")
    return M


def _check_lq(A, B, Q, R, N=None):
    A = _square("A", A)
    n = A.shape[0]
    B = as_float_array("B", B)
    if B.ndim == 1:
        B = B[:, None]
    if B.ndim != 2 or B.shape[0] != n:
        raise ValueError(f"B: expected shape ({n}, m) to match A {A.shape}, got {B.shape}")
    m = B.shape[1]
    Q = _symmetric("Q", Q, n, definite=False)
    R = _symmetric("R", R, m, definite=True)
    if N is not None:
        N = as_float_array("N", N, shape=(n, m))
    return A, B, Q, R, N


# ---------------------------------------------------------------------------------- infinite horizon
def dlqr(A, B, Q, R, N=None):
    r"""Infinite-horizon discrete LQR through scipy's DARE solver.

    Minimises :math:`\sum_t \tfrac12 x_t^\top Q x_t + \tfrac12 u_t^\top R u_t + x_t^\top N u_t` subject to
    :math:`x_{t+1} = A x_t + B u_t`.

    Parameters
    ----------
    A : array_like (n, n)
    B : array_like (n, m)
    Q : array_like (n, n), symmetric positive semidefinite
    R : array_like (m, m), symmetric positive definite
    N : array_like (n, m), optional cross term

    Returns
    -------
    K : ndarray (m, n)
        Optimal gain with the sign included: ``u = K x``, ``K = -(R + B'PB)^{-1}(B'PA + N')``.
    P : ndarray (n, n)
        The stabilising solution of the discrete algebraic Riccati equation.

    Raises
    ------
    ValueError
        Bad shapes, an asymmetric or indefinite ``Q``/``R``, or no stabilising solution
        (``(A, B)`` not stabilisable).

    Examples
    --------
    >>> import numpy as np
    >>> A, B = np.array([[1.0, 0.1], [0.0, 1.0]]), np.array([[0.005], [0.1]])
    >>> K, P = dlqr(A, B, np.eye(2), [[0.1]])
    >>> K.shape, bool(np.all(np.abs(np.linalg.eigvals(A + B @ K)) < 1))
    ((1, 2), True)
    """
    A, B, Q, R, N = _check_lq(A, B, Q, R, N)
    try:
        P = scipy.linalg.solve_discrete_are(A, B, Q, R, s=N)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ValueError(f"A, B: no stabilising solution of the discrete Riccati equation ({exc})") from None
    BtP = B.T @ P
    G = BtP @ A if N is None else BtP @ A + N.T
    K = -np.linalg.solve(R + BtP @ B, G)
    return K, P


# ---------------------------------------------------------------------------------- finite horizon
def _time_varying(name, M, T, shape):
    M = as_float_array(name, M)
    if M.shape == shape:
        return np.broadcast_to(M, (T,) + shape)
    if M.shape == (T,) + shape:
        return M
    raise ValueError(f"{name}: expected shape {shape} or {(T,) + shape}, got {M.shape}")


def finite_horizon_lqr(A, B, Q, R, Qf, horizon: int):
    r"""Backward Riccati recursion for a finite horizon ``T`` (time-varying ``A_t``, ``B_t`` allowed).

    .. math::

        P_T = Q_f,\quad K_t = -(R + B_t^\top P_{t+1} B_t)^{-1} B_t^\top P_{t+1} A_t,\quad
        P_t = Q + A_t^\top P_{t+1} (A_t + B_t K_t)

    Parameters
    ----------
    A : array_like (n, n) or (T, n, n)
    B : array_like (n, m) or (T, n, m)
    Q : (n, n); R : (m, m) positive definite; Qf : (n, n)
    horizon : int

    Returns
    -------
    K : ndarray (T, m, n)
        Gains, ``u_t = K_t x_t``.
    P : ndarray (T + 1, n, n)
        Cost-to-go matrices (``P[T] = Qf``).
    """
    T = check_positive_int("horizon", horizon)
    A0 = as_float_array("A", A)
    B0 = as_float_array("B", B)
    if A0.ndim not in (2, 3) or A0.shape[-1] != A0.shape[-2]:
        raise ValueError(f"A: expected shape (n, n) or (T, n, n), got {A0.shape}")
    n = A0.shape[-1]
    if B0.ndim not in (2, 3) or B0.shape[-2] != n:
        raise ValueError(f"B: expected shape ({n}, m) or (T, {n}, m), got {B0.shape}")
    m = B0.shape[-1]
    As = _time_varying("A", A0, T, (n, n))
    Bs = _time_varying("B", B0, T, (n, m))
    Q = _symmetric("Q", Q, n, definite=False)
    R = _symmetric("R", R, m, definite=True)
    Qf = _symmetric("Qf", Qf, n, definite=False)
    K = np.empty((T, m, n))
    P = np.empty((T + 1, n, n))
    P[T] = Qf
    for t in range(T - 1, -1, -1):
        At, Bt, Pn = As[t], Bs[t], P[t + 1]
        BtP = Bt.T @ Pn
        K[t] = -np.linalg.solve(R + BtP @ Bt, BtP @ At)
        Pt = Q + At.T @ Pn @ (At + Bt @ K[t])
        P[t] = 0.5 * (Pt + Pt.T)
    return K, P


def lqr_tracking(A, B, Q, R, Qf, x_ref, u_ref=None, c=None, *, action_low=None, action_high=None):
    r"""LQR tracking of a reference through affine (possibly time-varying) dynamics.

    Minimises :math:`\sum_{t<T} \tfrac12 (x_t - r_t)^\top Q (x_t - r_t) + \tfrac12 (u_t - \bar u_t)^\top R
    (u_t - \bar u_t) + \tfrac12 (x_T - r_T)^\top Q_f (x_T - r_T)` subject to
    :math:`x_{t+1} = A_t x_t + B_t u_t + c_t`, by the Riccati recursion on the value
    :math:`V_t(x) = \tfrac12 x^\top P_t x + p_t^\top x`.

    Parameters
    ----------
    A : (n, n) or (T, n, n); B : (n, m) or (T, n, m)
    Q, R, Qf : weights
    x_ref : array_like (T + 1, n)
        Reference states ``r_t`` (defines ``T``).
    u_ref : array_like (T, m), optional
        Reference controls (default zeros).
    c : array_like (n,) or (T, n), optional
        Affine term of the dynamics (default zeros).
    action_low, action_high : optional
        Clip box of the returned policy.

    Returns
    -------
    TimeVaryingLinearPolicy
        ``u_t = K_t (x_t - r_t) + k_t + \bar u_t`` (optimal when unclipped).
    """
    x_ref = as_float_array("x_ref", x_ref, ndim=2)
    T = x_ref.shape[0] - 1
    if T < 1:
        raise ValueError(f"x_ref: expected shape (T + 1, n) with T >= 1, got {x_ref.shape}")
    n = x_ref.shape[1]
    A0 = as_float_array("A", A)
    B0 = as_float_array("B", B)
    As = _time_varying("A", A0, T, (n, n))
    if B0.ndim not in (2, 3) or B0.shape[-2] != n:
        raise ValueError(f"B: expected shape ({n}, m) or ({T}, {n}, m), got {B0.shape}")
    m = B0.shape[-1]
    Bs = _time_varying("B", B0, T, (n, m))
    Q = _symmetric("Q", Q, n, definite=False)
    R = _symmetric("R", R, m, definite=True)
    Qf = _symmetric("Qf", Qf, n, definite=False)
    u_ref = np.zeros((T, m)) if u_ref is None else as_float_array("u_ref", u_ref, shape=(T, m))
    cs = np.zeros((T, n)) if c is None else _time_varying("c", c, T, (n,))
    K = np.empty((T, m, n))
    k = np.empty((T, m))
    P = Qf.copy()
    p = -Qf @ x_ref[T]
    for t in range(T - 1, -1, -1):
        At, Bt = As[t], Bs[t]
        g = P @ cs[t] + p
        Quu = R + Bt.T @ P @ Bt
        Qux = Bt.T @ P @ At
        qx = -Q @ x_ref[t] + At.T @ g
        qu = -R @ u_ref[t] + Bt.T @ g
        sol = np.linalg.solve(Quu, np.concatenate([Qux, qu[:, None]], axis=1))
        Kt, kt = -sol[:, :n], -sol[:, n]
        P = Q + At.T @ P @ At + Qux.T @ Kt
        P = 0.5 * (P + P.T)
        p = qx + Qux.T @ kt
        K[t] = Kt
        k[t] = Kt @ x_ref[t] + kt - u_ref[t]  # u = K x + kt = K (x - r) + k + u_ref
    return TimeVaryingLinearPolicy(K, k, x_ref, u_ref, action_low=action_low, action_high=action_high)
