"""Trajectory-optimisation benchmark: iLQR, DDP and box-DDP against casadi + IPOPT on the cart-pole swing-up.

``python -m planlab.benchmarks.trajopt [--json PATH] [--repeats N] [--quick]``

``--quick`` is a smoke run (one solve each, at most 5 iterations, 20 LQR calls): it checks that the
benchmark runs, not the solvers' speed or optimum.

Problems (planlab's ``CartPole``, gymnasium's constants and explicit Euler, state order
``(x, x_dot, theta, theta_dot)``, ``theta = 0`` upright):

``cartpole-swingup``
    dt = 0.05, T = 100, x0 = (0, 0, pi, 0), cost ``sum 1/2 e'Qe + 1/2 0.01 u^2 + 1/2 e_T' Q_f e_T``,
    ``e = x`` (no angle wrapping), Q = diag(1, 0.1, 1, 0.1), Q_f = 100 I; force unbounded (the model's
    own saturation is moved out of the way, at 1e3 N).
``cartpole-swingup-bounded``
    The same with ``force_max = 5``: the action box ``|u| <= 5`` is a constraint for box-DDP and IPOPT
    (the model also saturates there; box-DDP takes derivatives just inside the box and IPOPT holds
    bounds exactly, so neither sees the kink).

Solvers: ``ilqr`` (Gauss-Newton, no box), ``ddp`` (full second order, no box), ``boxddp`` (iLQR with the
box-QP backward pass), ``ipopt`` (:class:`~planlab.planners.trajopt.nlp.NLPPlanner`, direct multiple shooting).
Every solve starts from zero controls. ``time_ms`` is the median over ``--repeats`` solves;
model/solver construction (kernel compilation or loading, casadi/IPOPT set-up) is excluded and
reported as ``build_ms``. Unbounded problems are not given to ``boxddp`` (it equals ``ilqr`` there);
the bounded problem is given to ``boxddp`` and ``ipopt`` only (plain iLQR would only clip).

Also measured: infinite-horizon LQR (:func:`~planlab.planners.trajopt.lqr.dlqr`) against a bare
``scipy.linalg.solve_discrete_are`` call on the cart-pole linearised upright (``solver`` ``dlqr`` and
``scipy-dare``, ``problem`` ``cartpole-upright-lqr``).

Rows are printed as a table and appended to the JSON-lines file as they complete:
``{solver, problem, time_ms, iterations, cost, ...}``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from .common import write_row

__all__ = ["swingup_problem", "SWINGUP_X0", "main"]

SWINGUP_X0 = np.array([0.0, 0.0, np.pi, 0.0])


def swingup_problem(bounded: bool = False, *, force_bound: float = 5.0):
    """``(dynamics, cost, x0, horizon)`` of the cart-pole swing-up (see the module docstring)."""
    from ..core.cost import QuadraticCost
    from ..dynamics.systems.cartpole import CartPole

    system = CartPole(dt=0.05, force_max=force_bound if bounded else 1e3)
    cost = QuadraticCost(Q=[1.0, 0.1, 1.0, 0.1], R=[0.01], Qf=100.0 * np.ones(4))
    return system, cost, SWINGUP_X0.copy(), 100


def _median_solve(planner, x0, repeats):
    times, plan = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        plan = planner.plan(x0)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3, plan


def _rows(repeats, max_iterations=1000, lqr_calls=2000):
    from ..planners.trajopt import ILQR, NLPPlanner, dlqr

    configs = [
        ("cartpole-swingup", False, [("ilqr", dict(control_limits=False)), ("ddp", dict(ddp=True, control_limits=False)),
                                     ("ipopt", None)]),
        ("cartpole-swingup-bounded", True, [("boxddp", dict()), ("ipopt", None)]),
    ]
    for problem, bounded, solvers in configs:
        system, cost, x0, T = swingup_problem(bounded)
        for solver, opts in solvers:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                if solver == "ipopt":
                    planner = NLPPlanner(system, cost, horizon=T, max_iterations=max_iterations)
                else:
                    planner = ILQR(system, cost, horizon=T, max_iterations=max_iterations, **opts)
                    planner.warmup()
                build_ms = (time.perf_counter() - t0) * 1e3
                time_ms, plan = _median_solve(planner, x0, repeats)
            d = plan.diagnostics
            it = int(d["iterations"])
            row = {"solver": solver, "problem": problem, "time_ms": time_ms, "iterations": it, "cost": plan.cost,
                   "status": plan.status, "ms_per_iteration": time_ms / max(it, 1), "build_ms": build_ms,
                   "max_abs_u": float(np.max(np.abs(plan.actions))), "repeats": repeats}
            if solver == "ipopt":
                row["nlp_objective"] = d["nlp_objective"]
            yield row
    # LQR vs scipy's DARE (cart-pole linearised upright, gymnasium's dt)
    import scipy.linalg

    from ..dynamics.systems.cartpole import CartPole

    A, B = CartPole().linearize(np.zeros(4), np.zeros(1))
    Q, R = np.diag([1.0, 1.0, 10.0, 1.0]), np.array([[0.1]])
    n = lqr_calls
    for solver, fn in (("scipy-dare", lambda: scipy.linalg.solve_discrete_are(A, B, Q, R)),
                       ("dlqr", lambda: dlqr(A, B, Q, R))):
        fn()
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n // 5):
                fn()
            ts.append((time.perf_counter() - t0) / (n // 5))
        yield {"solver": solver, "problem": "cartpole-upright-lqr", "time_ms": float(np.median(ts)) * 1e3,
               "iterations": 1, "cost": float("nan"), "repeats": n}


def main(argv=None) -> int:
    """Run this benchmark from the command line (`--help` lists its options); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m planlab.benchmarks.trajopt", description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None, help="append JSON rows to this file (JSON lines)")
    parser.add_argument("--repeats", type=int, default=7, help="solves per timing (median), default 7")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 solve each, <= 5 iterations")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats: expected an integer >= 1, got {args.repeats}")
    out = open(args.json, "a") if args.json else None
    header = f"{'problem':<26} {'solver':<10} {'time_ms':>9} {'iters':>6} {'ms/iter':>8} {'cost':>14} {'status':<15} {'build_ms':>9}"
    print(header)
    print("-" * len(header))
    rows = []
    try:
        for row in (_rows(1, max_iterations=5, lqr_calls=20) if args.quick else _rows(args.repeats)):
            rows.append(row)
            print(f"{row['problem']:<26} {row['solver']:<10} {row['time_ms']:>9.3f} {row['iterations']:>6d} "
                  f"{row.get('ms_per_iteration', float('nan')):>8.4f} {row['cost']:>14.8f} {row.get('status', ''):<15} "
                  f"{row.get('build_ms', float('nan')):>9.1f}", flush=True)
            if out is not None:
                write_row(out, row)
    finally:
        if out is not None:
            out.close()
    by = {(r["problem"], r["solver"]): r for r in rows}
    print()
    for problem, solver in (("cartpole-swingup", "ilqr"), ("cartpole-swingup", "ddp"),
                            ("cartpole-swingup-bounded", "boxddp")):
        r, ref = by.get((problem, solver)), by.get((problem, "ipopt"))
        if r and ref:
            print(f"{problem} {solver}: time {r['time_ms'] / ref['time_ms']:.3f} x IPOPT, cost "
                  f"{(r['cost'] - ref['nlp_objective']) / abs(ref['nlp_objective']):+.2e} relative to IPOPT's objective, "
                  f"{r['ms_per_iteration']:.3f} ms/iteration")
    a, b = by.get(("cartpole-upright-lqr", "dlqr")), by.get(("cartpole-upright-lqr", "scipy-dare"))
    if a and b:
        print(f"dlqr: {a['time_ms'] / b['time_ms']:.2f} x scipy's solve_discrete_are")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
