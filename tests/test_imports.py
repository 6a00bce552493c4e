"""The import rules of docs/architecture.md: layers (import-linter), no cycles, no torch where not needed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def _strongly_connected(adj: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the strongly connected components with more than one module."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in adj:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_planlab_modules():
    graph = grimp.build_graph("planlab")  # function-level imports count too
    adj = {m: sorted(x for x in graph.find_modules_directly_imported_by(m) if x.startswith("planlab."))
           for m in sorted(graph.modules)}
    assert _strongly_connected(adj) == []


def test_tarjan_finds_a_planted_cycle():
    adj = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert _strongly_connected(adj) == [["a", "b", "c"]]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(cwd))
    return subprocess.run([LINT, "--no-cache", "--no-logo"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_contract_holds():
    res = _lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "broken" not in res.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize("module, forbidden", [
    ("planners/mpc.py", "planlab.envs"),          # planners never import envs
    ("dynamics/analytic.py", "planlab.planners"),  # dynamics never imports planners
    ("core/contracts.py", "numba"),                # core is plain numpy
])
def test_import_contract_fails_when_a_forbidden_import_is_added(tmp_path, module, forbidden):
    shutil.copytree(ROOT / "planlab", tmp_path / "planlab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    path = tmp_path / "planlab" / module
    path.write_text(path.read_text() + f"\nimport {forbidden}  # noqa\n")
    res = _lint(tmp_path)
    assert res.returncode != 0
    assert "BROKEN" in res.stdout and forbidden in res.stdout


def test_planlab_planners_and_dynamics_import_without_torch():
    code = ("import sys, planlab, planlab.planners, planlab.dynamics, planlab.episodes; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False", out.stderr
