"""Box-constrained quadratic programme of box-DDP, and the small dense Cholesky routines it shares.

``box_qp`` solves ``min 1/2 x'Hx + g'x  s.t. lower <= x <= upper`` by projected Newton (Tassa, Mansard
& Todorov 2014, Algorithm 1): Newton steps on the free dimensions with an Armijo line search along
the projected path. Compiled numba functions with explicit loops: at a handful of controls, BLAS
calls cost more than the arithmetic.
"""

from __future__ import annotations

import math

import numpy as np

from ...dynamics.compiled.jit import jit

__all__ = ["box_qp", "cholesky", "cholesky_solve"]


@jit
def cholesky(M, idx, n, L):
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


@jit
def cholesky_solve(L, n, b, out):
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


@jit
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
    nf = np.int64(0)  # not a literal: one compiled signature of cholesky and cholesky_solve
    factorised = False
    old_free = np.zeros(n, dtype=np.bool_)
    for it in range(max_iter):
        for i in range(n):
            s = g[i]
            for j in range(n):
                s += H[i, j] * x[j]
            grad[i] = s
        nf = np.int64(0)
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
            if not cholesky(H, idx, nf, L):
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
        cholesky_solve(L, nf, rhs, sol)
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
    nf = np.int64(0)
    for i in range(n):
        clamped = (x[i] == lower[i] and grad[i] > 0.0) or (x[i] == upper[i] and grad[i] < 0.0)
        free[i] = not clamped
        if free[i]:
            idx[nf] = i
            nf += 1
    if nf > 0 and not cholesky(H, idx, nf, L):
        return -1
    return code
