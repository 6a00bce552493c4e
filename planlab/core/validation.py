"""Validation helpers for public boundaries.

Every helper raises ``ValueError`` or ``TypeError`` with a message that names the argument, what
was expected and what came, e.g. ``x0: expected shape (4,), got (3,)``.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np

__all__ = [
    "as_float_array",
    "check_finite",
    "check_shape",
    "check_bounds",
    "check_positive_int",
    "check_positive",
    "check_nonnegative",
    "check_probability",
    "check_in",
]


def _fmt_shape(shape) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def as_float_array(name: str, value, *, shape: Sequence[int | None] | None = None, finite: bool = True,
                   ndim: int | None = None) -> np.ndarray:
    """Convert ``value`` to a float64 array and check its shape and finiteness.

    Parameters
    ----------
    name : str
        Argument name used in error messages.
    value : array_like
        The value to check.
    shape : sequence of int or None, optional
        Expected shape; ``None`` entries match any size.
    finite : bool
        Reject NaN and inf.
    ndim : int, optional
        Expected number of dimensions (when the sizes are free).

    Returns
    -------
    numpy.ndarray
        ``value`` as a float64 array (a copy only when needed).
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name}: expected a numeric array, got {type(value).__name__}")
    if getattr(getattr(value, "dtype", None), "kind", "") == "c":
        raise TypeError(f"{name}: expected real numbers, got a complex array ({value.dtype})")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a numeric array, got {type(value).__name__} ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None:
        check_shape(name, arr, shape)
    if finite:
        check_finite(name, arr)
    return arr


def check_shape(name: str, arr: np.ndarray, shape: Sequence[int | None]) -> None:
    """Raise ``ValueError`` unless ``arr.shape`` matches ``shape`` (``None`` = any size)."""
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        raise ValueError(f"{name}: expected shape {_fmt_shape(shape)}, got {arr.shape}")


def check_finite(name: str, arr: np.ndarray) -> None:
    """Raise ``ValueError`` if ``arr`` holds NaN or inf, saying where."""
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(np.asarray(arr)))
        where = tuple(int(i) for i in bad[0]) if bad.size else ()
        raise ValueError(
            f"{name}: expected finite values, got {np.asarray(arr)[where] if where else arr!r}"
            f" at index {where} ({len(bad)} non-finite entr{'y' if len(bad) == 1 else 'ies'})"
        )


def check_bounds(name_low: str, low, name_high: str, high, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Check a box ``low <= high`` (element-wise, broadcast to ``size``) and return both as arrays."""
    lo = as_float_array(name_low, low, finite=False)
    hi = as_float_array(name_high, high, finite=False)
    if size is not None:
        try:
            lo = np.broadcast_to(lo, (size,)).astype(np.float64)
            hi = np.broadcast_to(hi, (size,)).astype(np.float64)
        except ValueError:
            raise ValueError(
                f"{name_low}/{name_high}: expected scalars or shape ({size},), got {lo.shape} and {hi.shape}"
            ) from None
    if np.any(np.isnan(lo)) or np.any(np.isnan(hi)):
        raise ValueError(f"{name_low}/{name_high}: expected numbers, got NaN in {lo} / {hi}")
    if np.any(lo > hi):
        i = int(np.argmax(lo > hi))
        raise ValueError(f"{name_low}: expected {name_low} <= {name_high}, got {lo[i]} > {hi[i]} at index {i}")
    return lo, hi


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as ``int`` if it is an integer ``>= minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def check_positive(name: str, value) -> float:
    """Return ``value`` as float if it is finite and ``> 0``."""
    v = _as_real(name, value)
    if not v > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return v


def check_nonnegative(name: str, value) -> float:
    """Return ``value`` as float if it is finite and ``>= 0``."""
    v = _as_real(name, value)
    if not v >= 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    return v


def check_probability(name: str, value, *, closed: bool = True) -> float:
    """Return ``value`` as float if it lies in ``[0, 1]`` (or ``(0, 1)`` with ``closed=False``)."""
    v = _as_real(name, value)
    ok = 0.0 <= v <= 1.0 if closed else 0.0 < v < 1.0
    if not ok:
        rng = "[0, 1]" if closed else "(0, 1)"
        raise ValueError(f"{name}: expected a number in {rng}, got {value!r}")
    return v


def check_in(name: str, value, options) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(f"{name}: expected one of {sorted(options)}, got {value!r}")


def _as_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {value!r} ({type(value).__name__})")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return v
