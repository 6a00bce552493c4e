"""casadi -> Python translation of exact derivatives, and the trajectory-optimisation kernels of a model.

For one (system, cost) pair, :func:`trajopt_kernels` builds casadi's exact derivative expressions
(:func:`symbolic_pieces`), translates them instruction by instruction into straight-line Python
(:func:`function_source`) and writes them as a small generated module into planlab's kernel cache:

``d1(x, u, p, cp, o)``
    Dynamics Jacobians (and, unless the cost is a :class:`~planlab.core.QuadraticCost`, the running
    cost's gradient and Hessian) at one step, in the packed row of :mod:`.layout`;
``dT(x, cp, o)``
    The terminal cost's gradient and Hessian (empty for a ``QuadraticCost``);
``d2(x, u, p, o)``
    Second derivatives of the dynamics (full DDP), first index the output component.

The algorithms that use them are plain code in :mod:`planlab.planners.trajopt.kernels`, specialised
with :func:`planlab.dynamics.compiled.specialise` so that its sources line imports the model's
sources, these generated functions and (for a ``QuadraticCost``) the closed-form cost derivatives of
:mod:`.quadratic`. The numbers are casadi's, without casadi's per-call overhead.

The system's parameters ``p`` and the cost's ``cp`` are inputs of the derivative code (unless a
source branches on them: then that source's numbers are baked in), and a ``QuadraticCost``'s
derivatives come from its parameters at run time, so new weights, a new target or a new ``dt``
reuse the compiled module.
"""

from __future__ import annotations

import hashlib
import math
import threading

import casadi as ca

from ...core import cost as _core_cost
from ...core.cost import QuadraticCost, quadratic_running, quadratic_terminal
from ...dynamics.compiled import load_module, specialise
from ...dynamics.symbolic import cost_quadratisation, symbolic_step
from . import kernels as _kernels, layout as _layout, quadratic as _quadratic
from .layout import packed_layout

__all__ = ["trajopt_kernels", "derivative_module", "symbolic_pieces", "function_source", "packed_layout",
           "UnsupportedOperation"]


class UnsupportedOperation(ValueError):
    """A casadi operation the code generator does not translate (callers fall back to casadi)."""


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


_lock = threading.Lock()
_generated: dict = {}  # module name -> generated derivative module (one per process)


def _dynamics_expression(system, x, u, psym):
    """Next-state expression with the parameters as symbols ``psym`` when the source allows it.

    Returns ``(f, symbolic)``; a source that branches on a parameter (legal in planlab's source
    language) cannot take symbols, and then gets the system's numbers baked in.
    """
    try:
        return symbolic_step(system, x, u, psym), True
    except Exception:  # noqa: BLE001 - any failure means "needs concrete parameters"
        return symbolic_step(system, x, u), False


def _cost_expressions(cost, x, u, f, cpsym):
    """The cost's quadratisation with its parameters as symbols ``cpsym`` when the source allows it."""
    try:
        return cost_quadratisation(cost, x, u, f, cpsym)
    except Exception:  # noqa: BLE001 - any failure means "needs concrete parameters"
        return cost_quadratisation(cost, x, u, f)


