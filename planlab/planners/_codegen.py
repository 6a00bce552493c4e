"""Generated numba kernels for trajectory optimisation of an analytic system with a source cost.

For one (system, cost) pair this module writes a small Python module into planlab's kernel cache
(the same directory and the same reasons as :mod:`planlab.dynamics.kernels`: numba caches to disk
only module-level functions of importable files) and imports it. The module holds

``derivatives(X, U, lo, hi, p, cp, O, OT) -> bool``
    At controls clamped to ``[lo, hi]``: first derivatives of the dynamics and first and second
    derivatives of the cost at every step of a trajectory, packed row by row into ``O``
    (T, n_packed) (layout: :func:`packed_layout`), and the terminal cost's gradient and Hessian into
    ``OT`` (nx + nx*nx,). The straight-line code is translated instruction by instruction from
    casadi's exact derivative expressions (casadi ``SX`` functions), so the numbers are casadi's,
    without casadi's per-call overhead. Returns whether every number is finite.
``dynamics_hessians(X, U, lo, hi, p, HD) -> bool``
    Second derivatives of the dynamics (DDP): ``HD[t]`` packs ``f_xx`` (nx, nx, nx), ``f_uu``
    (nx, nu, nu) and ``f_ux`` (nx, nu, nx), first index the output component.
``rollout(x0, U, p, cp, X) -> J``
    The nominal trajectory and its cost.
``line_search(x0, X, U, K, k, alphas, lo, hi, p, cp, J0, dV1, dV2, zmin, Xn, Un) -> (i, J)``
    Forward passes ``u_t = clip(U_t + alpha k_t + K_t (x_t - X_t))`` for each ``alpha`` in turn until
    one passes the expected-improvement test; returns its index (or -1) and cost.

The system's parameters ``p`` are inputs of the derivative code (unless its source branches on them);
a :class:`~planlab.core.QuadraticCost`'s derivatives are computed from its parameters ``cp`` by a
fixed kernel, so new weights or a new ``dt`` reuse the compiled module. Other source costs branch on
their parameters, so their derivative code bakes them in (a new module per cost: a few seconds to
compile, then cached on disk).
"""

from __future__ import annotations

import hashlib
import math
import threading

import casadi as ca

from ..dynamics.kernels import load_generated_module, source_name, source_text

__all__ = ["trajopt_kernels", "packed_layout", "UnsupportedOperation"]



class UnsupportedOperation(ValueError):
    """A casadi operation the code generator does not translate (callers fall back to casadi)."""


def packed_layout(nx: int, nu: int) -> dict:
    """Offsets of the packed per-step derivative row.

    Returns a dict ``name -> (offset, shape)`` for ``A`` (nx, nx), ``B`` (nx, nu), ``lx`` (nx,),
    ``lu`` (nu,), ``lxx`` (nx, nx), ``luu`` (nu, nu), ``lux`` (nu, nx), with ``"size"`` the row length.
    Matrices are stored row-major.
    """
    shapes = [("A", (nx, nx)), ("B", (nx, nu)), ("lx", (nx,)), ("lu", (nu,)), ("lxx", (nx, nx)),
              ("luu", (nu, nu)), ("lux", (nu, nx))]
    out, off = {}, 0
    for name, shp in shapes:
        out[name] = (off, shp)
        off += math.prod(shp)
    out["size"] = off
    return out


def _row_major(m):
    """casadi matrix -> column vector of its entries in row-major order."""
    return ca.vec(m.T)


