"""Sampled rollout kernels: the costs of N sequences ``clip(mean + std * eps_i)``, the actions formed in the loop.

The sampling planners (CEM, iCEM, MPPI) evaluate candidate action sequences
``U_i = clip(mean + std * eps_i, low, high)`` with standard noise ``eps`` (N, H, nu). These kernels
form each action inside the rollout loop and sum the cost there, so the candidates are never
materialised as an (N, H, nu) array unless asked for. Written as plain code over four model
functions imported on the marked line below; planlab compiles a copy per (system, cost) pair with
that line importing the system's and the cost's own sources
(:func:`planlab.dynamics.compiled.specialise`, via
:class:`~planlab.planners.sampling.evaluator.SequenceEvaluator`).

Lockstep lanes. Full blocks of :data:`LANES` sequences advance together, one time step at a time
(the remainder one by one): the lanes are independent dependency chains that the CPU overlaps, and
each lane has its own small state arrays, so the compiler sees no aliasing between them. Measured
on Pendulum-v1, 30k env-steps: 1 lane 0.86 ms, 2 and 4 lanes 0.56 ms, 8 lanes 0.66 ms; two lanes
compile in about 70% of the time of four (numba's compile time grows with the body).

Variants. Three choices are fixed at compile time, so the compiler drops the branches not taken:
the noise comes as an explicit array ``E`` (N, H, nu) or as 32-bit ``words`` turned into normals by
the ziggurat (:func:`planlab.planners.sampling.ziggurat.normal_at`; entry ``(i, t, q)`` is word
``base + (i * H + t) * nu + q``); the actions are also written into ``W`` (N, H, nu) or not; they
are rounded to integers (discrete models) or not. Each of the eight variants is a small public
function that calls the shared body :func:`_sampled_costs` with constant flags; numba inlines the
body and its action helper into each variant (``inline="always"``), so the flags are compile-time
constants there. The lane helpers :func:`_start` and :func:`_advance` are left to LLVM's inliner
(inlining them in numba measured 1.5-2x slower). :data:`VARIANTS` names the variants.

Every variant has the signature ``(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W)``:
``x0`` (nx,), ``mean`` and ``std`` (H, nu), ``E`` (N, H, nu) or unused, ``words`` (n_words,) uint32
or unused, ``key`` uint64, ``base`` int, ``lo`` and ``hi`` (nu,), ``p`` the system's parameter
vector, ``cp`` the cost's, ``out`` (N,) the costs (written), ``W`` (N, H, nu) the actions (written by
the ``*_actions*`` variants, otherwise unused). Termination follows the
:class:`~planlab.core.Dynamics` contract: no running cost after the transition into a terminal
state, which is held to the end; the terminal cost is charged on the last state.
"""

from __future__ import annotations

import numpy as np

from planlab.dynamics.compiled.jit import jit, jit_inline, jit_source
from planlab.dynamics.compiled.placeholder import dynamics as _dyn_py, terminated as _term_py, running as _run_py, terminal as _fin_py  # noqa: E501  # planlab: sources
from planlab.planners.sampling.ziggurat import normal_at as _normal_at

__all__ = ["LANES", "VARIANTS", "costs_words", "costs_words_rounded", "costs_words_actions",
           "costs_words_actions_rounded", "costs_array", "costs_array_rounded", "costs_array_actions",
           "costs_array_actions_rounded"]

#: Sequences advanced in lockstep.
LANES = 2

_dyn = jit_source(_dyn_py)
_term = jit_source(_term_py)
_run = jit_source(_run_py)
_fin = jit_source(_fin_py)


@jit_inline
def _action(i, t, q, H, nu, m, sd, lo_q, hi_q, E, words, key, base, W, explicit, write, rnd):
    """Action ``(t, q)`` of sequence ``i``: ``clip(m + sd * eps[i, t, q], lo_q, hi_q)``, rounded if ``rnd``."""
    if explicit:
        e = E[i, t, q]
    else:
        pos = base + (i * H + t) * nu + q
        e = _normal_at(np.int64(words[pos]), key, pos)
    v = min(max(m + sd * e, lo_q), hi_q)
    if rnd:
        v = np.rint(v)
    if write:
        W[i, t, q] = v
    return v


@jit
def _start(x0, x, p):
    """Copy ``x0`` into the lane state ``x``; whether it is alive (not terminal)."""
    for k in range(x0.shape[0]):
        x[k] = x0[k]
    return not _term(x, p)


