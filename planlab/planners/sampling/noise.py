r"""Standard noise of the sampling planners: raw random words, ziggurat normals, coloured noise.

The sampling planners perturb action sequences with standard normal noise ``eps`` of shape
(N, H, nu) drawn from their ``numpy.random.Generator``. numpy's ``standard_normal`` costs about
9 ns a draw on a 2-core benchmark machine (a third of a Pendulum env-step), and numba's scalar
normal sampling is slower still. So the planners draw *raw 32-bit words* instead (one call per plan
for all iterations, about 1 ns a word), and the sampled rollout kernel
(:mod:`planlab.planners.sampling.kernel`) turns each word into a standard normal with a ziggurat
(:mod:`planlab.planners.sampling.ziggurat`; Marsaglia & Tsang, 2000) where it uses it.
:class:`WordNoise` holds such words and materialises chosen rows (the elites) with the same
function, so both give identical numbers.

:func:`colored_noise` and :func:`draw_noise` with ``beta > 0`` give the ``1/f^beta`` noise of
iCEM (Pinneri et al., 2020) as arrays.
"""

from __future__ import annotations

import numpy as np

from ...dynamics.compiled import numba_enabled
from . import ziggurat

__all__ = ["WordNoise", "draw_words", "draw_noise", "colored_noise", "noise_rows", "defer_compiled_noise"]

#: Processes whose numba kernels compile in the background (planlab.planners.sampling.background) turn
#: words into normals with numpy until then: same numbers, nothing compiled in the foreground.
_deferred = {"count": 0}


def defer_compiled_noise(on: bool) -> None:
    """Count one more (``on``) or one fewer background compile for which the noise stays on numpy."""
    _deferred["count"] = max(0, _deferred["count"] + (1 if on else -1))


def _compiled_noise() -> bool:
    return numba_enabled() and _deferred["count"] == 0


def colored_noise(rng: np.random.Generator, beta: float, shape) -> np.ndarray:
    r"""Gaussian noise, unit variance per entry, with power spectrum ``~ 1/f^beta`` along the last axis.

    ``beta = 0`` is white noise; iCEM (Pinneri et al., 2020) uses ``beta`` of 2-4 so that
    consecutive actions are correlated. White noise ``w`` is filtered in the frequency domain,
    ``y = irfft(rfft(w) * f^{-beta/2})``, with the lowest frequency ``1/H`` standing in for 0; the
    filter is circulant, so each entry of ``y`` is Gaussian with variance
    ``mean_k |g_k|^2`` over the full spectrum, which is divided out exactly.

    Parameters
    ----------
    rng : numpy.random.Generator
    beta : float
        Spectral exponent (>= 0).
    shape : tuple of int
        Output shape; the last axis is time (length H).

    Returns
    -------
    ndarray, shape ``shape``
    """
    shape = tuple(int(s) for s in shape)
    w = rng.standard_normal(shape)
    if beta == 0 or shape[-1] < 2:
        return w
    return _color(w, beta)


