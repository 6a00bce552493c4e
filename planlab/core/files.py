"""Crash-safe file writing shared by everything planlab saves (buffers, models, checkpoints)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable

__all__ = ["atomic_write"]


def atomic_write(path, write: Callable[[IO], object], *, text: bool = False) -> Path:
    """Write ``path`` through ``write(file)`` so that a crash never leaves half a file.

    ``write`` fills a temporary file in the same directory, which is flushed, fsynced and then moved
    over ``path`` with ``os.replace``; on any error the temporary is removed and the previous
    ``path`` (if any) is left intact. Parent directories are created. Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w" if text else "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
