"""Suites: validation before any job, config hashing, the local executor, failures and resume after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import planlab  # noqa: F401 — registers planlab's env ids
from planlab.benchmarks.suite import (Job, PlannerEntry, ResultStore, Suite, SuiteError, Task, load_suite, make_jobs,
                                      read_rows, run_job, run_suite, stock_suite)

HERE = Path(__file__).parent
USER = "bench_helpers:RandomPlanner"
TASK = "planlab/DoubleIntegrator-v0"


@pytest.fixture(autouse=True)
def _helpers_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))


def _suite(seeds=4, steps=4, **options):
    return Suite([Task(TASK, "env", steps=steps)], [PlannerEntry(USER, {"horizon": 3, **options})], seeds=seeds)


def test_config_hash_changes_with_every_setting_and_not_otherwise():
    base = Job(TASK, "cem", {"horizon": 10, "population": 50}, 0, "env", 20, 1, label="a")
    same = [Job(TASK, "cem", {"population": 50, "horizon": 10}, 0, "env", 20, 1, label="other label"),
            Job(TASK, "cem", dict(reversed(list({"horizon": 10, "population": 50}.items()))), 0, "env", 20, 1)]
    assert {j.config_hash for j in same} == {base.config_hash}
    changed = [Job("Pendulum-v1", "cem", base.options, 0, "env", 20, 1),
               Job(TASK, "mppi", base.options, 0, "env", 20, 1),
               Job(TASK, "cem", {"horizon": 11, "population": 50}, 0, "env", 20, 1),
               Job(TASK, "cem", {"horizon": 10, "population": 50, "elites": 5}, 0, "env", 20, 1),
               Job(TASK, "cem", {"horizon": 10.0 + 1e-9, "population": 50}, 0, "env", 20, 1),
               Job(TASK, "cem", base.options, 1, "env", 20, 1),
               Job(TASK, "cem", base.options, 0, "upright", 20, 1),
               Job(TASK, "cem", base.options, 0, "env", None, 1),
               Job(TASK, "cem", base.options, 0, "env", 20, 2)]
    hashes = [j.config_hash for j in changed]
    assert base.config_hash not in hashes and len(set(hashes)) == len(hashes)


@pytest.mark.parametrize("make, names", [
    (lambda: Suite([Task(TASK)], [PlannerEntry("nosuchplanner")], seeds=2), "planner 'nosuchplanner'"),
    (lambda: Suite([Task("CartPole-v1", "reward_threshold")], [PlannerEntry("ilqr")], seeds=2),
     "planner 'ilqr' on task 'CartPole-v1'"),
    (lambda: Suite([Task(TASK)], [PlannerEntry("uct")], seeds=2), "planner 'uct' on task"),
    (lambda: Suite([Task(TASK)], [PlannerEntry("cem")], seeds=0), "seeds"),
    (lambda: Suite([Task(TASK)], [PlannerEntry("cem", {"populaton": 5})], seeds=1), "'populaton'"),
    (lambda: Suite([Task("NoSuchEnv-v9")], [PlannerEntry("cem")], seeds=1), "task 'NoSuchEnv-v9'"),
    (lambda: Suite([Task(TASK, "no_such_test")], [PlannerEntry("cem")], seeds=1), "task 'planlab/DoubleIntegrator-v0'"),
])
def test_bad_suite_entry_fails_before_any_job_naming_the_entry(make, names, tmp_path):
    with pytest.raises(SuiteError, match=names.replace("(", r"\(")):
        suite = make()
        run_suite(suite, tmp_path / "out", workers=1)
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_bad_toml_suite_names_the_entry(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('seeds = 2\n[[tasks]]\nenv = "CartPole-v1"\nsuccess = "reward_threshold"\n'
                    '[[planners]]\nname = "cem"\n[[planners]]\nname = "nlp"\n')
    suite = load_suite(path)
    with pytest.raises(SuiteError, match="planner 'nlp' on task 'CartPole-v1'"):
        make_jobs(suite)
    path.write_text('seeds = -1\n[[tasks]]\nenv = "CartPole-v1"\n[[planners]]\nname = "cem"\n')
    with pytest.raises(SuiteError, match="seeds: expected an integer >= 1, got -1"):
        load_suite(path)


def test_stock_suite_pairs_only_applicable_planners():
    pairs = {(t.env, p.name) for t, p in stock_suite("full").pairs()}
    discrete = {"CartPole-v1", "Acrobot-v1", "MountainCar-v0", "planlab/GridWorld-v0"}
    assert ("Acrobot-v1", "uct") in pairs and ("Acrobot-v1", "ilqr") not in pairs
    assert ("planlab/AcrobotSwingup-v0", "ilqr") in pairs and ("planlab/AcrobotSwingup-v0", "uct") not in pairs
    assert all(p not in ("lqr", "ilqr", "nlp") for t, p in pairs if t in discrete)
    assert all(p != "uct" for t, p in pairs if t not in discrete)


def test_failing_crashing_and_stalled_jobs_are_recorded_and_the_others_finish(tmp_path):
    suite = _suite(seeds=5, fail_on_seed=1, crash_on_seed=2, stall_on_seed=3)
    rows = run_suite(suite, tmp_path, workers=2, timeout=5, progress=False, report=False)
    by_seed = {r["seed"]: r for r in rows}
    assert sorted(by_seed) == [0, 1, 2, 3, 4]
    assert by_seed[1]["status"] == "error" and "deliberate failure" in by_seed[1]["error"]
    assert by_seed[2]["status"] == "crashed"
    assert by_seed[3]["status"] == "timeout"
    for s in (0, 4):  # the user's planner, given by import path, ran its episodes
        assert by_seed[s]["status"] == "ok" and by_seed[s]["steps"] == 4 and by_seed[s]["plans"] == 4
        assert isinstance(by_seed[s]["success"], bool) and np.isfinite(by_seed[s]["return"])
    # a rerun skips every stored job, failed ones too, unless asked to retry them
    again = run_suite(suite, tmp_path, workers=2, timeout=5, progress=False, report=False)
    assert len(again) == 5 and len(read_rows(tmp_path / "results.jsonl")) == 5
    assert ResultStore(tmp_path).done(retry_failed=True) == {by_seed[0]["config_hash"], by_seed[4]["config_hash"]}


def test_same_job_gives_the_same_row_in_a_worker_process_and_in_this_one(tmp_path):
    suite = _suite(seeds=2)
    a = run_suite(suite, tmp_path / "a", workers=2, progress=False, report=False)
    b = [run_job(j) for j in make_jobs(suite)]
    keys = ("task", "planner", "seed", "config_hash", "return", "success", "steps", "states")
    assert sorted([[r.get(k) for k in keys] for r in a]) == sorted([[r.get(k) for k in keys] for r in b])
    # the episode started from the env's own reset for the job's seed
    env = gymnasium.make(TASK, max_episode_steps=4)
    obs, _ = env.reset(seed=0)
    assert np.allclose(obs, next(r for r in a if r["seed"] == 0)["states"][0])


@pytest.mark.slow
def test_killed_sweep_reruns_no_finished_job_and_loses_none(tmp_path):
    toml = tmp_path / "suite.toml"
    toml.write_text(f'seeds = 10\n[[tasks]]\nenv = "{TASK}"\nsteps = 3\n'
                    f'[[planners]]\nname = "{USER}"\noptions = {{horizon = 3, sleep = 0.25}}\n')
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "planlab", "bench", "--suite", str(toml), "--out", str(out), "--workers", "2"]
    env = dict(os.environ)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    path = out / "results.jsonl"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists() and len(read_rows(path)) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the sweep ended before it could be killed:\n{proc.stderr.read().decode()[-2000:]}"
        os.killpg(proc.pid, signal.SIGKILL)  # the command and its workers, mid-sweep
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    first = read_rows(path)
    assert 3 <= len(first) < 10
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{len(first)} already in" in done.stderr
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    hashes = [r["config_hash"] for r in lines]
    assert len(hashes) == len(set(hashes)) == 10  # every job once: none run twice, none lost
    assert sorted(r["seed"] for r in lines) == list(range(10))
    assert lines[:len(first)] == first  # the finished rows are untouched
    assert (out / "report.md").exists()


def test_planlab_envs_report_success_after_holding_the_goal():
    env = gymnasium.make("planlab/DoubleIntegrator-v0")
    env.reset(seed=0, options={"x0": np.zeros(4)})
    flags = [env.step(np.zeros(2))[4]["is_success"] for _ in range(12)]
    assert flags == [False] * 9 + [True] * 3  # 10 steps held
    env = gymnasium.make("planlab/PendulumSwingup-v0")
    env.reset(seed=0)
    assert env.step(np.zeros(1))[4]["is_success"] is False  # hanging
    env.reset(seed=0, options={"x0": np.zeros(2)})  # upright at rest: an equilibrium
    flags = [env.step(np.zeros(1))[4]["is_success"] for _ in range(20)]
    assert flags == [False] * 19 + [True]
