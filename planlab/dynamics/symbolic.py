"""casadi models of analytic systems and source costs: exact Jacobians, gradients and Hessians.

The system's single source is evaluated on casadi ``SX`` symbols, so the derivatives are those of
exactly the code the numba kernels run.

Examples
--------
>>> import numpy as np
>>> from planlab.dynamics import Pendulum
>>> A, B = Pendulum().linearize(np.array([np.pi, 0.0]), np.array([0.0]))
>>> A.shape, B.shape
((2, 2), (2, 1))
"""

from __future__ import annotations

from typing import NamedTuple

import casadi as ca
import numpy as np

from ..core.contracts import Cost
from ..core.cost import SourceCost

__all__ = ["SymbolicModel", "symbolic_step", "cost_quadratisation", "CostQuadratisation"]


def symbolic_step(system, x, u, params=None):
    """The next-state expression of ``system`` at casadi symbols ``x`` (nx) and ``u`` (nu).

    ``params`` (a casadi symbol of the parameter vector's length) makes the parameters inputs of the
    expression; by default they are the system's numbers. A source that branches on a parameter
    cannot take symbols (its ``if`` raises).
    """
    out = [None] * system.state_dim
    xs = [x[i] for i in range(system.state_dim)]
    us = [u[i] for i in range(system.action_dim)]
    p = system.param_vector.tolist() if params is None else [params[i] for i in range(params.numel())]
    type(system).dynamics_source(xs, us, p, out)
    return ca.vertcat(*[ca.SX(v) if not isinstance(v, (ca.SX, ca.MX)) else v for v in out])


class CostQuadratisation(NamedTuple):
    """casadi ``SX`` expressions of a source cost and its first and second derivatives."""

    l: "ca.SX"  # running cost, scalar
    lx: "ca.SX"  # (nx, 1)
    lu: "ca.SX"  # (nu, 1)
    lxx: "ca.SX"  # (nx, nx)
    luu: "ca.SX"  # (nu, nu)
    lux: "ca.SX"  # (nu, nx)
    lt: "ca.SX"  # terminal cost, scalar
    ltx: "ca.SX"  # (nx, 1)
    ltxx: "ca.SX"  # (nx, nx)


def cost_quadratisation(cost: SourceCost, x, u, f, params=None) -> CostQuadratisation:
    """Exact gradients and Hessians of ``cost`` at casadi symbols ``x`` (nx), ``u`` (nu).

    ``f`` (nx) is the next-state expression, substituted for the cost's ``x_next``. ``params`` (a
    casadi symbol of the cost's parameter vector's length) makes the parameters inputs of the
    expressions; by default they are the cost's numbers. A source that branches on a parameter
    cannot take symbols (its ``if`` raises).
    """
    nx, nu = x.numel(), u.numel()
    p = cost.params.tolist() if params is None else [params[i] for i in range(params.numel())]
    xs = [x[i] for i in range(nx)]
    us = [u[i] for i in range(nu)]
    fs = [f[i] for i in range(nx)]
    l = ca.SX(cost.running_source(xs, us, fs, p))
    lxx, lx = ca.hessian(l, x)
    luu, lu = ca.hessian(l, u)
    lux = ca.jacobian(ca.jacobian(l, u).T, x)
    lt = ca.SX(cost.terminal_source(xs, p))
    ltxx, ltx = ca.hessian(lt, x)
    return CostQuadratisation(l, lx, lu, lxx, luu, lux, lt, ltx, ltxx)


class SymbolicModel:
    """casadi functions of a system (and optionally a :class:`~planlab.core.SourceCost`).

    Attributes (casadi ``Function`` objects)
    ----------------------------------------
    f : (x, u) -> x_next
    jac : (x, u) -> (A, B)
    running : (x, u) -> (l, l_x, l_u, l_xx, l_uu, l_ux); the cost's ``x_next`` is substituted by ``f``
    terminal : (x) -> (l_f, l_fx, l_fxx)
    hessians : (x, u, lam) -> (f_xx, f_uu, f_ux) contracted with ``lam`` (nx,): the second-order
        dynamics terms of DDP, ``sum_i lam_i d2 f_i``.
    """

    def __init__(self, system, cost: Cost | None = None):
        nx, nu = system.state_dim, system.action_dim
        self.system = system
        self.cost = cost
        x = ca.SX.sym("x", nx)
        u = ca.SX.sym("u", nu)
        lam = ca.SX.sym("lam", nx)
        f = symbolic_step(system, x, u)
        self.f = ca.Function("f", [x, u], [f], ["x", "u"], ["x_next"])
        self.jac = ca.Function("jacobians", [x, u], [ca.jacobian(f, x), ca.jacobian(f, u)], ["x", "u"], ["A", "B"])
        lf = ca.dot(lam, f)
        hxx, gx = ca.hessian(lf, x)
        huu, gu = ca.hessian(lf, u)
        hux = ca.jacobian(ca.jacobian(lf, u).T, x)
        self.hessians = ca.Function("hessians", [x, u, lam], [hxx, huu, hux])
        self.running = None
        self.terminal = None
        if cost is not None:
            if not isinstance(cost, SourceCost):
                raise TypeError(f"cost: expected a SourceCost (written in planlab's source language), got {type(cost).__name__}")
            q = cost_quadratisation(cost, x, u, f)
            self.running = ca.Function("running", [x, u], [q.l, q.lx, q.lu, q.lxx, q.luu, q.lux])
            self.terminal = ca.Function("terminal", [x], [q.lt, q.ltx, q.ltxx])

    def linearize(self, x, u):
        """``(A, B)`` at one point as float64 arrays."""
        A, B = self.jac(x, u)
        return np.array(A, dtype=np.float64), np.array(B, dtype=np.float64)

    def cost_derivatives(self, x, u):
        """Running cost value and derivatives at one point: ``(l, lx, lu, lxx, luu, lux)``."""
        if self.running is None:
            raise ValueError("cost: this SymbolicModel was built without a cost")
        l, lx, lu, lxx, luu, lux = self.running(x, u)
        return (
            float(l),
            np.array(lx, dtype=np.float64).ravel(),
            np.array(lu, dtype=np.float64).ravel(),
            np.array(lxx, dtype=np.float64),
            np.array(luu, dtype=np.float64),
            np.array(lux, dtype=np.float64),
        )

    def terminal_derivatives(self, x):
        """Terminal cost value, gradient (nx,) and Hessian (nx, nx) at ``x``."""
        if self.terminal is None:
            raise ValueError("cost: this SymbolicModel was built without a cost")
        l, lx, lxx = self.terminal(x)
        return float(l), np.array(lx, dtype=np.float64).ravel(), np.array(lxx, dtype=np.float64)
