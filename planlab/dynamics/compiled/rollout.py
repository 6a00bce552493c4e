"""Fused rollout kernels: N action sequences of H steps, the cost summed inside the same loop.

Written as plain code over four model functions imported on the marked line below; planlab compiles
a copy per (system, cost) pair with that line importing the system's and the cost's own sources
(:func:`planlab.dynamics.compiled.specialise`), so there is no Python in the inner loop.

Shapes: ``x0s`` (M, nx) with M = 1 (one start state shared by all sequences) or M = N; ``U``
(N, H, nu); ``p`` the system's parameter vector, ``cp`` the cost's. Termination follows the
:class:`~planlab.core.Dynamics` contract: no running cost after the transition into a terminal
state, which is held to the end; the terminal cost is charged on the last state.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from planlab.dynamics.compiled.jit import jit, jit_parallel, jit_source
from planlab.dynamics.compiled.placeholder import dynamics as _dyn_py, terminated as _term_py, running as _run_py, terminal as _fin_py  # noqa: E501  # planlab: sources

__all__ = ["rollout_cost", "rollout_cost_parallel", "rollout_states"]

_dyn = jit_source(_dyn_py)
_term = jit_source(_term_py)
_run = jit_source(_run_py)
_fin = jit_source(_fin_py)


@jit
def _sequence_cost(x, xn, Ui, p, cp):
    """Total cost of one sequence ``Ui`` (H, nu) from ``x`` (nx,); ``x`` and ``xn`` are scratch.

    The next state is copied back into ``x`` (nx loads and stores) rather than the two arrays being
    swapped: rebinding array variables costs numba two reference-count updates per step (measured
    ~5% faster on the cart-pole).
    """
    if _term(x, p):
        return _fin(x, cp)
    c = 0.0
    nx = x.shape[0]
    for t in range(Ui.shape[0]):
        u = Ui[t]
        _dyn(x, u, p, xn)
        c += _run(x, u, xn, cp)
        for k in range(nx):
            x[k] = xn[k]
        if _term(x, p):
            break
    return c + _fin(x, cp)


@jit
def rollout_cost(x0s, U, p, cp, out):
    """Total costs ``out`` (N,) of the sequences ``U`` (N, H, nu) from ``x0s`` (1 or N, nx)."""
    n = U.shape[0]
    nx = x0s.shape[1]
    shared = x0s.shape[0] == 1
    x = np.empty(nx)
    xn = np.empty(nx)
    for i in range(n):
        j = 0 if shared else i
        for k in range(nx):
            x[k] = x0s[j, k]
        out[i] = _sequence_cost(x, xn, U[i], p, cp)


@jit_parallel
def rollout_cost_parallel(x0s, U, p, cp, out):
    """:func:`rollout_cost` over ``numba.prange`` (all threads; not always faster on 2 cores)."""
    n = U.shape[0]
    nx = x0s.shape[1]
    shared = x0s.shape[0] == 1
    nchunk = min(n, 8 * nb.get_num_threads())
    for c in nb.prange(nchunk):
        x = np.empty(nx)
        xn = np.empty(nx)
        for i in range(c, n, nchunk):
            j = 0 if shared else i
            for k in range(nx):
                x[k] = x0s[j, k]
            out[i] = _sequence_cost(x, xn, U[i], p, cp)


@jit
def rollout_states(x0s, U, p, cp, S, out, term):
    """Also the states ``S`` (N, H + 1, nx) and whether each trajectory terminated, ``term`` (N,)."""
    n, H = U.shape[0], U.shape[1]
    nx = x0s.shape[1]
    shared = x0s.shape[0] == 1
    xn = np.empty(nx)
    for i in range(n):
        j = 0 if shared else i
        for k in range(nx):
            S[i, 0, k] = x0s[j, k]
        alive = not _term(S[i, 0], p)
        c = 0.0
        for t in range(H):
            if alive:
                _dyn(S[i, t], U[i, t], p, xn)
                c += _run(S[i, t], U[i, t], xn, cp)
                for k in range(nx):
                    S[i, t + 1, k] = xn[k]
                alive = not _term(S[i, t + 1], p)
            else:
                for k in range(nx):
                    S[i, t + 1, k] = S[i, t, k]
        out[i] = c + _fin(S[i, H], cp)
        term[i] = not alive