def symbolic_pieces(system, cost, *, quadratic_in_kernel: bool = False):
    """casadi SX functions ``d1(x, u, p, cp)``, ``dT(x, cp)`` and ``d2(x, u, p)`` (see the module docstring).

    Outputs are column vectors in the packed layouts of :mod:`.layout`. With ``quadratic_in_kernel``
    the cost is a :class:`~planlab.core.QuadraticCost` whose derivatives the kernel computes from its
    parameters: ``d1`` then holds the dynamics Jacobians only and ``dT`` is None.
    """
    nx, nu = system.state_dim, system.action_dim
    x = ca.SX.sym("x", nx)
    u = ca.SX.sym("u", nu)
    psym = ca.SX.sym("p", max(1, len(system.param_vector)))
    cpsym = ca.SX.sym("cp", max(1, len(cost.params)))
    f, _ = _dynamics_expression(system, x, u, psym)
    A = ca.jacobian(f, x)
    B = ca.jacobian(f, u)
    hs = []
    for i in range(nx):
        hs += [_row_major(ca.jacobian(A[i, :].T, x)), _row_major(ca.jacobian(B[i, :].T, u)),
               _row_major(ca.jacobian(B[i, :].T, x))]
    F2 = ca.Function("d2", [x, u, psym], [ca.vertcat(*hs)])
    if quadratic_in_kernel:
        F1 = ca.Function("d1", [x, u, psym, cpsym], [ca.vertcat(_row_major(A), _row_major(B))])
        return F1, None, F2
    q = _cost_expressions(cost, x, u, f, cpsym)
    d1 = ca.vertcat(_row_major(A), _row_major(B), q.lx, q.lu, _row_major(q.lxx), _row_major(q.luu), _row_major(q.lux))
    F1 = ca.Function("d1", [x, u, psym, cpsym], [d1])
    FT = ca.Function("dT", [x, cpsym], [ca.vertcat(q.ltx, _row_major(q.ltxx))])
    return F1, FT, F2


def _is_quadratic(cost) -> bool:
    return (isinstance(cost, QuadraticCost) and cost.running_source is quadratic_running
            and cost.terminal_source is quadratic_terminal)


def derivative_module(system, cost):
    """The generated module of ``d1``, ``dT`` and ``d2`` for ``system`` and ``cost`` (module docstring).

    Its name carries a hash of its text, which depends on the system's source (and on its parameters
    only if the source branches on them) and, except for a ``QuadraticCost``, on the cost's source (and
    on its parameters only if that source branches on them).

    Raises
    ------
    UnsupportedOperation
        If the derivative expressions use an operation the generator does not translate.
    """
    F1, FT, F2 = symbolic_pieces(system, cost, quadratic_in_kernel=_is_quadratic(cost))
    dT = function_source("dT", FT, ["x", "cp"]) if FT is not None else "def dT(x, cp, o):\n    pass\n"
    text = "\n\n".join([
        '"""Generated by planlab.planners.trajopt.codegen: casadi\'s exact derivatives as straight-line code. '
        'Do not edit."""\nimport math\n',
        function_source("d1", F1, ["x", "u", "p", "cp"]), dT, function_source("d2", F2, ["x", "u", "p"])])
    name = f"planlab_trajopt_derivatives_{hashlib.sha1(text.encode()).hexdigest()[:16]}"
    with _lock:
        if name not in _generated:
            _generated[name] = load_module(name, text)
        return _generated[name]


def trajopt_kernels(system, cost, sources):
    """The :mod:`~planlab.planners.trajopt.kernels` module specialised for ``system`` and ``cost``.

    Parameters
    ----------
    system : AnalyticSystem
    cost : SourceCost
    sources : CompiledSources
        ``system.compiled_sources(cost)``: the module-level sources the kernels import.

    Raises
    ------
    UnsupportedOperation
        If the derivative expressions use an operation the generator does not translate.
    ValueError
        If a source is not a module-level function.
    """
    gen = derivative_module(system, cost).__name__
    quadratic = _is_quadratic(cost)
    return specialise(_kernels, {
        "_dyn_py": sources.dynamics, "_run_py": sources.running, "_fin_py": sources.terminal,
        "_d1_py": (gen, "d1"), "_dT_py": (gen, "dT"), "_d2_py": (gen, "d2"),
        "_cost1_py": _quadratic.quadratic_cost_derivatives if quadratic else _quadratic.no_cost_derivatives,
        "_costT_py": _quadratic.quadratic_terminal_derivatives if quadratic else _quadratic.no_terminal_derivatives,
    }, prefix="planlab_trajopt", depends=(_quadratic, _layout, _core_cost))
