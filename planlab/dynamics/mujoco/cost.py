"""Costs over MuJoCo states and sensor values, evaluated in the batched rollout that produced them.

:class:`MujocoCost` is the base: a subclass writes ``running_with(x, u, xn, sn)`` and
``terminal_with(x, s)`` on whole batches (``sn``: the sensor values at the next state), and
:meth:`~planlab.dynamics.mujoco.MujocoDynamics.rollout` feeds it the states and sensors of its one
``mujoco.rollout`` pass. Called through the generic :class:`~planlab.core.Cost` interface
(``running(x, u, xn)``) it asks the model for the sensors of ``xn`` first, so both paths agree.

:class:`TaskCost` is the ready-made one: weighted squared errors of tracked site/body positions,
joint positions, sensors and joint velocities against targets, plus control effort.
"""

from __future__ import annotations

import numpy as np

from ...core.contracts import Cost
from ...core.validation import as_float_array, check_nonnegative
from .derivatives import nominal_next

__all__ = ["MujocoCost", "TaskCost", "chain_derivatives"]


class MujocoCost(Cost):
    """A cost of a :class:`~planlab.dynamics.mujoco.MujocoDynamics` that may read sensor values.

    Parameters
    ----------
    dynamics : MujocoDynamics
        The model whose sensors the cost reads.
    reads_sensors : bool
        Whether :meth:`running_with` / :meth:`terminal_with` use the sensor values.
    """

    uses_next_state = True

    def __init__(self, dynamics, *, reads_sensors: bool = True):
        self.dynamics = dynamics
        self.state_dim = dynamics.state_dim
        self.action_dim = dynamics.action_dim
        self.reads_sensors = bool(reads_sensors)

    def running_with(self, x, u, xn, sn):
        """Running cost from states ``x``, ``xn`` (..., nx), actions ``u`` (..., nu) and the sensor values
        ``sn`` (..., nsensordata) at ``xn`` (None when ``reads_sensors`` is False) -> (...)."""
        raise NotImplementedError

    def terminal_with(self, x, s):
        """Terminal cost from states ``x`` (..., nx) and their sensor values ``s`` -> (...). Default 0."""
        return np.zeros(np.shape(x)[:-1])

    def running(self, x, u, x_next=None):
        x = np.asarray(x, dtype=np.float64)
        u = np.asarray(u, dtype=np.float64)
        xn = self.dynamics.step(x, u) if x_next is None else np.asarray(x_next, dtype=np.float64)
        sn = self.dynamics.sensors(xn) if self.reads_sensors else None
        return self.running_with(x, u, xn, sn)

    def terminal(self, x):
        x = np.asarray(x, dtype=np.float64)
        s = self.dynamics.sensors(x) if self.reads_sensors else None
        return self.terminal_with(x, s)

    def chain_derivatives(self, X, U, A, B):
        """Derivatives for iLQR through the model's Jacobians ``A``, ``B``; see :func:`chain_derivatives`."""
        return chain_derivatives(self, X, U, A, B)


def _targets(name, mapping, width_of):
    out = []
    for key, val in dict(mapping or {}).items():
        if not isinstance(val, (tuple, list)) or len(val) != 2:
            raise ValueError(f"{name}: expected {{name: (target, weight)}}, got {key!r}: {val!r}")
        sl = width_of(key)
        width = sl.stop - sl.start
        target = as_float_array(f"{name}[{key!r}] target", val[0])
        target = np.broadcast_to(target, (width,)).copy() if target.ndim == 0 else target
        if target.shape != (width,):
            raise ValueError(f"{name}[{key!r}]: expected a target of shape ({width},), got {target.shape}")
        out.append((sl, target, check_nonnegative(f"{name}[{key!r}] weight", val[1])))
    return out


