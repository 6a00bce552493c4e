"""Transition Jacobians of a :class:`~planlab.dynamics.mujoco.MujocoDynamics` from MuJoCo's ``mjd_transitionFD``.

MuJoCo differentiates one ``mj_step`` by (centred) finite differences in C, in the tangent space of
``(qpos, qvel, act)``. A planlab step is ``frame_skip`` MuJoCo steps with the control held, so the
per-sub-step Jacobians are chained along the simulated sub-steps:

.. math::

    A = A_k \\cdots A_1, \\qquad B = \\sum_{j=1}^{k} A_k \\cdots A_{j+1} B_j .

MuJoCo's ``mjd_transitionFD`` does not support the RK4 integrator; for RK4 models the Jacobians are
central (or forward) differences of planlab's step instead, all perturbations of all ``T`` points in
one threaded batched rollout. When the model's kinematic trees are independent
(:mod:`~planlab.dynamics.mujoco.trees`), one entry of each tree is perturbed in the same rollout.
"""

from __future__ import annotations

import numpy as np

from ...core.validation import as_float_array
from .trees import column_groups, tree_partition, tree_partition_allowed

__all__ = ["transition_jacobians", "nominal_next"]


def transition_jacobians(dyn, x, u, *, eps: float = 1e-6, centered: bool = True):
    """``(A, B)`` of ``dyn.step`` at ``(x, u)``; see :meth:`MujocoDynamics.jacobians` for shapes.

    ``centered``: central differences (else forward differences: about half the simulation)."""
    mj = dyn._mj
    m = dyn.model
    if dyn.nq != dyn.nv:
        raise NotImplementedError(f"jacobians: the model has quaternion joints (nq = {dyn.nq} != nv = {dyn.nv}); "
                                  "MuJoCo's Jacobians are in the tangent space and planlab's state holds qpos")
    x = as_float_array("x", x)
    u = as_float_array("u", u)
    single = x.ndim == 1
    X = np.atleast_2d(x)
    Uc = np.atleast_2d(u)
    if X.shape[-1] != dyn.state_dim or Uc.shape[-1] != dyn.action_dim or X.shape[0] != Uc.shape[0] or X.ndim != 2:
        raise ValueError(f"x, u: expected shapes (T, {dyn.state_dim}) and (T, {dyn.action_dim}), got {x.shape} and "
                         f"{u.shape}")
    T, nx, nu = X.shape[0], dyn.state_dim, dyn.action_dim
    if m.opt.integrator == mj.mjtIntegrator.mjINT_RK4:
        A, B = _rollout_differences(dyn, X, Uc, eps, centered)
        return (A[0], B[0]) if single else (A, B)
    A = np.empty((T, nx, nx))
    B = np.empty((T, nx, nu))
    Aj = np.empty((nx, nx))
    Bj = np.empty((nx, nu))
    d = dyn._scratch
    full = np.empty(dyn._nfull)
    for t in range(T):
        full[:] = dyn._template
        full[dyn._x_slice] = X[t]
        mj.mj_resetData(m, d)
        mj.mj_setState(m, d, full, dyn._spec)
        d.ctrl[:] = Uc[t]
        At = np.eye(nx)
        Bt = np.zeros((nx, nu))
        for _ in range(dyn.frame_skip):
            mj.mjd_transitionFD(m, d, eps, bool(centered), Aj, Bj, None, None)
            At = Aj @ At
            Bt = Aj @ Bt + Bj
            mj.mj_step(m, d)
        A[t], B[t] = At, Bt
    return (A[0], B[0]) if single else (A, B)


def _groups(dyn):
    """``(column trees (nx + nu,), row trees (nx,), groups)`` of the finite differences of ``dyn``
    (:mod:`.trees`; one column per group when grouping is off or the trees may be coupled)."""
    return _layout(dyn)[:3]