@jit
def _advance(x, xn, p):
    """Move the lane to its next state ``xn``; whether it is still alive."""
    for k in range(x.shape[0]):
        x[k] = xn[k]
    return not _term(x, p)


@jit_inline
def _sampled_costs(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W, explicit, write, rnd):
    """The body of every variant; ``explicit``, ``write`` and ``rnd`` are constants at each call site."""
    n = out.shape[0]
    H = mean.shape[0]
    nu = mean.shape[1]
    nx = x0.shape[0]
    x_0, xn_0, u_0 = np.empty(nx), np.empty(nx), np.empty(nu)  # lane 0 (also the remainder)
    x_1, xn_1, u_1 = np.empty(nx), np.empty(nx), np.empty(nu)
    full = n - n % LANES
    for s in range(0, full, LANES):  # LANES = 2 sequences s, s + 1 in lockstep
        alive_0 = _start(x0, x_0, p)
        alive_1 = _start(x0, x_1, p)
        c_0 = c_1 = 0.0
        for t in range(H):
            for q in range(nu):
                m, sd, lo_q, hi_q = mean[t, q], std[t, q], lo[q], hi[q]
                u_0[q] = _action(s, t, q, H, nu, m, sd, lo_q, hi_q, E, words, key, base, W, explicit, write, rnd)
                u_1[q] = _action(s + 1, t, q, H, nu, m, sd, lo_q, hi_q, E, words, key, base, W, explicit, write, rnd)
            if alive_0:
                _dyn(x_0, u_0, p, xn_0)
            if alive_1:
                _dyn(x_1, u_1, p, xn_1)
            if alive_0:
                c_0 += _run(x_0, u_0, xn_0, cp)
            if alive_1:
                c_1 += _run(x_1, u_1, xn_1, cp)
            if alive_0:
                alive_0 = _advance(x_0, xn_0, p)
            if alive_1:
                alive_1 = _advance(x_1, xn_1, p)
        out[s] = c_0 + _fin(x_0, cp)
        out[s + 1] = c_1 + _fin(x_1, cp)
    for s in range(full, n):  # the remainder, one by one
        alive_0 = _start(x0, x_0, p)
        c_0 = 0.0
        for t in range(H):
            for q in range(nu):
                m, sd, lo_q, hi_q = mean[t, q], std[t, q], lo[q], hi[q]
                u_0[q] = _action(s, t, q, H, nu, m, sd, lo_q, hi_q, E, words, key, base, W, explicit, write, rnd)
            if alive_0:
                _dyn(x_0, u_0, p, xn_0)
                c_0 += _run(x_0, u_0, xn_0, cp)
                alive_0 = _advance(x_0, xn_0, p)
        out[s] = c_0 + _fin(x_0, cp)


# The eight variants: (noise from words or an explicit array) x (actions written or not) x (rounded or not).
@jit
def costs_words(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W):
    """Costs; noise from ``words``."""
    _sampled_costs(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W, False, False, False)


@jit
def costs_words_rounded(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W):
    """Costs; noise from ``words``; actions rounded."""
    _sampled_costs(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W, False, False, True)


@jit
def costs_words_actions(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W):
    """Costs and actions ``W``; noise from ``words``."""
    _sampled_costs(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W, False, True, False)


@jit
def costs_words_actions_rounded(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W):
    """Costs and actions ``W``; noise from ``words``; actions rounded."""
    _sampled_costs(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W, False, True, True)


@jit
def costs_array(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W):
    """Costs; noise from the array ``E``."""
    _sampled_costs(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W, True, False, False)


@jit
def costs_array_rounded(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W):
    """Costs; noise from the array ``E``; actions rounded."""
    _sampled_costs(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W, True, False, True)


@jit
def costs_array_actions(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W):
    """Costs and actions ``W``; noise from the array ``E``."""
    _sampled_costs(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W, True, True, False)


@jit
def costs_array_actions_rounded(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W):
    """Costs and actions ``W``; noise from the array ``E``; actions rounded."""
    _sampled_costs(x0, mean, std, E, words, key, base, lo, hi, p, cp, out, W, True, True, True)


#: (explicit noise array, write actions, round actions) -> name of the variant in this module.
VARIANTS = {
    (False, False, False): "costs_words",
    (False, False, True): "costs_words_rounded",
    (False, True, False): "costs_words_actions",
    (False, True, True): "costs_words_actions_rounded",
    (True, False, False): "costs_array",
    (True, False, True): "costs_array_rounded",
    (True, True, False): "costs_array_actions",
    (True, True, True): "costs_array_actions_rounded",
}
