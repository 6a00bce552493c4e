r"""casadi functions of a time-indexed, constrained trajectory problem, and the augmented-Lagrangian model.

For a system, a :class:`~planlab.core.tracking.TimeVaryingCost` (or a plain
:class:`~planlab.core.SourceCost`) and optional :class:`~planlab.core.constraints.Constraints`,
:class:`StagewiseFunctions` builds once, from the single sources on casadi ``SX`` symbols:

* the packed derivative row of the augmented Lagrangian at one step (dynamics Jacobians, exact cost
  gradient and Hessian, Gauss-Newton constraint terms), mapped over the horizon;
* the same for the terminal step;
* a forward pass ``u_t = clip(û_t + alpha k_t + K_t (x_t - x̂_t))`` over the horizon (``mapaccum``)
  returning states, controls, the augmented-Lagrangian value and the plain cost;
* the constraint values along a trajectory.

Every number that may change between plans (the cost's and the constraints' parameter tables, the
multipliers and penalties) is an *input* of these functions, so nothing is rebuilt after the
constructor (:func:`build_count` counts constructions).

The inequality terms are the Powell-Hestenes-Rockafellar augmented Lagrangian used by trajax and,
in the form with an active set, by ALTRO (Howell, Jackson & Manchester 2019):

.. math::

    \psi(g, \lambda, \rho) = \frac{\max(0, \lambda + \rho g)^2 - \lambda^2}{2 \rho}, \qquad
    \phi(h, \nu, \rho) = \nu h + \tfrac{\rho}{2} h^2,

with gradient ``max(0, λ + ρ g) ∇g`` and Gauss-Newton Hessian ``ρ ∇g ∇gᵀ`` on the active set.
"""

from __future__ import annotations

import hashlib
import threading

import casadi as ca
import numpy as np

from ...core.constraints import Constraints, check_constraint_outputs
from ...core.cost import SourceCost
from ...core.linesearch import step_accepted
from ...core.tracking import TimeVaryingCost
from ...dynamics.compiled import load_module, numba_enabled, specialise
from . import al_kernels as _al_kernels
from .codegen import UnsupportedOperation, _dynamics_expression, function_source
from .derivatives import TrajectoryModel

__all__ = ["StagewiseFunctions", "AugmentedLagrangianModel", "build_count"]

_BUILDS = [0]
_lock = threading.Lock()
_generated: dict = {}  # generated module name -> module (one per process)


def build_count() -> int:
    """How many :class:`StagewiseFunctions` (casadi function sets) this process has built."""
    return _BUILDS[0]


def _rowmajor(M):
    return ca.vec(M.T)


def _terms(l, g, lam, rho, x, u, eq=None, nu_eq=None, rho_eq=None):
    """Value, gradient blocks and Gauss-Newton Hessian blocks of ``l + psi(g) + phi(eq)``."""
    lxx, lx = ca.hessian(l, x)
    val = l
    weights, curv, jac_rows = [], [], []
    if g.numel():
        z = lam + rho * g
        val = val + ca.sum1((ca.fmax(0, z) ** 2 - lam ** 2) / (2 * rho))
        weights.append(ca.fmax(0, z))
        curv.append(ca.if_else(z > 0, rho, 0))
        jac_rows.append(g)
    if eq is not None and eq.numel():
        val = val + ca.sum1(nu_eq * eq + 0.5 * rho_eq * eq ** 2)
        weights.append(nu_eq + rho_eq * eq)
        curv.append(rho_eq)
        jac_rows.append(eq)
    out = {"val": val, "lx": lx, "lxx": lxx}
    if u is not None:
        luu, lu = ca.hessian(l, u)
        out.update(lu=lu, luu=luu, lux=ca.jacobian(ca.jacobian(l, u).T, x))
    if jac_rows:
        c = ca.vertcat(*jac_rows)
        w = ca.vertcat(*weights)
        D = ca.diag(ca.vertcat(*curv))
        Cx = ca.jacobian(c, x)
        out["lx"] = out["lx"] + ca.mtimes(Cx.T, w)
        out["lxx"] = out["lxx"] + ca.mtimes([Cx.T, D, Cx])
        if u is not None:
            Cu = ca.jacobian(c, u)
            out["lu"] = out["lu"] + ca.mtimes(Cu.T, w)
            out["luu"] = out["luu"] + ca.mtimes([Cu.T, D, Cu])
            out["lux"] = out["lux"] + ca.mtimes([Cu.T, D, Cx])
    return out


