"""The model-policy benchmark resumes an interrupted run and then holds the uninterrupted run's rows."""

import json

import pytest

from planlab.benchmarks import modelpolicy

TIMES = {"seconds_to_solve", "seconds_run", "act_ms", "cpu_seconds_to_solve", "cpu_seconds_run", "resumed_at"}


def _rows(path):
    return [{k: v for k, v in json.loads(line).items() if k not in TIMES} for line in path.read_text().splitlines()]


def test_interrupted_and_resumed_benchmark_reproduces_the_uninterrupted_rows(tmp_path, monkeypatch):
    args = ["--quick", "--algos", "bptt", "--seeds", "2", "--no-pets", "--budget", "20"]
    whole = tmp_path / "whole.jsonl"
    assert modelpolicy.main(args + ["--json", str(whole)]) == 0
    resumed = tmp_path / "resumed.jsonl"
    real = modelpolicy.run_one
    calls = []

    def interrupted(algo, seed, **kw):
        calls.append(seed)
        if seed == 1:
            raise KeyboardInterrupt  # the process dies during the second run
        return real(algo, seed, **kw)

    monkeypatch.setattr(modelpolicy, "run_one", interrupted)
    with pytest.raises(KeyboardInterrupt):
        modelpolicy.main(args + ["--json", str(resumed)])
    assert len(resumed.read_text().splitlines()) == 1
    def counted(algo, seed, **kw):
        calls.append(seed)
        return real(algo, seed, **kw)

    monkeypatch.setattr(modelpolicy, "run_one", counted)
    assert modelpolicy.main(args + ["--json", str(resumed)]) == 0
    assert calls == [0, 1, 1]  # the rerun skipped the finished seed 0
    assert _rows(resumed) == _rows(whole)
    assert [(r["algo"], r["seed"]) for r in _rows(whole)] == [("bptt", 0), ("bptt", 1)]


def test_a_run_killed_mid_way_continues_from_its_checkpoint_to_the_uninterrupted_row(tmp_path, monkeypatch):
    from planlab.mbrl import resume as resume_module

    args = ["--quick", "--algos", "mbpo", "--seeds", "1", "--no-pets", "--budget", "60"]
    whole = tmp_path / "whole.jsonl"
    assert modelpolicy.main(args + ["--json", str(whole)]) == 0
    real = resume_module.checkpoint_callback

    def dies_after_step_40(path, every=1):
        save = real(path, every)

        def callback(trainer, info):
            save(trainer, info)
            if trainer.num_timesteps >= 40:
                raise KeyboardInterrupt  # the process dies inside the run, after a checkpoint

        return callback

    resumed, ckpts = tmp_path / "resumed.jsonl", tmp_path / "ckpt"
    monkeypatch.setattr(resume_module, "checkpoint_callback", dies_after_step_40)
    with pytest.raises(KeyboardInterrupt):
        modelpolicy.main(args + ["--json", str(resumed), "--checkpoints", str(ckpts)])
    assert resumed.read_text() == ""
    monkeypatch.setattr(resume_module, "checkpoint_callback", real)
    assert modelpolicy.main(args + ["--json", str(resumed), "--checkpoints", str(ckpts)]) == 0
    row = json.loads(resumed.read_text())
    assert row["resumed_at"] == 40
    assert _rows(resumed) == _rows(whole)


@pytest.mark.parametrize("argv, message", [(["--algos", "dqn"], "--algos: expected names from"),
                                           (["--seeds", "0"], "--seeds: expected an integer >= 1"),
                                           (["--budget", "0"], "--budget: expected an integer >= 1")])
def test_benchmark_rejects_bad_arguments(argv, message, capsys):
    assert modelpolicy.main(argv) == 2
    assert message in capsys.readouterr().err
