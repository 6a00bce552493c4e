"""Single-trajectory rollouts of a :class:`~planlab.dynamics.mujoco.MujocoDynamics` for iLQR, stepped in C.

iLQR's forward passes are closed loop, ``u_t = clip(û_t + alpha k_t + K_t (x_t - x̂_t))``: each control
depends on the state just reached, so they cannot be one open-loop batched ``mujoco.rollout`` call.
Through the generic path each step is a batched rollout call of one state (plus one more for the
sensor values the cost reads). :class:`MujocoTrajectory` keeps one ``MjData`` and calls ``mj_step``
directly, reading the state with ``mj_getState``; the line search tries the step sizes one after
another and stops at the first acceptable one (usually the first), instead of rolling all of them out.

States, sensor values and costs are those of :meth:`MujocoDynamics.simulate` and, for a model that
never terminates, of :meth:`MujocoDynamics.rollout` (same MuJoCo calls in the same order); termination
is ignored, as iLQR ignores it. The sensor values at ``x_{t+1}`` are the ones MuJoCo computes at the
start of the first sub-step of action ``t + 1`` (at the last state: with the last action held, as the
rollout does).
A simulation MuJoCo finds unstable gives NaN states from that step on and a NaN cost.
"""

from __future__ import annotations

import math

import numpy as np

from ...core.contracts import Cost
from ...core.linesearch import step_accepted
from .cost import MujocoCost

__all__ = ["MujocoTrajectory"]


