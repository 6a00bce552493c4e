"""The latent-model loop (Algorithm 26): rows, checkpoints, pictures, and resume without loss."""

import json

import numpy as np
import pytest

from planlab.dynamics.latent import LatentConfig, LatentDynamics, LatentTrainConfig
from planlab.mbrl.latent import LatentLoopConfig, run_latent_loop

TIMING = {"wall_s", "cpu_s", "train_cpu_s", "train_s", "update_ms", "plan_ms_median"}


def _config(**kw):
    base = dict(steps=12, episodes=2, random_episodes=1, action_repeat=2, model=LatentConfig(depth=4, deter=8, stoch=4, embed=16, hidden=16),
                train=LatentTrainConfig(steps=2, batch=2, length=4, progress=False), horizon=3,
                planner_options={"population": 16, "elites": 4, "iterations": 2}, prediction_steps=3)
    return LatentLoopConfig(**{**base, **kw})


class _Interrupt(Exception):
    pass


def _strip(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def test_resume_after_an_interrupted_run_reproduces_the_uninterrupted_rows(tmp_path):
    cfg = _config()
    full = run_latent_loop(cfg, out_dir=tmp_path / "full", progress=False)
    assert [r["phase"] for r in full.rows] == ["random", "mpc", "mpc"]

    def stop_after_mpc_episode(row):
        if row["episode"] == 1:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        run_latent_loop(cfg, out_dir=tmp_path / "cut", progress=False, callback=stop_after_mpc_episode)
    resumed = run_latent_loop(cfg, out_dir=tmp_path / "cut", progress=False)
    assert resumed.resumed_from == 2
    assert _strip(resumed.rows) == _strip(full.rows)
    for a, b in zip(resumed.model.net.state_dict().values(), full.model.net.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy())


def test_checkpoint_holds_rows_model_data_and_picture_strips(tmp_path):
    cfg = _config(episodes=1)
    res = run_latent_loop(cfg, out_dir=tmp_path, progress=False)
    saved = json.loads((tmp_path / "progress.json").read_text())
    assert saved["rows"] == json.loads(json.dumps(res.rows))
    model = LatentDynamics.load(tmp_path / saved["model"])
    assert model.config.channels == 1 and model.config.image_size == 32
    assert (tmp_path / "strip-ep0001.png").stat().st_size > 0
    row = res.rows[-1]
    for key in ("return", "recon_mse", "pred_mse", "copy_mse", "plan_ms_median", "loss", "kl", "reward_sum_err_open",
                "reward_sum_bias_open", "reward_sum_err_filtered"):
        assert np.isfinite(row[key]), key
    assert res.data.n_episodes == 2 and len(res.data) == 12


def test_a_checkpoint_of_another_configuration_is_refused(tmp_path):
    run_latent_loop(_config(episodes=1), out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="out_dir: .* another configuration"):
        run_latent_loop(_config(episodes=1, seed=3), out_dir=tmp_path, progress=False)


def test_latent_command_writes_rows_curve_and_strips_and_rejects_bad_input(tmp_path, capsys):
    from planlab.cli import main

    out = tmp_path / "run"
    argv = ["latent", "--steps", "8", "--episodes", "1", "--random-episodes", "1", "--deter", "8", "--stoch", "4",
            "--updates", "1", "--batch", "2", "--length", "3", "--horizon", "2", "--population", "10",
            "--iterations", "1", "--json", "--out", str(out)]
    assert main(argv) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["phase"] for r in rows] == ["random", "mpc"] and rows[0]["observation"] == "pixels"
    assert (out / "rows.jsonl").exists() and (out / "learning_curve.png").exists()
    assert (out / "strip-ep0001.png").exists()
    assert main(["latent", "--size", "48", "--json", "--out", str(tmp_path / "x")]) == 2
    assert "--size: expected one of (32, 64), got 48" in capsys.readouterr().err
    assert main(["latent", "--model", "vae", "--json", "--out", str(tmp_path / "y")]) == 2
    assert "--model: expected" in capsys.readouterr().err
    assert main(["latent", "--recon-fraction", "0", "--json", "--out", str(tmp_path / "z")]) == 2
    assert "--recon-fraction: expected a number in (0, 1], got 0.0" in capsys.readouterr().err


def test_mbrl_pixels_is_the_latent_command(tmp_path, capsys):
    from planlab.cli import main
    from planlab.mbrl.latent_cli import pixels_alias

    assert pixels_alias(["mbrl", "--env", "E", "--pixels", "--size", "64"]) == ["latent", "--env", "E", "--size", "64"]
    assert pixels_alias(["mbrl", "--env", "E"]) == ["mbrl", "--env", "E"]
    # routed to the latent command: its own option, its own check and message
    assert main(["mbrl", "--pixels", "--size", "48", "--json", "--out", str(tmp_path / "x")]) == 2
    assert "planlab latent: error: --size: expected one of (32, 64), got 48" in capsys.readouterr().err



def test_latent_command_sets_and_checks_the_open_loop_reward_loss():
    import argparse

    from planlab.mbrl.latent_cli import LatentCLIError, add_latent_arguments, build_latent_config

    p = argparse.ArgumentParser()
    add_latent_arguments(p)
    assert build_latent_config(p.parse_args([])).model.reward_overshooting == 0
    assert build_latent_config(p.parse_args(["--reward-overshooting", "12"])).model.reward_overshooting == 12
    with pytest.raises(LatentCLIError, match="--reward-overshooting: .*got -1"):
        build_latent_config(p.parse_args(["--reward-overshooting", "-1"]))


def test_test_episodes_act_without_exploration_noise():
    cfg = _config(episodes=4)
    mixed = run_latent_loop(_config(episodes=4, test_every=2), progress=False).rows
    quiet = run_latent_loop(_config(episodes=4, exploration_noise=0.0), progress=False).rows
    noisy = run_latent_loop(cfg, progress=False).rows
    assert [r["test"] for r in mixed] == [False, False, True, False, True]
    assert [r["exploration_noise"] for r in mixed] == [None, cfg.exploration_noise, 0.0, cfg.exploration_noise, 0.0]
    # the first test episode (after one noisy MPC episode, the same in both runs) is a noise-free one
    assert mixed[1]["return"] == noisy[1]["return"] != quiet[1]["return"]
    assert mixed[2]["return"] != noisy[2]["return"]
    every = run_latent_loop(_config(episodes=4, test_every=1), progress=False).rows  # all test: noise-free throughout
    assert [r["return"] for r in every] == [r["return"] for r in quiet]
    with pytest.raises(ValueError, match="test_every"):
        _config(test_every=-1)