_BIN = {
    ca.OP_ADD: "{0} + {1}", ca.OP_SUB: "{0} - {1}", ca.OP_MUL: "{0} * {1}", ca.OP_DIV: "{0} / {1}",
    ca.OP_POW: "{0} ** {1}", ca.OP_CONSTPOW: "{0} ** {1}", ca.OP_LT: "1.0 if {0} < {1} else 0.0",
    ca.OP_LE: "1.0 if {0} <= {1} else 0.0", ca.OP_EQ: "1.0 if {0} == {1} else 0.0",
    ca.OP_NE: "1.0 if {0} != {1} else 0.0", ca.OP_AND: "1.0 if ({0} != 0.0 and {1} != 0.0) else 0.0",
    ca.OP_OR: "1.0 if ({0} != 0.0 or {1} != 0.0) else 0.0", ca.OP_FMOD: "math.fmod({0}, {1})",
    ca.OP_COPYSIGN: "math.copysign({0}, {1})", ca.OP_IF_ELSE_ZERO: "{1} if {0} != 0.0 else 0.0",
    ca.OP_FMIN: "min({0}, {1})", ca.OP_FMAX: "max({0}, {1})", ca.OP_ATAN2: "math.atan2({0}, {1})",
    ca.OP_HYPOT: "math.hypot({0}, {1})",
}
_UN = {
    ca.OP_ASSIGN: "{0}", ca.OP_NEG: "-{0}", ca.OP_EXP: "math.exp({0})", ca.OP_LOG: "math.log({0})",
    ca.OP_SQRT: "math.sqrt({0})", ca.OP_SQ: "{0} * {0}", ca.OP_TWICE: "2.0 * {0}", ca.OP_SIN: "math.sin({0})",
    ca.OP_COS: "math.cos({0})", ca.OP_TAN: "math.tan({0})", ca.OP_ASIN: "math.asin({0})",
    ca.OP_ACOS: "math.acos({0})", ca.OP_ATAN: "math.atan({0})", ca.OP_NOT: "1.0 if {0} == 0.0 else 0.0",
    ca.OP_FLOOR: "math.floor({0})", ca.OP_CEIL: "math.ceil({0})", ca.OP_FABS: "abs({0})",
    ca.OP_SIGN: "(1.0 if {0} > 0.0 else (-1.0 if {0} < 0.0 else 0.0))", ca.OP_INV: "1.0 / {0}",
    ca.OP_SINH: "math.sinh({0})", ca.OP_COSH: "math.cosh({0})", ca.OP_TANH: "math.tanh({0})",
    ca.OP_ERF: "math.erf({0})", ca.OP_LOG1P: "math.log1p({0})", ca.OP_EXPM1: "math.expm1({0})",
    ca.OP_ASINH: "math.asinh({0})", ca.OP_ACOSH: "math.acosh({0})", ca.OP_ATANH: "math.atanh({0})",
}


def _const(v: float) -> str:
    if math.isnan(v):
        return "math.nan"
    if math.isinf(v):
        return "math.inf" if v > 0 else "-math.inf"
    return repr(float(v))


def function_source(name: str, fn: "ca.Function", arg_names, out_name: str = "o", indent: str = "    ") -> str:
    """Python source of a straight-line function ``name(*arg_names, o)`` evaluating the SX function ``fn``.

    ``fn`` has vector inputs (one per name) and ONE column-vector output written into ``o``
    (zeros where the output is structurally zero).
    """
    if fn.n_out() != 1 or fn.sparsity_out(0).size2() != 1:
        raise ValueError("function_source: expected one column-vector output")
    rows = fn.sparsity_out(0).row()
    n_out = fn.sparsity_out(0).size1()
    in_rows = [fn.sparsity_in(i).row() for i in range(fn.n_in())]
    lines = [f"def {name}({', '.join(arg_names)}, {out_name}):"]
    written = set()
    body = []
    for k in range(fn.n_instructions()):
        op = fn.instruction_id(k)
        ins = fn.instruction_input(k)
        outs = fn.instruction_output(k)
        if op == ca.OP_INPUT:
            body.append(f"w{outs[0]} = {arg_names[ins[0]]}[{in_rows[ins[0]][ins[1]]}]")
        elif op == ca.OP_OUTPUT:
            r = rows[outs[1]]
            written.add(r)
            body.append(f"{out_name}[{r}] = w{ins[0]}")
        elif op == ca.OP_CONST:
            body.append(f"w{outs[0]} = {_const(fn.instruction_constant(k))}")
        elif op in _BIN:
            body.append(f"w{outs[0]} = " + _BIN[op].format(f"w{ins[0]}", f"w{ins[1]}"))
        elif op in _UN:
            body.append(f"w{outs[0]} = " + _UN[op].format(f"w{ins[0]}"))
        else:
            raise UnsupportedOperation(f"casadi operation {op} has no translation")
    zeros = [f"{out_name}[{r}] = 0.0" for r in range(n_out) if r not in written]
    body = zeros + body
    if not body:
        body = ["pass"]
    lines += [indent + b for b in body]
    return "\n".join(lines) + "\n"


