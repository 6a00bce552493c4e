"""Trajectory models whose derivatives are numeric: torch autograd through a model's torch path, or
central finite differences of a black box (with the duck-typed hooks MuJoCo models and costs supply;
see :mod:`planlab.planners.trajopt.derivatives`)."""

from __future__ import annotations

import numpy as np

from .trajectory_model import TrajectoryModel

__all__ = ["TorchModel", "FiniteDifferenceModel"]


def _cost_torch_ok(cost) -> bool:
    return hasattr(cost, "running_torch") and hasattr(cost, "terminal_torch")


class TorchModel(TrajectoryModel):
    """Derivatives by torch autograd through ``dynamics.step_torch`` (float64)."""

    method = "torch"

    def derivatives(self, X, U, O, OT):
        import torch
        from torch.autograd.functional import jacobian

        T = U.shape[0]
        Ue = self.derivative_controls(U)
        x = torch.as_tensor(X[:T], dtype=torch.float64)
        u = torch.as_tensor(Ue, dtype=torch.float64)
        step = self.dynamics.step_torch
        jx, ju = jacobian(lambda a, b: step(a, b).sum(0), (x, u), vectorize=True)
        A = jx.permute(1, 0, 2).numpy()  # (T, nx, nx)
        B = ju.permute(1, 0, 2).numpy()  # (T, nx, nu)
        if _cost_torch_ok(self.cost):
            cost = self.cost

            def grad_fn(a, b):
                with torch.enable_grad():
                    l = cost.running_torch(a, b, step(a, b)).sum()
                    ga, gb = torch.autograd.grad(l, (a, b), create_graph=True)
                return ga, gb

            xg = x.clone().requires_grad_(True)
            ug = u.clone().requires_grad_(True)
            lx, lu = grad_fn(xg, ug)
            hxx, hxu = jacobian(lambda a, b: grad_fn(a, b)[0].sum(0), (x, u), vectorize=True)
            _, huu = jacobian(lambda a, b: grad_fn(a, b)[1].sum(0), (x, u), vectorize=True)
            lxx = hxx.permute(1, 0, 2).numpy()
            luu = huu.permute(1, 0, 2).numpy()
            lux = hxu.permute(1, 2, 0).numpy()  # d lx_i / d u_a -> (T, nu, nx)
            self._pack(O, A, B, lx.detach().numpy(), lu.detach().numpy(), lxx, luu, lux)
            xT = torch.as_tensor(X[T], dtype=torch.float64)
            gT = torch.autograd.functional.jacobian(lambda a: cost.terminal_torch(a[None])[0], xT)
            hT = torch.autograd.functional.hessian(lambda a: cost.terminal_torch(a[None])[0], xT)
            OT[: self.nx] = gT.numpy()
            OT[self.nx:] = hT.numpy().ravel()
        else:
            lx, lu, lxx, luu, lux, gT, hT = _fd_cost_derivatives(self, X, Ue)
            self._pack(O, A, B, lx, lu, lxx, luu, lux)
            OT[: self.nx] = gT
            OT[self.nx:] = hT.ravel()
        return bool(np.isfinite(O).all() and np.isfinite(OT).all())


