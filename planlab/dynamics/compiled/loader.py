"""Specialise a kernel module for one model: copy it with its source-import line replaced, then import it.

planlab's compiled kernels are plain Python modules (:mod:`planlab.dynamics.compiled.rollout`, the
sampling planners' evaluator, the UCT search, the trajectory-optimisation kernels) that an editor, a
linter and coverage read like any other code. Each imports the functions of the model it runs —
a system's dynamics and termination sources, a cost's running and terminal sources — on ONE line
marked ``# planlab: sources``, from :mod:`planlab.dynamics.compiled.placeholder` as written.
:func:`specialise` writes a copy of the module in which only that line differs (it imports the
model's own module-level functions under the same aliases) into planlab's kernel cache and imports
it.

Why a copy on disk: numba caches a compiled function only when it is a module-level function of an
importable file; kernels built in closures, or taking functions as arguments, recompile in every
process (2.5 s here). A specialised module loads its compiled kernels from numba's cache in ~0.3 s.

The cache directory is ``$PLANLAB_CACHE_DIR`` if set, else ``$NUMBA_CACHE_DIR/planlab``, else
``~/.cache/planlab``; module names carry a hash of the template's text, of the model's sources and
of the modules the template depends on, so editing any of them recompiles. Set
``PLANLAB_DISABLE_NUMBA=1`` to use the numpy paths everywhere (same numbers, slower).
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import Callable, Mapping

from ...core.files import atomic_write

__all__ = ["numba_enabled", "cache_dir", "source_name", "source_text", "load_module", "specialise", "SOURCES_MARK"]

#: The comment that marks the one line :func:`specialise` replaces in a kernel module.
SOURCES_MARK = "# planlab: sources"

_lock = threading.RLock()
_loaded: dict = {}


def numba_enabled() -> bool:
    """False when ``PLANLAB_DISABLE_NUMBA`` is set to a true value."""
    return os.environ.get("PLANLAB_DISABLE_NUMBA", "").strip().lower() not in ("1", "true", "yes")


def cache_dir() -> Path:
    """Directory holding specialised kernel modules (and numba's cache beside them)."""
    if os.environ.get("PLANLAB_CACHE_DIR"):
        return Path(os.environ["PLANLAB_CACHE_DIR"])
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]) / "planlab"
    return Path.home() / ".cache" / "planlab"


def source_name(fn: Callable) -> tuple[str, str]:
    """``(module, name)`` under which a specialised module imports the source function ``fn``.

    Raises
    ------
    ValueError
        If ``fn`` is not a module-level function reachable as ``module.name``.
    """
    mod = getattr(fn, "__module__", None)
    name = getattr(fn, "__name__", None)
    owner = sys.modules.get(mod) if mod else None
    if owner is None or getattr(owner, name, None) is not fn:
        raise ValueError(
            f"source function {fn!r}: expected a module-level function importable as {mod}.{name} "
            "(compiled kernels import their sources by name)"
        )
    return mod, name


def source_text(obj) -> str:
    """The source code of a function or module (a function's bytecode when unavailable): part of cache keys."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return obj.__code__.co_code.hex()


def _import_lines(sources: Mapping[str, Callable | tuple[str, str]]) -> list[str]:
    lines = []
    for alias, src in sources.items():
        mod, name = src if isinstance(src, tuple) else source_name(src)
        lines.append(f"from {mod} import {name} as {alias}")
    return lines


def specialise(template: ModuleType, sources: Mapping[str, Callable | tuple[str, str]], *, prefix: str,
               depends: tuple[ModuleType, ...] = ()) -> ModuleType:
    """Import a copy of ``template`` whose sources line imports ``sources`` instead of the placeholders.

    Parameters
    ----------
    template : module
        A kernel module with exactly one line ending in :data:`SOURCES_MARK`.
    sources : mapping alias -> function or (module, name)
        What the copy imports, ``from module import name as alias`` per entry; functions must be
        module-level (:func:`source_name`).
    prefix : str
        Name of the copy: ``<prefix>_<hash>``.
    depends : tuple of modules
        Modules with njit functions the template imports: numba's cache does not notice when they
        change, so their text is part of the hash.

    Returns
    -------
    module
        Kept per process: the same arguments return the same module.

    Raises
    ------
    ValueError
        If a source is not a module-level function, or the template has no (or several) marked lines.
    """
    key = (template.__name__, prefix, tuple((a, s if isinstance(s, tuple) else id(s)) for a, s in sources.items()),
           tuple(d.__name__ for d in depends))
    with _lock:
        mod = _loaded.get(key)
        if mod is not None:
            return mod
        text = source_text(template)
        lines = text.splitlines()
        marked = [i for i, line in enumerate(lines) if line.rstrip().endswith(SOURCES_MARK)]
        if len(marked) != 1:
            raise ValueError(f"template: expected one line marked {SOURCES_MARK!r} in {template.__name__}, "
                             f"got {len(marked)}")
        i = marked[0]
        header = f"# Specialised from {template.__name__} by planlab.dynamics.compiled.specialise. Do not edit."
        lines = [header] + lines[:i] + _import_lines(sources) + lines[i + 1:]
        text = "\n".join(lines) + "\n"
        h = hashlib.sha1(text.encode())
        for src in sources.values():
            if not isinstance(src, tuple):
                h.update(source_text(src).encode())
        for dep in depends:
            h.update(source_text(dep).encode())
        module = load_module(f"{prefix}_{h.hexdigest()[:16]}", text)
        _loaded[key] = module
        return module


def load_module(name: str, text: str) -> ModuleType:
    """Write source ``text`` as module ``name`` into the cache directory (atomically) and import it.

    Concurrent processes never import half a file (:func:`planlab.core.files.atomic_write`); an
    unwritable cache directory falls back to the temp directory with a warning.
    """
    path = _write_module(name, text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba's cache re-imports the module by name
    spec.loader.exec_module(module)
    return module


def _write_module(name: str, text: str) -> Path:
    for base in (cache_dir(), Path(tempfile.gettempdir()) / "planlab-kernels"):
        path = base / f"{name}.py"
        try:
            if not path.exists() or path.read_text() != text:
                atomic_write(path, lambda f: f.write(text), text=True)
            return path
        except OSError as exc:  # read-only home: fall back to the temp dir
            warnings.warn(f"planlab: cannot write kernels to {base} ({exc}); trying the temp dir", RuntimeWarning)
    raise OSError("planlab: no writable directory for numba kernels; set PLANLAB_CACHE_DIR")
