"""``planlab bench`` and ``planlab run`` with the stock task settings, through the CLI entry point."""

import json

import pytest

from planlab.benchmarks.suite import STOCK_TASKS
from planlab.cli import main


def test_bench_rejects_a_bad_entry_before_running_and_names_it(tmp_path, capsys):
    code = main(["bench", "--planners", "ilqr", "--tasks", "CartPole-v1", "--seeds", "2", "--out", str(tmp_path)])
    assert code == 2
    assert "planner 'ilqr' on task 'CartPole-v1'" in capsys.readouterr().err
    assert not (tmp_path / "results.jsonl").exists()
    assert main(["bench", "--planners", "cem", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "--seeds: expected an integer >= 1, got 0" in capsys.readouterr().err


def test_bench_dry_run_counts_the_stock_grid(tmp_path, capsys):
    assert main(["bench", "--dry-run", "--tier", "full", "--out", str(tmp_path / "none")]) == 0
    err = capsys.readouterr().err
    assert f"{len(STOCK_TASKS)} tasks, 7 planners" in err and "estimated time" in err


@pytest.mark.parametrize("name, jobs", [("planners", 3 * 4 * 5), ("mcts", 2 * 5)])
def test_packaged_suites_of_the_benchmark_scripts_validate(name, jobs, tmp_path, capsys):
    assert main(["bench", "--suite", name, "--dry-run", "--out", str(tmp_path / "none")]) == 0
    assert f"= {jobs} jobs" in capsys.readouterr().err


def test_run_uses_the_stock_task_settings_unless_flags_override_them(capsys):
    settings = STOCK_TASKS["MountainCarContinuous-v0"].settings_for("icem")
    assert main(["run", "--env", "MountainCarContinuous-v0", "--planner", "icem", "--steps", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["horizon"] == settings["horizon"] and out["population"] == settings["population"]
    assert main(["run", "--env", "MountainCarContinuous-v0", "--planner", "icem", "--steps", "2", "--json",
                 "--horizon", "7", "--population", "40"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["horizon"] == 7 and out["population"] == 40 and out["iterations"] == settings["iterations"]


def test_equal_compute_scales_the_size_option_and_reuses_its_calibration(tmp_path):
    from planlab.benchmarks.suite import PlannerEntry, Suite, Task
    from planlab.benchmarks.suite.budget import calibrate, equal_compute_suite

    suite = Suite([Task("planlab/DoubleIntegrator-v0", "env", {"cem": {"horizon": 5, "population": 64}})],
                  [PlannerEntry("cem")], seeds=1)
    small = equal_compute_suite(suite, 1e-3, tmp_path)  # far below one plan's cost: the smallest population
    assert small.tasks[0].settings["cem"]["population"] == 16
    stored = json.loads((tmp_path / "calibration.json").read_text())["0.001"]
    entry = stored["planlab/DoubleIntegrator-v0|cem"]
    assert entry["from_size"] == 64 and entry["measured_ms"] > 0
    # a rerun reuses the stored calibration instead of timing again (so resumed jobs keep their hashes)
    entry["options"]["population"] = 99
    (tmp_path / "calibration.json").write_text(json.dumps({"0.001": stored}))
    assert calibrate(suite, 1e-3, tmp_path)["planlab/DoubleIntegrator-v0|cem"]["population"] == 99
