"""What every planlab benchmark shares: its JSON-lines output.

Benchmarks print a table and, with ``--json PATH``, write one JSON object per line as each
measurement completes (flushed, so a crash loses at most the row in flight). Non-finite numbers
are written as ``null`` (strict JSON has no NaN).
"""

from __future__ import annotations

import json
import math

__all__ = ["to_json_line", "write_row"]


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:  # numpy scalars
        return _clean(v.item())
    return v


def to_json_line(row: dict) -> str:
    """``row`` as one line of strict JSON (NaN and inf become null)."""
    return json.dumps(_clean(row), allow_nan=False)


def write_row(fh, row: dict) -> None:
    """Append ``row`` to the open text file ``fh`` and flush."""
    if fh is None:
        return
    fh.write(to_json_line(row) + "\n")
    fh.flush()
