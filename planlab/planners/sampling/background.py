"""Compile a sampling planner's numba kernels in a background process while numpy serves the first plans.

A cold first plan (nothing in the kernel cache) spends most of its time in numba's compiler: the
sampled kernel, the noise generator, the rollout kernel and the model's sources. With background
compilation (the default; ``PLANLAB_BACKGROUND_COMPILE=0`` turns it off) a
:class:`~planlab.planners.sampling.evaluator.SequenceEvaluator` whose kernels are not in the cache
evaluates with numpy and starts one child process (``python -m planlab.planners.sampling.background``)
that compiles exactly the kernels it will call, with the argument types it will call them with,
into the on-disk cache, on the machine's other core. When the child has finished, the evaluator
loads the kernels from the cache and uses them from its next call on.

Determinism: where the switch happens depends on timing, so the two paths must give the same
numbers. They perform the same floating-point operations in the same order per entry (the numpy
path is the fused kernel's reference, see :mod:`planlab.planners.sampling.evaluator`), and at the
switch the evaluator checks it: the call that would switch is evaluated both ways and compared
bitwise; if they differ (a platform whose numpy and libm disagree in the last bit), the evaluator
stays on numpy for its lifetime and says so once with a ``RuntimeWarning``.

The child ends by itself: it compiles, writes a marker ``<kernel module>.ready`` in the kernel cache
and exits, after :data:`CHILD_TIMEOUT` seconds at most; it is killed when the parent dies (Linux
``PR_SET_PDEATHSIG``, and a watcher thread of the parent's id). A parent that exits normally while
its child still compiles waits for it up to ``PLANLAB_BACKGROUND_EXIT_WAIT`` seconds (default 120;
a short script's compile is then not lost, and its next run starts warm), then kills it.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from ...core.contracts import CompiledSources
from ...core.cost import SourceCost
from ...dynamics.analytic import AnalyticSystem
from ...dynamics.compiled import cache_dir, numba_enabled, source_name

__all__ = ["enabled", "ready_marker", "importable", "importable_sources", "start",
           "BackgroundCompile", "CHILD_TIMEOUT", "ENV_VAR", "WAIT_ENV_VAR"]

#: Environment variable: ``0``/``false``/``no`` compiles in the foreground, as on the first call.
ENV_VAR = "PLANLAB_BACKGROUND_COMPILE"
#: Seconds after which a background compile gives up (the evaluator then compiles on its next call).
CHILD_TIMEOUT = 300.0
#: The child's entry point (its ``main()``, run with the parent's ``sys.path``).
CHILD_MODULE = "planlab.planners.sampling.compile_child"
#: Environment variable: seconds the parent waits at exit for a running compile to fill the cache
#: (default 120; 0 kills it at once, and the next process compiles again).
WAIT_ENV_VAR = "PLANLAB_BACKGROUND_EXIT_WAIT"

_children: list = []


def enabled() -> bool:
    """Whether background compilation is on (numba on and ``PLANLAB_BACKGROUND_COMPILE`` not false)."""
    return numba_enabled() and os.environ.get(ENV_VAR, "").strip().lower() not in ("0", "false", "no")


def ready_marker(module_name: str) -> Path:
    """The file a finished background compile of kernel module ``module_name`` leaves in the kernel cache."""
    return cache_dir() / f"{module_name}.ready"


def importable(fn) -> bool:
    """Whether a child process can import the source ``fn`` by name (not defined in ``__main__``)."""
    try:
        mod, _ = source_name(fn)
    except ValueError:
        return False
    return mod != "__main__"


def importable_sources(dynamics, cost) -> CompiledSources | None:
    """The model's sources when a child process can compile them (an analytic system, a source cost of
    matching sizes, module-level functions outside ``__main__``); None otherwise. Compiles nothing."""
    if not (isinstance(dynamics, AnalyticSystem) and isinstance(cost, SourceCost)
            and cost.state_dim == dynamics.state_dim and cost.action_dim == dynamics.action_dim):
        return None
    d = type(dynamics)
    src = CompiledSources(d.dynamics_source, d.termination_source, cost.running_source, cost.terminal_source,
                          dynamics.param_vector, cost.params)
    if not all(importable(f) for f in (src.dynamics, src.termination, src.running, src.terminal)):
        return None
    return src


class BackgroundCompile:
    """One child process compiling a sampled kernel module and the rollout kernels for one model.

    Parameters
    ----------
    spec : dict
        JSON-serialisable, with ``marker`` (path of the ready marker) and optionally ``entry``
        (``"module:function"``: the child calls it with the spec; the trajectory optimisers use
        :func:`planlab.planners.trajopt.cold_child.compile_in_child`). Without ``entry``, the sampling
        planners' spec: ``sources`` (four ``[module, name]``), ``nx``, ``nu``, ``params``,
        ``cost_params``, ``lo``, ``hi`` (lists of floats), ``readonly`` (whether the parent's ``params``,
        ``cost_params``, ``lo``, ``hi`` arrays are read-only), ``variants`` (list of
        ``[explicit, write, round]``), ``marker`` (path of the ready marker).
    """

    def __init__(self, spec: dict):
        self.spec = spec
        self.error = None
        env = dict(os.environ, PLANLAB_BACKGROUND_PARENT=str(os.getpid()))
        # the child imports planlab and the sources from exactly the parent's import path
        path = [p or os.getcwd() for p in sys.path]
        code = f"import sys; sys.path[:] = {path!r}; from {CHILD_MODULE} import main; main()"
        self._log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty child never blocks
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=self._log, text=True, env=env)
        _children.append(self._proc)
        try:
            self._proc.stdin.write(json.dumps(spec))
            self._proc.stdin.close()
        except OSError:  # the child died at once; poll() reports it
            pass
        self._started = time.monotonic()

    def poll(self):
        """None while compiling, True when the kernels are in the cache, False when the child failed."""
        rc = self._proc.poll()
        if rc is None:
            if time.monotonic() - self._started > CHILD_TIMEOUT + 10:
                self.kill()
                self.error = f"timed out after {CHILD_TIMEOUT:.0f} s"
                return False
            return None
        if rc == 0 and Path(self.spec["marker"]).exists():
            return True
        if self.error is None:
            self._log.seek(0)
            err = self._log.read().strip().splitlines()
            self.error = err[-1] if err else f"exit code {rc}"
        return False

    def wait(self, timeout: float) -> bool | None:
        """Block until the child ends (at most ``timeout`` s); then as :meth:`poll`."""
        try:
            self._proc.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            pass
        return self.poll()

    def kill(self) -> None:
        """End the child (by its process id) if it is still running."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


_running: dict = {}


def start(spec: dict) -> BackgroundCompile:
    """A :class:`BackgroundCompile` for ``spec``; one child per kernel module and process (shared while it runs)."""
    bg = _running.get(spec["marker"])
    if bg is None or bg.poll() is False:
        bg = _running[spec["marker"]] = BackgroundCompile(spec)
    return bg


@atexit.register
def _end_children() -> None:
    """At exit, let running compiles finish (bounded) so the next process finds the kernels; never outlive us."""
    try:
        wait = float(os.environ.get(WAIT_ENV_VAR, "120"))
    except ValueError:
        wait = 120.0
    deadline = time.monotonic() + max(wait, 0.0)
    if wait > 0 and any(proc.poll() is None for proc in _children):
        print(f"planlab: finishing the kernel compile started in the background so the next run plans compiled "
              f"(at most {wait:g} s; Ctrl-C skips it, {WAIT_ENV_VAR}=0 never waits)", file=sys.stderr, flush=True)
    try:
        for proc in _children:
            if proc.poll() is None and wait > 0:
                try:
                    proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
                except subprocess.TimeoutExpired:
                    pass
    except KeyboardInterrupt:
        pass
    finally:
        for proc in _children:
            if proc.poll() is None:
                proc.kill()
