import io
import json

import numpy as np

from planlab.benchmarks.common import to_json_line, write_row


def test_rows_are_strict_json_with_null_for_non_finite_numbers():
    line = to_json_line({"a": float("nan"), "b": [np.float64(1.5), float("inf")], "c": np.int64(3)})
    assert json.loads(line) == {"a": None, "b": [1.5, None], "c": 3}


def test_write_row_appends_one_line_per_row():
    fh = io.StringIO()
    write_row(fh, {"x": 1})
    write_row(fh, {"x": 2})
    assert [json.loads(s)["x"] for s in fh.getvalue().splitlines()] == [1, 2]
