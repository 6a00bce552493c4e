"""Compiled backward pass of iLQR / DDP / box-DDP: the Riccati recursion along a trajectory.

The Gauss-Newton recursion of iLQR (Li & Todorov 2004), with the second-order dynamics terms of DDP
(Jacobson & Mayne 1970) when asked, Levenberg-Marquardt regularisation of ``Q_uu`` and the expected
improvement of Tassa, Erez & Todorov (2012), and the box-constrained controls of box-DDP (Tassa,
Mansard & Todorov 2014, :func:`~planlab.planners.trajopt.boxqp.box_qp`).

Module-level ``numba`` functions on float64 arrays with explicit loops: at 4-12 states BLAS calls
cost more than the arithmetic (and multi-threaded BLAS much more). Derivatives come packed as in
:mod:`planlab.planners.trajopt.layout`.
"""

from __future__ import annotations

import math

import numpy as np

from ...dynamics.compiled.jit import jit
from .boxqp import box_qp, cholesky, cholesky_solve
from .layout import packed_offsets

__all__ = ["backward_pass", "rollout_linear_policy"]


@jit
def backward_pass(O, OT, HD, use_hessians, U, lo, hi, bounded, mu, k_prev, K, k, free_out):
    """One backward pass (Riccati recursion with Levenberg-Marquardt regularisation ``mu``).

    Gauss-Newton iLQR when ``use_hessians`` is False, full DDP (second-order dynamics terms
    contracted with ``V'_x``) when True; with ``bounded`` the controls solve the box QP
    ``lo - U_t <= du <= hi - U_t`` and the feedback acts on the free controls only (box-DDP).

    Parameters
    ----------
    O : (T, n_packed), OT : (nx + nx*nx,), HD : (T, n_hess) or a dummy (1, 1)
    U : (T, nu) nominal controls; lo, hi : (nu,) control box
    mu : float, added to the diagonal of ``Q_uu``
    k_prev : (T, nu) warm start of the box QPs
    K : (T, nu, nx) out, k : (T, nu) out, free_out : (T, nu) bool out

    Returns
    -------
    (int, float, float, float)
        ``(failed_at, dV1, dV2, step_norm)``: ``failed_at`` is -1 on success, else the step where
        ``Q_uu + mu I`` was not positive definite; the expected cost change of a step ``alpha`` is
        ``alpha dV1 + alpha^2 dV2``; ``step_norm = mean_t max_i |k_t,i| / (|u_t,i| + 1)``.
    """
    T, nu = U.shape
    nx = K.shape[2]
    row = packed_offsets(nx, nu)
    oA, oB, olx, olu, olxx, oluu, olux = row.A, row.B, row.lx, row.lu, row.lxx, row.luu, row.lux
    hs = nx * nx + nu * nu + nu * nx  # one output component's block of HD[t]
    Vx = np.empty(nx)
    Vxx = np.empty((nx, nx))
    for i in range(nx):
        Vx[i] = OT[i]
        for j in range(nx):
            Vxx[i, j] = OT[nx + i * nx + j]
    Qx = np.empty(nx)
    Qu = np.empty(nu)
    Qxx = np.empty((nx, nx))
    Quu = np.empty((nu, nu))
    Qux = np.empty((nu, nx))
    Quu_r = np.empty((nu, nu))
    VA = np.empty((nx, nx))
    VB = np.empty((nx, nu))
    L = np.empty((nu, nu))
    idx = np.empty(nu, dtype=np.int64)
    dlo = np.empty(nu)
    dhi = np.empty(nu)
    du = np.empty(nu)
    free = np.empty(nu, dtype=np.bool_)
    W = np.empty((7, nu))
    rhs = np.empty(nu)
    sol = np.empty(nu)
    tmp = np.empty(nu)
    dV1 = 0.0
    dV2 = 0.0
    gsum = 0.0
    for t in range(T - 1, -1, -1):
        r = O[t]
        # VA = Vxx A, VB = Vxx B
        for i in range(nx):
            for j in range(nx):
                s = 0.0
                for m in range(nx):
                    s += Vxx[i, m] * r[oA + m * nx + j]
                VA[i, j] = s
            for j in range(nu):
                s = 0.0
                for m in range(nx):
                    s += Vxx[i, m] * r[oB + m * nu + j]
                VB[i, j] = s
        for i in range(nx):
            s = r[olx + i]
            for m in range(nx):
                s += r[oA + m * nx + i] * Vx[m]
            Qx[i] = s
            for j in range(i, nx):
                s = r[olxx + i * nx + j]
                for m in range(nx):
                    s += r[oA + m * nx + i] * VA[m, j]
                Qxx[i, j] = s
                Qxx[j, i] = s
        for a in range(nu):
            s = r[olu + a]
            for m in range(nx):
                s += r[oB + m * nu + a] * Vx[m]
            Qu[a] = s
            for b in range(a, nu):
                s = r[oluu + a * nu + b]
                for m in range(nx):
                    s += r[oB + m * nu + a] * VB[m, b]
                Quu[a, b] = s
                Quu[b, a] = s
            for j in range(nx):
                s = r[olux + a * nx + j]
                for m in range(nx):
                    s += r[oB + m * nu + a] * VA[m, j]
                Qux[a, j] = s
        if use_hessians:
            h = HD[t]
            for m in range(nx):
                v = Vx[m]
                base = m * hs
                for i in range(nx):
                    for j in range(nx):
                        Qxx[i, j] += v * h[base + i * nx + j]
                for a in range(nu):
                    for b in range(nu):
                        Quu[a, b] += v * h[base + nx * nx + a * nu + b]
                    for j in range(nx):
                        Qux[a, j] += v * h[base + nx * nx + nu * nu + a * nx + j]
        for a in range(nu):
            for b in range(nu):
                Quu_r[a, b] = 0.5 * (Quu[a, b] + Quu[b, a])
            Quu_r[a, a] += mu
        # controls: box QP (box-DDP) or plain Newton step
        nf = np.int64(0)  # not a literal: one compiled signature of cholesky and cholesky_solve
        if bounded:
            for a in range(nu):
                dlo[a] = lo[a] - U[t, a]
                dhi[a] = hi[a] - U[t, a]
            code = box_qp(Quu_r, Qu, dlo, dhi, k_prev[t], du, free, L, W)
            if code == -1:
                return t, 0.0, 0.0, math.inf
            for a in range(nu):
                k[t, a] = du[a]
                if free[a]:
                    idx[nf] = a
                    nf += 1
        else:
            for a in range(nu):
                idx[a] = a
                free[a] = True
            nf = nu
            if not cholesky(Quu_r, idx, nu, L):
                return t, 0.0, 0.0, math.inf
            for a in range(nu):
                rhs[a] = Qu[a]
            cholesky_solve(L, nu, rhs, sol)
            for a in range(nu):
                k[t, a] = -sol[a]
        for a in range(nu):
            free_out[t, a] = free[a]
            for j in range(nx):
                K[t, a, j] = 0.0
        if nf > 0:
            for j in range(nx):
                for b in range(nf):
                    rhs[b] = Qux[idx[b], j]
                cholesky_solve(L, nf, rhs, sol)
                for b in range(nf):
                    K[t, idx[b], j] = -sol[b]
        # expected improvement and value function (Tassa 2012, eq. 11), with the unregularised Q_uu
        kt = k[t]
        gmax = 0.0
        for a in range(nu):
            gmax = max(gmax, abs(kt[a]) / (abs(U[t, a]) + 1.0))
        gsum += gmax
        for a in range(nu):
            s = 0.0
            for b in range(nu):
                s += Quu[a, b] * kt[b]
            tmp[a] = s  # Quu k
        for a in range(nu):
            dV1 += kt[a] * Qu[a]
            dV2 += 0.5 * kt[a] * tmp[a]
        Kt = K[t]
        for i in range(nx):
            s = Qx[i]
            for a in range(nu):
                s += Kt[a, i] * (tmp[a] + Qu[a]) + Qux[a, i] * kt[a]
            Vx[i] = s
        for i in range(nx):
            for j in range(i, nx):
                s = Qxx[i, j]
                for a in range(nu):
                    qk = 0.0
                    for b in range(nu):
                        qk += Quu[a, b] * Kt[b, j]
                    s += Kt[a, i] * qk + Kt[a, i] * Qux[a, j] + Qux[a, i] * Kt[a, j]
                Vxx[i, j] = s
        for i in range(nx):
            for j in range(i):
                Vxx[i, j] = Vxx[j, i]
    return -1, dV1, dV2, gsum / T


@jit
def rollout_linear_policy(A, B, c, x0, K, k, x_ref, u_ref, X, U):
    """Roll ``u_t = K_t (x_t - x_ref_t) + k_t + u_ref_t`` through ``x_{t+1} = A_t x_t + B_t u_t + c_t``.

    ``A`` (T, nx, nx), ``B`` (T, nx, nu), ``c`` (T, nx); writes ``X`` (T + 1, nx) and ``U`` (T, nu).
    """
    T, nu, nx = K.shape
    for i in range(nx):
        X[0, i] = x0[i]
    for t in range(T):
        for a in range(nu):
            s = k[t, a] + u_ref[t, a]
            for j in range(nx):
                s += K[t, a, j] * (X[t, j] - x_ref[t, j])
            U[t, a] = s
        for i in range(nx):
            s = c[t, i]
            for j in range(nx):
                s += A[t, i, j] * X[t, j]
            for a in range(nu):
                s += B[t, i, a] * U[t, a]
            X[t + 1, i] = s
