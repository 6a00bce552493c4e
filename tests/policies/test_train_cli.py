"""``planlab train`` through add_train_parser / run_train with a parser built here."""

import argparse
import json

import pytest

from planlab.policies.cli import add_train_parser, run_train


def _parse(argv):
    parser = argparse.ArgumentParser(prog="planlab")
    add_train_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_train_json_prints_one_json_object(capsys, tmp_path):
    args = _parse(["train", "--algo", "a2c", "--env", "CartPole-v1", "--steps", "256", "--seed", "1", "--json",
                   "--out", str(tmp_path)])
    assert args.func is run_train
    assert run_train(args) == 0
    out = capsys.readouterr().out
    summary = json.loads(out)
    assert summary["algo"] == "a2c" and summary["env"] == "CartPole-v1" and summary["steps"] >= 256
    assert summary["eval_return"] > 0
    assert (tmp_path / "progress.jsonl").exists() and (tmp_path / "model" / "model.pt").exists()


def test_train_prints_a_readable_summary(capsys):
    assert run_train(_parse(["train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "256"])) == 0
    out = capsys.readouterr().out
    assert "eval_return" in out and "ppo" in out


@pytest.mark.parametrize("argv, message", [
    (["--algo", "sac", "--env", "CartPole-v1", "--steps", "10"], r"--env: sac expects a continuous"),
    (["--algo", "dqn", "--env", "CartPole-v1", "--steps", "10"], r"--algo: expected one of .*'ppo'.*, got 'dqn'"),
    (["--algo", "ppo", "--env", "NoSuchEnv-v9", "--steps", "10"], r"--env: expected a registered gymnasium id.*got 'NoSuchEnv-v9'"),
    (["--algo", "ppo", "--env", "CartPole-v1", "--steps", "0"], r"--steps: expected an integer >= 1, got 0"),
])
def test_bad_input_exits_non_zero_with_a_message_on_stderr(capsys, argv, message):
    import re

    code = run_train(_parse(["train", *argv]))
    err = capsys.readouterr()
    assert code != 0
    assert re.search(message, err.err), err.err
    assert err.out == ""
