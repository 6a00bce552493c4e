"""Throughput of fused rollout + cost: numba (1 thread and all threads), numpy and torch.

Usage::

    python -m planlab.benchmarks.rollout [--json PATH] [--systems cartpole quadrotor2d] [--n 100 1000 10000]

Prints a table of env-steps per second (median over repeats) for N sequences of horizon H = 30 on
``CartPole`` and ``Quadrotor2D`` with their default quadratic costs, the ratio numba / numpy, and
how long a fresh process takes to get the compiled kernels (from numba's disk cache) versus
compiling them. ``--json`` writes JSON lines ``{system, backend, threads, n, horizon, steps_per_s}``
as the measurements complete.
"""

from __future__ import annotations

import argparse
import os
import platform
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m planlab.benchmarks.rollout", description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=str, default=None, help="write the rows to this JSON file")
    ap.add_argument("--systems", nargs="+", default=["cartpole", "quadrotor2d"], choices=sorted(SYSTEMS))
    ap.add_argument("--n", nargs="+", type=int, default=[100, 1000, 10000])
    ap.add_argument("--horizon", type=int, default=30)
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
    print("\nfirst rollout in a fresh process (compile vs. load from numba's disk cache):")
    for name in [] if args.quick else args.systems:
        cold, warm = kernel_load_times(name)
        print(f"  {name:<12} compile {cold:6.2f} s   from cache {warm:6.3f} s")
    if args.json:
        print(f"\nwrote {len(rows)} JSON lines to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
