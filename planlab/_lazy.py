"""Module-level ``__getattr__``/``__dir__`` that import a package's names on first use (PEP 562)."""

from __future__ import annotations

import importlib


def lazy_names(namespace: dict, names: dict[str, str]):
    """``(__getattr__, __dir__)`` for the package whose ``globals()`` is ``namespace``, loading
    ``name`` from its submodule ``names[name]``.

    A loaded name is stored in ``namespace``, so later lookups skip ``__getattr__``.
    """
    package = namespace["__name__"]

    def __getattr__(name):
        if name in names:
            value = getattr(importlib.import_module(f".{names[name]}", package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