class TaskCost(MujocoCost):
    r"""Weighted squared errors of positions, joints, sensors and velocities, plus control effort.

    .. math::

        c(x, u, x') = \sum_i w_i \lVert f_i(x') - f_i^\star \rVert^2 + \sum_a r_a u_a^2, \qquad
        c_f(x) = w_f \sum_i w_i \lVert f_i(x) - f_i^\star \rVert^2

    Parameters
    ----------
    dynamics : MujocoDynamics
    positions : mapping ``"kind:NAME" -> (target (3,), weight)``
        Tracked positions (the model must track them: ``positions=`` of the model).
    joints : mapping ``joint name -> (target, weight)``
        Joint positions (``qpos`` entries of the joint).
    sensors : mapping ``sensor name -> (target, weight)``
    velocity : float
        Weight of ``|qvel|^2``.
    control : float or array_like (nu,)
        Weights ``r`` of the squared controls.
    terminal_weight : float
        ``w_f``: scales the state terms at the last state.
    norm : {"squared", "l2"}
        ``"l2"`` uses ``w_i ||f_i - f_i*||`` (not squared) for the position terms (as gymnasium's Reacher).
    """

    def __init__(self, dynamics, *, positions=None, joints=None, sensors=None, velocity: float = 0.0,
                 control=0.0, terminal_weight: float = 0.0, norm: str = "squared"):
        mj = dynamics._mj
        m = dynamics.model

        def joint_slice(name):
            j = mj.mj_name2id(m, mj.mjtObj.mjOBJ_JOINT, name)
            if j < 0:
                raise ValueError(f"joints: expected a joint name of the model, got {name!r}")
            start = int(m.jnt_qposadr[j])
            end = int(m.jnt_qposadr[j + 1]) if j + 1 < m.njnt else dynamics.nq
            return slice(start, end)

        self._pos = _targets("positions", positions, dynamics.position_slice)
        self._sens = _targets("sensors", sensors, dynamics.sensor_slice)
        self._joints = _targets("joints", joints, joint_slice)
        if norm not in ("squared", "l2"):
            raise ValueError(f"norm: expected 'squared' or 'l2', got {norm!r}")
        self.norm = norm
        self.velocity = check_nonnegative("velocity", velocity)
        r = as_float_array("control", control)
        self.control = np.broadcast_to(r, (dynamics.action_dim,)).copy() if r.ndim == 0 else r
        if self.control.shape != (dynamics.action_dim,) or (self.control < 0).any():
            raise ValueError(f"control: expected nonnegative weights of shape ({dynamics.action_dim},), got {r}")
        self.terminal_weight = check_nonnegative("terminal_weight", terminal_weight)
        super().__init__(dynamics, reads_sensors=bool(self._pos or self._sens))

    def _state_terms(self, x, s):
        c = np.zeros(np.shape(x)[:-1])
        for sl, target, w in self._pos:
            sq = ((s[..., sl] - target) ** 2).sum(axis=-1)
            c = c + w * (np.sqrt(sq) if self.norm == "l2" else sq)
        for sl, target, w in self._sens:
            c = c + w * ((s[..., sl] - target) ** 2).sum(axis=-1)
        for sl, target, w in self._joints:
            c = c + w * ((x[..., sl] - target) ** 2).sum(axis=-1)
        if self.velocity:
            c = c + self.velocity * (self.dynamics.qvel(x) ** 2).sum(axis=-1)
        return c

    def running_with(self, x, u, xn, sn):
        return self._state_terms(xn, sn) + (np.asarray(u) ** 2 * self.control).sum(axis=-1)

    def terminal_with(self, x, s):
        if not self.terminal_weight:
            return np.zeros(np.shape(x)[:-1])
        return self.terminal_weight * self._state_terms(x, s)


# ------------------------------------------------------------------------------------------------
# Derivatives for iLQR: the chain rule through the model's Jacobians (Gauss-Newton in the dynamics)
# ------------------------------------------------------------------------------------------------
_EPS1 = float(np.finfo(float).eps ** (1 / 3))
_EPS2 = float(np.finfo(float).eps ** (1 / 4))


