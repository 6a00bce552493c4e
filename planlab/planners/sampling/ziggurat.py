r"""Standard normals from 32-bit random words: a 256-layer ziggurat (Marsaglia & Tsang, 2000).

Why: numpy's ``standard_normal`` costs ~9 ns a draw on the benchmark machine, a third of a
Pendulum env-step, while raw 64-bit words from the same ``numpy.random.Generator``
(``bit_generator.random_raw``) cost ~2 ns per two 32-bit words. The sampling planners therefore
draw raw words with numpy and turn each into a normal *inside* the sampled rollout kernel
(:mod:`planlab.planners.sampling.kernel`), where the few integer operations of the ziggurat's fast path
overlap with the rollout's floating-point latency.

The variate at flat position ``k`` of a plan's noise is a function of the word ``words[k]``, a
per-plan 64-bit ``key`` and ``k`` only:

* fast path (about 99% of draws): 8 bits pick a layer ``i``, 1 bit the sign and 23 bits a
  magnitude ``m``; if ``m < k_i`` the variate is ``+-m w_i`` (23-bit resolution, as numpy's own
  float32 normals);
* otherwise the wedge or tail test (exact rejection, Marsaglia & Tsang) needs more uniforms,
  taken from a counter-based generator ``splitmix64(key + (k * 256 + attempt) * golden)``.

Because nothing depends on the order in which positions are evaluated, the fused kernel (which
advances several sequences in lockstep), the elite reconstruction and the numpy fallback all give
the same numbers. Tests compare the distribution with scipy's normal (Kolmogorov-Smirnov, moments).

Layers: ``x_1 = r``, ``x_{i+1} = sqrt(-2 log(v / x_i + f(x_i)))`` with ``f(x) = exp(-x^2/2)``,
``x_256 = 0``, and the base layer's virtual width ``x_0 = v / f(r)`` (base rectangle plus tail);
``r = 3.6541528853610088`` and ``v = 0.00492867323399`` make 256 layers of equal area ``v``.
"""

from __future__ import annotations

import math

import numpy as np

from ...dynamics.compiled.jit import jit as _numba_jit
from ...dynamics.compiled.loader import numba_enabled

#: ``PLANLAB_DISABLE_NUMBA`` set when planlab is imported: these functions stay plain Python (the
#: fallback of a machine where numba cannot compile must not compile anything).
jit = _numba_jit if numba_enabled() else (lambda fn: fn)

__all__ = ["ZIG_R", "ZIG_V", "ziggurat_tables", "normal_at", "fill_normals", "fill_affine_rows", "normals"]

ZIG_R = 3.6541528853610088
ZIG_V = 0.00492867323399
_LAYERS = 256
_MANT = 23


def ziggurat_tables():
    """``(x, k, w, f)``: layer edges x (257,), fast-path thresholds k (256,), scales w (256,), f(x) (257,)."""
    x = np.empty(_LAYERS + 1)
    x[0] = ZIG_V / math.exp(-0.5 * ZIG_R * ZIG_R)
    x[1] = ZIG_R
    for i in range(2, _LAYERS):
        x[i] = math.sqrt(-2.0 * math.log(ZIG_V / x[i - 1] + math.exp(-0.5 * x[i - 1] ** 2)))
    x[_LAYERS] = 0.0
    scale = float(1 << _MANT)
    k = np.floor(x[1:] / x[:-1] * scale).astype(np.int64)
    w = x[:-1] / scale
    f = np.exp(-0.5 * x * x)
    return x, k, w, f


_X, _K, _W, _F = ziggurat_tables()
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S8 = np.uint64(8)
_MASK32 = np.uint64(0xFFFFFFFF)


@jit
def _mix(key, pos, attempt):
    """splitmix64 of ``key + (pos * 256 + attempt) * golden`` (uint64 arithmetic, wrapping)."""
    z = key + ((np.uint64(pos) << _S8) + np.uint64(attempt)) * _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def _uniform(key, pos, attempt):
    """A uniform in (0, 1) from :func:`_mix`."""
    return (float(_mix(key, pos, attempt) >> _S11) + 0.5) * (1.0 / 9007199254740992.0)


