"""The one numba header of planlab's compiled kernels.

Every compiled module (the rollout kernels, the sampling planners' evaluator, the UCT search and the
trajectory-optimisation kernels) decorates its functions with these, so the options live in one
place:

``jit``
    ``cache=True`` (numba's on-disk cache), ``nogil=True`` (callers may run kernels in threads) and
    ``error_model="numpy"`` (a division by zero gives inf/NaN as on the numpy path instead of raising).
``jit_inline``
    ``jit`` plus ``inline="always"`` and no reference counting of array arguments (``_nrt=False``),
    for small helpers inside allocation-free loops (the UCT search).
``jit_parallel``
    ``jit`` over ``numba.prange`` (``parallel=True``); numba cannot cache prange kernels.
``jit_source``
    ``jit`` of a model's source function, one dispatcher per function and process: every kernel
    module specialised for a model (rollouts, sampled costs, trajectory optimisation) calls the same
    compiled source instead of compiling its own copy.

Importing this module also registers the numba implementations of :mod:`planlab.core.ops`
(:mod:`planlab.dynamics.compiled.overloads`), so a system's source compiles wherever the header is.
``fastmath`` stays off: it silently breaks the NaN checks the planners rely on.
"""

from __future__ import annotations

import threading

import numba

from . import overloads as _overloads  # noqa: F401  (registers the numba versions of planlab.core.ops)

__all__ = ["jit", "jit_inline", "jit_parallel", "jit_source", "JIT_OPTIONS"]

#: Options of every cached kernel function.
JIT_OPTIONS = dict(cache=True, nogil=True, error_model="numpy")

jit = numba.njit(**JIT_OPTIONS)
jit_inline = numba.njit(**JIT_OPTIONS, _nrt=False, inline="always")
jit_parallel = numba.njit(cache=False, nogil=True, parallel=True, error_model="numpy")

_sources: dict = {}
_sources_lock = threading.Lock()


def jit_source(fn):
    """The one ``jit`` dispatcher of the source function ``fn`` in this process (created on first use)."""
    with _sources_lock:
        disp = _sources.get(fn)
        if disp is None:
            disp = _sources[fn] = jit(fn)
        return disp
