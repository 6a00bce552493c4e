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

import warnings

import numpy as np

from ...core.contracts import Cost, Dynamics
from ...core.cost import SourceCost
from ...core.validation import check_in
from ...dynamics.analytic import AnalyticSystem
from ..sampling import background
from .codegen import UnsupportedOperation, symbolic_pieces, trajopt_kernels
from .cold import ColdKernels, child_spec
from .numeric import FiniteDifferenceModel, TorchModel
from .riccati import backward_pass
from .trajectory_model import TrajectoryModel

__all__ = ["TrajectoryModel", "CodegenModel", "CasadiMapModel", "TorchModel", "FiniteDifferenceModel",
           "make_trajectory_model", "DERIVATIVE_METHODS"]

DERIVATIVE_METHODS = ("auto", "casadi", "torch", "fd")


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
