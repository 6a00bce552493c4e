"""The results folder: ``results.jsonl`` (one row per finished job), ``meta.json`` and ``report.md``.

Each row is appended as its job finishes, flushed and ``fsync``-ed, so a killed sweep loses only
the jobs in flight. On a rerun, :meth:`ResultStore.done` gives the config hashes already stored and
those jobs are skipped. A line cut short by a kill (no newline, not valid JSON) is ignored on
reading and overwritten by the next append. ``meta.json`` keeps the suite, the package versions,
the machine and every run's start and end beside the results.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

from ..common import to_json_line

__all__ = ["ResultStore", "environment_info", "read_rows"]

RESULTS = "results.jsonl"
META = "meta.json"


def read_rows(path) -> list[dict]:
    """The valid rows of a JSON-lines file (a truncated last line is skipped); last row per hash wins."""
    p = Path(path)
    if not p.exists():
        return []
    rows = {}
    order = []
    with open(p, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # cut short by a kill
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(row, dict):
                continue
            key = row.get("config_hash") or f"_line{len(order)}"
            if key not in rows:
                order.append(key)
            rows[key] = row
    return [rows[k] for k in order]


def environment_info() -> dict:
    """Package versions and the machine, stored beside the results."""
    from importlib import metadata

    versions = {}
    for pkg in ("planlab", "numpy", "numba", "gymnasium", "torch", "scipy", "casadi", "mujoco", "ray"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    if "planlab" not in versions:
        from ... import __version__

        versions["planlab"] = __version__
    return {"python": sys.version.split()[0], "versions": versions, "platform": platform.platform(),
            "machine": platform.machine(), "processor": platform.processor(), "cpus": os.cpu_count(),
            "host": hashlib.sha256(platform.node().encode()).hexdigest()[:12]}


class ResultStore:
    """A results folder (created if missing).

    Parameters
    ----------
    out : path
        The folder; ``results.jsonl``, ``meta.json`` and ``report.md`` live in it.
    """

    def __init__(self, out):
        self.dir = Path(out)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / RESULTS
        self.meta_path = self.dir / META
        self._fh = None

    def rows(self) -> list[dict]:
        return read_rows(self.path)

    def done(self, *, retry_failed: bool = False) -> set[str]:
        """Config hashes of the stored jobs (without failed ones when ``retry_failed``)."""
        return {r["config_hash"] for r in self.rows()
                if "config_hash" in r and not (retry_failed and r.get("status") != "ok")}

    def _repair_tail(self) -> None:
        """Drop a last line cut short by a kill, so the next row starts on its own line."""
        if not self.path.exists():
            return
        with open(self.path, "rb+") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size == 0:
                return
            fh.seek(max(0, size - 1))
            if fh.read(1) == b"\n":
                return
            fh.seek(0)
            data = fh.read()
            cut = data.rfind(b"\n") + 1
            fh.truncate(cut)

    def append(self, row: dict) -> None:
        """Append one row durably (flush + fsync)."""
        if self._fh is None:
            self._repair_tail()
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(to_json_line(row) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def meta(self) -> dict:
        try:
            return json.loads(self.meta_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def record_run(self, suite_config: dict, *, executor: str, jobs: int, skipped: int) -> dict:
        """Add this run (suite, environment, start time) to ``meta.json``; returns the run entry."""
        meta = self.meta()
        run = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "executor": executor, "jobs": jobs,
               "skipped_finished": skipped, "environment": environment_info()}
        meta["suite"] = suite_config
        meta.setdefault("runs", []).append(run)
        self._write_meta(meta)
        return run

    def finish_run(self, **fields) -> None:
        meta = self.meta()
        if meta.get("runs"):
            meta["runs"][-1].update(ended=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **fields)
            self._write_meta(meta)

    def _write_meta(self, meta: dict) -> None:
        tmp = self.meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=1, default=str))
        os.replace(tmp, self.meta_path)