_TEMPLATE = '''"""Generated by planlab.planners._codegen (trajectory optimisation kernels). Do not edit."""
import math
import numpy as np
import numba as nb
from {dyn_mod} import {dyn_name} as _dyn_py
from {run_mod} import {run_name} as _run_py
from {fin_mod} import {fin_name} as _fin_py
from planlab.planners._riccati import quadratic_cost_derivatives, quadratic_terminal_derivatives

_jit = nb.njit(cache=True, nogil=True, error_model="numpy")
_dyn = _jit(_dyn_py)
_run = _jit(_run_py)
_fin = _jit(_fin_py)


@_jit
{d1}

@_jit
{dT}

@_jit
{d2}

@_jit
def _cost1(x, u, cp, o):
{cost1}


@_jit
def _costT(x, cp, o):
{costT}


@_jit
def _all_finite(a):
    for v in a.flat:
        if not math.isfinite(v):
            return False
    return True


@_jit
def derivatives(X, U, lo, hi, p, cp, O, OT):
    T, nu = U.shape
    u = np.empty(nu)
    for t in range(T):
        for j in range(nu):
            u[j] = min(max(U[t, j], lo[j]), hi[j])
        _d1(X[t], u, p, O[t])
        _cost1(X[t], u, cp, O[t])
    _dT(X[T], OT)
    _costT(X[T], cp, OT)
    return _all_finite(O) and _all_finite(OT)


@_jit
def dynamics_hessians(X, U, lo, hi, p, HD):
    T, nu = U.shape
    u = np.empty(nu)
    for t in range(T):
        for j in range(nu):
            u[j] = min(max(U[t, j], lo[j]), hi[j])
        _d2(X[t], u, p, HD[t])
    return _all_finite(HD)


@_jit
def rollout(x0, U, p, cp, X):
    nx = x0.shape[0]
    for i in range(nx):
        X[0, i] = x0[i]
    J = 0.0
    for t in range(U.shape[0]):
        _dyn(X[t], U[t], p, X[t + 1])
        J += _run(X[t], U[t], X[t + 1], cp)
    return J + _fin(X[U.shape[0]], cp)


@_jit
def line_search(x0, X, U, K, k, alphas, lo, hi, p, cp, J0, dV1, dV2, zmin, Xn, Un):
    T = U.shape[0]
    nx = x0.shape[0]
    nu = U.shape[1]
    dx = np.empty(nx)
    for ia in range(alphas.shape[0]):
        a = alphas[ia]
        for i in range(nx):
            Xn[0, i] = x0[i]
        J = 0.0
        for t in range(T):
            for i in range(nx):
                dx[i] = Xn[t, i] - X[t, i]
            for j in range(nu):
                v = U[t, j] + a * k[t, j]
                for i in range(nx):
                    v += K[t, j, i] * dx[i]
                if v < lo[j]:
                    v = lo[j]
                elif v > hi[j]:
                    v = hi[j]
                Un[t, j] = v
            _dyn(Xn[t], Un[t], p, Xn[t + 1])
            J += _run(Xn[t], Un[t], Xn[t + 1], cp)
        J += _fin(Xn[T], cp)
        if not math.isfinite(J):
            continue
        expected = a * dV1 + a * a * dV2
        if J < J0 and (expected >= 0.0 or (J - J0) / expected > zmin):
            return ia, J
    return -1, J0
'''

_lock = threading.Lock()
_loaded: dict = {}


def _dynamics_expression(system, x, u, psym):
    """Next-state expression with the parameters as symbols ``psym`` when the source allows it.

    Returns ``(f, symbolic)``; a source that branches on a parameter (legal in planlab's source
    language) cannot take symbols, and then gets the system's numbers baked in.
    """
    from ..dynamics.symbolic import symbolic_step

    nx = system.state_dim
    out = [None] * nx
    try:
        type(system).dynamics_source([x[i] for i in range(nx)], [u[i] for i in range(system.action_dim)],
                                     [psym[i] for i in range(psym.numel())], out)
        return ca.vertcat(*[v if isinstance(v, ca.SX) else ca.SX(v) for v in out]), True
    except Exception:  # noqa: BLE001 - any failure means "needs concrete parameters"
        return symbolic_step(system, x, u), False


