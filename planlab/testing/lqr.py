r"""LQR references for testing planners: finite-horizon Riccati recursion and scipy's DARE.

For ``x_{t+1} = A x_t + B u_t`` and the cost of :class:`~planlab.core.cost.QuadraticCost`,

.. math::

    J = \sum_{t=0}^{H-1} \tfrac12 (x_t^\top Q x_t + u_t^\top R u_t) + \tfrac12 x_H^\top Q_f x_H,

the optimal cost-to-go is ``V_t(x) = 1/2 x^T P_t x`` with the backward recursion

.. math::

    P_H = Q_f, \quad K_t = -(R + B^\top P_{t+1} B)^{-1} B^\top P_{t+1} A, \quad
    P_t = Q + A^\top P_{t+1} (A + B K_t),

and ``u_t = K_t x_t`` (planlab's one sign convention, :mod:`planlab.core.contracts`). These are
written independently of :mod:`planlab.planners.trajopt.lqr` (plain numpy, no validation) so that
tests can compare the two. For ``H -> infinity`` (stabilisable, detectable) ``P_0`` tends to the
solution of the discrete algebraic Riccati equation, which :func:`scipy.linalg.solve_discrete_are`
computes; the tests check the recursion against it.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["riccati_reference", "feedback_rollout", "dare_reference"]


def riccati_reference(A, B, Q, R, Qf, horizon: int):
    """Backward Riccati recursion for a horizon-H linear-quadratic problem (gains act as ``u = K x``).

    Parameters
    ----------
    A : ndarray (nx, nx)
    B : ndarray (nx, nu)
    Q, Qf : ndarray (nx, nx)
        Symmetric positive semidefinite.
    R : ndarray (nu, nu)
        Symmetric positive definite (or ``R + B^T P B`` positive definite along the recursion).
    horizon : int

    Returns
    -------
    K : ndarray (H, nu, nx)
        Feedback gains, ``u_t = K[t] x_t``.
    P : ndarray (H + 1, nx, nx)
        Cost-to-go matrices; the optimal cost from ``x0`` is ``0.5 * x0 @ P[0] @ x0``.
    """
    A, B, Q, R, Qf = (np.asarray(m, dtype=np.float64) for m in (A, B, Q, R, Qf))
    nx, nu = B.shape
    P = np.empty((horizon + 1, nx, nx))
    K = np.empty((horizon, nu, nx))
    P[horizon] = Qf
    for t in range(horizon - 1, -1, -1):
        Pn = P[t + 1]
        BtP = B.T @ Pn
        K[t] = -np.linalg.solve(R + BtP @ B, BtP @ A)
        Pt = Q + A.T @ Pn @ (A + B @ K[t])
        P[t] = 0.5 * (Pt + Pt.T)
    return K, P


def feedback_rollout(A, B, K, x0):
    """States (H + 1, nx) and actions (H, nu) of ``u_t = K[t] x_t`` through ``x_{t+1} = A x_t + B u_t`` from ``x0``."""
    H = K.shape[0]
    x = np.empty((H + 1, A.shape[0]))
    u = np.empty((H, B.shape[1]))
    x[0] = x0
    for t in range(H):
        u[t] = K[t] @ x[t]
        x[t + 1] = A @ x[t] + B @ u[t]
    return x, u


def dare_reference(A, B, Q, R):
    """Infinite-horizon LQR from :func:`scipy.linalg.solve_discrete_are`: ``(K, P)``, ``u = K x``."""
    P = scipy.linalg.solve_discrete_are(A, B, Q, R)
    K = -np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    return K, P
