"""TEMPORARY shim during the restructure: old names of planlab.dynamics.compiled. Removed before landing."""

from __future__ import annotations

import hashlib
import threading

from .compiled import jit as _jit  # noqa: F401  (registers the numba versions of planlab.core.ops)
from .compiled import load_module as load_generated_module
from .compiled import numba_enabled, cache_dir, source_name, source_text, rollout_kernels as get_kernels  # noqa: F401

SOURCE_ROLES = ("dyn", "term", "run", "fin")
_lock = threading.RLock()
_loaded: dict = {}


def source_module(prefix, sources, template, salt="", **fields):
    names = tuple(source_name(f) for f in sources)
    key = (prefix, template, salt, names, tuple(sorted(fields.items())))
    with _lock:
        mod = _loaded.get(key)
        if mod is not None:
            return mod
        roles = {}
        for role, (m, n) in zip(SOURCE_ROLES, names):
            roles[f"{role}_mod"], roles[f"{role}_name"] = m, n
        text = template.format(**roles, **fields)
        text = text.replace("import numba as nb\n", "import numba as nb\nimport planlab.dynamics.compiled.jit\n", 1)
        h = hashlib.sha1(salt.encode())
        h.update(text.encode())
        for f in sources:
            h.update(source_text(f).encode())
        module = load_generated_module(f"{prefix}_{h.hexdigest()[:16]}", text)
        _loaded[key] = module
        return module
