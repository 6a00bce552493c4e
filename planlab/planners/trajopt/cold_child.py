"""The background child of :mod:`planlab.planners.trajopt.cold`: compile one model's iLQR kernels.

Called by :mod:`planlab.planners.sampling.compile_child` (the spec's ``entry``) in a child process
that dies with its parent; it rebuilds the parent's system and cost, with the read-only flags of
their parameter arrays, and calls every kernel once, so that numba compiles exactly the signatures
the parent will call into the on-disk cache.
"""

from __future__ import annotations

import base64
import pickle

import numpy as np

from . import riccati
from .cold import KERNELS, _arrays
from .ilqr import ILQR
from .layout import packed_layout

__all__ = ["compile_in_child", "compile_solvers"]


def compile_in_child(spec: dict) -> None:
    """Compile the kernels of the spec's model with the parent's argument types (run in the child).

    Raises
    ------
    RuntimeError
        If a kernel was left uncompiled.
    """
    dynamics, cost = pickle.loads(base64.b64decode(spec["model"]))
    for arr, ro in zip(_arrays(dynamics, cost), spec["readonly"]):
        if isinstance(arr, np.ndarray) and ro:
            arr.setflags(write=False)
    planner = ILQR(dynamics, cost, horizon=3, max_iterations=2, ddp=bool(spec["ddp"]), background_compile=False)
    m = planner.model
    if m.method != "casadi" or not hasattr(m, "kernels"):
        raise RuntimeError(f"compile_in_child: expected casadi kernels, got {m.method!r} derivatives")
    planner.warmup()
    T, nx, nu = 3, m.nx, m.nu
    X, U = np.zeros((T + 1, nx)), np.zeros((T, nu))
    m.rollout(np.zeros(nx), U)
    O, OT = np.empty((T, m.n_packed)), np.empty(nx + nx * nx)
    m.derivatives(X, U, O, OT)
    HD = np.zeros((1, 1))
    if spec["ddp"]:
        HD = np.empty((T, m.n_hess))
        m.dynamics_hessians(X, U, HD)
    K, k, free = np.zeros((T, nu, nx)), np.zeros((T, nu)), np.empty((T, nu), dtype=np.bool_)
    m.backward_pass(O, OT, HD, planner.ddp, U, planner._lo, planner._hi, planner.bounded, 1.0, k, K, k, free)
    m.line_search(np.zeros(nx), X, U, K, k, planner.alphas, 1.0, -1.0, 0.5, planner.z_min, X.copy(), U.copy())
    missing = [n for n in KERNELS if n != "dynamics_hessians" or spec["ddp"]
               if not (riccati.backward_pass if n == "backward_pass" else getattr(m.kernels, n)).signatures]
    if missing:
        raise RuntimeError(f"compile_in_child: kernels left uncompiled: {missing}")


def compile_solvers(spec: dict) -> None:
    """Compile the backward pass (and the box QP it calls) with the argument types iLQR passes."""
    T, nx, nu = 2, 2, 1
    n = packed_layout(nx, nu)["size"]
    O, OT = np.zeros((T, n)), np.zeros(nx + nx * nx)
    K, k, free = np.zeros((T, nu, nx)), np.zeros((T, nu)), np.empty((T, nu), dtype=np.bool_)
    U, lo, hi = np.zeros((T, nu)), np.full(nu, -1.0), np.full(nu, 1.0)
    riccati.backward_pass(O, OT, np.zeros((1, 1)), False, U, lo, hi, True, 1.0, k, K, k, free)
    if not riccati.backward_pass.signatures:
        raise RuntimeError("compile_solvers: the backward pass was left uncompiled")