class StagewiseFunctions:
    """The casadi functions of one (system, cost, constraints, horizon) problem (module docstring).

    ``compiled``: None (default) compiles the functions with numba unless it is disabled
    (``PLANLAB_DISABLE_NUMBA``); False keeps casadi's own evaluation (no compilation, slower solves).

    Attributes
    ----------
    ncp, ngp : int
        Columns of the cost's and the constraints' parameter tables.
    ng, nt, ne : int
        Stage inequalities, terminal inequalities, terminal equalities.
    """

    def __init__(self, dynamics, cost, constraints: Constraints | None, horizon: int, *, compiled: bool | None = None):
        _BUILDS[0] += 1
        nx, nu, T = dynamics.state_dim, dynamics.action_dim, int(horizon)
        self.nx, self.nu, self.T = nx, nu, T
        self.ncp = cost.table.size if isinstance(cost, TimeVaryingCost) else 1
        self.ngp = constraints.table.size if constraints is not None else 1
        con = constraints
        self.ng = con.n_stage if con else 0
        self.nt = con.n_terminal if con else 0
        self.ne = con.n_equality if con else 0
        x, u = ca.SX.sym("x", nx), ca.SX.sym("u", nu)
        pc, pg = ca.SX.sym("pc", self.ncp), ca.SX.sym("pg", self.ngp)
        lam, rho = ca.SX.sym("lam", self.ng), ca.SX.sym("rho", self.ng)
        lt, rt = ca.SX.sym("lamT", self.nt), ca.SX.sym("rhoT", self.nt)
        le, re = ca.SX.sym("nuT", self.ne), ca.SX.sym("rhoE", self.ne)
        # the system's parameters are inputs too (unless its source branches on them), so a new dt or
        # new physical constants reuse the compiled code
        sp = ca.SX.sym("sp", max(1, len(dynamics.param_vector)))
        f, _ = _dynamics_expression(dynamics, x, u, sp)
        self.nsp = sp.numel()
        #: the system's parameter vector (the default value of the ``sp`` inputs)
        self.param_vector = np.asarray(dynamics.param_vector, dtype=np.float64) if self.nsp == len(
            dynamics.param_vector) else np.zeros(1)
        xs, us = [x[i] for i in range(nx)], [u[i] for i in range(nu)]
        pcs, pgs = [pc[i] for i in range(self.ncp)], [pg[i] for i in range(self.ngp)]
        if isinstance(cost, TimeVaryingCost):
            l = ca.SX(cost.running_source(xs, us, pcs))
            lf = ca.SX(cost.terminal_source(xs, pcs))
        elif isinstance(cost, SourceCost):
            cp = cost.params.tolist()
            l = ca.SX(cost.running_source(xs, us, [f[i] for i in range(nx)], cp))
            lf = ca.SX(cost.terminal_source(xs, cp))
        else:
            raise TypeError(f"cost: expected a TimeVaryingCost or a SourceCost, got {type(cost).__name__}")
        g = ca.vertcat(*check_constraint_outputs("stage", con.stage, (xs, us, pgs), self.ng)) if self.ng else ca.SX(0, 1)
        gT = ca.vertcat(*check_constraint_outputs("terminal", con.terminal, (xs, pgs), self.nt)) if self.nt else ca.SX(0, 1)
        hT = (ca.vertcat(*check_constraint_outputs("terminal_equality", con.terminal_equality, (xs, pgs), self.ne))
              if self.ne else ca.SX(0, 1))
        run = _terms(l, g, lam, rho, x, u)
        row = ca.vertcat(_rowmajor(ca.jacobian(f, x)), _rowmajor(ca.jacobian(f, u)), run["lx"], run["lu"],
                         _rowmajor(run["lxx"]), _rowmajor(run["luu"]), _rowmajor(run["lux"]))
        fin = _terms(lf, gT, lt, rt, x, None, hT, le, re)
        xb, ub = ca.SX.sym("xb", nx), ca.SX.sym("ub", nu)
        Kf, kf, a = ca.SX.sym("K", nu * nx), ca.SX.sym("k", nu), ca.SX.sym("a", 1)
        lo, hi = ca.SX.sym("lo", nu), ca.SX.sym("hi", nu)  # the control box, an input as well
        uu = ub + a * kf + ca.mtimes(ca.reshape(Kf, nx, nu).T, x - xb)
        uu = ca.fmin(ca.fmax(uu, lo), hi)
        sub = ca.substitute(ca.vertcat(f, run["val"], l), u, uu)
        #: the SX functions (one column output each) that the compiled kernels and the casadi path evaluate
        self.sx = {
            "row": ca.Function("row", [x, u, sp, pc, pg, lam, rho], [row]),
            "trow": ca.Function("trow", [x, pc, pg, lt, rt, le, re], [ca.vertcat(fin["lx"], _rowmajor(fin["lxx"]))]),
            "tval": ca.Function("tval", [x, pc, pg, lt, rt, le, re], [ca.vertcat(fin["val"], lf)]),
            "fstep": ca.Function("fstep", [x, xb, ub, Kf, kf, a, lo, hi, sp, pc, pg, lam, rho],
                                 [ca.vertcat(sub[:nx], uu, sub[nx], sub[nx + 1])]),
            "gstage": ca.Function("gstage", [x, u, pg], [g]),
            "gterm": ca.Function("gterm", [x, pg], [ca.vertcat(gT, hT)]),
        }
        self.arg_names = {"row": ["x", "u", "sp", "pc", "pg", "lam", "rho"], "trow": ["x", "pc", "pg", "lt", "rt", "le", "re"],
                          "tval": ["x", "pc", "pg", "lt", "rt", "le", "re"],
                          "fstep": ["x", "xb", "ub", "K", "k", "a", "lo", "hi", "sp", "pc", "pg", "lam", "rho"],
                          "gstage": ["x", "u", "pg"], "gterm": ["x", "pg"]}
        use = numba_enabled() if compiled is None else bool(compiled) and numba_enabled()
        self.kernels = self._compile() if use else None
        if self.kernels is None:
            self._casadi_functions()

    def _compile(self):
        """The compiled kernels (:mod:`.al_kernels`) of these functions, or None if one does not translate."""
        try:
            parts = [function_source(n, fn, self.arg_names[n]) for n, fn in self.sx.items()]
        except UnsupportedOperation:
            return None
        text = ('"""Generated by planlab.planners.trajopt.stagewise: casadi\'s expressions as straight-line code. '
                'Do not edit."""\nimport math\n\n\n' + "\n\n".join(parts))
        name = f"planlab_al_functions_{hashlib.sha1(text.encode()).hexdigest()[:16]}"
        with _lock:
            gen = _generated.get(name)
            if gen is None:
                gen = _generated[name] = load_module(name, text)
        return specialise(_al_kernels, {f"_{a}_py": (gen.__name__, n) for a, n in (
            ("row", "row"), ("trow", "trow"), ("tval", "tval"), ("fstep", "fstep"), ("gs", "gstage"), ("gt", "gterm"))},
            prefix="planlab_al_kernels")

    def _casadi_functions(self):
        """casadi's own evaluation (numba off): the rows mapped, the forward pass accumulated over T."""
        T, nx, nu = self.T, self.nx, self.nu
        S = self.sx
        self.stage_row = S["row"].map(T)
        self.stage_g = S["gstage"].map(T)
        X0 = ca.MX.sym("x0", nx)
        Xb, Ub = ca.MX.sym("Xb", nx, T), ca.MX.sym("Ub", nu, T)
        KK, kk, A = ca.MX.sym("KK", nu * nx, T), ca.MX.sym("kk", nu, T), ca.MX.sym("a")
        LO, HI, SP = ca.MX.sym("LO", nu), ca.MX.sym("HI", nu), ca.MX.sym("SP", self.nsp)
        PC, PG = ca.MX.sym("PC", self.ncp, T + 1), ca.MX.sym("PG", self.ngp, T + 1)
        LAM, RHO = ca.MX.sym("LAM", self.ng, T), ca.MX.sym("RHO", self.ng, T)
        LT, RT, LE, RE = (ca.MX.sym("LT", self.nt), ca.MX.sym("RT", self.nt), ca.MX.sym("LE", self.ne),
                          ca.MX.sym("RE", self.ne))
        # fstep's output is [x_next, u, L, l]; mapaccum feeds the first nx entries back as x
        ins = S["fstep"].mx_in()
        out = S["fstep"](*ins)
        step = ca.Function("fp_step", ins, [out[:nx], out[nx:]])
        acc = step.mapaccum("fp", T)
        Xs, rest = acc(X0, Xb, Ub, KK, kk, ca.repmat(A, 1, T), ca.repmat(LO, 1, T), ca.repmat(HI, 1, T),
                       ca.repmat(SP, 1, T), PC[:, :T], PG[:, :T], LAM, RHO)
        v = S["tval"](Xs[:, T - 1], PC[:, T], PG[:, T], LT, RT, LE, RE)
        self.forward = ca.Function("forward", [X0, Xb, Ub, KK, kk, A, LO, HI, SP, PC, PG, LAM, RHO, LT, RT, LE, RE],
                                   [ca.horzcat(X0, Xs), rest[:nu, :], ca.sum2(rest[nu, :]) + v[0],
                                    ca.sum2(rest[nu + 1, :]) + v[1]])


