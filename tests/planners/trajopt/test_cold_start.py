"""iLQR on a cold kernel cache: interpreted kernels serve until a background compile is done, and the
switch never changes a plan.

The switch from the interpreted kernels to the compiled ones happens when a child process has
finished, so its position in a run depends on timing. These tests pin it at many kernel calls of a
short run (within an iteration, between iterations, between plans) and require every plan to be bit
for bit that of the planner compiled from the start; a process test checks that a cold process
compiles nothing itself and switches when its child is done.
"""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from planlab.benchmarks.trajopt import swingup_problem
from planlab.dynamics import Pendulum
from planlab.planners import ILQR
from planlab.planners.trajopt.cold import ColdKernels, interpreted


class _ReadyAfter:
    """Stands in for the child process: ready at the n-th poll (never when n is None)."""

    error = None

    def __init__(self, n):
        self.n = n
        self.polls = 0

    def poll(self):
        self.polls += 1
        if self.n is None:
            return None
        self.n -= 1
        return True if self.n <= 0 else None


def _serve_interpreted_until(planner, polls):
    m = planner.model
    m._cold = ColdKernels(getattr(m, "kernels", None), {"marker": os.devnull})
    if hasattr(m, "kernels"):
        m._k = m._cold
    m._bp = m._cold.backward_pass
    m._cold._bg = _ReadyAfter(polls)
    return m._cold


def _case(name):
    if name == "cartpole-box-ddp":  # box QP with active bounds, QuadraticCost derivatives from parameters
        system, cost, x0, _ = swingup_problem(bounded=True, force_bound=3.0)
        kw = dict(horizon=30, max_iterations=12)
    elif name == "cartpole-full-ddp":  # second-order dynamics terms, no box
        system, cost, x0, _ = swingup_problem(bounded=False)
        kw = dict(horizon=30, max_iterations=12, ddp=True, control_limits=False)
    elif name == "cartpole-gauss-newton":  # Cholesky Newton steps, no box
        system, cost, x0, _ = swingup_problem(bounded=False)
        kw = dict(horizon=30, max_iterations=12, control_limits=False)
    elif name == "pendulum-source-cost":  # the cost's derivatives generated from its source (not a QuadraticCost)
        system = Pendulum()
        cost, x0 = system.default_cost(), np.array([3.0, 0.0])
        kw = dict(horizon=25, max_iterations=12)
    else:  # pendulum-finite-differences: numpy derivatives and rollouts, the backward pass alone switches
        system = Pendulum()
        cost, x0 = system.default_cost(), np.array([3.0, 0.0])
        kw = dict(horizon=15, max_iterations=8, derivatives="fd")
    starts = [x0, x0 + 0.1, x0 - 0.2]
    return (lambda: ILQR(system, cost, background_compile=False, **kw)), starts


def _plans(planner, starts):
    """Warm-started plans from each start: (actions, states, cost, gains) bytes, status, iterations."""
    out, ws = [], None
    for x0 in starts:
        plan = planner.plan(x0, ws)
        ws = plan.actions
        out.append((plan.actions.tobytes(), plan.states.tobytes(), np.float64(plan.cost).tobytes(),
                    plan.diagnostics["policy"].K.tobytes(), plan.status, plan.diagnostics["iterations"]))
    return out


def _run(make, starts, polls):
    planner = make()
    cold = _serve_interpreted_until(planner, polls) if polls != "compiled" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # iteration limits: the same in every run
        return _plans(planner, starts), cold


CASES = ["cartpole-box-ddp", "cartpole-full-ddp", "cartpole-gauss-newton", "pendulum-source-cost",
         "pendulum-finite-differences"]


