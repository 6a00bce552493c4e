"""`planlab mbrl` refuses a planner that cannot plan through a learned model before any work, and extends runs."""

import argparse
import json

import pytest

from planlab.mbrl.cli import add_mbrl_parser, run_mbrl

TINY = ["--env", "Pendulum-v1", "--steps", "5", "--members", "2", "--hidden", "8", "--particles", "2", "--horizon",
        "3", "--epochs", "1"]


def _args(argv):
    parser = argparse.ArgumentParser(prog="planlab")
    add_mbrl_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["mbrl", *argv])


@pytest.mark.parametrize("planner", ["ilqr", "nlp", "lqr"])
def test_a_planner_that_cannot_use_a_learned_model_exits_2_before_any_episode(planner, tmp_path, capsys):
    assert run_mbrl(_args([*TINY, "--planner", planner, "--out", str(tmp_path)])) == 2
    out = capsys.readouterr()
    assert f"planlab mbrl: error: --planner: {planner} cannot plan through a learned model" in out.err
    assert out.out == "" and not (tmp_path / "progress.json").exists()


def test_a_finished_run_is_extended_with_more_episodes(tmp_path, capsys):
    base = [*TINY, "--planner", "shooting", "--population", "10", "--out", str(tmp_path), "--json"]
    assert run_mbrl(_args([*base, "--episodes", "1"])) == 0
    first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["episode"] for r in first] == [0, 1]
    assert run_mbrl(_args([*base, "--episodes", "2"])) == 0
    more = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["episode"] for r in more] == [2]  # only the new episode ran
    rows = (tmp_path / "rows.jsonl").read_text().splitlines()
    assert len(rows) == 3 and json.loads(rows[1])["return"] == first[1]["return"]
    assert run_mbrl(_args([*base, "--episodes", "1", "--horizon", "4"])) == 2  # another configuration: refused
    assert "another configuration" in capsys.readouterr().err
