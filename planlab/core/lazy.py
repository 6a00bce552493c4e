"""Module-level ``__getattr__``/``__dir__`` that import a package's names on first use (PEP 562)."""

from __future__ import annotations

import importlib

__all__ = ["lazy_names"]


def lazy_names(namespace: dict, names: dict[str, str]):
    """``(__getattr__, __dir__)`` for the package whose ``globals()`` is ``namespace``, loading
    ``name`` from its submodule ``names[name]`` (or, when ``names[name] == name``, the submodule itself).

    This is planlab's one lazy-import mechanism: it keeps torch, hypothesis and the trainers out of
    ``import planlab`` and ``import planlab.planners``. A loaded name is stored in ``namespace``, so later lookups skip ``__getattr__``.
    """
    package = namespace["__name__"]

    def __getattr__(name):
        if name in names:
            module = importlib.import_module(f".{names[name]}", package)
            value = module if names[name] == name else getattr(module, name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