def _grad_hess(fun, W):
    """Central-difference gradient (B, m) and four-point Hessian (B, m, m) of a cheap batched ``fun``
    (all ``2 m + 4 m^2`` points of a row in one call)."""
    B, m = W.shape
    h1 = _EPS1 * np.maximum(1.0, np.abs(W))
    h2 = _EPS2 * np.maximum(1.0, np.abs(W))
    E = np.eye(m)
    d1 = h1[:, :, None] * E  # (B, m, m)
    Ei = (h2[:, :, None] * E)[:, :, None, :]  # (B, i, 1, m)
    Ej = (h2[:, :, None] * E)[:, None, :, :]  # (B, 1, j, m)
    S = W[:, None, None, :]
    P = np.concatenate([W[:, None] + d1, W[:, None] - d1, (S + Ei + Ej).reshape(B, m * m, m),
                        (S + Ei - Ej).reshape(B, m * m, m), (S - Ei + Ej).reshape(B, m * m, m),
                        (S - Ei - Ej).reshape(B, m * m, m)], axis=1)
    f = fun(P)
    g = (f[:, :m] - f[:, m:2 * m]) / (2 * h1)
    pp, pm, mp, mm = (f[:, 2 * m + k * m * m:2 * m + (k + 1) * m * m].reshape(B, m, m) for k in range(4))
    H = (pp - pm - mp + mm) / (4 * h2[:, :, None] * h2[:, None, :])
    return g, 0.5 * (H + np.transpose(H, (0, 2, 1)))


def _read_columns(fun, W):
    """Indices of the columns of ``W`` (B, m) that the batched ``fun`` reads.

    A column is skipped when changing it leaves ``fun`` bitwise unchanged in every row, both at ``W``
    (by the first-difference step) and at a shifted point (by a larger step), so its derivatives are
    zero there; a function that does not use an input cannot tell it changed.
    """
    B, m = W.shape
    scale = np.maximum(1.0, np.abs(W))
    shift = W + 0.1 * scale * np.linspace(0.5, 1.0, m)  # a fixed point off the trajectory
    E = np.eye(m)
    with np.errstate(all="ignore"):
        f = fun(np.concatenate([np.stack([W, shift], axis=1), W[:, None] + _EPS1 * scale[:, :, None] * E,
                                shift[:, None] + 1e-3 * scale[:, :, None] * E], axis=1))  # (B, 2 + 2m)
    base = f[:, :2]
    moved = f[:, 2:].reshape(B, 2, m)
    differs = ~((moved == base[:, :, None]) | (np.isnan(moved) & np.isnan(base[:, :, None])))
    return np.flatnonzero(differs.any(axis=(0, 1)))


def _grad_hess_read(fun, W, cols):
    """:func:`_grad_hess` over only the columns ``cols`` of ``W`` (those ``fun`` reads; zeros elsewhere)."""
    B, m = W.shape
    g = np.zeros((B, m))
    H = np.zeros((B, m, m))
    if cols.size == 0:
        return g, H
    if cols.size == m:
        return _grad_hess(fun, W)

    def sub(P):  # P (B, ..., len(cols)) -> fun of W with those columns replaced
        full = np.empty(P.shape[:-1] + (m,))
        full[...] = W.reshape((B,) + (1,) * (P.ndim - 2) + (m,))
        full[..., cols] = P
        return fun(full)

    gr, Hr = _grad_hess(sub, W[:, cols])
    g[:, cols] = gr
    H[:, cols[:, None], cols[None, :]] = Hr
    return g, H


def _sensor_jacobians(dyn, X, rows=None):
    """``d s / d x`` at states X (B, nx) -> (B, ns, nx), central differences in one batched pass.

    Only the sensor entries ``rows`` (default all) are differentiated, only over the state entries their
    MuJoCo stage depends on (position-stage sensors: ``qpos``; velocity stage: ``qpos, qvel``); the other
    entries of the result are 0.
    """
    B, nx = X.shape
    ns = dyn.nsensordata
    out = np.zeros((B, ns, nx))
    rows = np.arange(ns) if rows is None else np.asarray(rows)
    if rows.size == 0:
        return out
    cols = np.arange(_sensor_state_width(dyn, rows))
    n = cols.size
    h = _EPS1 * np.maximum(1.0, np.abs(X[:, cols]))
    E = np.zeros((n, nx))
    E[np.arange(n), cols] = 1.0
    P = np.concatenate([X[:, None] + h[:, :, None] * E, X[:, None] - h[:, :, None] * E], axis=1)
    s = dyn.sensors(P.reshape(-1, nx)).reshape(B, 2 * n, ns)
    D = (s[:, :n] - s[:, n:]) / (2 * h[:, :, None])  # (B, n, ns)
    out[:, rows[:, None], cols[None, :]] = np.transpose(D[:, :, rows], (0, 2, 1))
    return out


