"""A cold first iLQR plan: the solver's own code runs interpreted while a child process compiles it.

On an empty kernel cache, compiling the trajectory-optimisation kernels of one (system, cost) pair
(:mod:`planlab.planners.trajopt.kernels`: rollout, line search, derivatives; the Riccati backward
pass and box QP of :mod:`.riccati` / :mod:`.boxqp`) takes most of the time to the first plan. With
background compilation (the default; ``PLANLAB_BACKGROUND_COMPILE=0`` turns it off) a
:class:`~planlab.planners.trajopt.derivatives.CodegenModel` whose kernels are not in the cache calls
:class:`ColdKernels` instead: the very same Python functions, un-jitted (:func:`interpreted`: the
``py_func`` of each numba function, with every numba function it calls replaced by its own
interpreted copy), while one child process (:mod:`planlab.planners.sampling.background`) compiles
the kernels with the parent's argument types into the on-disk cache. When the child is done, the
next kernel call loads the compiled kernels and uses them from then on.

Determinism: the switch can fall at any kernel call of any iteration, so both paths must give the
same numbers. The interpreted functions perform the same IEEE operations in the same order as the
compiled ones (numba compiles without ``fastmath``, so LLVM neither reassociates nor contracts them);
at the switch the call is evaluated both ways and compared bit for bit (results and every array
argument): equal, the compiled kernels serve from then on; different (a platform whose numpy and
libm differ in a last bit), the model stays interpreted for its lifetime and says so once with a
``RuntimeWarning``. An interpreted iLQR plan costs hundreds of compiled ones: once the interpreted
calls have taken :data:`INTERPRETED_BUDGET_S` seconds, the planner waits for the child from its next
plan on instead of interpreting on (same switch, same numbers; never within the first plan). A
Python arithmetic exception of the interpreted path (where numba gives inf or NaN, or a math domain
error) makes that call, and every later one, compile in the foreground instead.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import pickle
import time
import types
import warnings

import numpy as np

from ...dynamics.compiled import source_text
from ..sampling import background
from . import boxqp, layout, riccati

__all__ = ["interpreted", "ColdKernels", "KERNELS", "child_spec", "solver_spec", "CHILD_ENTRY", "SOLVERS_ENTRY"]

#: The child's entry points (:mod:`planlab.planners.trajopt.cold_child`): one model's kernels, and
#: the model-independent solvers (backward pass, box QP) alone.
CHILD_ENTRY = "planlab.planners.trajopt.cold_child:compile_in_child"
SOLVERS_ENTRY = "planlab.planners.trajopt.cold_child:compile_solvers"

#: The kernel functions a :class:`ColdKernels` serves, with the module each comes from.
KERNELS = ("rollout", "line_search", "derivatives", "dynamics_hessians", "backward_pass")

#: Seconds of interpreted kernel calls after which a planner, from its second plan on, stops interpreting
#: and waits for the child instead (an interpreted iLQR plan costs hundreds of compiled ones: past the
#: first plans, a core spent interpreting is better given to the compile).
INTERPRETED_BUDGET_S = 3.0

#: What interpreted kernel code raises where the compiled code gives inf/NaN: ``1.0 / 0.0`` on Python
#: floats, ``math.log(0.0)`` / ``math.sqrt(-1.0)`` (ValueError), ``math.exp(1e3)`` (OverflowError), a
#: complex ``(-x) ** 0.5`` stored into a float array (TypeError).
PYTHON_ONLY_ERRORS = (ArithmeticError, ValueError, TypeError)

_copies: dict = {}  # id(original globals) -> the globals of the interpreted copies


def _plain(fn):
    return getattr(fn, "py_func", fn)


def _globals_of(glb: dict) -> dict:
    """A copy of a module's globals in which every numba function is its interpreted copy."""
    new = _copies.get(id(glb))
    if new is not None and new["__original_globals__"] is glb:
        return new
    new = dict(glb)
    new["__original_globals__"] = glb
    _copies[id(glb)] = new  # registered before filling: functions may call each other
    for name, value in glb.items():
        if hasattr(value, "py_func") and isinstance(getattr(value, "py_func"), types.FunctionType):
            new[name] = interpreted(value)
    return new


