"""Transition Jacobians of a :class:`~planlab.dynamics.mujoco.MujocoDynamics` from MuJoCo's ``mjd_transitionFD``.

MuJoCo differentiates one ``mj_step`` by (centred) finite differences in C, in the tangent space of
``(qpos, qvel, act)``. A planlab step is ``frame_skip`` MuJoCo steps with the control held, so the
per-sub-step Jacobians are chained along the simulated sub-steps:

.. math::

    A = A_k \\cdots A_1, \\qquad B = \\sum_{j=1}^{k} A_k \\cdots A_{j+1} B_j .

MuJoCo's ``mjd_transitionFD`` does not support the RK4 integrator; for RK4 models the Jacobians are
central differences of planlab's step instead, all ``2 (nx + nu)`` perturbations of all ``T`` points in
one threaded batched rollout.
"""

from __future__ import annotations

import numpy as np

from ...core.validation import as_float_array

__all__ = ["transition_jacobians"]


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


def _rollout_differences(dyn, X, U, eps, centered=True):
    """Central (forward) differences of ``dyn.step`` at (T, nx), (T, nu): one batched rollout of
    ``2 T (nx + nu)`` (``T (nx + nu + 1)``) steps."""
    T, nx = X.shape
    nu = U.shape[1]
    n = nx + nu
    Z = np.concatenate([X, U], axis=1)  # (T, n)
    h = eps * np.maximum(1.0, np.abs(Z))
    if not centered:
        P = np.repeat(Z[:, None, :], n + 1, axis=1)  # (T, n + 1, n): the point, then each step forward
        P[:, 1 + np.arange(n), np.arange(n)] += h
        h = P[:, 1 + np.arange(n), np.arange(n)] - Z  # the steps as represented
        P = P.reshape(-1, n)
        F = dyn.simulate(np.ascontiguousarray(P[:, :nx]), np.ascontiguousarray(P[:, None, nx:]))[:, 1]
        F = F.reshape(T, n + 1, nx)
        J = (F[:, 1:] - F[:, :1]) / h[:, :, None]  # (T, n, nx)
        return np.transpose(J[:, :nx], (0, 2, 1)).copy(), np.transpose(J[:, nx:], (0, 2, 1)).copy()
    P = np.repeat(Z[:, None, :], 2 * n, axis=1)  # (T, 2n, n)
    ar = np.arange(n)
    P[:, ar, ar] += h
    P[:, n + ar, ar] -= h
    P = P.reshape(-1, n)
    F = dyn.simulate(np.ascontiguousarray(P[:, :nx]), np.ascontiguousarray(P[:, None, nx:]))[:, 1]
    F = F.reshape(T, 2 * n, nx)
    J = (F[:, :n] - F[:, n:]) / (2.0 * h[:, :, None])  # (T, n, nx)
    return np.transpose(J[:, :nx], (0, 2, 1)).copy(), np.transpose(J[:, nx:], (0, 2, 1)).copy()