def _sensor_state_width(dyn, rows) -> int:
    """How many leading state entries the sensor entries ``rows`` may depend on (from MuJoCo's stages)."""
    mj, m = dyn._mj, dyn.model
    owner = np.empty(dyn.nsensordata, dtype=np.int64)
    for i in range(m.nsensor):
        owner[int(m.sensor_adr[i]):int(m.sensor_adr[i]) + int(m.sensor_dim[i])] = i
    stage = int(np.max(np.asarray(m.sensor_needstage).reshape(-1)[owner[rows]]))
    if stage <= int(mj.mjtStage.mjSTAGE_POS):
        return dyn.nq
    if stage == int(mj.mjtStage.mjSTAGE_VEL):
        return dyn.nq + dyn.nv
    return dyn.state_dim


def chain_derivatives(cost: MujocoCost, X, U, A, B):
    """Cost derivatives for iLQR by the chain rule through the model's Jacobians.

    The running cost is ``g(x, u, x', s(x'))`` with ``x' = f(x, u)``. Derivatives of the cheap ``g``
    come from finite differences in numpy; ``x'`` and ``s(x')`` are linearised (``A``, ``B`` and one
    batched sensor-Jacobian pass), so gradients are exact to finite-difference accuracy and Hessians
    drop the second derivatives of ``f`` and ``s`` (Gauss-Newton, as iLQR does for the dynamics).

    Parameters
    ----------
    X : ndarray (T + 1, nx)
    U : ndarray (T, nu)
    A, B : ndarray (T, nx, nx), (T, nx, nu)

    Returns
    -------
    lx (T, nx), lu (T, nu), lxx (T, nx, nx), luu (T, nu, nu), lux (T, nu, nx), gT (nx,), hT (nx, nx)
    """
    dyn = cost.dynamics
    T, nu = U.shape
    nx = X.shape[1]
    Xn = nominal_next(dyn, X[:T], U)  # reuses the nominal row of forward-difference Jacobians
    reads = cost.reads_sensors
    sn = dyn.sensors(Xn) if reads else np.zeros((T, 0))
    W = np.concatenate([X[:T], U, Xn, sn], axis=1)  # (T, m)

    def run(P):
        x, u, xn, s = np.split(P, [nx, nx + nu, 2 * nx + nu], axis=-1)
        return cost.running_with(x, u, xn, s if reads else None)

    read = _read_columns(run, W)
    g, H = _grad_hess_read(run, W, read)
    n = nx + nu
    M = np.zeros((T, W.shape[1], n))  # dW / d(x, u)
    M[:, :n, :n] = np.eye(n)
    AB = np.concatenate([A, B], axis=2)  # (T, nx, n)
    M[:, n:n + nx] = AB
    if reads:
        M[:, n + nx:] = _sensor_jacobians(dyn, Xn, read[read >= n + nx] - (n + nx)) @ AB
    lz = np.einsum("tmi,tm->ti", M, g)
    Mt = np.transpose(M, (0, 2, 1))
    lzz = Mt @ H @ M
    xT = X[T][None]
    sT = dyn.sensors(xT) if reads else np.zeros((1, 0))

    def fin(P):
        x, s = P[..., :nx], P[..., nx:]
        return cost.terminal_with(x, s if reads else None)

    WT = np.concatenate([xT, sT], axis=1)
    read = _read_columns(fin, WT)
    gf, Hf = _grad_hess_read(fin, WT, read)
    if reads:
        Mf = np.concatenate([np.eye(nx), _sensor_jacobians(dyn, xT, read[read >= nx] - nx)[0]], axis=0)
    else:
        Mf = np.eye(nx)
    return (lz[:, :nx], lz[:, nx:], lzz[:, :nx, :nx], lzz[:, nx:, nx:], lzz[:, nx:, :nx], Mf.T @ gf[0],
            Mf.T @ Hf[0] @ Mf)