@pytest.mark.parametrize("name", CASES)
def test_plans_are_bitwise_the_compiled_ones_wherever_the_switch_happens(name):
    make, starts = _case(name)
    ref, _ = _run(make, starts, "compiled")
    never_out, never = _run(make, starts, None)
    assert never_out == ref and not never.compiled  # interpreted from start to end, and the same plans
    total = never._bg.polls  # kernel calls after the first of the run
    assert total >= 15
    # inside the first iterations (rollout, derivatives, backward pass, line search), later, in the last plan
    for polls in sorted({1, 2, 3, 4, 7, total // 3, 2 * total // 3, total}):
        got, cold = _run(make, starts, polls)
        assert got == ref, f"switch at poll {polls} of {total}"
        assert cold.compiled and not cold.refused


def test_a_switch_that_would_change_a_number_is_refused():
    make, starts = _case("cartpole-box-ddp")
    interp, _ = _run(make, starts, None)
    planner = make()
    cold = _serve_interpreted_until(planner, 5)
    fast = cold._fast["derivatives"]

    def one_ulp_off(X, U, lo, hi, p, cp, O, OT):
        ok = fast(X, U, lo, hi, p, cp, O, OT)
        O[0, 0] = np.nextafter(O[0, 0], np.inf)
        return ok

    cold._fast["derivatives"] = one_ulp_off
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = _plans(planner, starts)
    refusals = [w for w in caught if "differs from its interpreted code" in str(w.message)]
    assert len(refusals) == 1 and cold.refused and not cold.compiled
    assert planner.plan(starts[0]).diagnostics["interpreted"]
    assert out == interp


def test_interpreted_copies_call_no_numba_function():
    """Every function reachable from the interpreted backward pass and kernels is plain Python."""
    from planlab.planners.trajopt import riccati

    make, _ = _case("cartpole-box-ddp")
    planner = make()
    seen, todo = set(), [interpreted(riccati.backward_pass)] + [
        interpreted(getattr(planner.model.kernels, n)) for n in ("rollout", "line_search", "derivatives")]
    while todo:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        for name in fn.__code__.co_names:
            obj = fn.__globals__.get(name)
            assert not hasattr(obj, "py_func"), f"{fn.__name__} calls the numba function {name}"
            if callable(obj) and hasattr(obj, "__code__") and hasattr(obj, "__globals__"):
                todo.append(obj)
    assert len(seen) >= 10  # backward pass, box QP, Cholesky, kernels, derivative code, model sources


CHILD = textwrap.dedent('''
    import json, time
    import numpy as np
    from numba.core import event
    from planlab.benchmarks.trajopt import swingup_problem
    from planlab.planners import ILQR

    class Count(event.Listener):
        n = 0
        def on_start(self, e):
            Count.n += 1
        def on_end(self, e):
            pass

    event.register("numba:compile", Count())
    system, cost, x0, _ = swingup_problem(bounded=True, force_bound=3.0)
    planner = ILQR(system, cost, horizon=20, max_iterations=5)
    out = []
    t_end = time.monotonic() + 400
    while time.monotonic() < t_end:
        plan = planner.plan(x0)
        out.append(plan.diagnostics["interpreted"])
        if not out[-1]:
            break
        time.sleep(0.5)
    print(json.dumps(dict(interpreted=out, compiles=Count.n, actions=plan.actions.tolist())))
''')


@pytest.mark.slow
def test_a_cold_process_compiles_nothing_itself_and_switches_when_the_child_is_done(tmp_path):
    env = dict(os.environ, PLANLAB_CACHE_DIR=str(tmp_path / "planlab"), NUMBA_CACHE_DIR=str(tmp_path / "numba"),
               PLANLAB_BACKGROUND_COMPILE="1", PYTHONPATH=os.pathsep.join(sys.path))
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600,
                              cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    cold, warm = runs
    assert cold["compiles"] == 0  # every compile happened in the child
    assert cold["interpreted"][0] and not cold["interpreted"][-1]  # interpreted first, compiled once it was done
    assert warm["compiles"] == 0 and warm["interpreted"] == [False]  # the next process loads the child's kernels
    assert warm["actions"] == cold["actions"]


class _Failed:
    """Stands in for a child process that failed."""

    error = "exit code 1"

    def poll(self):
        return False


def test_a_failed_child_means_compiling_in_the_process_with_one_warning_and_the_same_plans():
    make, starts = _case("cartpole-box-ddp")
    ref, _ = _run(make, starts, "compiled")
    planner = make()
    cold = _serve_interpreted_until(planner, None)
    cold._bg = _Failed()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = _plans(planner, starts)
    assert sum("background compile of the iLQR kernels failed" in str(w.message) for w in caught) == 1
    assert cold.compiled and got == ref


def test_kernels_numba_cannot_compile_stay_interpreted_with_one_warning():
    from numba.core.errors import TypingError

    make, starts = _case("cartpole-box-ddp")
    interp, _ = _run(make, starts, None)
    planner = make()
    cold = _serve_interpreted_until(planner, None)
    cold._bg = _Failed()

    def untypable(*args):
        raise TypingError("no implementation for these types")

    cold._fast = dict.fromkeys(cold._fast, untypable)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = _plans(planner, starts)
    assert sum("numba cannot compile the iLQR kernels" in str(w.message) for w in caught) == 1
    assert cold.refused and not cold.compiled and got == interp


@pytest.mark.parametrize("error", [ZeroDivisionError("float division by zero"), ValueError("math domain error"),
                                   OverflowError("math range error"),
                                   TypeError("float() argument must be a string or a real number, not 'complex'")])
def test_python_arithmetic_errors_hand_the_call_to_the_compiled_kernel_with_the_arguments_restored(error):
    make, starts = _case("cartpole-box-ddp")
    ref, _ = _run(make, starts, "compiled")
    planner = make()
    cold = _serve_interpreted_until(planner, None)
    slow_bp = cold._slow["backward_pass"]
    calls = []

    def half_then_divide_by_zero(O, OT, HD, use_h, U, lo, hi, bounded, mu, k_prev, K, k, free):
        calls.append(1)
        if len(calls) == 3:  # scribble on the outputs, then fail as Python does where numba gives inf/NaN
            k[:] = 123.0
            K[:] = -7.0
            raise error
        return slow_bp(O, OT, HD, use_h, U, lo, hi, bounded, mu, k_prev, K, k, free)

    cold._slow["backward_pass"] = half_then_divide_by_zero
    got, _ = _run(lambda: planner, starts, "compiled")  # keeps the planner's cold kernels
    assert len(calls) == 3 and cold.compiled  # compiled from the failing call on
    assert got == ref


class _Waitable(_ReadyAfter):
    """A stand-in child that is ready only when waited for."""

    def __init__(self):
        super().__init__(None)
        self.waited = 0

    def wait(self, timeout):
        self.waited += 1
        return True


def test_past_the_interpreted_budget_the_planner_waits_for_the_child_and_plans_the_same(monkeypatch):
    from planlab.planners.trajopt import cold as cold_module

    make, starts = _case("cartpole-box-ddp")
    ref, _ = _run(make, starts, "compiled")
    monkeypatch.setattr(cold_module, "INTERPRETED_BUDGET_S", 0.0)
    planner = make()
    cold = _serve_interpreted_until(planner, None)
    cold._bg = _Waitable()
    first = planner.plan(starts[0])
    assert first.diagnostics["interpreted"] and cold._bg.waited == 0  # the first plan never waits
    got, _ = _run(lambda: planner, starts, "compiled")  # keeps the planner's cold kernels
    assert cold._bg.waited == 1  # the next plan's first call waited for the child, then switched
    assert cold.compiled and got == ref
