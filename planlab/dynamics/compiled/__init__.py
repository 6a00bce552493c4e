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

from . import rollout as _rollout
from .loader import SOURCES_MARK, cache_dir, load_module, numba_enabled, source_name, source_text, specialise

__all__ = ["rollout_kernels", "model_sources", "specialise", "load_module", "numba_enabled", "cache_dir",
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