class MujocoTrajectory:
    """Closed-loop single-trajectory rollouts and the iLQR line search of a MuJoCo model and a cost.

    Parameters
    ----------
    dynamics : MujocoDynamics
    cost : Cost
        A :class:`~planlab.dynamics.mujoco.MujocoCost` of this model (or of one that
        :meth:`~MujocoDynamics.shares_model`) is evaluated on the sensor values of the same pass; any
        other cost through its batched ``running`` / ``terminal`` on the states.
    """

    def __init__(self, dynamics, cost: Cost):
        mj = dynamics._mj
        self._mj = mj
        self.dynamics = dynamics
        self.cost = cost
        self.model = dynamics.model
        self.data = mj.MjData(self.model)
        self.nx, self.nu = dynamics.state_dim, dynamics.action_dim
        self.lo = np.asarray(dynamics.action_low, dtype=np.float64)
        self.hi = np.asarray(dynamics.action_high, dtype=np.float64)
        self.own = isinstance(cost, MujocoCost) and dynamics.shares_model(cost.dynamics)
        self.reads_sensors = self.own and cost.reads_sensors
        st = mj.mjtState
        self._xspec = int(st.mjSTATE_QPOS) | int(st.mjSTATE_QVEL) | int(st.mjSTATE_ACT)
        self._full = dynamics._template.copy()
        self._k = dynamics.frame_skip
        self._dt = float(self.model.opt.timestep)

    def _start(self, x0):
        self._full[self.dynamics._x_slice] = x0
        self._mj.mj_setState(self.model, self.data, self._full, self.dynamics._spec)

    def simulate(self, x0, U, X, S, *, K=None, Xref=None, k=None, alpha=0.0, Uout=None):
        """Roll controls out from ``x0`` (nx,) into ``X`` (T + 1, nx) and sensor values ``S`` (T + 1, ns).

        Open loop (``K`` None): ``U`` (T, nu) as given (MuJoCo clamps limited controls itself).
        Closed loop: ``u_t = clip(U_t + alpha k_t + K_t (x_t - Xref_t), lo, hi)`` with ``K`` (T, nu, nx),
        ``Xref`` (T + 1, nx), ``k`` (T, nu), written into ``Uout`` (T, nu). ``S`` may be None (no sensors
        read). Returns whether the simulation stayed stable (else ``X`` is NaN from the first bad step).
        """
        mj, m, d = self._mj, self.model, self.data
        step, get = mj.mj_step, mj.mj_getState
        spec, kk = self._xspec, self._k
        lo, hi = self.lo, self.hi
        T = U.shape[0]
        self._start(x0)
        X[0] = x0
        closed = K is not None
        ctrl, sens = d.ctrl, d.sensordata  # views into the MjData
        minimum, maximum, matvec = np.minimum, np.maximum, np.matmul
        dx = np.empty(self.nx)
        for t in range(T):
            if closed:
                np.subtract(X[t], Xref[t], out=dx)
                u = Uout[t]
                matvec(K[t], dx, out=u)
                u += U[t]
                u += alpha * k[t]
                maximum(u, lo, out=u)
                minimum(u, hi, out=u)
            else:
                u = U[t]
            ctrl[:] = u
            if S is not None:
                step(m, d)
                S[t] = sens  # sensors at x_t (the first sub-step's forward pass)
                if kk > 1:
                    step(m, d, kk - 1)
            else:
                step(m, d, kk)
            get(m, d, X[t + 1], spec)
            if abs(d.time - (t + 1) * kk * self._dt) > 1e-9 * (t + 1) * kk * self._dt:  # MuJoCo reset it
                X[t + 1:] = np.nan
                return False
        if S is not None:
            mj.mj_forward(m, d)  # sensors at x_T with the last action held
            S[T] = sens
        return bool(np.isfinite(X[T]).all())

    def total_cost(self, X, U, S) -> float:
        """Total cost of states ``X`` (T + 1, nx), controls ``U`` (T, nu) and sensor values ``S``."""
        T = U.shape[0]
        with np.errstate(all="ignore"):
            if self.own:
                sn = S[1:] if S is not None else None
                run = self.cost.running_with(X[:T], U, X[1:], sn)
                fin = self.cost.terminal_with(X[T][None], None if S is None else S[T][None])
            else:
                run = self.cost.running(X[:T], U, X[1:])
                fin = self.cost.terminal(X[T][None])
            J = float(np.sum(run) + np.sum(fin))
        return J if math.isfinite(J) else math.nan

    def _buffers(self, T):
        S = np.empty((T + 1, self.dynamics.nsensordata)) if self.reads_sensors else None
        return S

    def rollout(self, x0, U):
        """States (T + 1, nx) and total cost of ``U`` (T, nu) from ``x0`` (nx,)."""
        U = np.ascontiguousarray(U, dtype=np.float64)
        X = np.empty((U.shape[0] + 1, self.nx))
        S = self._buffers(U.shape[0])
        stable = self.simulate(np.asarray(x0, dtype=np.float64), U, X, S)
        return X, (self.total_cost(X, U, S) if stable else math.nan)

    def line_search(self, x0, X, U, K, k, alphas, J0, dV1, dV2, zmin, Xn, Un):
        """iLQR's backtracking line search: step sizes in order, the first that passes wins.

        Accepts ``alpha`` when the cost decreases and the actual / expected decrease exceeds ``zmin``
        (expected ``alpha dV1 + alpha^2 dV2``; a nonnegative expectation accepts any decrease).
        Returns ``(index, J)`` (``-1, J0`` when none passes) and writes the winner into ``Xn``, ``Un``.
        """
        T = U.shape[0]
        S = self._buffers(T)
        Xc = np.empty((T + 1, self.nx))
        Uc = np.empty((T, self.nu))
        x0 = np.asarray(x0, dtype=np.float64)
        for i, a in enumerate(alphas):
            with np.errstate(all="ignore"):
                stable = self.simulate(x0, U, Xc, S, K=K, Xref=X, k=k, alpha=float(a), Uout=Uc)
            if not stable:
                continue
            J = self.total_cost(Xc, Uc, S)
            if step_accepted(J, J0, float(a), dV1, dV2, zmin):
                Xn[:] = Xc
                Un[:] = Uc
                return i, J
        return -1, J0
