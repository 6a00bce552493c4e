import json
import subprocess
import sys

import pytest

from planlab.cli import main


def test_run_json_summary_has_the_documented_fields(capsys):
    assert main(["run", "--env", "Pendulum-v1", "--planner", "shooting", "--steps", "20", "--horizon", "10",
                 "--population", "50", "--x0", "3.14159,0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("env", "planner", "seed", "steps", "return", "plan_ms_median"):
        assert key in out
    assert out["steps"] == 20 and out["env"] == "Pendulum-v1" and out["population"] == 50


def test_run_is_deterministic_under_a_seed(capsys):
    args = ["run", "--env", "planlab/CartPoleSwingup-v0", "--steps", "10", "--horizon", "10", "--population",
            "30", "--seed", "5", "--json"]
    main(args)
    a = json.loads(capsys.readouterr().out)
    main(args)
    b = json.loads(capsys.readouterr().out)
    assert a["return"] == b["return"] and a["final_state"] == b["final_state"]


@pytest.mark.parametrize(
    "args, msg",
    [
        (["--env", "Nope-v0"], "--env: expected an id planlab has a model of"),
        (["--env", "Pendulum-v1", "--planner", "nope"], "--planner: expected one of"),
        (["--env", "Pendulum-v1", "--x0", "1,2,3"], "--x0: expected 2 numbers (theta, theta_dot), got 3"),
        (["--env", "Pendulum-v1", "--x0", "a,b"], "--x0: expected comma-separated numbers"),
        (["--env", "Pendulum-v1", "--x0", "nan,0"], "--x0: expected finite comma-separated numbers"),
        (["--env", "Pendulum-v1", "--horizon", "0"], "--horizon: expected an integer >= 1, got 0"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args, msg, capsys):
    assert main(["run", *args]) == 2
    assert msg in capsys.readouterr().err


def test_console_script_module_entry_lists_systems():
    res = subprocess.run([sys.executable, "-m", "planlab", "systems"], capture_output=True, text=True, check=True)
    assert "CartPole" in res.stdout and "planlab/Quadrotor2DHover-v0" in res.stdout and "shooting" in res.stdout


def test_train_subcommand_is_wired_and_rejects_unknown_algorithms(capsys):
    assert main(["train", "--algo", "dqn", "--env", "CartPole-v1", "--steps", "10"]) == 2
    assert "--algo: expected one of" in capsys.readouterr().err


def test_lqr_planners_do_not_import_torch():
    code = "import sys, planlab.planners.trajopt.ilqr, planlab.policies.linear; print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_building_the_command_line_does_not_import_torch():
    code = "import sys, planlab.cli; planlab.cli.build_parser(); print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_mbrl_subcommand_is_wired_and_rejects_bad_input(capsys):
    assert main(["mbrl", "--env", "Nope-v0", "--episodes", "1"]) == 2
    assert "--env" in capsys.readouterr().err