class AugmentedLagrangianModel(TrajectoryModel):
    """A :class:`~planlab.planners.trajopt.derivatives.TrajectoryModel` whose cost is the augmented
    Lagrangian at fixed multipliers and penalties: what box-DDP minimises in each outer iteration.

    Attributes set between solves: ``PC`` (T + 1, ncp), ``PG`` (T + 1, ngp) parameter tables;
    ``lam``, ``rho`` (T, ng); ``lam_t``, ``rho_t`` (nt,); ``nu_e``, ``rho_e`` (ne,).
    """

    method = "casadi"

    def __init__(self, dynamics, cost, constraints, horizon, *, compiled: bool | None = None):
        super().__init__(dynamics, cost)
        self.fns = F = StagewiseFunctions(dynamics, cost, constraints, horizon, compiled=compiled)
        self.compiled = F.kernels is not None
        T = F.T
        self.PC = np.zeros((T + 1, F.ncp))
        self.PG = np.zeros((T + 1, F.ngp))
        self.lam, self.rho = np.zeros((T, F.ng)), np.ones((T, F.ng))
        self.lam_t, self.rho_t = np.zeros(F.nt), np.ones(F.nt)
        self.nu_e, self.rho_e = np.zeros(F.ne), np.ones(F.ne)
        big = 1e300  # an infinite side of the box as a finite number the generated code can compare with
        self._clo = np.ascontiguousarray(np.where(np.isfinite(self.lo), self.lo, -big))
        self._chi = np.ascontiguousarray(np.where(np.isfinite(self.hi), self.hi, big))
        pv = np.asarray(dynamics.param_vector, dtype=np.float64)
        self._sp = np.ascontiguousarray(pv if pv.size else np.zeros(1))

    def _mult(self):
        c = np.ascontiguousarray
        return (c(self.lam), c(self.rho), c(self.lam_t), c(self.rho_t), c(self.nu_e), c(self.rho_e))

    def evaluate(self, x0, Xb, Ub, K, k, alpha):
        """``(X (T + 1, nx), U (T, nu), AL value, plain cost)`` of one forward pass."""
        T = Ub.shape[0]
        Kf = np.ascontiguousarray(K.reshape(T, self.nu * self.nx))
        if self.compiled:
            X = np.empty((T + 1, self.nx))
            U = np.empty((T, self.nu))
            L, c = self.fns.kernels.forward(x0, np.ascontiguousarray(Xb[:T]), np.ascontiguousarray(Ub), Kf,
                                            np.ascontiguousarray(k), float(alpha), self._clo, self._chi, self._sp, self.PC,
                                            self.PG, *self._mult(), X, U)
            return X, U, float(L), float(c)
        lam, rho, lt, rt, le, re = self._mult()
        X, U, L, c = self.fns.forward(x0, Xb[:T].T, Ub.T, Kf.T, k.T, alpha, self._clo, self._chi, self._sp, self.PC.T,
                                      self.PG.T, lam.T, rho.T,
                                      lt, rt, le, re)
        return np.asarray(X).T, np.asarray(U).T.reshape(T, self.nu), float(L), float(c)

    def rollout(self, x0, U):
        T = U.shape[0]
        X, _, L, _ = self.evaluate(x0, np.zeros((T, self.nx)), U, np.zeros((T, self.nu, self.nx)),
                                   np.zeros((T, self.nu)), 0.0)
        return X, L

    def line_search(self, x0, X, U, K, k, alphas, J0, dV1, dV2, zmin, Xn, Un):
        if self.compiled:
            T = U.shape[0]
            i, J, _ = self.fns.kernels.line_search(x0, X, U, np.ascontiguousarray(K.reshape(T, -1)), k, alphas,
                                                   self._clo, self._chi, self._sp, self.PC, self.PG, *self._mult(), J0, dV1, dV2, zmin, Xn, Un)
            return int(i), float(J)
        for i, a in enumerate(alphas):
            Xa, Ua, J, _ = self.evaluate(x0, X, U, K, k, float(a))
            if step_accepted(J, J0, float(a), dV1, dV2, zmin):
                Xn[:] = Xa
                Un[:] = Ua
                return i, J
        return -1, J0

    def derivatives(self, X, U, O, OT):
        T = U.shape[0]
        if self.compiled:
            return bool(self.fns.kernels.derivatives(X, U, self._lo_in, self._hi_in, self._sp, self.PC, self.PG,
                                                     *self._mult(),
                                                     O, OT))
        Ue = self.derivative_controls(U)
        lam, rho, lt, rt, le, re = self._mult()
        SP = np.repeat(self._sp[:, None], T, axis=1)
        O[:] = np.asarray(self.fns.stage_row(X[:T].T, Ue.T, SP, self.PC[:T].T, self.PG[:T].T, lam.T, rho.T)).T
        OT[:] = np.asarray(self.fns.sx["trow"](X[T], self.PC[T], self.PG[T], lt, rt, le, re)).ravel()
        return bool(np.isfinite(O).all() and np.isfinite(OT).all())

    def constraint_values(self, X, U):
        """``(g (T, ng), g_f (nt,), h (ne,))`` along a trajectory."""
        T = U.shape[0]
        F = self.fns
        if self.compiled:
            G = np.empty((T, F.ng))
            GT = np.empty(F.nt + F.ne)
            F.kernels.constraint_values(np.ascontiguousarray(X), np.ascontiguousarray(U), self.PG, G, GT)
        else:
            G = np.asarray(F.stage_g(X[:T].T, U.T, self.PG[:T].T)).T.reshape(T, F.ng) if F.ng else np.zeros((T, 0))
            GT = np.asarray(F.sx["gterm"](X[T], self.PG[T])).ravel()
        return G, GT[:F.nt], GT[F.nt:]
