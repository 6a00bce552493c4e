"""The suite's error type and objects named by import path (``"package.module:Name"``)."""

from __future__ import annotations

import importlib

__all__ = ["SuiteError", "import_path"]


class SuiteError(ValueError):
    """A bad suite entry (raised before any job runs); the message names the entry."""


def import_path(path: str, what: str):
    """The object at ``"package.module:Name"``; a :class:`SuiteError` naming ``what`` when it cannot be imported."""
    mod, _, attr = path.partition(":")
    if not mod or not attr:
        raise SuiteError(f"{what}: expected 'package.module:Name', got {path!r}")
    try:
        obj = importlib.import_module(mod)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise SuiteError(f"{what}: cannot import {path!r} ({exc})") from None
    return obj
