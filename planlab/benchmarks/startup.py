"""Time to the first plan: a fresh process, with an empty kernel cache (cold) and a filled one (warm).

Usage::

    python -m planlab.benchmarks.startup [--json PATH] [--quick] [--cases cem ilqr ...] [--repeats R]
        [--modes cold-foreground cold warm ...] [--source main=DIR]

Each case runs in fresh Python processes (what a user who edits and reruns a script sees), with
``PLANLAB_CACHE_DIR`` and ``NUMBA_CACHE_DIR`` pointing at a new temporary directory:

``cold-foreground``
    a first process with ``PLANLAB_BACKGROUND_COMPILE=0`` and its own empty caches: every kernel
    compiled in the process before the first plan (numba, and for iLQR casadi's derivative code);
``cold``
    the first process with the default settings: the sampling planners serve numpy plans, and iLQR
    plans with its kernels interpreted, while a background process compiles the kernels
    (``process_s`` includes the wait at exit for it);
``warm``
    a second process with the same cache directory;
``new-weights``
    a third process planning with other cost weights (or another target) than the first two: the
    weights are runtime inputs of the compiled kernels, so this should equal ``warm``;
``kernels-cold``
    a fourth process with a new, empty ``PLANLAB_CACHE_DIR`` but numba's cache kept: the kernels
    specialised for the model compile again, while planlab's model-independent kernels (noise,
    Riccati and box-QP solvers, tree search helpers) and the source functions load from the cache —
    close to what a user who has used planlab before waits for with a new system.

Cases: ``cem`` (CEM on Pendulum-v1's model), ``mppi`` (MPPI on CartPole swing-up), ``ilqr`` (iLQR on
the cart-pole swing-up with its quadratic cost), ``uct`` (UCT on CartPole-v1's model), ``user`` (CEM
and iLQR on a system and a cost defined in a user's own module, written to the temporary directory).

Each process reports seconds to import planlab, to build the planner, for the first ``plan`` call
(``first_plan_s``) and in total (``total_s``: interpreter start to first plan, the figure a user
waits for), the CPU seconds the process used until then (``cpu_s``: on a machine shared with other
work, the figure that load changes least), and how many functions numba compiled
(``numba_compiles``; loads from the disk cache do not count). ``--json`` writes one line per
process: ``{case, mode, repeat, import_s, build_s, first_plan_s, total_s, cpu_s, numba_compiles}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from .common import write_row

__all__ = ["CASES", "run_case", "main"]

#: A user's own system and cost, written as a module into the temporary directory.
USER_MODULE = '''
"""A user's system: a damped pendulum on a torsion spring, with a weighted cost."""
from dataclasses import dataclass

from planlab.core.cost import SourceCost
from planlab.core.ops import sin, wrap_angle
from planlab.core.source import param_index
from planlab.dynamics.analytic import AnalyticSystem


@dataclass(frozen=True)
class SpringParams:
    k: float = 2.0
    c: float = 0.3
    dt: float = 0.05


P = param_index(SpringParams)


def spring_dynamics(x, u, p, out):
    acc = -p[P.k] * sin(x[0]) - p[P.c] * x[1] + u[0]
    out[1] = x[1] + p[P.dt] * acc
    out[0] = x[0] + p[P.dt] * out[1]


def spring_cost(x, u, xn, p):
    e = wrap_angle(x[0] - p[2])
    return p[0] * e * e + 0.1 * x[1] * x[1] + p[1] * u[0] * u[0]


def spring_terminal(x, p):
    e = wrap_angle(x[0] - p[2])
    return 10.0 * p[0] * e * e


class Spring(AnalyticSystem):
    Params = SpringParams
    dynamics_source = staticmethod(spring_dynamics)

    def __init__(self):
        super().__init__(None, action_low=[-3.0], action_high=[3.0], dt=0.05, state_dim=2, action_dim=1,
                         angle_indices=(0,))

    def default_cost(self, weight=1.0, effort=0.01, target=3.14159):
        return SourceCost(2, 1, spring_cost, [weight, effort, target], spring_terminal)
'''

#: The child process: times import, build and first plan of one case; ``{weights}`` picks the weights.
CHILD = '''
import time
t0 = time.perf_counter()
import json, sys
import numpy as np
from numba.core import event as _event

class _Count(_event.Listener):
    n = 0
    def on_start(self, e):
        _Count.n += 1
    def on_end(self, e):
        pass

