"""Shared pieces of the fuzz tests: bad-value strategies, the "valid or a named error" check, class counting.

Every fuzzed call must return a valid result or raise ``ValueError``/``TypeError`` whose message starts
with the name of an argument (``"x0: expected ..."``). The distinct input classes tried (entry point,
kind of value, dtype, shape class) are counted; ``PLANLAB_FUZZ_CLASSES=path`` writes them to ``path``.
"""

import os
import re

import numpy as np
from hypothesis import strategies as st

#: (entry point, input class) pairs tried in this session
CLASSES: set = set()

#: an error message that names its argument first: "x0: ...", "x, u: ...", "--steps: ..."
NAMED = re.compile(r"^(--)?[A-Za-z_][\w.\[\]-]*( ?[,/] ?[A-Za-z_][\w.]*)*: ")


def record(entry: str, label: str) -> None:
    CLASSES.add((entry, label))


def describe(value) -> str:
    """A coarse class of a fuzzed value: type, dtype, shape class, special values."""
    if value is None or isinstance(value, (str, bytes, dict, bool)):
        return type(value).__name__
    if isinstance(value, (int, float)):
        v = float(value)
        return "scalar-" + ("nan" if v != v else "inf" if abs(v) == float("inf") else "finite")
    arr = np.asarray(value, dtype=object) if isinstance(value, list) else np.asarray(value)
    kind = arr.dtype.kind
    special = ""
    if kind in "fc" and arr.size:
        special = "-nan" if np.isnan(arr).any() else "-inf" if np.isinf(arr).any() else ""
    size = "empty" if arr.size == 0 else "ok"
    return f"{type(value).__name__}-{kind}-ndim{arr.ndim}-{size}{special}"


def check_named_error(exc: BaseException) -> None:
    """A fuzzed call may fail only with ValueError/TypeError naming an argument."""
    assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    assert NAMED.match(str(exc)), f"error does not name its argument: {exc!s:.300}"


def arrays_of(shapes, *, dtypes=("float64", "float32", "int64", "bool", "complex128", "object")):
    """Arrays of the given candidate shapes and dtypes, with NaN/inf/huge values mixed in."""
    specials = st.sampled_from([0.0, 1.0, -1.0, 0.5, 1e308, -1e308, np.nan, np.inf, -np.inf, 3.0])

    @st.composite
    def draw(d):
        shape = d(st.sampled_from(shapes))
        dtype = d(st.sampled_from(dtypes))
        n = int(np.prod(shape))
        vals = d(st.lists(specials, min_size=n, max_size=n))
        arr = np.array(vals, dtype=np.float64).reshape(shape)
        if dtype == "object":
            return arr.astype(object)
        with np.errstate(invalid="ignore", over="ignore"):
            return arr.astype(dtype) if dtype in ("float32", "complex128") else (
                np.nan_to_num(arr).clip(-5, 5).astype(dtype))

    return draw()


def bad_values(shapes):
    """Arrays (see :func:`arrays_of`) plus wrong types: None, strings, dicts, nested ragged lists."""
    return st.one_of(arrays_of(shapes), st.sampled_from([None, "abc", {"a": 1}, [[1.0], [1.0, 2.0]], True]))


