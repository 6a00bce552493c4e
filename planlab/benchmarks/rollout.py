"""Throughput of fused rollout + cost: numba (1 thread and all threads), numpy and torch, and a plain C loop.

Usage::

    python -m planlab.benchmarks.rollout [--json PATH] [--systems cartpole quadrotor2d] [--n 100 1000 10000]
                                         [--c-reference PATH] [--no-c]

Prints a table of env-steps per second (median over repeats) for N sequences of horizon H = 30 on
``CartPole`` and ``Quadrotor2D`` with their default quadratic costs, the ratio numba / numpy, and
how long a fresh process takes to get the compiled kernels (from numba's disk cache) versus
compiling them. ``--json`` writes JSON lines ``{system, backend, threads, n, horizon, steps_per_s}``
as the measurements complete.

The C yardstick (when ``gcc`` is on the path): a plain C loop rolling out the cart-pole with the
same quadratic, wrapped-angle cost, built at benchmark time into a temporary directory with
``gcc -O3 -march=native`` (no fast-math) and run on one thread as ``prog 1000 30 REPEATS``, side by
side with the numba kernel on the same sizes and the same actions (best of the repeats for both).
The C source is :data:`C_REFERENCE` (planlab's cart-pole equations, written here), or the file
given by ``--c-reference`` (any program taking ``N H R`` and printing ``-> <x> Msteps/s``). Its
rows have ``backend = "c"``; the numba row beside it ``backend = "numba-vs-c"``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from ..core.contracts import Dynamics
from ..dynamics import SYSTEMS
from .common import write_row


def _time(fn, min_time=0.3, min_reps=5, max_reps=200):
    fn()  # warm-up (compilation, caches)
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < min_time and len(times) < max_reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _torch_rollout_cost(dyn, cost, x0, U):
    import torch

    with torch.no_grad():
        x = torch.as_tensor(x0).expand(U.shape[0], -1)
        Ut = torch.as_tensor(U)
        total = torch.zeros(U.shape[0], dtype=torch.float64)
        for t in range(U.shape[1]):
            u = Ut[:, t]
            xn = dyn.step_torch(x, u)
            total += cost.running_torch(x, u, xn)
            x = xn
        total += cost.terminal_torch(x)
    return total.numpy()


def measure(systems, ns, horizon=30, seed=0, on_row=None, min_time=(0.2, 0.4)):
    """Rows ``{system, backend, threads, n, horizon, steps_per_s}``; ``min_time`` = seconds of timing per
    (numpy/torch, numba) case."""
    import numba
    import torch

    torch.set_num_threads(1)
    rows = []
    for name in systems:
        dyn = SYSTEMS[name]()
        cost = dyn.default_cost()
        rng = np.random.default_rng(seed)
        x0 = np.zeros(dyn.state_dim)
        for n in ns:
            U = rng.uniform(dyn.action_low, dyn.action_high, size=(n, horizon, dyn.action_dim))
            ref = Dynamics.rollout(dyn, x0, U, cost).costs  # the generic numpy loop
            cases = [
                ("numba", 1, lambda: dyn.rollout_cost(x0, U, cost, threads=1)),
                ("numba", numba.get_num_threads(), lambda: dyn.rollout_cost(x0, U, cost, threads="all")),
                ("numpy", 1, lambda: Dynamics.rollout(dyn, x0, U, cost).costs),
                ("torch", 1, lambda: _torch_rollout_cost(dyn, cost, x0, U)),
            ]
            for backend, threads, fn in cases:
                np.testing.assert_allclose(fn(), ref, rtol=1e-9, atol=1e-9)  # same numbers before timing
                sec = _time(fn, min_time=min_time[0] if backend in ("numpy", "torch") else min_time[1],
                            min_reps=5 if min_time[1] >= 0.1 else 1)
                rows.append({"system": name, "backend": backend, "threads": threads, "n": n, "horizon": horizon,
                             "steps_per_s": n * horizon / sec})
                if on_row is not None:
                    on_row(rows[-1])
                print(f"  {name:<12} {backend:<6} threads={threads} n={n:<6} {n * horizon / sec / 1e6:8.2f} M steps/s",
                      file=sys.stderr, flush=True)
    return rows


_LOAD_SCRIPT = """
import time; t0 = time.perf_counter()
import numpy as np
from planlab.dynamics import SYSTEMS
d = SYSTEMS[{name!r}](); c = d.default_cost()
t1 = time.perf_counter()
d.rollout_cost(np.zeros(d.state_dim), np.zeros((1, 2, d.action_dim)) + d.action_low, c)
print(time.perf_counter() - t1)
"""


def kernel_load_times(name):
    """Seconds to the first rollout in a fresh process: cold cache (compile) and warm cache (load)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PLANLAB_CACHE_DIR=tmp)
        out = []
        for _ in range(3):
            res = subprocess.run([sys.executable, "-c", _LOAD_SCRIPT.format(name=name)], env=env,
                                 capture_output=True, text=True, check=True)
            out.append(float(res.stdout.strip().splitlines()[-1]))
    return out[0], statistics.median(out[1:])


