import argparse
import json

import numpy as np
import pytest

from planlab.dynamics.learned import LearnedDynamics, TrainConfig, TransitionBuffer
from planlab.mbrl import MBRLConfig, model_config, run_mbrl_loop
from planlab.mbrl.cli import add_mbrl_parser, run_mbrl

TIMING = {"train_s", "plan_ms_median", "wall_s"}


def _tiny(**kw):
    base = dict(env_id="Pendulum-v1", episodes=2, random_episodes=1, steps=12, planner="shooting", horizon=5,
                planner_options={"population": 40},
                model=model_config("ensemble", members=2, hidden=(16,), particles=2),
                train=TrainConfig(epochs=3, min_updates=0, progress=False), seed=3)
    base.update(kw)
    return MBRLConfig(**base)


def _strip(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def test_episode_rows_and_checkpoint_files(tmp_path):
    res = run_mbrl_loop(_tiny(), out_dir=tmp_path, progress=False)
    assert [r["phase"] for r in res.rows] == ["random", "mpc", "mpc"]
    assert [r["n_data"] for r in res.rows] == [12, 24, 36]
    assert res.rows[0]["fit_status"] is None and res.rows[1]["fit_status"] in ("ok", "early_stopped")
    assert res.rows[1]["plan_ms_median"] > 0
    prog = json.loads((tmp_path / "progress.json").read_text())
    assert prog["rows"] == res.rows and prog["model"] == "model-ep0002.pt"
    # only the last episode's files are kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data-ep0002.npz", "model-ep0002.json", "model-ep0002.pt",
                                                          "progress.json"]
    data = TransitionBuffer.load(tmp_path / prog["data"])
    np.testing.assert_array_equal(data.states, res.data.states)
    model = LearnedDynamics.load(tmp_path / prog["model"])
    x = np.zeros((3, 2))
    np.testing.assert_array_equal(model.predict(x, np.zeros((3, 1))).member_means,
                                  res.model.predict(x, np.zeros((3, 1))).member_means)


def test_transitions_unwrap_angles_across_the_pi_boundary(tmp_path):
    res = run_mbrl_loop(_tiny(episodes=1), progress=False)
    d = res.data
    # theta jumps by at most max_speed * dt = 0.4 per step in the stored (unwrapped) transitions
    assert np.all(np.abs(d.next_states[:, 0] - d.states[:, 0]) <= 0.4 + 1e-9)


def test_rerun_with_the_same_directory_resumes_and_matches_an_uninterrupted_run(tmp_path):
    full = run_mbrl_loop(_tiny(), out_dir=tmp_path / "full", progress=False)

    class Crash(Exception):
        pass

    def crash_after_first_mpc_episode(row):
        if row["episode"] == 1:
            raise Crash

    with pytest.raises(Crash):
        run_mbrl_loop(_tiny(), out_dir=tmp_path / "crash", progress=False, callback=crash_after_first_mpc_episode)
    resumed = run_mbrl_loop(_tiny(), out_dir=tmp_path / "crash", progress=False)
    assert resumed.resumed_from == 2
    assert _strip(resumed.rows) == _strip(full.rows)
    np.testing.assert_array_equal(resumed.data.next_states, full.data.next_states)


def test_a_directory_of_another_configuration_is_refused(tmp_path):
    run_mbrl_loop(_tiny(episodes=1), out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="out_dir: .* another configuration.*horizon"):
        run_mbrl_loop(_tiny(episodes=1, horizon=6), out_dir=tmp_path, progress=False)


def test_algorithm_versions_differ_as_in_the_notes():
    v05 = run_mbrl_loop(_tiny(algorithm="v0.5"), progress=False)
    assert [r["n_data"] for r in v05.rows] == [12, 12, 12]  # Algorithm 23: random data only
    assert [r["fit_epochs"] > 0 for r in v05.rows] == [False, True, False]  # fitted once
    v10 = run_mbrl_loop(_tiny(algorithm="v1.0"), progress=False)
    assert [r["n_data"] for r in v10.rows] == [12, 24, 36]  # Algorithm 24: aggregate and refit
    v15 = run_mbrl_loop(_tiny(retrain_every=5), progress=False)  # Algorithm 25: periodic retraining
    assert v15.rows[1]["fit_epochs"] == 3 * 3  # at the episode start, after steps 5 and 10


def test_unknown_planner_or_bad_config_raise_clear_errors():
    with pytest.raises(ValueError, match="planner: expected one of"):
        run_mbrl_loop(_tiny(planner="nope"), progress=False)
    with pytest.raises(ValueError, match="algorithm: expected one of"):
        _tiny(algorithm="v2")
    with pytest.raises(ValueError, match="model: expected one of"):
        model_config("transformer")


def _parser():
    parser = argparse.ArgumentParser(prog="planlab")
    add_mbrl_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def test_cli_prints_json_rows_and_writes_the_curve_and_rows(tmp_path, capsys):
    args = _parser().parse_args(["mbrl", "--env", "Pendulum-v1", "--planner", "shooting", "--episodes", "1",
                                 "--steps", "10", "--members", "2", "--hidden", "8", "--particles", "2",
                                 "--horizon", "4", "--population", "20", "--epochs", "2", "--out",
                                 str(tmp_path), "--json"])
    assert args.func(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["episode"] for r in lines] == [0, 1]
    assert {"env", "seed", "episode", "return"} <= set(lines[0])
    assert (tmp_path / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((tmp_path / "rows.jsonl").read_text().splitlines()) == 2


def test_cli_table_output(tmp_path, capsys):
    args = _parser().parse_args(["mbrl", "--planner", "shooting", "--episodes", "1", "--steps", "5", "--members",
                                 "2", "--hidden", "8", "--particles", "2", "--horizon", "3", "--population", "10",
                                 "--epochs", "1", "--out", str(tmp_path)])
    assert run_mbrl(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["episode", "phase", "return"]
    assert out[1].split()[:2] == ["0", "random"] and out[2].split()[:2] == ["1", "mpc"]


@pytest.mark.parametrize("argv, message", [
    (["--planner", "shooting", "--model", "transformer"], "--model: expected one of"),
    (["--planner", "nope"], "--planner: expected one of"),
    (["--planner", "shooting", "--hidden", "a,b"], "--hidden: expected comma-separated integers"),
    (["--planner", "shooting", "--iterations", "3"], "--iterations: not an option of planner 'shooting'"),
    (["--planner", "shooting", "--propagation", "ts9"], "propagation: expected one of"),
    (["--planner", "shooting", "--threads", "0"], "threads: expected"),
])
def test_cli_bad_input_exits_2_with_a_message(argv, message, capsys, tmp_path):
    args = _parser().parse_args(["mbrl", "--out", str(tmp_path), *argv])
    assert run_mbrl(args) == 2
    assert message in capsys.readouterr().err


def test_stop_when_ends_the_run_early_and_a_resumed_run_honours_it(tmp_path):
    seen = []

    def after_first_mpc_episode(rows):
        seen.append(len(rows))
        return rows[-1]["phase"] == "mpc"

    res = run_mbrl_loop(_tiny(episodes=3), out_dir=tmp_path, progress=False, stop_when=after_first_mpc_episode)
    assert [r["phase"] for r in res.rows] == ["random", "mpc"]
    assert seen == [1, 2]
    again = run_mbrl_loop(_tiny(episodes=3), out_dir=tmp_path, progress=False, stop_when=after_first_mpc_episode)
    assert again.resumed_from == 2 and len(again.rows) == 2
