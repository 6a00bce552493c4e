"""The docs/mbrl.md Python example runs as written (with fewer epochs)."""

import re
from pathlib import Path

import numpy as np
import pytest


@pytest.mark.slow  # trains and plans through an ensemble: ~20 s on a loaded 2-core machine
def test_mbrl_docs_python_example_runs_and_defines_everything_it_uses():
    text = (Path(__file__).parents[1] / "docs" / "mbrl.md").read_text()
    code = re.search(r"## From Python\n\n```python\n(.*?)```", text, re.S).group(1)
    code = code.replace("TrainConfig(epochs=50)", "TrainConfig(epochs=1)").replace("hidden=(64, 64, 64)", "hidden=(8,)")
    code = code.replace("members=5", "members=2").replace("particles=10", "particles=2")
    ns: dict = {}
    exec(compile(code, "docs/mbrl.md", "exec"), ns)  # noqa: S102 - the documentation's own example
    assert ns["plan"].actions.shape == (15, 1) and np.all(np.abs(ns["plan"].actions) <= 2.0)