class FiniteDifferenceModel(TrajectoryModel):
    """Central finite differences of a black-box batched ``step`` and ``cost``."""

    method = "fd"

    def __init__(self, dynamics, cost):
        super().__init__(dynamics, cost)
        # a model's own single-trajectory stepper (MuJoCo: ``trajectory_stepper(cost)``, stepping in C) for
        # the rollouts and line searches; None keeps the generic batched-numpy ones
        make = getattr(dynamics, "trajectory_stepper", None)
        self._stepper = make(cost) if callable(make) else None

    def rollout(self, x0, U):
        if self._stepper is not None:
            return self._stepper.rollout(x0, U)
        return super().rollout(x0, U)

    def line_search(self, x0, X, U, K, k, alphas, J0, dV1, dV2, zmin, Xn, Un):
        if self._stepper is not None:
            return self._stepper.line_search(x0, X, U, K, k, alphas, J0, dV1, dV2, zmin, Xn, Un)
        return super().line_search(x0, X, U, K, k, alphas, J0, dV1, dV2, zmin, Xn, Un)

    def derivatives(self, X, U, O, OT):
        T = U.shape[0]
        nx = self.nx
        Ue = self.derivative_controls(U)
        if callable(getattr(self.dynamics, "jacobians", None)):  # the model's own (MuJoCo: mjd_transitionFD)
            A, B = self.dynamics.jacobians(X[:T], Ue)
        else:
            A, B = self._fd_jacobians(X, Ue)
        if callable(getattr(self.cost, "chain_derivatives", None)):  # through A, B (MuJoCo costs)
            lx, lu, lxx, luu, lux, gT, hT = self.cost.chain_derivatives(X, Ue, A, B)
        else:
            lx, lu, lxx, luu, lux, gT, hT = _fd_cost_derivatives(self, X, Ue)
        self._pack(O, A, B, lx, lu, lxx, luu, lux)
        OT[:nx] = gT
        OT[nx:] = hT.ravel()
        return bool(np.isfinite(O).all() and np.isfinite(OT).all())

    def _fd_jacobians(self, X, Ue):
        """Central differences of the batched ``step``: ``A`` (T, nx, nx), ``B`` (T, nx, nu)."""
        T = Ue.shape[0]
        nx, nu = self.nx, self.nu
        Z = np.concatenate([X[:T], Ue], axis=1)  # (T, n)
        n = nx + nu
        h = _EPS1 * np.maximum(1.0, np.abs(Z))  # (T, n)
        P = np.repeat(Z[:, None, :], 2 * n, axis=1)  # (T, 2n, n)
        ar = np.arange(n)
        P[:, ar, ar] += h
        P[:, n + ar, ar] -= h
        F = self._step(P[..., :nx].reshape(-1, nx), P[..., nx:].reshape(-1, nu)).reshape(T, 2 * n, nx)
        J = (F[:, :n] - F[:, n:]) / (2.0 * h[:, :, None])  # (T, n, nx): d f / d z_j
        return np.transpose(J[:, :nx], (0, 2, 1)), np.transpose(J[:, nx:], (0, 2, 1))


_EPS1 = float(np.finfo(float).eps ** (1 / 3))  # central first differences
_EPS2 = float(np.finfo(float).eps ** (1 / 4))  # second differences


def _fd_grad_hess(fun, Z):
    """Gradient (B, n) and Hessian (B, n, n) of a batched scalar function ``fun(Z (..., n)) -> (...)``."""
    Bn, n = Z.shape
    h1 = _EPS1 * np.maximum(1.0, np.abs(Z))
    h2 = _EPS2 * np.maximum(1.0, np.abs(Z))
    ar = np.arange(n)
    P = np.repeat(Z[:, None, :], 2 * n, axis=1)
    P[:, ar, ar] += h1
    P[:, n + ar, ar] -= h1
    f = fun(P)
    g = (f[:, :n] - f[:, n:]) / (2.0 * h1)
    # four-point second differences for all pairs (i, j)
    S = np.repeat(np.repeat(Z[:, None, None, :], n, axis=1), n, axis=2)  # (B, n, n, n)
    E = np.zeros((n, n, n))
    E[ar, :, ar] = 1.0
    Ei = E[None] * h2[:, :, None, None]  # (B, i, j, k): h_i e_i
    Ej = np.transpose(E, (1, 0, 2))[None] * h2[:, None, :, None]
    fpp = fun(S + Ei + Ej)
    fpm = fun(S + Ei - Ej)
    fmp = fun(S - Ei + Ej)
    fmm = fun(S - Ei - Ej)
    H = (fpp - fpm - fmp + fmm) / (4.0 * h2[:, :, None] * h2[:, None, :])
    H = 0.5 * (H + np.transpose(H, (0, 2, 1)))
    return g, H


def _fd_cost_derivatives(model: TrajectoryModel, X, Ue):
    nx, nu = model.nx, model.nu
    T = Ue.shape[0]
    cost = model.cost

    def running(P):
        x = P[..., :nx]
        u = P[..., nx:]
        shp = x.shape[:-1]
        x2 = x.reshape(-1, nx)
        u2 = u.reshape(-1, nu)
        return np.asarray(cost.running(x2, u2, model._step(x2, u2)), dtype=np.float64).reshape(shp)

    def terminal(P):
        shp = P.shape[:-1]
        return np.asarray(cost.terminal(P.reshape(-1, nx)), dtype=np.float64).reshape(shp)

    g, H = _fd_grad_hess(running, np.concatenate([X[:T], Ue], axis=1))
    gT, HT = _fd_grad_hess(terminal, X[T][None])
    return (g[:, :nx], g[:, nx:], H[:, :nx, :nx], H[:, nx:, nx:], H[:, nx:, :nx], gT[0], HT[0])
