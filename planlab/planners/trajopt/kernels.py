"""Compiled kernels of trajectory optimisation (iLQR / DDP / box-DDP) for one (system, cost) pair.

Written as plain code over eight functions imported on the marked line below: the model's sources
(dynamics, running and terminal cost) and its derivative functions (``d1``, ``dT``, ``d2``: casadi's
exact derivative expressions translated to straight-line Python by
:mod:`planlab.planners.trajopt.codegen`; ``cost1``, ``costT``: the closed-form derivatives of a
:class:`~planlab.core.QuadraticCost` from its parameters, :mod:`planlab.planners.trajopt.quadratic`,
or nothing when ``d1``/``dT`` include the cost). planlab compiles a copy per (system, cost) with
that line importing the real functions (:func:`planlab.dynamics.compiled.specialise`).

Shapes: ``X`` (T + 1, nx) states, ``U`` (T, nu) controls, ``lo``/``hi`` (nu,) the box at which the
derivatives are taken, ``p`` the system's parameter vector, ``cp`` the cost's; ``O`` (T, n_packed),
``OT`` (nx + nx * nx,) and ``HD`` (T, n_hess) in the layout of :mod:`planlab.planners.trajopt.layout`.
"""

from __future__ import annotations

import math

import numpy as np

from planlab.dynamics.compiled.jit import jit, jit_source
from planlab.planners.trajopt.placeholder import dynamics as _dyn_py, running as _run_py, terminal as _fin_py, d1 as _d1_py, dT as _dT_py, d2 as _d2_py, cost1 as _cost1_py, costT as _costT_py  # noqa: E501  # planlab: sources

__all__ = ["derivatives", "dynamics_hessians", "rollout", "line_search"]

_dyn = jit_source(_dyn_py)
_run = jit_source(_run_py)
_fin = jit_source(_fin_py)
_d1 = jit_source(_d1_py)
_dT = jit_source(_dT_py)
_d2 = jit_source(_d2_py)
_cost1 = jit_source(_cost1_py)
_costT = jit_source(_costT_py)


@jit
def _all_finite(a):
    """Whether every entry of ``a`` is finite."""
    for v in a.flat:
        if not math.isfinite(v):
            return False
    return True


@jit
def derivatives(X, U, lo, hi, p, cp, O, OT):
    """Packed derivatives along ``(X, U)`` at the controls clamped to ``[lo, hi]``; whether all are finite.

    Row ``O[t]`` gets the dynamics Jacobians and the running cost's gradient and Hessian at step ``t``,
    ``OT`` the terminal cost's gradient and Hessian at ``X[T]``.
    """
    T, nu = U.shape
    u = np.empty(nu)
    for t in range(T):
        for j in range(nu):
            u[j] = min(max(U[t, j], lo[j]), hi[j])
        _d1(X[t], u, p, cp, O[t])
        _cost1(X[t], u, cp, O[t])
    _dT(X[T], cp, OT)
    _costT(X[T], cp, OT)
    return _all_finite(O) and _all_finite(OT)


@jit
def dynamics_hessians(X, U, lo, hi, p, HD):
    """Second derivatives of the dynamics (full DDP) into ``HD`` (T, n_hess); whether all are finite."""
    T, nu = U.shape
    u = np.empty(nu)
    for t in range(T):
        for j in range(nu):
            u[j] = min(max(U[t, j], lo[j]), hi[j])
        _d2(X[t], u, p, HD[t])
    return _all_finite(HD)


@jit
def rollout(x0, U, p, cp, X):
    """Roll ``U`` (T, nu) out from ``x0`` (nx,) into ``X`` (T + 1, nx); returns the total cost."""
    nx = x0.shape[0]
    for i in range(nx):
        X[0, i] = x0[i]
    J = 0.0
    for t in range(U.shape[0]):
        _dyn(X[t], U[t], p, X[t + 1])
        J += _run(X[t], U[t], X[t + 1], cp)
    return J + _fin(X[U.shape[0]], cp)


@jit
def line_search(x0, X, U, K, k, alphas, lo, hi, p, cp, J0, dV1, dV2, zmin, Xn, Un):
    """Backtracking forward passes (Tassa, Erez & Todorov 2012): the first acceptable step size.

    For each ``alpha`` in ``alphas`` in turn, roll out ``u_t = clip(U_t + alpha k_t + K_t (x_t - X_t))``
    (``K`` (T, nu, nx), ``k`` (T, nu)) into ``Xn``, ``Un``; accept when the cost decreases and the
    actual decrease is more than ``zmin`` times the expected one, ``alpha dV1 + alpha^2 dV2``.

    Returns
    -------
    (int, float)
        The index of the accepted step size and its cost, or ``(-1, J0)``.
    """
    T = U.shape[0]
    nx = x0.shape[0]
    nu = U.shape[1]
    dx = np.empty(nx)
    for ia in range(alphas.shape[0]):
        a = alphas[ia]
        for i in range(nx):
            Xn[0, i] = x0[i]
        J = 0.0
        for t in range(T):
            for i in range(nx):
                dx[i] = Xn[t, i] - X[t, i]
            for j in range(nu):
                v = U[t, j] + a * k[t, j]
                for i in range(nx):
                    v += K[t, j, i] * dx[i]
                if v < lo[j]:
                    v = lo[j]
                elif v > hi[j]:
                    v = hi[j]
                Un[t, j] = v
            _dyn(Xn[t], Un[t], p, Xn[t + 1])
            J += _run(Xn[t], Un[t], Xn[t + 1], cp)
        J += _fin(Xn[T], cp)
        if not math.isfinite(J):
            continue
        expected = a * dV1 + a * a * dV2
        if J < J0 and (expected >= 0.0 or (J - J0) / expected > zmin):
            return ia, J
    return -1, J0
