"""Trajectory models for derivative-based planners: rollouts, line searches and packed derivatives.

iLQR / DDP (:mod:`planlab.planners.trajopt.ilqr`) sees a model only through a :class:`TrajectoryModel`:

``rollout(x0, U) -> (X, J)``
    States (T + 1, nx) and total cost of controls ``U`` (T, nu) from ``x0`` (termination ignored).
``derivatives(X, U, O, OT) -> bool``
    Dynamics Jacobians and cost gradients/Hessians at every step, packed into ``O`` (T, n_packed)
    and ``OT`` (nx + nx*nx,) (layout :mod:`~planlab.planners.trajopt.layout`); returns
    whether all of them are finite.
``dynamics_hessians(X, U, HD) -> bool``
    Second derivatives of the dynamics for full DDP (casadi models only).
``line_search(...)``
    Forward passes for a sequence of step sizes until one passes the expected-improvement test.

Three sources of derivatives (``method``):

``"casadi"``
    Analytic systems with a source cost: casadi's exact derivative expressions, translated once into
    straight-line code (:mod:`planlab.planners.trajopt.codegen`) that the compiled kernels of
    :mod:`planlab.planners.trajopt.kernels` evaluate at all T steps in one call; the forward passes run
    the system's source compiled with numba. With numba disabled, casadi ``Function.map``
    evaluates the same expressions (slower).
``"torch"``
    Any model with a torch path (``has_torch``): ``torch.autograd`` Jacobians of the batched step,
    all T steps in one vectorised call (each output summed over the batch, which is exact because
    steps are independent). Costs with a torch path (``SourceCost``) are differentiated the same way,
    others by finite differences.
``"fd"``
    Black boxes: central finite differences of the batched ``step`` and ``cost`` (all perturbations
    of all T steps in one batched call). Cost Hessians use the four-point second difference. A model
    with a batched ``jacobians(X (T, nx), U (T, nu)) -> (A, B)`` method supplies the dynamics
    Jacobians itself (MuJoCo models: ``mjd_transitionFD``), and a cost with
    ``chain_derivatives(X, U, A, B)`` its derivatives through them (MuJoCo costs). A model with
    ``trajectory_stepper(cost)`` supplies an object whose ``rollout`` and ``line_search`` (the
    signatures of :class:`TrajectoryModel`) replace the generic ones (MuJoCo models: C stepping).

Derivatives are evaluated at controls nudged ``1e-9`` (relative) inside the control box: models that
saturate their own input (``clip`` in the source, as CartPole does at ``force_max``) have a kink exactly
at the bound, where casadi returns the average of the one-sided derivatives; the interior one is what
box-DDP needs.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ...core.contracts import Cost, Dynamics
from ...core.cost import SourceCost
from ...core.validation import check_in
from ...dynamics.analytic import AnalyticSystem
from ..sampling import background
from .codegen import UnsupportedOperation, symbolic_pieces, trajopt_kernels
from .cold import ColdKernels, child_spec, solver_spec
from .layout import hessian_row_size, packed_layout
from .riccati import backward_pass

__all__ = ["TrajectoryModel", "make_trajectory_model", "DERIVATIVE_METHODS"]

DERIVATIVE_METHODS = ("auto", "casadi", "torch", "fd")


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
            if not math.isfinite(J[i]) or not J[i] < J0:
                continue
            a = alphas[i]
            expected = a * dV1 + a * a * dV2
            if expected >= 0.0 or (J[i] - J0) / expected > zmin:
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


class CodegenModel(TrajectoryModel):
    """Analytic system + source cost: generated numba kernels with casadi's exact derivatives.

    After :meth:`serve_cold` the kernels run interpreted until a background compile of them has
    finished (:mod:`planlab.planners.trajopt.cold`).
    """

    method = "casadi"
    supports_hessians = True

    def __init__(self, dynamics, cost, sources):
        super().__init__(dynamics, cost)
        self.kernels = trajopt_kernels(dynamics, cost, sources)
        self.p = np.ascontiguousarray(sources.params if len(sources.params) else np.zeros(1), dtype=np.float64)
        self.cp = np.ascontiguousarray(sources.cost_params, dtype=np.float64)
        self._k = self.kernels  # the kernels that serve: the compiled module, or a ColdKernels
        self._bp = backward_pass

    def serve_cold(self, hessians: bool) -> bool:
        """Serve interpreted kernels while a child compiles them, if they are not in the cache and a
        child can rebuild the model; whether it does."""
        marker = background.ready_marker(self.kernels.__name__)
        if marker.exists():
            return False
        spec = child_spec(self.dynamics, self.cost, hessians, marker)
        if spec is None:
            return False
        self._k = self._cold = ColdKernels(self.kernels, spec)
        self._bp = self._k.backward_pass
        return True

    def backward_pass(self, *args):
        return self._bp(*args)

    def rollout(self, x0, U):
        X = np.empty((U.shape[0] + 1, self.nx))
        J = self._k.rollout(x0, U, self.p, self.cp, X)
        return X, float(J)

    def line_search(self, x0, X, U, K, k, alphas, J0, dV1, dV2, zmin, Xn, Un):
        i, J = self._k.line_search(x0, X, U, K, k, alphas, self.lo, self.hi, self.p, self.cp, J0, dV1, dV2,
                                   zmin, Xn, Un)
        return int(i), float(J)

    def derivatives(self, X, U, O, OT):
        return bool(self._k.derivatives(X, U, self._lo_in, self._hi_in, self.p, self.cp, O, OT))

    def dynamics_hessians(self, X, U, HD):
        """Second derivatives of the dynamics along ``(X, U)`` into ``HD`` (full DDP); casadi models only."""
        return bool(self._k.dynamics_hessians(X, U, self._lo_in, self._hi_in, self.p, HD))


class CasadiMapModel(TrajectoryModel):
    """Analytic system + source cost through casadi ``Function.map`` (used when numba is off)."""

    method = "casadi"
    supports_hessians = True

    def __init__(self, dynamics, cost):
        super().__init__(dynamics, cost)
        self._F1, self._FT, self._F2 = symbolic_pieces(dynamics, cost)
        self._p = np.asarray(dynamics.param_vector if len(dynamics.param_vector) else np.zeros(1), dtype=np.float64)
        self._cp = np.asarray(cost.params, dtype=np.float64)
        self._maps = {}

    def _mapped(self, F, T):
        key = (F.name(), T)
        if key not in self._maps:
            self._maps[key] = F.map(T, "serial")
        return self._maps[key]

    def derivatives(self, X, U, O, OT):
        T = U.shape[0]
        Ue = self.derivative_controls(U)
        P = np.tile(self._p[:, None], (1, T))
        CP = np.tile(self._cp[:, None], (1, T))
        O[:] = self._mapped(self._F1, T)(X[:T].T, Ue.T, P, CP).full().T
        OT[:] = self._FT(X[T], self._cp).full().ravel()
        return bool(np.isfinite(O).all() and np.isfinite(OT).all())

    def dynamics_hessians(self, X, U, HD):
        """Second derivatives of the dynamics along ``(X, U)`` into ``HD`` (full DDP); casadi models only."""
        T = U.shape[0]
        P = np.tile(self._p[:, None], (1, T))
        HD[:] = self._mapped(self._F2, T)(X[:T].T, self.derivative_controls(U).T, P).full().T
        return bool(np.isfinite(HD).all())


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
        nx, nu = self.nx, self.nu
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


def _casadi_model(dynamics, cost, background_compile=None, hessians=False) -> TrajectoryModel:
    if background_compile is not False and background.enabled():
        lazy = background.importable_sources(dynamics, cost)  # compiles nothing
        if lazy is not None:
            try:
                model = CodegenModel(dynamics, cost, lazy)
            except (UnsupportedOperation, ValueError):
                model = None
            if model is not None and model.serve_cold(hessians):
                return model
    sources = dynamics.compiled_sources(cost)  # None: numba off, or sources numba cannot compile
    if sources is not None:
        try:
            return CodegenModel(dynamics, cost, sources)
        except (UnsupportedOperation, ValueError):
            pass
    return CasadiMapModel(dynamics, cost)


def _torch_path_works(dynamics, cost) -> bool:
    """Whether the model's and the cost's torch paths run on a zero state and action."""
    if not getattr(dynamics, "has_torch", False):
        return False
    try:
        import torch

        x = torch.zeros(1, dynamics.state_dim, dtype=torch.float64, requires_grad=True)
        u0 = np.clip(np.zeros((1, dynamics.action_dim)), dynamics.action_low, dynamics.action_high)
        u = torch.tensor(u0, dtype=torch.float64, requires_grad=True)
        xn = dynamics.step_torch(x, u)
        c = cost.running_torch(x, u, xn) if hasattr(cost, "running_torch") else xn.sum()
        torch.autograd.grad(xn.sum() + c.sum(), (x, u), allow_unused=True)
        return isinstance(xn, torch.Tensor)
    except Exception:  # any failure of foreign maths on tensors: finite differences instead
        return False


def make_trajectory_model(dynamics: Dynamics, cost: Cost, derivatives: str = "auto", *,
                          background_compile: bool | None = None, hessians: bool = False) -> TrajectoryModel:
    """Pick the derivative source for ``(dynamics, cost)``.

    Parameters
    ----------
    derivatives : {"auto", "casadi", "torch", "fd"}
        ``"auto"``: casadi for an analytic system with a source cost, else torch when the model has a
        torch path, else finite differences.
    background_compile : bool or None
        casadi models whose kernels are not in the cache: False compiles them on first use; None
        (default: on unless ``PLANLAB_BACKGROUND_COMPILE=0``) or True runs them interpreted while a
        child process compiles them (:mod:`.cold`).
    hessians : bool
        Whether the caller will ask for :meth:`~TrajectoryModel.dynamics_hessians` (full DDP): the
        background compile then includes them.
    """
    check_in("derivatives", derivatives, set(DERIVATIVE_METHODS))
    analytic = (isinstance(dynamics, AnalyticSystem) and isinstance(cost, SourceCost)
                and cost.state_dim == dynamics.state_dim and cost.action_dim == dynamics.action_dim)
    auto = derivatives == "auto"
    if auto:
        derivatives = "casadi" if analytic else ("torch" if getattr(dynamics, "has_torch", False) else "fd")
    if derivatives == "casadi":
        if not analytic:
            raise ValueError(f"derivatives: 'casadi' needs an AnalyticSystem and a SourceCost of matching size, got "
                             f"{type(dynamics).__name__} and {type(cost).__name__}")
        if not auto:
            return _casadi_model(dynamics, cost, background_compile, hessians)
        # "auto": a source casadi cannot trace (say scipy.special.expit) falls back to torch or finite
        # differences, with one warning instead of numba's and casadi's
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = _casadi_model(dynamics, cost, background_compile, hessians)
            except Exception as exc:  # casadi raises TypeError/NotImplementedError/RuntimeError on foreign maths
                model, why = None, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        if model is not None:
            for w in caught:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            return model
        method = "torch" if _torch_path_works(dynamics, cost) else "fd"
        warnings.warn(f"planlab: casadi cannot differentiate the sources of {type(dynamics).__name__} with "
                      f"{type(cost).__name__} ({why}); using {method} derivatives (slower)", RuntimeWarning,
                      stacklevel=3)
        derivatives = method
    if derivatives == "torch":
        if not getattr(dynamics, "has_torch", False):
            raise ValueError(f"derivatives: 'torch' needs a model with a torch path (has_torch), got {type(dynamics).__name__}")
        model = TorchModel(dynamics, cost)
    else:
        model = FiniteDifferenceModel(dynamics, cost)
    if background_compile is not False and background.enabled():
        model.serve_cold(hessians)
    return model