@jit
def _slow(word, key, pos):
    a = np.int64(0)  # not a literal: one compiled signature of _uniform and _mix
    while True:
        idx = word & 255
        neg = (word >> 8) & 1
        m = word >> 9
        if m < _K[idx]:
            z = m * _W[idx]
            return -z if neg else z
        if idx == 0:  # tail beyond r (Marsaglia's method)
            while True:
                xx = -math.log(_uniform(key, pos, a)) / ZIG_R
                yy = -math.log(_uniform(key, pos, a + 1))
                a += 2
                if yy + yy >= xx * xx:
                    break
            z = ZIG_R + xx
            return -z if neg else z
        z = m * _W[idx]
        u = _uniform(key, pos, a)
        a += 1
        if _F[idx] + u * (_F[idx + 1] - _F[idx]) < math.exp(-0.5 * z * z):
            return -z if neg else z
        word = np.int64(_mix(key, pos, a) & _MASK32)  # rejected: a fresh word
        a += 1


@jit
def normal_at(word, key, pos):
    """The standard normal at flat position ``pos`` from its 32-bit ``word`` (int64) and the plan's ``key`` (uint64)."""
    idx = word & 255
    m = word >> 9
    if m < _K[idx]:
        z = m * _W[idx]
        return -z if (word >> 8) & 1 else z
    return _slow(word, key, pos)


@jit
def fill_normals(words, key, positions, out):
    """``out[j] = normal_at(words[positions[j]], key, positions[j])`` for every j."""
    for j in range(positions.shape[0]):
        k = positions[j]
        out[j] = normal_at(np.int64(words[k]), key, k)


def normals(words: np.ndarray, key, positions: np.ndarray | None = None) -> np.ndarray:
    """Standard normals for ``positions`` (default: all) of ``words`` (uint32 (n,)); float64."""
    if positions is None:
        positions = np.arange(words.shape[0], dtype=np.int64)
    positions = np.ascontiguousarray(positions, dtype=np.int64)
    out = np.empty(positions.shape[0])
    fill_normals(words, np.uint64(key), positions, out)
    return out


@jit
def fill_affine_rows(words, key, base, rows, mean, std, lo, hi, rnd, out):
    """``out[r] = clip(mean + std * eps_{rows[r]})`` (rounded when ``rnd``), the sampled kernels' actions.

    ``eps_i[t, q]`` is the normal at position ``base + (i * H + t) * nu + q``; ``out`` (R, H, nu).
    """
    H = mean.shape[0]
    nu = mean.shape[1]
    for r in range(rows.shape[0]):
        i = rows[r]
        for t in range(H):
            for q in range(nu):
                pos = base + (i * H + t) * nu + q
                e = normal_at(np.int64(words[pos]), key, pos)
                v = min(max(mean[t, q] + std[t, q] * e, lo[q]), hi[q])
                if rnd:
                    v = np.rint(v)
                out[r, t, q] = v


# ---------------------------------------------------------------------------------------------
# The same functions without numba (used while the compiled ones are not ready, see
# planlab.planners.sampling.background): the fast path vectorised with numpy (the same integer
# operations and the same one float multiplication), the rare slow path through the very code
# above, interpreted.
def _interpreted_slow():
    import types

    glb = dict(globals())
    for name in ("_mix", "_uniform", "_slow"):  # plain copies calling each other, never a dispatcher
        fn = getattr(glb[name], "py_func", glb[name])
        glb[name] = types.FunctionType(fn.__code__, glb, fn.__name__)
    return glb["_slow"]


_SLOW_PY = _interpreted_slow()


def normals_numpy(words: np.ndarray, key, positions: np.ndarray) -> np.ndarray:
    """:func:`normal_at` of ``words[positions]`` for every position, without numba; float64 (len(positions),).

    Bitwise equal to :func:`fill_normals` (same operations per entry, no reassociation).
    """
    positions = np.asarray(positions, dtype=np.int64).reshape(-1)
    w = words[positions].astype(np.int64)
    idx = w & 255
    m = w >> 9
    z = m * _W[idx]
    z = np.where((w >> 8) & 1 == 1, -z, z)
    slow = np.flatnonzero(m >= _K[idx])
    if slow.size:
        key = np.uint64(key)
        with np.errstate(over="ignore"):
            for j in slow:
                z[j] = _SLOW_PY(np.int64(w[j]), key, np.int64(positions[j]))
    return z


def affine_rows_numpy(words, key, base, rows, mean, std, lo, hi, rnd) -> np.ndarray:
    """:func:`fill_affine_rows` without numba: ``clip(mean + std * eps_{rows[r]})`` (R, H, nu), bitwise equal."""
    H, nu = mean.shape
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    pos = (base + rows[:, None] * (H * nu) + np.arange(H * nu)[None, :]).reshape(-1)
    e = normals_numpy(words, key, pos).reshape(len(rows), H, nu)
    v = np.minimum(np.maximum(mean + std * e, lo), hi)
    if rnd:
        np.rint(v, out=v)
    return v