#: planlab's cart-pole (gymnasium's equations, explicit Euler, force clipped to +-10) and its default cost
#: (1/2 e'Qe + 1/2 R u^2, Q = diag(1, 0.1, 10, 0.1), R = 0.001, the same Q on the final state, the angle
#: error wrapped to [-pi, pi)), N sequences of H steps from (0, 0, 3.14159, 0); the actions are
#: ``((k * 2654435761) % 1000) / 100 - 5`` for flat index k (the same in :func:`c_reference_rows`).
C_REFERENCE = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static double wrap(double a) {
  const double pi = 3.141592653589793;
  if (a >= -pi && a < pi) return a;
  return a - 2.0 * pi * floor((a + pi) * (1.0 / (2.0 * pi)));
}
static double stage(const double *s, double u, int final) {
  const double q[4] = {1.0, 0.1, 10.0, 0.1};
  double c = 0.0;
  for (int k = 0; k < 4; k++) { double e = k == 2 ? wrap(s[k]) : s[k]; c += 0.5 * q[k] * e * e; }
  return final ? c : c + 0.5 * 0.001 * u * u;
}
static void rollout(int n, int h, const double *x0, const double *U, double *cost) {
  const double g = 9.8, mc = 1.0, mp = 0.1, l = 0.5, dt = 0.02, fmax = 10.0;
  for (int i = 0; i < n; i++) {
    double s[4] = {x0[0], x0[1], x0[2], x0[3]}, c = 0.0;
    for (int t = 0; t < h; t++) {
      double u = U[(size_t)i * h + t];
      double f = u < -fmax ? -fmax : (u > fmax ? fmax : u);
      double sn = sin(s[2]), cs = cos(s[2]), tm = mp + mc, pml = mp * l;
      double tmp = (f + pml * s[3] * s[3] * sn) / tm;
      double tha = (g * sn - cs * tmp) / (l * (4.0 / 3.0 - mp * cs * cs / tm));
      double xa = tmp - pml * tha * cs / tm;
      double nx[4] = {s[0] + dt * s[1], s[1] + dt * xa, s[2] + dt * s[3], s[3] + dt * tha};
      c += stage(s, u, 0);
      s[0] = nx[0]; s[1] = nx[1]; s[2] = nx[2]; s[3] = nx[3];
    }
    cost[i] = c + stage(s, 0.0, 1);
  }
}
int main(int argc, char **argv) {
  int n = atoi(argv[1]), h = atoi(argv[2]), r = atoi(argv[3]);
  double x0[4] = {0.0, 0.0, 3.14159, 0.0};
  double *U = malloc(sizeof(double) * n * h), *cost = malloc(sizeof(double) * n);
  for (long k = 0; k < (long)n * h; k++) U[k] = ((k * 2654435761u) % 1000) / 100.0 - 5.0;
  double best = 1e30;
  for (int j = 0; j < r; j++) { double t0 = now(); rollout(n, h, x0, U, cost); double el = now() - t0; if (el < best) best = el; }
  printf("C N=%d H=%d best %.3f ms -> %.2f Msteps/s (cost0 %.6f)\n", n, h, best * 1e3, (double)n * h / best / 1e6, cost[0]);
  return 0;
}
"""


def _build_c(source_path: str | None, tmp: str):
    """Compile the C reference (``source_path`` or :data:`C_REFERENCE`) into ``tmp``; the binary or None."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    src = os.path.join(tmp, "reference.c")
    if source_path is None:
        with open(src, "w") as f:
            f.write(C_REFERENCE)
    else:
        shutil.copy(source_path, src)
    exe = os.path.join(tmp, "reference")
    flags = ["-O3", "-march=native"]
    with open(src) as f:
        if "omp.h" in f.read():
            flags.append("-fopenmp")
    res = subprocess.run([gcc, *flags, src, "-o", exe, "-lm"], capture_output=True, text=True)
    if res.returncode != 0:
        print(f"  C reference did not build:\n{res.stderr[-2000:]}", file=sys.stderr)
        return None
    return exe


