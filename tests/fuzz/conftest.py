"""Writes the fuzzed input classes when ``PLANLAB_FUZZ_CLASSES=path`` is set (see fuzzlib)."""

import os

import pytest
from fuzzlib import CLASSES


@pytest.fixture(scope="session", autouse=True)
def _write_classes():
    yield
    out = os.environ.get("PLANLAB_FUZZ_CLASSES")
    if out:
        with open(out, "w") as f:
            for e, label in sorted(CLASSES):
                f.write(f"{e}\t{label}\n")
