"""The Ray executor gives the local executor's rows, on a single-node Ray instance kept on 127.0.0.1."""

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

# read by Ray when it is imported: without it Ray binds to the machine's network address
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'planlab[distributed]' to run this test")

from planlab.benchmarks.suite import PlannerEntry, Suite, Task, run_suite  # noqa: E402

HERE = Path(__file__).parent


def _ppid(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(text.rsplit(")", 1)[1].split()[1])


def _descendant(pid: int, root: int) -> bool:
    for _ in range(64):
        if pid == root:
            return True
        if pid <= 1:
            return False
        pid = _ppid(pid)
    return False


def _listening_addresses_of_this_process_tree() -> list[tuple[str, int]]:
    """(local address, pid) of every listening TCP socket of this process and its descendants (``ss -ltnp``)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=30).stdout
    me = os.getpid()
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        local = fields[3].rsplit(":", 1)[0]
        for pid in map(int, re.findall(r"pid=(\d+)", line)):
            if _descendant(pid, me):
                found.append((local, pid))
    return found


def _shutdown_bounded(seconds: float = 60.0) -> None:
    t = threading.Thread(target=ray.shutdown, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"ray.shutdown() did not finish within {seconds} s"


def test_ray_executor_gives_the_local_rows_and_stays_on_loopback(tmp_path, monkeypatch):
    from ray._private import ray_constants

    # Ray read the variable when first imported, which may have happened before this module set it
    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
    monkeypatch.setenv("RAY_raylet_start_wait_time_s", "300")  # a busy machine starts the raylet slowly
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(HERE))
    suite = Suite([Task("planlab/DoubleIntegrator-v0", "env", steps=4)],
                  [PlannerEntry("bench_helpers:RandomPlanner", {"horizon": 3})], seeds=3)
    local = run_suite(suite, tmp_path / "local", workers=2, progress=False, report=False)
    assert not ray.is_initialized()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        nodes = ray.nodes()
        assert nodes and all(n["NodeManagerAddress"] == "127.0.0.1" for n in nodes), nodes
        if shutil.which("ss"):
            listening = _listening_addresses_of_this_process_tree()
            assert listening, "found no listening socket of the Ray instance"
            off = [(a, p) for a, p in listening if a not in ("127.0.0.1", "[::ffff:127.0.0.1]", "[::1]")]
            assert not off, f"Ray listens beyond the loopback interface: {off}"
        rows = run_suite(suite, tmp_path / "ray", executor="ray", progress=False, report=False)
    finally:
        _shutdown_bounded()
    keys = ("task", "planner", "seed", "config_hash", "status", "return", "success", "steps", "plans", "states")
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert sorted([[r.get(k) for k in keys] for r in rows]) == sorted([[r.get(k) for k in keys] for r in local])
