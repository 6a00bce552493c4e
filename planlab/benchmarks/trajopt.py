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

Constrained problems (:mod:`planlab.benchmarks.robot_tasks`): ``unicycle-parking`` (obstacles) and
``quadrotor-gap``, solved by ``al-ilqr`` (:class:`~planlab.planners.trajopt.constrained.ConstrainedILQR`,
augmented-Lagrangian box-DDP) and ``ipopt`` (:class:`~planlab.planners.trajopt.constrained_nlp.ConstrainedNLP`)
from the same initial guess, with ``violation`` the largest constraint violation of the re-rolled plan;
``cem-filter`` (CEM with the constraints as a feasibility filter, :class:`~planlab.core.penalty.ConstraintPenaltyCost`)
on the parking task; and ``arm-figure-eight`` under MPC (``al-ilqr-mpc``: ``time_ms`` the median plan time per step,
``rms_tip_error``, ``builds_after_first``). ``--quick`` uses casadi's evaluation (no compilation).

Rows are printed as a table and appended to the JSON-lines file as they complete:
``{solver, problem, time_ms, iterations, cost, ...}``.
"""

from __future__ import annotations

import argparse
import itertools
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


def _constrained_rows(repeats, quick=False):
    """Rows of the constrained robot tasks (see the module docstring)."""
    from ..planners.trajopt.constrained import ConstrainedILQR
    from ..planners.trajopt.constrained_nlp import ConstrainedNLP
    from .robot_tasks import quadrotor_gap, run_arm_tracking, unicycle_parking

    opts = dict(compiled=False, max_outer=2, max_iterations=5) if quick else {}
    for problem, make in (("unicycle-parking", unicycle_parking), ("quadrotor-gap", quadrotor_gap)):
        system, cost, cons, x0, ws = make()
        for solver in ("al-ilqr", "ipopt"):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                if solver == "ipopt":
                    planner = ConstrainedNLP(system, cost, constraints=cons, max_iterations=5 if quick else 1000)
                else:
                    planner = ConstrainedILQR(system, cost, constraints=cons, **opts)
                    planner.warmup()
                build_ms = (time.perf_counter() - t0) * 1e3
                times = []
                for _ in range(repeats):
                    planner.reset()
                    t1 = time.perf_counter()
                    plan = planner.plan(x0, ws)
                    times.append(time.perf_counter() - t1)
            it = int(plan.diagnostics["iterations"])
            time_ms = float(np.median(times)) * 1e3
            yield {"solver": solver, "problem": problem, "time_ms": time_ms, "iterations": it, "cost": plan.cost,
                   "violation": float(plan.diagnostics["violation"]), "status": plan.status,
                   "ms_per_iteration": time_ms / max(it, 1), "build_ms": build_ms, "repeats": repeats}
    # the sampling side: CEM on the parking task with the constraints as a feasibility filter
    from ..core.penalty import ConstraintPenaltyCost
    from ..planners.sampling import CEM

    system, cost, cons, x0, _ = unicycle_parking()
    size = dict(population=20, elites=5, iterations=1) if quick else dict(population=500, elites=50, iterations=10)
    cem = CEM(system, ConstraintPenaltyCost(cost, cons, mode="filter"), horizon=cost.horizon, seed=0, **size)
    times = []
    for _ in range(repeats):
        cem.reset(0)
        t1 = time.perf_counter()
        plan = cem.plan(x0)
        times.append(time.perf_counter() - t1)
    yield {"solver": "cem-filter", "problem": "unicycle-parking", "time_ms": float(np.median(times)) * 1e3,
           "iterations": size["iterations"], "cost": float(cost.trajectory_cost(plan.states, plan.actions)),
           "violation": float(cons.violation(plan.states, plan.actions)), "status": plan.status,
           "repeats": repeats}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = run_arm_tracking(3 if quick else 300, compiled=False if quick else None)
    yield {"solver": "al-ilqr-mpc", "problem": "arm-figure-eight", "time_ms": res["plan_ms_median"],
           "iterations": res["steps"], "cost": float("nan"), "violation": max(0.0, res["max_qdot"] - res["qdot_max"]),
           "status": "ok", "rms_tip_error": res["rms_tip_error"], "plan_ms_p90": res["plan_ms_p90"],
           "plan_ms_max": res["plan_ms_max"], "plan_cpu_ms_median": res["plan_cpu_ms_median"],
           "plan_cpu_ms_p90": res["plan_cpu_ms_p90"], "iterations_median": res["iterations_median"],
           "first_plan_ms": res["first_plan_ms"], "builds_after_first": res["builds_after_first"]}


def main(argv=None) -> int:
    """Run this benchmark from the command line (`--help` lists its options); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m planlab.benchmarks.trajopt", description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None, help="append JSON rows to this file (JSON lines)")
    parser.add_argument("--repeats", type=int, default=7, help="solves per timing (median), default 7")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 solve each, <= 5 iterations")
    parser.add_argument("--constrained", action="store_true",
                        help="only the constrained robot tasks (al-ilqr vs ipopt, arm MPC)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats: expected an integer >= 1, got {args.repeats}")
    out = open(args.json, "a") if args.json else None
    header = f"{'problem':<26} {'solver':<10} {'time_ms':>9} {'iters':>6} {'ms/iter':>8} {'cost':>14} {'status':<15} {'build_ms':>9} {'violation':>9}"
    print(header)
    print("-" * len(header))
    rows = []
    try:
        rows_iter = itertools.chain(
            () if args.constrained else (_rows(1, max_iterations=5, lqr_calls=20) if args.quick else _rows(args.repeats)),
            _constrained_rows(1 if args.quick else args.repeats, quick=args.quick))
        for row in rows_iter:
            rows.append(row)
            print(f"{row['problem']:<26} {row['solver']:<10} {row['time_ms']:>9.3f} {row['iterations']:>6d} "
                  f"{row.get('ms_per_iteration', float('nan')):>8.4f} {row['cost']:>14.8f} {row.get('status', ''):<15} "
                  f"{row.get('build_ms', float('nan')):>9.1f} {row.get('violation', float('nan')):>9.1e}", flush=True)
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
    for problem in ("unicycle-parking", "quadrotor-gap"):
        r, ref = by.get((problem, "al-ilqr")), by.get((problem, "ipopt"))
        if r and ref:
            print(f"{problem} al-ilqr: time {r['time_ms'] / ref['time_ms']:.3f} x IPOPT, cost "
                  f"{(r['cost'] - ref['cost']) / abs(ref['cost']):+.2e} relative to IPOPT, violation {r['violation']:.2e} "
                  f"(IPOPT {ref['violation']:.2e})")
    r, ref = by.get(("unicycle-parking", "cem-filter")), by.get(("unicycle-parking", "al-ilqr"))
    if r and ref:
        print(f"unicycle-parking cem-filter: cost {r['cost'] / ref['cost']:.3f} x al-ilqr's, violation {r['violation']:.2e}, "
              f"time {r['time_ms'] / ref['time_ms']:.1f} x al-ilqr's")
    r = by.get(("arm-figure-eight", "al-ilqr-mpc"))
    if r:
        print(f"arm-figure-eight MPC: RMS tip error {1e3 * r['rms_tip_error']:.2f} mm, plan {r['time_ms']:.3f} ms/step "
              f"median ({r['plan_ms_p90']:.2f} p90, {r['plan_ms_max']:.2f} max; CPU {r['plan_cpu_ms_median']:.3f} median, "
              f"{r['plan_cpu_ms_p90']:.3f} p90), builds after the first step {r['builds_after_first']}")
    a, b = by.get(("cartpole-upright-lqr", "dlqr")), by.get(("cartpole-upright-lqr", "scipy-dare"))
    if a and b:
        print(f"dlqr: {a['time_ms'] / b['time_ms']:.2f} x scipy's solve_discrete_are")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
