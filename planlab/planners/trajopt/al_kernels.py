"""Compiled loops of the augmented-Lagrangian trajectory model (:mod:`planlab.planners.trajopt.stagewise`).

Plain code over the six generated functions imported on the marked line (casadi's expressions as
straight-line code, :func:`planlab.planners.trajopt.codegen.function_source`); planlab compiles a copy
per problem structure with that line importing the real ones
(:func:`planlab.dynamics.compiled.specialise`). Every number that changes between plans (parameter
tables ``PC`` (T + 1, ncp) and ``PG`` (T + 1, ngp), multipliers and penalties, the system's parameter
vector ``sp`` and the control box ``lo``/``hi`` (nu,)) is an argument.

Shapes: ``X`` (T + 1, nx), ``U`` (T, nu), ``K`` (T, nu * nx) (row-major gains), ``k`` (T, nu),
``LAM``/``RHO`` (T, ng), ``lt``/``rt`` (nt,), ``le``/``re`` (ne,), ``O`` (T, n_packed), ``OT``
(nx + nx * nx,) (layout of :mod:`planlab.planners.trajopt.layout`).
"""

from __future__ import annotations

import math

import numpy as np

from planlab.dynamics.compiled.jit import jit
from planlab.planners.trajopt.al_placeholder import row as _row_py, trow as _trow_py, tval as _tval_py, fstep as _fstep_py, gstage as _gs_py, gterm as _gt_py  # noqa: E501  # planlab: sources

__all__ = ["derivatives", "forward", "line_search", "constraint_values"]

_row = jit(_row_py)
_trow = jit(_trow_py)
_tval = jit(_tval_py)
_fstep = jit(_fstep_py)
_gs = jit(_gs_py)
_gt = jit(_gt_py)


@jit
def derivatives(X, U, lo, hi, sp, PC, PG, LAM, RHO, lt, rt, le, re, O, OT):
    """Packed derivative rows at the controls clamped to ``[lo, hi]``; whether all are finite."""
    T, nu = U.shape
    u = np.empty(nu)
    for t in range(T):
        for j in range(nu):
            u[j] = min(max(U[t, j], lo[j]), hi[j])
        _row(X[t], u, sp, PC[t], PG[t], LAM[t], RHO[t], O[t])
    _trow(X[T], PC[T], PG[T], lt, rt, le, re, OT)
    for v in O.flat:
        if not math.isfinite(v):
            return False
    for v in OT.flat:
        if not math.isfinite(v):
            return False
    return True


@jit
def forward(x0, Xb, Ub, K, k, a, lo, hi, sp, PC, PG, LAM, RHO, lt, rt, le, re, Xn, Un):
    """Roll ``u_t = clip(Ub_t + a k_t + K_t (x_t - Xb_t))`` out from ``x0`` into ``Xn``, ``Un``.

    Returns ``(augmented-Lagrangian value, cost)``.
    """
    T, nu = Ub.shape
    nx = x0.shape[0]
    w = np.empty(nx + nu + 2)
    av = np.empty(1)
    av[0] = a
    for i in range(nx):
        Xn[0, i] = x0[i]
    L = 0.0
    c = 0.0
    for t in range(T):
        _fstep(Xn[t], Xb[t], Ub[t], K[t], k[t], av, lo, hi, sp, PC[t], PG[t], LAM[t], RHO[t], w)
        for i in range(nx):
            Xn[t + 1, i] = w[i]
        for j in range(nu):
            Un[t, j] = w[nx + j]
        L += w[nx + nu]
        c += w[nx + nu + 1]
    v = np.empty(2)
    _tval(Xn[T], PC[T], PG[T], lt, rt, le, re, v)
    return L + v[0], c + v[1]


@jit
def line_search(x0, X, U, K, k, alphas, lo, hi, sp, PC, PG, LAM, RHO, lt, rt, le, re, J0, dV1, dV2, zmin, Xn, Un):
    """Backtracking forward passes (Tassa, Erez & Todorov 2012): the first acceptable step size.

    Returns ``(index, value, cost)``, or ``(-1, J0, nan)`` when no step size passes.
    """
    for ia in range(alphas.shape[0]):
        a = alphas[ia]
        J, c = forward(x0, X, U, K, k, a, lo, hi, sp, PC, PG, LAM, RHO, lt, rt, le, re, Xn, Un)
        if not math.isfinite(J):
            continue
        expected = a * dV1 + a * a * dV2
        if J < J0 and (expected >= 0.0 or (J - J0) / expected > zmin):
            return ia, J, c
    return -1, J0, math.nan


@jit
def constraint_values(X, U, PG, G, GT):
    """Stage constraint values into ``G`` (T, ng) and terminal ones into ``GT`` (nt + ne,)."""
    T = U.shape[0]
    for t in range(T):
        _gs(X[t], U[t], PG[t], G[t])
    _gt(X[T], PG[T], GT)
