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

import sys
import threading
from pathlib import Path

import numba as nb
import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic

from planlab.dynamics.compiled.jit import JIT_OPTIONS, jit, jit_parallel, jit_source
from planlab.dynamics.compiled.loader import load_module
from planlab.dynamics.compiled.placeholder import dynamics as _dyn_py, terminated as _term_py, running as _run_py, terminal as _fin_py  # noqa: E501  # planlab: sources

__all__ = ["rollout_cost", "rollout_cost_kernel", "rollout_cost_parallel", "rollout_states", "sized", "MAX_SIZED_STATE"]

_dyn = jit_source(_dyn_py)
_term = jit_source(_term_py)
_run = jit_source(_run_py)
_fin = jit_source(_fin_py)
# The running cost copied into the loop of rollout_cost_kernel at numba-IR level: no call boundary,
# so with a fixed state size LLVM keeps the state in registers (a call taking the state escapes it).
_run_inline = nb.njit(**JIT_OPTIONS, inline="always")(_run_py)

#: Largest state dimension whose scratch states live on the stack (:func:`sized`).
MAX_SIZED_STATE = 16
_NX = 0  # planlab: state size (0 = any: the scratch states are heap arrays of x0s.shape[1])
_SIZE_MARK = "# planlab: state size"


@intrinsic
def _stack_state(typingctx):
    """Pointer to ``MAX_SIZED_STATE`` float64 on the calling function's stack (its entry block)."""

    def codegen(context, builder, sig, args):
        return cgutils.alloca_once(builder, context.get_value_type(types.float64), size=MAX_SIZED_STATE)

    return types.CPointer(types.float64)(), codegen


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
def rollout_cost_kernel(x0s, U, p, cp, out):
    """Total costs ``out`` (N,) of the sequences ``U`` (N, H, nu) from ``x0s`` (1 or N, nx).

    In a copy made by :func:`sized` the state dimension ``_NX`` is a compile-time constant and the
    two scratch states live on this function's stack: LLVM then unrolls the loops over the state,
    keeps the state in registers and hoists the parameter reads out of the time loop (a heap
    array may alias ``p``; a stack buffer cannot). The same arithmetic in the same order as
    :func:`_sequence_cost`, so the same numbers to the bit.
    """
    n = U.shape[0]
    shared = x0s.shape[0] == 1
    if _NX > 0:
        nx = _NX
        x = nb.carray(_stack_state(), _NX)
        xn = nb.carray(_stack_state(), _NX)
    else:
        nx = x0s.shape[1]
        x = np.empty(nx)
        xn = np.empty(nx)
    for i in range(n):
        j = 0 if shared else i
        for k in range(nx):
            x[k] = x0s[j, k]
        if _term(x, p):
            out[i] = _fin(x, cp)
            continue
        c = 0.0
        for t in range(U.shape[1]):
            u = U[i, t]
            _dyn(x, u, p, xn)
            c += _run_inline(x, u, xn, cp)
            for k in range(nx):
                x[k] = xn[k]
            if _term(x, p):
                break
        out[i] = c + _fin(x, cp)


_sized_lock = threading.Lock()
_sized: dict = {}


def sized(nx: int):
    """This kernel module with its state dimension fixed to ``nx`` (a copy written and imported once).

    Only a specialised module (a copy in the kernel cache, not the template) gets sized copies, for
    ``1 <= nx <= MAX_SIZED_STATE``; otherwise this module itself (heap scratch states, any ``nx``).
    The copy differs from this module in the one line marked ``# planlab: state size``.
    """
    nx = int(nx)
    this = sys.modules[__name__]
    if _NX > 0 or "." in __name__ or not 1 <= nx <= MAX_SIZED_STATE:
        return this
    with _sized_lock:
        mod = _sized.get(nx)
        if mod is None:
            lines = Path(this.__file__).read_text().splitlines()
            marked = [i for i, line in enumerate(lines) if line.startswith("_NX = 0  " + _SIZE_MARK)]
            if len(marked) != 1:
                raise RuntimeError(f"{__name__}: expected one line starting '_NX = 0  {_SIZE_MARK}', got {len(marked)}")
            lines[marked[0]] = f"_NX = {nx}  {_SIZE_MARK} (fixed by sized())"
            mod = _sized[nx] = load_module(f"{__name__}_nx{nx}", "\n".join(lines) + "\n")
        return mod


def rollout_cost(x0s, U, p, cp, out):
    """Total costs ``out`` (N,) of the sequences ``U`` (N, H, nu) from ``x0s`` (1 or N, nx): the
    :func:`rollout_cost_kernel` of :func:`sized` ``(x0s.shape[1])``."""
    sized(x0s.shape[1]).rollout_cost_kernel(x0s, U, p, cp, out)


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
