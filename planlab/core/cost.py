"""Costs written once as scalar source (see :mod:`planlab.core.source`), and the quadratic cost.

A :class:`SourceCost` holds plain-Python source functions and a float64 parameter vector. Its
numpy methods evaluate the source on arrays; the numba rollout kernels compile the very same
functions, and :mod:`planlab.dynamics.symbolic` turns them into casadi expressions for exact
gradients and Hessians.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .contracts import Cost
from .ops import wrap_angle
from .source import components, eval_scalar_source
from .validation import as_float_array, check_positive_int

__all__ = ["SourceCost", "QuadraticCost", "QuadraticLayout", "quadratic_layout", "quadratic_action_dim"]


def _zero_terminal(x, p):
    return 0.0


class SourceCost(Cost):
    """A cost defined by scalar source functions.

    Parameters
    ----------
    state_dim, action_dim : int
    running_source : callable ``(x, u, xn, p) -> scalar``
        Written with Python operators and :mod:`planlab.core.ops` only (no data-dependent ``if``).
    params : array_like of float
        The parameter vector ``p`` passed to the sources.
    terminal_source : callable ``(x, p) -> scalar``, optional
    uses_next_state : bool
        Whether ``running_source`` reads ``xn``.
    """

    def __init__(self, state_dim, action_dim, running_source, params, terminal_source=None, *,
                 uses_next_state: bool = False):
        self.state_dim = check_positive_int("state_dim", state_dim)
        self.action_dim = check_positive_int("action_dim", action_dim)
        self.running_source = running_source
        self.terminal_source = terminal_source if terminal_source is not None else _zero_terminal
        p = as_float_array("params", params if np.size(params) else np.zeros(1), ndim=1)
        p.setflags(write=False)
        self.params = p
        self.uses_next_state = bool(uses_next_state)

    def _check_sizes(self, name, arr, n):
        if arr.ndim == 0 or arr.shape[-1] != n:
            raise ValueError(f"{name}: expected shape (..., {n}) for {type(self).__name__}, got {arr.shape}")

    def running(self, x, u, x_next=None):
        """Running cost ``c(x, u, x_next)``: ``x`` (..., nx), ``u`` (..., nu), ``x_next`` (..., nx) -> (...)."""
        x = as_float_array("x", x, finite=False)
        u = as_float_array("u", u, finite=False)
        self._check_sizes("x", x, self.state_dim)
        self._check_sizes("u", u, self.action_dim)
        if x_next is None:
            if self.uses_next_state:
                raise ValueError(f"x_next: {type(self).__name__} depends on the next state; got None")
            x_next = x
        x_next = as_float_array("x_next", x_next, finite=False)
        self._check_sizes("x_next", x_next, self.state_dim)
        batch = np.broadcast_shapes(x.shape[:-1], u.shape[:-1], x_next.shape[:-1])
        val = self.running_source(components(x), components(u), components(x_next), self.params)
        return eval_scalar_source(val, batch)

    def terminal(self, x):
        """Terminal cost ``c_f(x)``: ``x`` (..., nx) -> (...)."""
        x = as_float_array("x", x, finite=False)
        self._check_sizes("x", x, self.state_dim)
        return eval_scalar_source(self.terminal_source(components(x), self.params), x.shape[:-1])

    def running_torch(self, x, u, x_next=None):
        """Running cost on torch tensors (differentiable)."""
        import torch

        xn = x if x_next is None else x_next
        val = self.running_source(components(x), components(u), components(xn), self.params.tolist())
        return torch.as_tensor(val, dtype=x.dtype).expand(torch.broadcast_shapes(x.shape[:-1], u.shape[:-1]))

    def terminal_torch(self, x):
        """Terminal cost on torch tensors (differentiable)."""
        import torch

        val = self.terminal_source(components(x), self.params.tolist())
        return torch.as_tensor(val, dtype=x.dtype).expand(x.shape[:-1])


# ------------------------------------------------------------------------------------------
# Quadratic cost: its packed parameter vector, defined once.
# ------------------------------------------------------------------------------------------


class QuadraticLayout(NamedTuple):
    """Offsets of the fields of :class:`QuadraticCost`'s parameter vector ``p`` (float64, ``size`` long).

    Matrices are stored row-major; ``p[wrap + i] != 0`` marks a wrapped (angle) component; ``p[dense]``
    is 1.0 when a weight matrix has off-diagonal entries (else only diagonals are read); ``p[nu]``
    holds the action dimension (the terminal cost sees no ``u`` to count).
    """

    Q: int  # (nx, nx) state weight
    R: int  # (nu, nu) action weight
    Qf: int  # (nx, nx) terminal weight
    x_goal: int  # (nx,)
    u_goal: int  # (nu,)
    wrap: int  # (nx,) 1.0 for angle components
    dense: int  # scalar flag
    nu: int  # scalar: the action dimension
    size: int  # length of the whole vector


def quadratic_layout(nx, nu):
    """The :class:`QuadraticLayout` for ``nx`` states and ``nu`` actions.

    Plain integer arithmetic, so the cost sources call it on every backend; numba compiles it where
    a kernel calls it (:mod:`planlab.dynamics.compiled.overloads` registers it).
    """
    o_r = nx * nx
    o_qf = o_r + nu * nu
    o_xg = o_qf + nx * nx
    o_ug = o_xg + nx
    o_w = o_ug + nu
    return QuadraticLayout(0, o_r, o_qf, o_xg, o_ug, o_w, o_w + nx, o_w + nx + 1, o_w + nx + 2)


def quadratic_action_dim(p):
    """The action dimension stored in a QuadraticCost parameter vector ``p`` (its last entry)."""
    return int(p[len(p) - 1])


def quadratic_running(x, u, xn, p):
    """Running cost source of :class:`QuadraticCost` (layout :func:`quadratic_layout`)."""
    nx = len(x)
    nu = len(u)
    lay = quadratic_layout(nx, nu)
    dense = p[lay.dense] != 0.0
    c = 0.0
    for i in range(nx):
        ei = x[i] - p[lay.x_goal + i]
        if p[lay.wrap + i] != 0.0:
            ei = wrap_angle(ei)
        c = c + 0.5 * p[lay.Q + i * nx + i] * ei * ei
        if dense:
            for j in range(i + 1, nx):
                q = p[lay.Q + i * nx + j]
                if q != 0.0:
                    ej = x[j] - p[lay.x_goal + j]
                    if p[lay.wrap + j] != 0.0:
                        ej = wrap_angle(ej)
                    c = c + q * ei * ej
    for i in range(nu):
        di = u[i] - p[lay.u_goal + i]
        c = c + 0.5 * p[lay.R + i * nu + i] * di * di
        if dense:
            for j in range(i + 1, nu):
                r = p[lay.R + i * nu + j]
                if r != 0.0:
                    c = c + r * di * (u[j] - p[lay.u_goal + j])
    return c


def quadratic_terminal(x, p):
    """Terminal cost source of :class:`QuadraticCost` (layout :func:`quadratic_layout`)."""
    nx = len(x)
    lay = quadratic_layout(nx, quadratic_action_dim(p))
    dense = p[lay.dense] != 0.0
    c = 0.0
    for i in range(nx):
        ei = x[i] - p[lay.x_goal + i]
        if p[lay.wrap + i] != 0.0:
            ei = wrap_angle(ei)
        c = c + 0.5 * p[lay.Qf + i * nx + i] * ei * ei
        if dense:
            for j in range(i + 1, nx):
                q = p[lay.Qf + i * nx + j]
                if q != 0.0:
                    ej = x[j] - p[lay.x_goal + j]
                    if p[lay.wrap + j] != 0.0:
                        ej = wrap_angle(ej)
                    c = c + q * ei * ej
    return c


def _psd_matrix(name, value, n, *, positive_definite=False):
    arr = as_float_array(name, value)
    if arr.ndim == 1:
        if arr.shape != (n,):
            raise ValueError(f"{name}: expected shape ({n}, {n}) or a diagonal ({n},), got {arr.shape}")
        arr = np.diag(arr)
    elif arr.ndim == 0:
        arr = arr * np.eye(n)
    if arr.shape != (n, n):
        raise ValueError(f"{name}: expected a square matrix of shape ({n}, {n}), got {arr.shape}")
    if not np.allclose(arr, arr.T, rtol=1e-10, atol=1e-12):
        raise ValueError(f"{name}: expected a symmetric matrix, got max asymmetry {np.abs(arr - arr.T).max():.3g}")
    arr = 0.5 * (arr + arr.T)
    eig = np.linalg.eigvalsh(arr) if n else np.zeros(0)
    tol = 1e-12 * max(1.0, float(np.abs(arr).max(initial=0.0)))
    lo = float(eig.min(initial=0.0))
    if positive_definite and lo <= tol:
        raise ValueError(f"{name}: expected a positive definite matrix, got smallest eigenvalue {lo:.3g}")
    if lo < -tol:
        raise ValueError(f"{name}: expected a positive semidefinite matrix, got smallest eigenvalue {lo:.3g}")
    return arr


class QuadraticCost(SourceCost):
    r"""Quadratic cost around a goal, with angle wrapping.

    .. math::

        c(x, u) = \tfrac12 e^\top Q e + \tfrac12 (u - u_g)^\top R (u - u_g), \qquad
        c_f(x) = \tfrac12 e^\top Q_f e, \qquad e = \operatorname{wrap}(x - x_g)

    where ``wrap`` maps the components listed in ``angle_indices`` to ``[-pi, pi)``.

    Parameters
    ----------
    Q : array_like, shape (nx, nx) or (nx,)
        State weight (a vector means a diagonal); symmetric positive semidefinite.
    R : array_like, shape (nu, nu) or (nu,)
        Action weight; symmetric positive semidefinite.
    Qf : array_like, optional
        Terminal weight; defaults to zeros.
    x_goal : array_like, shape (nx,), optional
        Defaults to zeros.
    u_goal : array_like, shape (nu,), optional
        Defaults to zeros.
    angle_indices : sequence of int
        State components wrapped to ``[-pi, pi)`` in the error.

    Examples
    --------
    >>> import numpy as np
    >>> c = QuadraticCost(Q=[1.0, 0.1], R=[0.01], angle_indices=[0])
    >>> float(c.running(np.array([2 * np.pi, 0.0]), np.array([0.0])))
    0.0
    """

    def __init__(self, Q, R, Qf=None, x_goal=None, u_goal=None, angle_indices=()):
        Qa = as_float_array("Q", Q)
        nx = Qa.shape[0] if Qa.ndim >= 1 else None
        if nx is None:
            raise ValueError(f"Q: expected shape (nx, nx) or (nx,), got {Qa.shape}")
        Ra = as_float_array("R", R)
        nu = Ra.shape[0] if Ra.ndim >= 1 else 1
        Qm = _psd_matrix("Q", Qa, nx)
        Rm = _psd_matrix("R", Ra, nu)
        Qfm = _psd_matrix("Qf", np.zeros((nx, nx)) if Qf is None else Qf, nx)
        xg = np.zeros(nx) if x_goal is None else as_float_array("x_goal", x_goal, shape=(nx,))
        ug = np.zeros(nu) if u_goal is None else as_float_array("u_goal", u_goal, shape=(nu,))
        wrap = np.zeros(nx)
        for i in angle_indices:
            if not 0 <= int(i) < nx:
                raise ValueError(f"angle_indices: expected indices in [0, {nx}), got {i}")
            wrap[int(i)] = 1.0
        self.Q, self.R, self.Qf, self.x_goal, self.u_goal = Qm, Rm, Qfm, xg, ug
        self.angle_indices = tuple(int(i) for i in angle_indices)
        for a in (self.Q, self.R, self.Qf, self.x_goal, self.u_goal):
            a.setflags(write=False)
        # The source reads the upper triangle: 1/2 e'Qe = sum_i Q_ii e_i^2 / 2 + sum_{i<j} Q_ij e_i e_j.
        dense = any(np.count_nonzero(m - np.diag(np.diag(m))) for m in (Qm, Rm, Qfm))
        lay = quadratic_layout(nx, nu)
        params = np.empty(lay.size)
        params[lay.Q:lay.Q + nx * nx] = Qm.ravel()
        params[lay.R:lay.R + nu * nu] = Rm.ravel()
        params[lay.Qf:lay.Qf + nx * nx] = Qfm.ravel()
        params[lay.x_goal:lay.x_goal + nx] = xg
        params[lay.u_goal:lay.u_goal + nu] = ug
        params[lay.wrap:lay.wrap + nx] = wrap
        params[lay.dense] = float(dense)
        params[lay.nu] = float(nu)
        super().__init__(nx, nu, quadratic_running, params, quadratic_terminal)

    def error(self, x):
        """Wrapped state error ``e = wrap(x - x_goal)``, shape (..., nx)."""
        e = np.asarray(x, dtype=np.float64) - self.x_goal
        for i in self.angle_indices:
            e[..., i] = wrap_angle(e[..., i])
        return e

    def __repr__(self) -> str:
        return f"QuadraticCost(nx={self.state_dim}, nu={self.action_dim}, angle_indices={self.angle_indices})"