_event.register("numba:compile", _Count())
{imports}
t1 = time.perf_counter()
alt = {weights}
{build}
t2 = time.perf_counter()
plan = planner.plan(np.asarray(x0, dtype=float))
t3 = time.perf_counter()
assert np.all(np.isfinite(plan.actions)), "non-finite plan"
import os
print(json.dumps(dict(import_s=t1 - t0, build_s=t2 - t1, first_plan_s=t3 - t2, total_s=t3 - t0,
                      cpu_s=time.process_time(), numba_compiles=_Count.n, status=plan.status,
                      fused=plan.diagnostics.get("fused"), interpreted=plan.diagnostics.get("interpreted"),
                      load_avg=os.getloadavg()[0])), flush=True)
'''

#: case -> (imports, build code defining ``planner`` and ``x0``; ``alt`` is True for the other weights)
CASES = {
    "cem": ("from planlab.envs import model_for\nfrom planlab.planners import CEM",
            "d, c = model_for('Pendulum-v1')\n"
            "if alt:\n"
            "    from planlab.dynamics.systems.pendulum import PendulumGymCost\n"
            "    c = PendulumGymCost(1.5)\n"
            "planner = CEM(d, c, horizon=30, seed=0)\nx0 = [3.14, 0.0]"),
    "mppi": ("from planlab.dynamics import CartPole\nfrom planlab.core.cost import QuadraticCost\n"
             "from planlab.planners import MPPI",
             "d = CartPole()\nc = QuadraticCost(Q=[1, 0.1, 20 if alt else 10, 0.1], R=[0.001], angle_indices=[2])\n"
             "planner = MPPI(d, c, horizon=30, seed=0)\nx0 = [0.0, 0.0, 3.14, 0.0]"),
    "ilqr": ("from planlab.dynamics import CartPole\nfrom planlab.core.cost import QuadraticCost\n"
             "from planlab.planners import ILQR",
             "d = CartPole()\n"
             "c = QuadraticCost(Q=[1, 0.1, 20 if alt else 10, 0.1], R=[0.01], Qf=[10, 1, 100, 1], angle_indices=[2],"
             " x_goal=[0.5 if alt else 0.0, 0, 0, 0])\n"
             "planner = ILQR(d, c, horizon=50, max_iterations=20)\nx0 = [0.0, 0.0, 3.14, 0.0]"),
    "uct": ("from planlab.envs import model_for\nfrom planlab.planners import UCT",
            "d, c = model_for('CartPole-v1')\nplanner = UCT(d, c, horizon=50, simulations=200, seed=0,"
            " discount=0.98 if alt else 0.99)\nx0 = [0.0, 0.0, 0.05, 0.0]"),
    "user-cem": ("import user_spring\nfrom planlab.planners import CEM",
                 "d = user_spring.Spring()\nc = d.default_cost(weight=2.0 if alt else 1.0, target=3.0 if alt else 3.14159)\n"
                 "planner = CEM(d, c, horizon=30, seed=0)\nx0 = [0.0, 0.0]"),
    "user-ilqr": ("import user_spring\nfrom planlab.planners import ILQR",
                  "d = user_spring.Spring()\nc = d.default_cost(weight=2.0 if alt else 1.0, target=3.0 if alt else 3.14159)\n"
                  "planner = ILQR(d, c, horizon=30, max_iterations=20)\nx0 = [0.0, 0.0]"),
}

MODES = ("cold-foreground", "cold", "warm", "new-weights", "kernels-cold")


def run_case(case: str, cache: Path, alt: bool, timeout: float = 600.0, numba: bool = True,
             planlab_dir: str = "planlab", numba_dir: str = "numba", background: bool = True,
             source: str | None = None) -> dict:
    """Run ``case`` in a fresh process with kernel cache directory ``cache``; the child's timings.

    ``numba=False`` runs the child with ``PLANLAB_DISABLE_NUMBA=1`` (the numpy paths);
    ``planlab_dir`` and ``numba_dir`` name the sub-directories of ``cache`` used as
    ``PLANLAB_CACHE_DIR`` and ``NUMBA_CACHE_DIR``; ``background=False`` sets
    ``PLANLAB_BACKGROUND_COMPILE=0`` (kernels compile in the first plan); ``source`` is a directory
    holding another ``planlab`` package to time instead of the imported one (e.g. another version).
    ``process_s`` in the result is the child's whole life, including a wait at exit for a
    background compile to finish.

    Raises
    ------
    RuntimeError
        If the child process fails (its stderr is in the message).
    """
    imports, build = CASES[case]
    code = CHILD.format(imports=imports, build=build, weights=bool(alt))
    paths = [str(cache / "user")] + ([str(source)] if source else []) + [os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PLANLAB_CACHE_DIR=str(cache / planlab_dir), NUMBA_CACHE_DIR=str(cache / numba_dir),
               PYTHONPATH=os.pathsep.join(paths).rstrip(os.pathsep),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
               PLANLAB_BACKGROUND_COMPILE="1" if background else "0")
    if not numba:
        env["PLANLAB_DISABLE_NUMBA"] = "1"
    (cache / "user").mkdir(parents=True, exist_ok=True)
    (cache / "user" / "user_spring.py").write_text(textwrap.dedent(USER_MODULE))
    t0 = time.perf_counter()
    # cwd: the temporary directory, so that the child imports planlab from PYTHONPATH, not from ours
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=str(cache))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"case {case}: child failed:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["process_s"] = wall
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m planlab.benchmarks.startup", description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=str, default=None, help="write one JSON line per process to this file")
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=sorted(CASES))
    ap.add_argument("--repeats", type=int, default=1, help="fresh cache directories per case (medians reported)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds one child process may take")
    ap.add_argument("--disable-numba", action="store_true", help="children use the numpy paths (no compiling)")
    ap.add_argument("--source", action="append", default=[], metavar="LABEL=DIR",
                    help="also time the planlab package found in DIR (e.g. a checkout of another version), "
                         "side by side; repeatable")
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run of the machinery: the cem case, cold and warm, once, numba disabled")
    args = ap.parse_args(argv)
    modes = tuple(m for m in MODES if m in args.modes)  # in MODES' order: warm modes after the cold one
    if "cold" not in modes and {"warm", "new-weights", "kernels-cold"} & set(modes):
        ap.error(f"--modes: warm, new-weights and kernels-cold need cold (it fills their cache), got {args.modes}")
    trees = [("this", None)]
    for item in args.source:
        label, sep, path = item.partition("=")
        if not sep or not (Path(path) / "planlab" / "__init__.py").exists():
            ap.error(f"--source: expected LABEL=DIR with DIR/planlab/__init__.py, got {item!r}")
        trees.append((label, path))
    if args.quick:
        args.cases, args.repeats, modes, args.disable_numba = ["cem"], 1, ("cold", "warm"), True
    if args.repeats < 1:
        ap.error(f"--repeats: expected an integer >= 1, got {args.repeats}")
    out = open(args.json, "w") if args.json else None
    rows = []
    try:
        for case in args.cases:
            for rep in range(args.repeats):
                for tree, source in trees:
                    with tempfile.TemporaryDirectory(prefix="planlab-startup-") as tmp:
                        for mode in modes:
                            fg = mode == "cold-foreground"
                            r = run_case(case, Path(tmp), alt=(mode == "new-weights"), numba=not args.disable_numba,
                                         timeout=args.timeout, background=not fg, source=source,
                                         planlab_dir={"kernels-cold": "planlab-2", "cold-foreground": "planlab-fg"}
                                         .get(mode, "planlab"), numba_dir="numba-fg" if fg else "numba")
                            r.update(case=case, mode=mode, repeat=rep, tree=tree)
                            rows.append(r)
                            write_row(out, r)
                            print(f"  {tree:<6} {case:<10} {mode:<15} total {r['total_s']:6.2f} s, cpu "
                                  f"{r['cpu_s']:6.2f} s  (import {r['import_s']:.2f},"
                                  f" build {r['build_s']:.2f}, first plan {r['first_plan_s']:.2f};"
                                  f" {r['numba_compiles']} numba compiles; load {r['load_avg']:.1f};"
                                  f" process {r['process_s']:.1f} s)", file=sys.stderr, flush=True)
    finally:
        if out is not None:
            out.close()
    print(f"\n{'tree':<6} {'case':<10} {'mode':<15} {'total s':>8} {'cpu s':>7} {'import':>7} {'build':>7}"
          f" {'plan':>7} {'compiles':>9} {'load':>5} {'process':>8}")
    keys = ("total_s", "cpu_s", "import_s", "build_s", "first_plan_s", "numba_compiles", "load_avg", "process_s")
    for case in args.cases:
        for tree, _ in trees:
            for mode in modes:
                sel = [r for r in rows if r["case"] == case and r["mode"] == mode and r["tree"] == tree]
                med = {k: statistics.median(r[k] for r in sel) for k in keys}
                print(f"{tree:<6} {case:<10} {mode:<15} {med['total_s']:>8.2f} {med['cpu_s']:>7.2f}"
                      f" {med['import_s']:>7.2f} {med['build_s']:>7.2f} {med['first_plan_s']:>7.2f}"
                      f" {med['numba_compiles']:>9.0f} {med['load_avg']:>5.1f} {med['process_s']:>8.1f}")
    if args.json:
        print(f"\nwrote {len(rows)} JSON lines to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
