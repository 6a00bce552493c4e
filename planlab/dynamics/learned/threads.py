"""The torch thread setting of learned models (one process-wide choice, applied once)."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["torch_threads"]


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Use ``n`` torch intra-op threads from here on (None: leave torch's setting alone).

    torch has one process-wide setting, and switching it back and forth around every call was
    measured to be ruinous here: after a switch, OpenMP/MKL worker threads of the other pool size
    keep spinning and a 17 ms rollout took 200-1400 ms of CPU inside a CEM loop. So the setting is
    applied once and *not* restored -- ideally before the process's first torch operation
    (``LearnedDynamics`` applies its ``threads`` in its constructor): even a single switch from
    two threads to one after torch had run left a spinning worker (an MPC episode used 10x the
    CPU time). On this 2-core, shared machine two threads also made
    small-batch training ~10x slower than one, so planlab's learned models default to one thread;
    measure before choosing two (``python -m planlab.benchmarks.mbrl --threads 1 2``).
    """
    if n is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    yield
