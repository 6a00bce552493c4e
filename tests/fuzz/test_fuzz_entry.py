"""Fuzzing run_episode, the CLI's argument parsing and save/load of learned models and policies."""

import contextlib
import io

import gymnasium
import numpy as np
import pytest
from fuzzlib import bad_values, check_named_error, describe, record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planlab.cli import main
from planlab.dynamics.learned import LearnedDynamics
from planlab.episodes import mpc_for_env, run_episode

FUZZ = settings(max_examples=8, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(steps=st.sampled_from([None, -1, 0, 1, 2, 2.5, "3", True]), seed=st.sampled_from([None, 0, 7, -1, "x"]),
       x0=st.one_of(st.none(), bad_values([(0,), (1,), (2,), (3,), (2, 2)])))
def test_run_episode_is_valid_or_names_the_bad_argument(steps, seed, x0):
    env = gymnasium.make("planlab/PendulumSwingup-v0")
    mpc = mpc_for_env(env, "shooting", horizon=3, population=8, seed=0)
    record("run_episode", f"steps={describe(steps)}|seed={describe(seed)}|x0={describe(x0)}")
    if steps is None:
        steps = 2  # an unset length runs the env's full time limit: keep the fuzz fast
    try:
        with np.errstate(all="ignore"):
            res = run_episode(env, mpc, steps=steps, seed=seed, x0=x0)
    except Exception as exc:  # noqa: BLE001
        check_named_error(exc)
        return
    assert res.states.shape == (res.steps + 1, 2) and res.actions.shape == (res.steps, 1)
    assert np.all(np.isfinite(res.states))


TOKENS = ["-1", "0", "1", "2", "nan", "inf", "1e309", "abc", "", "3.5", "0,0", "1,2,3", "6.3,0"]
FLAGS = ["--horizon", "--steps", "--seed", "--x0", "--population", "--iterations", "--elites", "--temperature",
         "--simulations", "--discount", "--max-iterations", "--replan-every", "--fps", "--plot", "--save-video"]


@FUZZ
@given(env=st.sampled_from(["planlab/PendulumSwingup-v0", "CartPole-v1", "Nope-v0", "", "planlab/GridWorld-v0"]),
       planner=st.sampled_from(["shooting", "cem", "uct", "lqr", "bogus", ""]),
       pairs=st.lists(st.tuples(st.sampled_from(FLAGS), st.sampled_from(TOKENS)), max_size=3))
def test_cli_run_exits_0_or_2_with_a_named_message(env, planner, pairs, tmp_path_factory):
    argv = ["run", "--env", env, "--planner", planner, "--json"]
    for flag, tok in pairs:
        if flag in ("--plot", "--save-video"):
            tok = str(tmp_path_factory.mktemp("out") / f"x{tok}")
        argv += [flag, tok]
    if "--steps" not in dict(pairs):
        argv += ["--steps", "1"]
    if "--population" not in dict(pairs) and planner in ("shooting", "cem"):
        argv += ["--population", "8"]
    if "--simulations" not in dict(pairs) and planner == "uct":
        argv += ["--simulations", "8"]
    record("cli.run", f"env={env}|planner={planner}|" + ",".join(sorted(f for f, _ in pairs)))
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
            code = main(argv)
    except SystemExit as exc:  # argparse: a malformed number for a typed flag
        code = exc.code
    assert code in (0, 2), err.getvalue()
    if code == 2:
        assert "error: " in err.getvalue() and ("--" in err.getvalue() or "argument" in err.getvalue())


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    from planlab.dynamics.learned import ModelConfig

    m = LearnedDynamics(2, 1, -2.0, 2.0, 0.05, config=ModelConfig(members=1, hidden=(4,)), seed=0)
    return m.save(tmp_path_factory.mktemp("model") / "m.pt")


@FUZZ
@given(kind=st.sampled_from(["ok", "missing", "garbage-pt", "garbage-json", "wrong-json", "type-int", "type-none",
                             "truncated-pt"]))
def test_load_model_is_valid_or_names_path(kind, saved_model, tmp_path_factory):
    record("LearnedDynamics.load", kind)
    d = tmp_path_factory.mktemp("load")
    path = d / "m.pt"
    path.write_bytes(saved_model.read_bytes())
    path.with_suffix(".json").write_text(saved_model.with_suffix(".json").read_text())
    arg = path
    if kind == "missing":
        arg = d / "none.pt"
    elif kind == "garbage-pt":
        path.write_bytes(b"not a torch file")
    elif kind == "truncated-pt":
        path.write_bytes(saved_model.read_bytes()[:50])
    elif kind == "garbage-json":
        path.with_suffix(".json").write_text("{not json")
    elif kind == "wrong-json":
        path.with_suffix(".json").write_text('{"state_dim": 2}')
    elif kind == "type-int":
        arg = 3
    elif kind == "type-none":
        arg = None
    try:
        m = LearnedDynamics.load(arg)
    except FileNotFoundError as exc:
        assert kind == "missing" and str(exc).startswith("path: ")
        return
    except Exception as exc:  # noqa: BLE001
        check_named_error(exc)
        assert kind != "ok"
        return
    assert kind == "ok" and m.state_dim == 2


@pytest.fixture(scope="module")
def saved_policy(tmp_path_factory):
    from planlab.policies import REINFORCE

    trainer = REINFORCE("CartPole-v1", seed=0)
    return trainer.save(tmp_path_factory.mktemp("policy") / "reinforce")


@FUZZ
@given(kind=st.sampled_from(["ok", "missing", "garbage-pt", "garbage-json", "list-json", "wrong-algo", "type-int",
                             "no-config"]))
def test_load_trainer_is_valid_or_names_path(kind, saved_policy, tmp_path_factory):
    import shutil

    from planlab.policies import REINFORCE

    record("Trainer.load", kind)
    d = tmp_path_factory.mktemp("tload") / "p"
    shutil.copytree(saved_policy, d)
    arg = d
    if kind == "missing":
        arg = d.parent / "nothing"
    elif kind == "garbage-pt":
        (d / "model.pt").write_bytes(b"junk")
    elif kind == "garbage-json":
        (d / "config.json").write_text("{oops")
    elif kind == "list-json":
        (d / "config.json").write_text("[1, 2]")
    elif kind == "wrong-algo":
        (d / "config.json").write_text('{"algo": "nope"}')
    elif kind == "no-config":
        (d / "config.json").write_text('{"algo": "reinforce", "env_id": "CartPole-v1"}')
    elif kind == "type-int":
        arg = 5
    try:
        t = REINFORCE.load(arg)
    except FileNotFoundError as exc:
        assert kind == "missing" and str(exc).startswith("path: ")
        return
    except Exception as exc:  # noqa: BLE001
        check_named_error(exc)
        assert kind != "ok"
        return
    assert kind == "ok" and t.num_timesteps == 0