def interpreted(fn):
    """A plain-Python copy of the numba function ``fn`` that never calls a numba dispatcher.

    ``fn``'s ``py_func`` rebuilt over a copy of its module's globals in which each numba function is
    (recursively) its own interpreted copy; helpers registered with ``register_jitable`` and
    planlab's ops are plain Python already.
    """
    py = _plain(fn)
    glb = _globals_of(py.__globals__)
    done = glb.get(py.__name__)
    if isinstance(done, types.FunctionType) and done.__code__ is py.__code__:
        return done
    return types.FunctionType(py.__code__, glb, py.__name__, py.__defaults__, py.__closure__)


def _snapshot(args):
    """Copies of the array arguments (aliases kept: one copy per distinct array)."""
    memo = {}
    return tuple(memo.setdefault(id(a), a.copy()) if isinstance(a, np.ndarray) else a for a in args)


def _restore(args, saved) -> None:
    """Write the snapshot ``saved`` back into the (writable) array arguments."""
    for a, s in zip(args, saved):
        if isinstance(a, np.ndarray) and a.flags.writeable:
            a[...] = s


def _same(a, b) -> bool:
    """Bitwise equality of two results (scalars, arrays or tuples of them)."""
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        return a.shape == b.shape and bool(np.array_equal(a, b))
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return a.shape == b.shape and a.astype(np.float64).tobytes() == b.astype(np.float64).tobytes()
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