def c_reference_rows(source_path=None, n=1000, horizon=30, repeats=200):
    """The C loop and the numba kernel side by side on the cart-pole: two rows, or [] without gcc.

    Both are timed as the best of ``repeats`` runs on the same ``n`` x ``horizon`` actions, the C
    loop in its own process on one thread (``OMP_NUM_THREADS=1``).
    """
    with tempfile.TemporaryDirectory(prefix="planlab-cref-") as tmp:
        exe = _build_c(source_path, tmp)
        if exe is None:
            return []
        env = dict(os.environ, OMP_NUM_THREADS="1")
        res = subprocess.run([exe, str(n), str(horizon), str(repeats)], capture_output=True, text=True, env=env,
                             check=True)
    m = re.search(r"->\s*([0-9.]+)\s*Msteps/s", res.stdout)
    if m is None:
        raise RuntimeError(f"C reference: no '-> <x> Msteps/s' in its output {res.stdout!r}")
    c_rate = float(m.group(1)) * 1e6
    dyn = SYSTEMS["cartpole"]()
    cost = dyn.default_cost()
    k = np.arange(n * horizon, dtype=np.int64)
    U = (((k * 2654435761) % 1000) / 100.0 - 5.0).reshape(n, horizon, 1)
    x0 = np.array([0.0, 0.0, 3.14159, 0.0])
    first = dyn.rollout_cost(x0, U, cost)  # compile or load
    if source_path is None:  # the same equations and cost: the same first cost (printed with 6 decimals)
        c0 = re.search(r"cost0\s+([-0-9.eE+]+)", res.stdout)
        if c0 is None or abs(float(c0.group(1)) - first[0]) > 1e-6 * max(1.0, abs(first[0])):
            raise RuntimeError(f"C reference: cost0 {c0 and c0.group(1)} differs from planlab's {first[0]:.6f}")
    best = min(_once(lambda: dyn.rollout_cost(x0, U, cost, threads=1)) for _ in range(repeats))
    label = "builtin" if source_path is None else os.path.basename(source_path)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [{"system": "cartpole", "backend": "c", "threads": 1, "n": n, "horizon": horizon, "steps_per_s": c_rate,
             "c_source": label, "output": res.stdout.strip(), "load": load},
            {"system": "cartpole", "backend": "numba-vs-c", "threads": 1, "n": n, "horizon": horizon,
             "steps_per_s": n * horizon / best, "c_source": label, "load": load}]


def _once(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m planlab.benchmarks.rollout", description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=str, default=None, help="write the rows to this JSON file")
    ap.add_argument("--systems", nargs="+", default=["cartpole", "quadrotor2d"], choices=sorted(SYSTEMS))
    ap.add_argument("--n", nargs="+", type=int, default=[100, 1000, 10000])
    ap.add_argument("--horizon", type=int, default=30)
    ap.add_argument("--c-reference", type=str, default=None,
                    help="C source of the yardstick loop (default: the cart-pole loop written in this module)")
    ap.add_argument("--no-c", action="store_true", help="skip the C yardstick")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: cartpole, n = 100, horizon 10, brief timing, no fresh-process load times")
    args = ap.parse_args(argv)
    min_time = (0.2, 0.4)
    if args.quick:
        args.systems, args.n, args.horizon, min_time = ["cartpole"], [100], 10, (0.01, 0.01)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    out = open(args.json, "w") if args.json else None
    try:
        rows = measure(args.systems, args.n, args.horizon, on_row=lambda r: write_row(out, r), min_time=min_time)
        c_rows = [] if args.no_c else c_reference_rows(args.c_reference, repeats=20 if args.quick else 200)
        for r in c_rows:
            write_row(out, r)
    finally:
        if out is not None:
            out.close()
    print(f"\n{'system':<12} {'backend':<7} {'threads':>7} {'n':>6} {'M steps/s':>10}")
    for r in rows:
        print(f"{r['system']:<12} {r['backend']:<7} {r['threads']:>7} {r['n']:>6} {r['steps_per_s'] / 1e6:>10.2f}")
    print("\nnumba (1 thread) / numpy:")
    for name in args.systems:
        for n in args.n:
            get = {(r["backend"], r["threads"]): r["steps_per_s"] for r in rows if r["system"] == name and r["n"] == n}
            print(f"  {name:<12} n={n:<6} {get[('numba', 1)] / get[('numpy', 1)]:7.1f}x")
    if c_rows:
        c_rate, nb_rate = c_rows[0]["steps_per_s"], c_rows[1]["steps_per_s"]
        print(f"\ncart-pole, n=1000, H=30, one thread, best of the repeats, side by side ({c_rows[0]['c_source']} C, "
              f"load average {c_rows[0]['load']:.1f}):")
        print(f"  C (gcc -O3 -march=native) {c_rate / 1e6:8.2f} M steps/s")
        print(f"  numba fused kernel        {nb_rate / 1e6:8.2f} M steps/s   ratio numba/C {nb_rate / c_rate:5.2f}")
    elif not args.no_c:
        print("\n(no gcc on the path: C yardstick skipped)")
    print("\nfirst rollout in a fresh process (compile vs. load from numba's disk cache):")
    for name in [] if args.quick else args.systems:
        cold, warm = kernel_load_times(name)
        print(f"  {name:<12} compile {cold:6.2f} s   from cache {warm:6.3f} s")
    if args.json:
        print(f"\nwrote {len(rows)} JSON lines to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