def _symbolic_pieces(system, cost, *, quadratic_in_kernel: bool = False):
    """casadi SX functions ``d1(x, u, p)``, ``dT(x)`` and ``d2(x, u, p)`` (see the module docstring).

    With ``quadratic_in_kernel`` the cost is a :class:`~planlab.core.QuadraticCost` whose derivatives
    the kernel computes from its parameters, and ``d1`` holds the dynamics Jacobians only (``dT`` is
    then None).
    """
    nx, nu = system.state_dim, system.action_dim
    x = ca.SX.sym("x", nx)
    u = ca.SX.sym("u", nu)
    psym = ca.SX.sym("p", max(1, len(system.param_vector)))
    f, _ = _dynamics_expression(system, x, u, psym)
    A = ca.jacobian(f, x)
    B = ca.jacobian(f, u)
    hs = []
    for i in range(nx):
        hs += [_row_major(ca.jacobian(A[i, :].T, x)), _row_major(ca.jacobian(B[i, :].T, u)),
               _row_major(ca.jacobian(B[i, :].T, x))]
    F2 = ca.Function("d2", [x, u, psym], [ca.vertcat(*hs)])
    if quadratic_in_kernel:
        F1 = ca.Function("d1", [x, u, psym], [ca.vertcat(_row_major(A), _row_major(B))])
        return F1, None, F2
    p = cost.params.tolist()
    xs = [x[i] for i in range(nx)]
    us = [u[i] for i in range(nu)]
    fs = [f[i] for i in range(nx)]
    l = ca.SX(cost.running_source(xs, us, fs, p))
    lxx, lx = ca.hessian(l, x)
    luu, lu = ca.hessian(l, u)
    lux = ca.jacobian(ca.jacobian(l, u).T, x)
    d1 = ca.vertcat(_row_major(A), _row_major(B), lx, lu, _row_major(lxx), _row_major(luu), _row_major(lux))
    lt = ca.SX(cost.terminal_source(xs, p))
    ltxx, ltx = ca.hessian(lt, x)
    F1 = ca.Function("d1", [x, u, psym], [d1])
    FT = ca.Function("dT", [x], [ca.vertcat(ltx, _row_major(ltxx))])
    return F1, FT, F2


def _is_quadratic(cost) -> bool:
    from ..core.cost import QuadraticCost, quadratic_running, quadratic_terminal

    return (isinstance(cost, QuadraticCost) and cost.running_source is quadratic_running
            and cost.terminal_source is quadratic_terminal)


def trajopt_kernels(system, cost):
    """The generated kernel module for ``system`` (an AnalyticSystem) and ``cost`` (a SourceCost).

    The module depends on the system's source (and on its parameters only if the source branches on
    them) and, for a :class:`~planlab.core.QuadraticCost`, not on the weights: new weights or a new
    ``dt`` reuse the compiled kernels. Other source costs are baked in (a new module per cost).

    Raises
    ------
    UnsupportedOperation
        If the derivative expressions use an operation the generator does not translate.
    ValueError
        If a source is not a module-level function.
    """
    dyn = type(system).dynamics_source
    key_fns = (dyn, cost.running_source, cost.terminal_source)
    names = tuple(source_name(f) for f in key_fns)
    quadratic = _is_quadratic(cost)
    F1, FT, F2 = _symbolic_pieces(system, cost, quadratic_in_kernel=quadratic)
    d1 = function_source("_d1", F1, ["x", "u", "p"])
    d2 = function_source("_d2", F2, ["x", "u", "p"])
    if quadratic:
        dT = "def _dT(x, o):\n    pass\n"
        cost1 = "    quadratic_cost_derivatives(x, u, cp, o)"
        costT = "    quadratic_terminal_derivatives(x, cp, o)"
    else:
        dT = function_source("_dT", FT, ["x"])
        cost1 = costT = "    pass"
    text = _TEMPLATE.format(dyn_mod=names[0][0], dyn_name=names[0][1], run_mod=names[1][0], run_name=names[1][1],
                            fin_mod=names[2][0], fin_name=names[2][1], d1=d1, dT=dT, d2=d2, cost1=cost1, costT=costT)
    h = hashlib.sha1(text.encode())
    for f in key_fns:
        h.update(source_text(f).encode())
    name = f"planlab_trajopt_{h.hexdigest()[:16]}"
    with _lock:
        mod = _loaded.get(name)
        if mod is not None:
            return mod
        module = load_generated_module(name, text)
        _loaded[name] = module
        return module
