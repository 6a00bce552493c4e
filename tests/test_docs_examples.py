"""The README's and the docs' runnable examples run and give what the docs say."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _block(doc: str, marker: str) -> str:
    """The ```python block of ``doc`` that contains ``marker``."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / doc).read_text(), re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"{doc}: expected one python block containing {marker!r}, got {len(found)}"
    return found[0]


def _run(code: str, tmp_path) -> str:
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_readme_mpc_example_prints_the_documented_return(tmp_path):
    out = _run(_block("README.md", "mpc = MPC(RandomShooting"), tmp_path)
    shown = re.search(r"```\n(return [-\d.]+), median plan time", (ROOT / "README.md").read_text()).group(1)
    assert out.startswith(shown + ", median plan time"), out


def test_planners_doc_example_runs(tmp_path):
    code = _block("docs/planners.md", "planner = CEM(") + "\nassert plan.actions.shape == (30, 1) and u.shape == (1,)\n"
    _run(code, tmp_path)


def test_trajopt_doc_example_converges_to_the_documented_cost(tmp_path):
    doc = _block("docs/trajopt.md", "ILQR(system, cost")
    cost = re.search(r"\('converged', ([\d.]+)\.\.\.\)", doc).group(1)
    code = doc + f"\nassert plan.status == 'converged' and str(plan.cost).startswith({cost!r}), (plan.status, plan.cost)\n"
    _run(code, tmp_path)


@pytest.mark.slow
def test_mcts_doc_example_balances_cartpole_for_500_steps(tmp_path):
    code = _block("docs/mcts.md", "UCT(dyn, cost") + "\nassert result.total_return == 500, result.total_return\n"
    _run(code, tmp_path)


def test_constraints_doc_example_converges_within_the_constraint(tmp_path):
    out = _run(_block("docs/constraints.md", "ConstrainedILQR(system, cost, constraints=speed)"), tmp_path)
    assert out.splitlines()[0] == "converged True", out


def test_latent_doc_example_plans_in_latent_space_within_bounds(tmp_path):
    code = _block("docs/latent.md", "model.reward_cost()") + (
        "\nassert plan.actions.shape == (12, 1) and abs(plan.actions).max() <= 2.0\nprint('ok')\n")
    assert _run(code, tmp_path).strip().endswith("ok")