class WordNoise:
    """Standard noise (N, H, nu) held as 32-bit random words, turned into normals where it is used.

    Entry ``(i, t, q)`` is the ziggurat normal (:func:`planlab.planners.sampling.ziggurat.normal_at`)
    of ``words[base + (i * H + t) * nu + q]``; the sampled rollout kernel computes it inside the
    rollout, and :meth:`take` / :meth:`array` / :meth:`actions` materialise chosen rows with the
    same function.

    Parameters
    ----------
    words : ndarray of uint32, shape (n_words,)
    key : int
        The plan's 64-bit key (randomness of the ziggurat's rare slow path).
    base : int
        Flat offset of entry (0, 0, 0) in ``words``.
    shape : tuple (N, H, nu)
    """

    def __init__(self, words: np.ndarray, key, base: int, shape):
        self.words = words
        self.key = np.uint64(key)
        self.base = int(base)
        self.shape = tuple(int(s) for s in shape)

    def __len__(self) -> int:
        return self.shape[0]

    def take(self, idx) -> np.ndarray:
        """The noise rows ``idx`` as an array (len(idx), H, nu)."""
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        _, H, nu = self.shape
        row = H * nu
        pos = (self.base + idx[:, None] * row + np.arange(row)[None, :]).reshape(-1)
        return _fill(self.words, self.key, pos).reshape(len(idx), H, nu)

    def array(self) -> np.ndarray:
        """All of the noise, (N, H, nu)."""
        return self.take(np.arange(self.shape[0]))

    def actions(self, idx, mean, std, lo, hi, rnd: bool) -> np.ndarray:
        """The actions ``clip(mean + std * eps_i)`` of rows ``idx`` (len(idx), H, nu), formed as the kernel does.

        ``mean``, ``std`` (H, nu); ``lo``, ``hi`` (nu,) the action box; ``rnd`` rounds to integers.
        """
        idx = np.ascontiguousarray(idx, dtype=np.int64).reshape(-1)
        out = np.empty((len(idx),) + tuple(mean.shape))
        args = (self.words, self.key, self.base, idx, np.ascontiguousarray(mean), np.ascontiguousarray(std), lo, hi,
                bool(rnd), out)
        if _compiled_noise():
            ziggurat.fill_affine_rows(*args)
        else:  # the same operations with numpy (numba disabled, or its kernels compiling in the background)
            out[...] = ziggurat.affine_rows_numpy(*args[:-1])
        return out


def _fill(words, key, positions):
    if not _compiled_noise():  # the same operations with numpy
        return ziggurat.normals_numpy(words, key, positions)
    out = np.empty(positions.shape[0])
    ziggurat.fill_normals(words, key, np.ascontiguousarray(positions, dtype=np.int64), out)
    return out


def draw_words(rng: np.random.Generator, count: int):
    """``count`` 32-bit words and a 64-bit key from ``rng``'s bit generator, in one call.

    Returns
    -------
    words : ndarray of uint32, shape (count,)
    key : numpy.uint64
    """
    raw = rng.bit_generator.random_raw((count + 1) // 2 + 1)
    key = np.uint64(raw[-1])
    return raw[:-1].view(np.uint32)[:count], key


def draw_noise(rng: np.random.Generator, sizes, horizon: int, nu: int, beta: float = 0.0):
    """Standard noise for several iterations, drawn in one call: a list of (N_k, H, nu) noises.

    Parameters
    ----------
    rng : numpy.random.Generator
    sizes : sequence of int
        Population ``N_k`` of each iteration.
    horizon, nu : int
        ``H`` and the action dimension.
    beta : float
        Exponent of the coloured noise along time (0: white).

    Returns
    -------
    list of WordNoise (``beta = 0``) or of ndarray (N_k, H, nu) (coloured, :func:`colored_noise`'s filter)
    """
    row = horizon * nu
    total = int(sum(sizes)) * row
    words, key = draw_words(rng, total)
    out, base = [], 0
    for n in sizes:
        out.append(WordNoise(words, key, base, (n, horizon, nu)))
        base += n * row
    if beta == 0 or horizon < 2:
        return out
    res = []
    for wn in out:  # filter the white normals along time
        w = wn.array().transpose(0, 2, 1)  # (N, nu, H)
        res.append(np.ascontiguousarray(_color(w, beta).transpose(0, 2, 1)))
    return res


def _color(w, beta):
    """``w`` (..., H) filtered to a ``1/f^beta`` spectrum along the last axis, unit variance per entry."""
    H = w.shape[-1]
    f = np.fft.rfftfreq(H)
    f[0] = 1.0 / H
    g = f ** (-0.5 * beta)
    mult = np.full(g.shape, 2.0)
    mult[0] = 1.0
    if H % 2 == 0:
        mult[-1] = 1.0
    var = float(np.sum(mult * g * g) / H)
    y = np.fft.irfft(np.fft.rfft(w, axis=-1) * g, n=H, axis=-1)
    y /= np.sqrt(var)
    return y


def noise_rows(noise, idx) -> np.ndarray:
    """Rows ``idx`` of a noise (ndarray (N, H, nu) or :class:`WordNoise`) as an array (len(idx), H, nu)."""
    if isinstance(noise, WordNoise):
        return noise.take(idx)
    return noise[idx]
