"""Compiled backward pass of iLQR / DDP / box-DDP and the box-constrained QP it solves at every step.

All functions are module-level ``numba.njit(cache=True)`` functions on float64 arrays with fixed
signatures, written with explicit loops: at 4-12 states BLAS calls cost more than the arithmetic
(and multi-threaded BLAS much more, see DESIGN.md).

Packed derivatives (see :func:`planlab.planners._codegen.packed_layout`): row ``O[t]`` holds
``A`` (nx, nx), ``B`` (nx, nu), ``l_x``, ``l_u``, ``l_xx``, ``l_uu``, ``l_ux`` (row-major); ``OT``
holds the terminal ``l_x`` and ``l_xx``; ``HD[t]`` (DDP only) holds for each output component ``i``
``f_xx^i`` (nx, nx), ``f_uu^i`` (nu, nu), ``f_ux^i`` (nu, nx).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["backward_pass", "box_qp", "rollout_linear_policy", "quadratic_cost_derivatives",
           "quadratic_terminal_derivatives"]

_jit = nb.njit(cache=True, nogil=True, error_model="numpy")


@_jit
def _cholesky(M, idx, n, L):
    """Cholesky factor ``L`` (lower, n x n) of ``M[idx][:, idx]``; False if not positive definite."""
    for i in range(n):
        for j in range(i + 1):
            s = M[idx[i], idx[j]]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            if i == j:
                if not s > 0.0:
                    return False
                L[i, i] = math.sqrt(s)
            else:
                L[i, j] = s / L[j, j]
    return True


@_jit
def _chol_solve(L, n, b, out):
    """Solve ``L L^T out = b`` (vectors of length n)."""
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * out[k]
        out[i] = s / L[i, i]
    for i in range(n - 1, -1, -1):
        s = out[i]
        for k in range(i + 1, n):
            s -= L[k, i] * out[k]
        out[i] = s / L[i, i]


@_jit
def box_qp(H, g, lower, upper, x0, x, free, L, W=None, max_iter=100, min_grad=1e-8, min_rel_improve=1e-8,
           step_dec=0.6, min_step=1e-22, armijo=0.1):
    """Projected-Newton solver of ``min 1/2 x'Hx + g'x  s.t. lower <= x <= upper`` (Tassa et al. 2014, Alg. 1).

    Parameters
    ----------
    H : (n, n) symmetric; g, lower, upper, x0 : (n,)
        ``x0`` is the warm start (clamped into the box).
    x : (n,) out
        The solution.
    free : (n,) bool out
        Free (not clamped) dimensions at the solution.
    L : (n, n) out
        Cholesky factor of ``H[free][:, free]`` (its leading ``n_free`` rows/columns).
    W : (7, n) workspace, optional

    Returns
    -------
    int
        Result code: 1 converged (small gradient or small improvement), 2 all dimensions clamped,
        0 iteration limit, -1 ``H`` not positive definite on the free set, -2 line search failed.
    """
    n = g.shape[0]
    if W is None:
        W = np.empty((7, n))
    grad = W[0]
    gc = W[1]
    rhs = W[2]
    sol = W[3]
    search = W[4]
    xc = W[5]
    if n == 1:
        # one control: the projected Newton iteration ends at the clamped Newton step
        if not H[0, 0] > 0.0:
            return -1
        v = min(max(-g[0] / H[0, 0], lower[0]), upper[0])
        x[0] = v
        gr = g[0] + H[0, 0] * v
        free[0] = not ((v == lower[0] and gr > 0.0) or (v == upper[0] and gr < 0.0))
        L[0, 0] = math.sqrt(H[0, 0])
        return 1 if free[0] else 2
    idx = np.empty(n, dtype=np.int64)
    for i in range(n):
        x[i] = min(max(x0[i], lower[i]), upper[i])
    value = 0.0
    for i in range(n):
        hx = 0.0
        for j in range(n):
            hx += H[i, j] * x[j]
        value += x[i] * (g[i] + 0.5 * hx)
    code = 0
    nf = 0
    factorised = False
    old_free = np.zeros(n, dtype=np.bool_)
    for it in range(max_iter):
        for i in range(n):
            s = g[i]
            for j in range(n):
                s += H[i, j] * x[j]
            grad[i] = s
        nf = 0
        changed = not factorised
        for i in range(n):
            clamped = (x[i] == lower[i] and grad[i] > 0.0) or (x[i] == upper[i] and grad[i] < 0.0)
            free[i] = not clamped
            if free[i] != old_free[i]:
                changed = True
            if free[i]:
                idx[nf] = i
                nf += 1
        if nf == 0:
            code = 2
            break
        if changed:
            if not _cholesky(H, idx, nf, L):
                return -1
            factorised = True
            for i in range(n):
                old_free[i] = free[i]
        gn = 0.0
        for a in range(nf):
            gn += grad[idx[a]] * grad[idx[a]]
        if math.sqrt(gn) < min_grad:
            code = 1
            break
        # Newton step on the free set with the clamped dimensions held: g_c = g + H[:, clamped] x_clamped
        for i in range(n):
            s = g[i]
            for j in range(n):
                if not free[j]:
                    s += H[i, j] * x[j]
            gc[i] = s
        for a in range(nf):
            rhs[a] = gc[idx[a]]
        _chol_solve(L, nf, rhs, sol)
        for i in range(n):
            search[i] = 0.0
        for a in range(nf):
            i = idx[a]
            search[i] = -sol[a] - x[i]
        sdotg = 0.0
        for i in range(n):
            sdotg += search[i] * grad[i]
        if sdotg >= 0.0:
            code = 1
            break
        step = 1.0
        vnew = value
        ok = False
        while step >= min_step:
            for i in range(n):
                xc[i] = min(max(x[i] + step * search[i], lower[i]), upper[i])
            vnew = 0.0
            for i in range(n):
                hx = 0.0
                for j in range(n):
                    hx += H[i, j] * xc[j]
                vnew += xc[i] * (g[i] + 0.5 * hx)
            if (vnew - value) / (step * sdotg) >= armijo:
                ok = True
                break
            step *= step_dec
        if not ok:
            code = -2
            break
        improve = value - vnew
        for i in range(n):
            x[i] = xc[i]
        value = vnew
        if improve < min_rel_improve * abs(value):
            code = 1
            break
    # final free set and factor at the returned point
    for i in range(n):
        s = g[i]
        for j in range(n):
            s += H[i, j] * x[j]
        grad[i] = s
    nf = 0
    for i in range(n):
        clamped = (x[i] == lower[i] and grad[i] > 0.0) or (x[i] == upper[i] and grad[i] < 0.0)
        free[i] = not clamped
        if free[i]:
            idx[nf] = i
            nf += 1
    if nf > 0 and not _cholesky(H, idx, nf, L):
        return -1
    return code


@_jit
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
    oA = 0
    oB = oA + nx * nx
    olx = oB + nx * nu
    olu = olx + nx
    olxx = olu + nu
    oluu = olxx + nx * nx
    olux = oluu + nu * nu
    hs = nx * nx + nu * nu + nu * nx
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
        nf = 0
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
            if not _cholesky(Quu_r, idx, nu, L):
                return t, 0.0, 0.0, math.inf
            for a in range(nu):
                rhs[a] = Qu[a]
            _chol_solve(L, nu, rhs, sol)
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
                _chol_solve(L, nf, rhs, sol)
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


@_jit
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


# ---------------------------------------------------------------------------------------------
# QuadraticCost derivatives from its parameter vector (layout in planlab.core.cost:
# [Q (nx*nx) | R (nu*nu) | Qf (nx*nx) | x_goal | u_goal | wrap (nx) | dense | nu]); the error of a
# wrapped component is wrap(x_i - g_i), whose derivative is 1 (away from the cut at pi).
# ---------------------------------------------------------------------------------------------
_TWO_PI = 2.0 * math.pi


@_jit
def _wrapped_error(x, cp, oxg, ow, i):
    e = x[i] - cp[oxg + i]
    if cp[ow + i] != 0.0:
        e = e - _TWO_PI * math.floor((e + math.pi) / _TWO_PI)
    return e


@_jit
def quadratic_cost_derivatives(x, u, cp, o):
    """Write ``l_x``, ``l_u``, ``l_xx``, ``l_uu``, ``l_ux`` of a QuadraticCost into a packed row ``o``."""
    nx = x.shape[0]
    nu = u.shape[0]
    o_r = nx * nx
    oxg = o_r + nu * nu + nx * nx
    oug = oxg + nx
    ow = oug + nu
    olx = nx * nx + nx * nu
    olu = olx + nx
    olxx = olu + nu
    oluu = olxx + nx * nx
    olux = oluu + nu * nu
    for i in range(nx):
        s = 0.0
        for j in range(nx):
            q = cp[i * nx + j]
            o[olxx + i * nx + j] = q
            if q != 0.0:
                s += q * _wrapped_error(x, cp, oxg, ow, j)
        o[olx + i] = s
    for a in range(nu):
        s = 0.0
        for b in range(nu):
            r = cp[o_r + a * nu + b]
            o[oluu + a * nu + b] = r
            s += r * (u[b] - cp[oug + b])
        o[olu + a] = s
        for j in range(nx):
            o[olux + a * nx + j] = 0.0


@_jit
def quadratic_terminal_derivatives(x, cp, o):
    """Write the terminal gradient (nx,) and Hessian (nx*nx,) of a QuadraticCost into ``o``."""
    nx = x.shape[0]
    nu = int(cp[cp.shape[0] - 1])
    oqf = nx * nx + nu * nu
    oxg = oqf + nx * nx
    ow = oxg + nx + nu
    for i in range(nx):
        s = 0.0
        for j in range(nx):
            q = cp[oqf + i * nx + j]
            o[nx + i * nx + j] = q
            if q != 0.0:
                s += q * _wrapped_error(x, cp, oxg, ow, j)
        o[i] = s
