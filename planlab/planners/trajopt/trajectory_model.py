"""The base of every trajectory model: generic numpy rollouts and line searches, the backward pass,
derivative packing (the interface iLQR / DDP sees; :mod:`planlab.planners.trajopt.derivatives`)."""

from __future__ import annotations

import math

import numpy as np

from ...core.contracts import Cost, Dynamics
from ...core.linesearch import step_accepted
from .cold import ColdKernels, solver_spec
from .layout import hessian_row_size, packed_layout
from .riccati import backward_pass

__all__ = ["TrajectoryModel"]


class TrajectoryModel:
    """Generic (numpy) rollouts and line searches over a planlab ``Dynamics`` and ``Cost``.

    Subclasses provide :meth:`derivatives` (and optionally :meth:`dynamics_hessians`).

    Attributes
    ----------
    nx, nu : int
    lo, hi : ndarray (nu,)
        The control box (the model's action bounds).
    method : str
    supports_hessians : bool
    """

    method = "generic"
    supports_hessians = False

    def __init__(self, dynamics: Dynamics, cost: Cost):
        self.dynamics = dynamics
        self.cost = cost
        self.nx = dynamics.state_dim
        self.nu = dynamics.action_dim
        self.lo = np.array(dynamics.action_low, dtype=np.float64)
        self.hi = np.array(dynamics.action_high, dtype=np.float64)
        self.layout = packed_layout(self.nx, self.nu)
        self.n_packed = self.layout["size"]
        self.n_hess = hessian_row_size(self.nx, self.nu)
        width = self.hi - self.lo
        self._nudge = np.where(np.isfinite(width), 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(width), width, 1.0))), 0.0)
        # the box centre; with an infinite side (0.5 * (-inf + inf) is NaN) the point of the box nearest 0
        with np.errstate(invalid="ignore"):
            centre = np.where(np.isfinite(width), 0.5 * (self.lo + self.hi), np.clip(0.0, self.lo, self.hi))
        self._lo_in = np.ascontiguousarray(np.minimum(self.lo + self._nudge, centre))
        self._hi_in = np.ascontiguousarray(np.maximum(self.hi - self._nudge, centre))

    # ------------------------------------------------------------------ helpers
    def derivative_controls(self, U: np.ndarray) -> np.ndarray:
        """``U`` nudged inside the box (see the module docstring), (T, nu)."""
        return np.clip(U, self._lo_in, self._hi_in)

    def _step(self, x, u):
        return np.asarray(self.dynamics.step(x, u), dtype=np.float64)

    # ------------------------------------------------------------------ rollouts
    def rollout(self, x0: np.ndarray, U: np.ndarray):
        """States (T + 1, nx) and total cost of ``U`` (T, nu) from ``x0`` (nx,)."""
        T = U.shape[0]
        X = np.empty((T + 1, self.nx))
        X[0] = x0
        J = 0.0
        for t in range(T):
            X[t + 1] = self._step(X[t][None], U[t][None])[0]
            J += float(self.cost.running(X[t][None], U[t][None], X[t + 1][None])[0])
        J += float(self.cost.terminal(X[T][None])[0])
        return X, J

    def line_search(self, x0, X, U, K, k, alphas, J0, dV1, dV2, zmin, Xn, Un):
        """Forward passes for all step sizes at once (batched); the first acceptable one wins.

        Returns ``(index, J)`` (``-1, J0`` when none passes). Writes the winner into ``Xn``, ``Un``.
        """
        T = U.shape[0]
        na = alphas.shape[0]
        Xs = np.empty((na, T + 1, self.nx))
        Us = np.empty((na, T, self.nu))
        Xs[:, 0] = x0
        J = np.zeros(na)
        with np.errstate(all="ignore"):
            for t in range(T):
                u = U[t] + alphas[:, None] * k[t] + (Xs[:, t] - X[t]) @ K[t].T
                u = np.clip(u, self.lo, self.hi)
                Us[:, t] = u
                Xs[:, t + 1] = self._step(Xs[:, t], u)
                J += self.cost.running(Xs[:, t], u, Xs[:, t + 1])
            J += self.cost.terminal(Xs[:, T])
        for i in range(na):
            if step_accepted(float(J[i]), J0, float(alphas[i]), dV1, dV2, zmin):
                Xn[:] = Xs[i]
                Un[:] = Us[i]
                return i, float(J[i])
        return -1, J0

    _bp = staticmethod(backward_pass)  # or, on a cold cache, a ColdKernels' interpreted one (serve_cold)
    _cold = None

    @property
    def cold(self) -> ColdKernels | None:
        """The :class:`~planlab.planners.trajopt.cold.ColdKernels` serving this model, or None (compiled)."""
        return self._cold

    def backward_pass(self, O, OT, HD, use_hessians, U, lo, hi, bounded, mu, k_prev, K, k, free_out):
        """The Riccati backward pass along this model's derivatives (:func:`.riccati.backward_pass`)."""
        return self._bp(O, OT, HD, use_hessians, U, lo, hi, bounded, mu, k_prev, K, k, free_out)

    def serve_cold(self, hessians: bool) -> bool:
        """Run the backward pass interpreted while a child compiles it, if it is not in the cache; whether
        it does (:mod:`.cold`; the rollouts and derivatives of this class are numpy/torch code)."""
        spec = solver_spec()
        if spec is None:
            return False
        self._cold = ColdKernels(None, spec)
        self._bp = self._cold.backward_pass
        return True

    def derivatives(self, X, U, O, OT):  # pragma: no cover - abstract
        """Pack the dynamics Jacobians and cost derivatives along ``(X, U)`` into ``O`` (T, n_packed) and
        ``OT``; returns whether all are finite."""
        raise NotImplementedError

    def dynamics_hessians(self, X, U, HD):
        """Second derivatives of the dynamics along ``(X, U)`` into ``HD`` (full DDP); casadi models only."""
        raise ValueError(f"ddp: full DDP needs second derivatives of the dynamics, which the {self.method!r} "
                         "derivatives do not provide; use derivatives='casadi' (analytic systems) or ddp=False")

    # ------------------------------------------------------------------ packing
    def _pack(self, O, A, B, lx, lu, lxx, luu, lux):
        T = A.shape[0]
        for name, arr in (("A", A), ("B", B), ("lx", lx), ("lu", lu), ("lxx", lxx), ("luu", luu), ("lux", lux)):
            off, shp = self.layout[name]
            O[:, off:off + math.prod(shp)] = arr.reshape(T, -1)

    def unpack(self, O):
        """Views of the packed derivatives: dict name -> (T, ...) arrays."""
        T = O.shape[0]
        return {n: O[:, off:off + math.prod(s)].reshape((T,) + s) for n, (off, s) in ((n, v) for n, v in self.layout.items() if n != "size")}
