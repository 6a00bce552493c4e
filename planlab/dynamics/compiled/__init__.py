"""Compiled (numba) kernels of planlab's analytic models, and the machinery every compiled planner shares.

* :mod:`~planlab.dynamics.compiled.jit` — the one numba header (options, and the numba versions of
  :mod:`planlab.core.ops`);
* :mod:`~planlab.dynamics.compiled.loader` — :func:`specialise` copies a kernel module with its
  sources line importing one model's functions, writes it atomically into the kernel cache and
  imports it;
* :mod:`~planlab.dynamics.compiled.rollout` — the fused rollout + cost kernels;
  :func:`rollout_kernels` specialises them for a model.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import rollout as _rollout
from .loader import SOURCES_MARK, cache_dir, load_module, numba_enabled, source_name, source_text, specialise

__all__ = ["rollout_kernels", "model_sources", "check_sources", "specialise", "load_module", "numba_enabled", "cache_dir",
           "source_name", "source_text", "SOURCES_MARK"]


def model_sources(dynamics: Callable, termination: Callable, running: Callable, terminal: Callable) -> dict:
    """The ``alias -> function`` mapping of the four model sources, as kernel modules import them."""
    return {"_dyn_py": dynamics, "_term_py": termination, "_run_py": running, "_fin_py": terminal}


def rollout_kernels(dynamics: Callable, termination: Callable, running: Callable, terminal: Callable):
    """The :mod:`~planlab.dynamics.compiled.rollout` kernels specialised for these module-level sources.

    Raises
    ------
    ValueError
        If a source is not a module-level function (kernels import them by name).
    """
    return specialise(_rollout, model_sources(dynamics, termination, running, terminal), prefix="planlab_rollout")


def check_sources(dynamics: Callable, termination: Callable, running: Callable, terminal: Callable, nx: int, nu: int,
                  params: np.ndarray, cost_params: np.ndarray) -> None:
    """Compile the four model sources alone, with the argument types the kernels call them with.

    Cheap next to a kernel (the kernels then reuse these compiled sources, :func:`.jit.jit_source`),
    so callers can decide between the compiled and the numpy path without compiling kernels they
    may not need.

    Raises
    ------
    numba.core.errors.NumbaError
        If a source does not compile.
    TypeError
        If a cost source does not return a number, or the termination source neither a bool nor a number.
    """
    from numba import typeof
    from numba.core import types

    from .jit import jit_source

    x, u, xn = np.zeros(nx), np.zeros(nu), np.empty(nx)
    jit_source(dynamics)(x, u, params, xn)
    for name, fn, args, kinds in (("termination", termination, (x, params), (types.Boolean, types.Number)),
                                  ("running cost", running, (x, u, x, cost_params), (types.Number,)),
                                  ("terminal cost", terminal, (x, cost_params), (types.Number,))):
        disp = jit_source(fn)
        disp(*args)
        compiled = disp.overloads.get(tuple(typeof(a) for a in args))
        ret = compiled.signature.return_type if compiled is not None else None
        if ret is not None and not isinstance(ret, kinds):
            raise TypeError(f"{name} source {fn.__name__}: expected it to return a number, got {ret}")