class ColdKernels:
    """The kernels of :mod:`.kernels` (specialised module ``compiled``) and :func:`.riccati.backward_pass`,
    interpreted until a background compile of them has finished (see the module docstring).

    Parameters
    ----------
    compiled : module or None
        The specialised kernel module (its numba functions are compiled lazily: nothing compiles
        unless a call goes to them); None: the backward pass only (torch and finite-difference
        models, whose rollouts and derivatives are numpy/torch code).
    spec : dict
        The child's spec (:func:`child_spec` or :func:`solver_spec`), ``marker`` included.
    """

    def __init__(self, compiled, spec: dict):
        self._fast = {} if compiled is None else {name: getattr(compiled, name) for name in KERNELS
                                                  if name != "backward_pass"}
        self._fast["backward_pass"] = riccati.backward_pass
        self._slow = {name: interpreted(fn) for name, fn in self._fast.items()}
        self.spec = spec
        self._bg = None  # the child (or a test's stand-in), started by the first call
        self.compiled = False  # True: the compiled kernels serve
        self.refused = False  # True: the switch would have changed a number; interpreted for good
        self.interpreted_s = 0.0  # wall seconds spent in interpreted calls while compiling
        self._plans = 0  # rollout calls: one starts each iLQR solve
        for name in self._fast:  # kernels.rollout(...) etc., as on the compiled module
            setattr(self, name, functools.partial(self.__call__, name))

    @property
    def compiling(self) -> bool:
        """Whether the interpreted kernels serve while a compile is pending."""
        return not self.compiled and not self.refused

    def use_compiled(self) -> None:
        """Serve the compiled kernels from now on (compiling in this process what is not in the cache)."""
        if not self.refused:
            self.compiled = True

    def __call__(self, name: str, *args):
        """Call kernel ``name`` with ``args`` on the path that serves now (switching when the child is done)."""
        if self.compiling:
            if self._bg is None:
                self._bg = background.start(self.spec)
            else:
                self._plans += name == "rollout"
                # never in the first plan (that is the one a user waits for), nor for callers without rollouts
                over = self._plans >= 2 and self.interpreted_s > INTERPRETED_BUDGET_S and hasattr(self._bg, "wait")
                state = self._bg.wait(background.CHILD_TIMEOUT) if over else self._bg.poll()
                if state is True:
                    return self._switch(name, args)
                if state is False:  # the child failed: compile here, as without background compiling
                    warnings.warn(f"planlab: the background compile of the iLQR kernels failed ({self._bg.error}); "
                                  "compiling them now", RuntimeWarning, stacklevel=3)
                    self.compiled = True
                    return self._compile_here(name, args)
        if self.compiled:
            return self._fast[name](*args)
        saved = _snapshot(args)
        t0 = time.perf_counter()
        try:
            with np.errstate(all="ignore"):
                return self._slow[name](*args)
        except PYTHON_ONLY_ERRORS:  # Python raises where numba gives inf/NaN: the compiled path decides
            _restore(args, saved)
            if self.refused:  # nothing better than the compiled call exists
                return self._fast[name](*args)
            self.compiled = True
            return self._compile_here(name, args)
        finally:
            self.interpreted_s += time.perf_counter() - t0

    def _compile_here(self, name, args):
        """The compiled call; if numba cannot compile the kernels, interpreted for good (one warning)."""
        from numba.core.errors import NumbaError

        saved = _snapshot(args)
        try:
            return self._fast[name](*args)
        except (NumbaError, TypeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            warnings.warn(f"planlab: numba cannot compile the iLQR kernels ({first}); they stay interpreted (slower)",
                          RuntimeWarning, stacklevel=4)
            self.compiled, self.refused = False, True
            _restore(args, saved)
            with np.errstate(all="ignore"):
                return self._slow[name](*args)

    def _switch(self, name, args):
        """Evaluate the call both ways; compiled from now on if they agree bit for bit, else interpreted for good."""
        copies = _snapshot(args)
        try:
            with np.errstate(all="ignore"):
                slow = self._slow[name](*copies)
        except PYTHON_ONLY_ERRORS:
            self.compiled = True
            return self._fast[name](*args)
        fast = self._fast[name](*args)
        same = _same(slow, fast) and all(_same(a, c) for a, c in zip(args, copies) if isinstance(a, np.ndarray))
        if same:
            self.compiled = True
            return fast
        self.refused = True
        warnings.warn(f"planlab: the compiled iLQR kernel {name!r} differs from its interpreted code in the last bits "
                      "on this platform; staying on the interpreted kernels so that plans do not depend on when the "
                      "compile finished (slower; PLANLAB_BACKGROUND_COMPILE=0 compiles before the first plan)",
                      RuntimeWarning, stacklevel=3)
        _restore(args, copies)
        return slow


def _arrays(dynamics, cost):
    """The parameter arrays a child must rebuild with the parent's flags: the system's and the cost's."""
    return [getattr(dynamics, "param_vector", None), getattr(cost, "params", None)]


def child_spec(dynamics, cost, ddp: bool, marker) -> dict | None:
    """The background child's spec for ``(dynamics, cost)``, or None when a child cannot rebuild them.

    The model travels pickled (classes importable by name, not from ``__main__``), with the
    read-only flags of its parameter arrays, which unpickling does not keep: numba compiles a
    read-only array as a type of its own, and the child must compile the types the parent passes.
    """
    if any(type(obj).__module__ == "__main__" for obj in (dynamics, cost)):
        return None
    try:
        blob = pickle.dumps((dynamics, cost))
    except Exception:  # noqa: BLE001 - anything unpicklable: no background compile
        return None
    readonly = [bool(isinstance(a, np.ndarray) and not a.flags.writeable) for a in _arrays(dynamics, cost)]
    return {"entry": CHILD_ENTRY, "model": base64.b64encode(blob).decode("ascii"),
            "ddp": bool(ddp), "readonly": readonly, "marker": str(marker)}


def solver_spec() -> dict | None:
    """The child's spec compiling the backward pass and box QP alone, or None when they are in the cache.

    They are model-independent: compiled once per install (per numba cache), with the argument
    types every :class:`~planlab.planners.trajopt.derivatives.TrajectoryModel` passes.
    """
    text = "".join(source_text(m) for m in (riccati, boxqp, layout))
    marker = background.ready_marker(f"planlab_trajopt_solvers_{hashlib.sha1(text.encode()).hexdigest()[:16]}")
    if marker.exists():
        return None
    return {"entry": SOLVERS_ENTRY, "marker": str(marker)}
