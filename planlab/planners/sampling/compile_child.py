"""The child process of :mod:`planlab.planners.sampling.background`: compile one model's kernels.

Run as ``python -m planlab.planners.sampling.compile_child`` with a JSON spec on standard input (see
:class:`~planlab.planners.sampling.background.BackgroundCompile`). It compiles, with the argument
types the parent will pass, the model's sources, the requested sampled-kernel variants, the rollout
kernel and the noise generator into the on-disk caches (or calls the spec's ``entry`` function,
which compiles another planner family's kernels), writes the ready marker and exits. It dies
with its parent and after ``background.CHILD_TIMEOUT`` seconds at most.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from ...dynamics.compiled import check_sources, rollout_kernels
from . import background, ziggurat
from . import kernel as _kernel_template
from .evaluator import sampling_kernels

__all__ = ["main"]


def _die_with_parent() -> None:
    parent = int(os.environ.get("PLANLAB_BACKGROUND_PARENT", os.getppid()))
    try:  # Linux: SIGKILL when the parent dies
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError, TypeError):  # not Linux: the watcher thread below does it
        pass

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(3)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:
        os._exit(3)


def _compile(spec: dict) -> None:
    fns = [getattr(importlib.import_module(m), n) for m, n in spec["sources"]]
    nx, nu = int(spec["nx"]), int(spec["nu"])
    p = np.asarray(spec["params"], dtype=np.float64)
    cp = np.asarray(spec["cost_params"], dtype=np.float64)
    lo = np.ascontiguousarray(spec["lo"], dtype=np.float64)
    hi = np.ascontiguousarray(spec["hi"], dtype=np.float64)
    for arr, ro in zip((p, cp, lo, hi), spec.get("readonly", (False,) * 4)):
        arr.flags.writeable = not ro  # numba types read-only arrays apart: compile what the parent passes
    with np.errstate(all="ignore"):
        check_sources(*fns, nx, nu, p, cp)
        kern = sampling_kernels(*fns)
        roll = rollout_kernels(*fns)
        x0, mean, std = np.zeros(nx), np.zeros((1, nu)), np.ones((1, nu))
        words, key = np.zeros(4 * nu, dtype=np.uint32), np.uint64(1)
        no3, out = np.empty((0, 1, 1)), np.empty(1)
        names = {tuple(f): n for f, n in _kernel_template.VARIANTS.items()}
        for flags in spec["variants"]:
            explicit, write, _ = flags
            E = np.zeros((1, 1, nu)) if explicit else no3
            W = np.empty((1, 1, nu)) if write else no3
            w = np.empty(0, dtype=np.uint32) if explicit else words
            getattr(kern, names[tuple(flags)])(x0, mean, std, E, w, key, 0, lo, hi, p, cp, out, W)
        roll.rollout_states(np.zeros((1, nx)), np.zeros((1, 1, nu)), p, cp, np.empty((1, 2, nx)), out,
                            np.empty(1, dtype=np.bool_))
        ziggurat.fill_affine_rows(words, key, 0, np.zeros(1, dtype=np.int64), mean, std, lo, hi, False,
                                  np.empty((1, 1, nu)))
        ziggurat.fill_normals(words, key, np.zeros(1, dtype=np.int64), np.empty(1))


def main() -> None:
    """Child entry point: read the spec (JSON) from stdin, compile, write the marker, exit."""
    _die_with_parent()
    if hasattr(signal, "alarm"):
        signal.alarm(int(background.CHILD_TIMEOUT))  # bounded: SIGALRM ends the process
    spec = json.loads(sys.stdin.read())
    os.environ[background.ENV_VAR] = "0"  # the child itself compiles in the foreground
    entry = spec.get("entry")
    if entry:  # "module:function": another planner family's compile (planlab.planners.trajopt.cold_child)
        mod, _, name = entry.partition(":")
        getattr(importlib.import_module(mod), name)(spec)
    else:
        _compile(spec)
    marker = Path(spec["marker"])
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("compiled\n")


if __name__ == "__main__":
    main()