def _layout(dyn):
    """:func:`_groups` and, for them, the group of each column (n,), the perturbation pattern of each
    group (G, n) and the rows of each column's tree (n, nx); computed once per model and setting."""
    cached = getattr(dyn, "_fd_layouts", None)
    if cached is None:
        state, ctrl, why = tree_partition(dyn._mj, dyn.model)
        cols = np.concatenate([state, ctrl])
        cached = dyn._fd_layouts = {False: _pattern(np.zeros_like(cols), np.zeros_like(state),
                                                    [np.array([j]) for j in range(cols.size)])}
        cached[True] = cached[False] if why is not None else _pattern(cols, state, column_groups(cols))
    return cached[bool(dyn.grouped_jacobians) and tree_partition_allowed(dyn._mj)]


def _pattern(col_tree, row_tree, groups):
    n = col_tree.size
    of = np.empty(n, dtype=np.int64)
    D = np.zeros((len(groups), n))
    for g, cols in enumerate(groups):
        of[cols] = g
        D[g, cols] = 1.0
    own = (col_tree[:, None] == row_tree[None, :]).astype(np.float64)
    return col_tree, row_tree, groups, of, D, own


def _rollout_differences(dyn, X, U, eps, centered=True):
    """Central (forward) differences of ``dyn.step`` at (T, nx), (T, nu): one batched rollout of
    ``2 T G`` (``T (G + 1)``) steps, ``G`` column groups (:func:`_groups`: ``nx + nu`` ungrouped).

    Column ``j`` of group ``g`` is read off the rows of its own tree; the rows of other trees are 0
    (the trees are independent). Forward differences leave the nominal next states in
    ``dyn._fd_nominal`` (for :func:`nominal_next`)."""
    T, nx = X.shape
    nu = U.shape[1]
    n = nx + nu
    # of: the group of each column; D (G, n): who moves in each group; own (n, nx): the column's tree's rows
    _, _, groups, of, D, own = _layout(dyn)
    G = len(groups)
    Z = np.concatenate([X, U], axis=1)  # (T, n)
    h = eps * np.maximum(1.0, np.abs(Z))
    step = D[None] * h[:, None, :]  # (T, G, n)
    if not centered:
        P = np.concatenate([Z[:, None, :], Z[:, None, :] + step], axis=1)  # (T, G + 1, n): the point first
        h = P[:, 1 + of, np.arange(n)] - Z  # the steps as represented
        F = _step_all(dyn, P, nx).reshape(T, G + 1, nx)
        dyn._fd_nominal = (X.copy(), U.copy(), F[:, 0].copy())
        J = (F[:, 1:] - F[:, :1])[:, of] * own / h[:, :, None]  # (T, n, nx)
    else:
        P = np.concatenate([Z[:, None, :] + step, Z[:, None, :] - step], axis=1)  # (T, 2G, n)
        F = _step_all(dyn, P, nx).reshape(T, 2 * G, nx)
        J = (F[:, :G] - F[:, G:])[:, of] * own / (2.0 * h[:, :, None])
    return np.transpose(J[:, :nx], (0, 2, 1)).copy(), np.transpose(J[:, nx:], (0, 2, 1)).copy()


def _step_all(dyn, P, nx):
    P = P.reshape(-1, P.shape[-1])
    return dyn.simulate(np.ascontiguousarray(P[:, :nx]), np.ascontiguousarray(P[:, None, nx:]))[:, 1]


def nominal_next(dyn, X, U):
    """``dyn.step(X, U)`` for (T, nx), (T, nu): the nominal row of the forward-difference Jacobians just
    taken (the call before this one) when they were taken at exactly these points (the same MuJoCo
    calls, so the same numbers), else a new batched step."""
    last = getattr(dyn, "_fd_nominal", None)
    dyn._fd_nominal = None  # used at most once: the next call steps (the model may have been edited)
    if last is not None and np.array_equal(last[0], X) and np.array_equal(last[1], U):
        return last[2]
    return dyn.step(X, U)
