"""`planlab train --algo bptt|mbpo` runs the model-based policy learners; bad input exits 2 with a clear message."""

import json

import pytest

from planlab.cli import main


def test_train_bptt_runs_and_saves_a_loadable_model(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--algo", "bptt", "--env", "Pendulum-v1", "--steps", "20", "--eval-every", "20",
                 "--eval-episodes", "1", "--json", "--out", str(out)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["algo"] == "bptt" and summary["steps"] == 20 and summary["out"] == str(out / "model")
    from planlab.mbrl import BPTT

    assert BPTT.load(out / "model").num_timesteps == 20
    assert (out / "progress.jsonl").exists() and (out / "learning_curve.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["--algo", "mbpo", "--env", "CartPole-v1", "--steps", "10"], "--env: mbpo expects a continuous"),
    (["--algo", "bptt", "--env", "Nope-v0", "--steps", "10"], "--env: expected an id planlab has a model of"),
    (["--algo", "bptt", "--env", "Pendulum-v1", "--steps", "0"], "--steps: expected an integer >= 1"),
    (["--algo", "bptt", "--env", "Pendulum-v1", "--steps", "10", "--model", "nope"], "--model: expected one of"),
    (["--algo", "mbpo", "--env", "Pendulum-v1", "--steps", "10", "--model", "exact"], "--model: only for --algo bptt"),
    (["--algo", "ppo", "--env", "CartPole-v1", "--steps", "10", "--model", "exact"], "--model: only for --algo bptt"),
])
def test_bad_train_input_exits_2_naming_the_argument(argv, message, capsys):
    assert main(["train", *argv]) == 2
    assert message in capsys.readouterr().err
