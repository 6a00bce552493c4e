"""``planlab train --algo gps|distill`` is wired in and rejects bad input with a clear message."""

import argparse

from planlab.policies.cli import add_train_parser


def _parse(argv):
    parser = argparse.ArgumentParser(prog="planlab")
    add_train_parser(parser.add_subparsers())
    return parser.parse_args(argv)


def test_train_cli_rejects_an_env_gps_has_no_problem_for(capsys):
    args = _parse(["train", "--algo", "gps", "--env", "Pendulum-v1"])
    assert args.func(args) == 2
    assert "--env: expected one of ('planlab/CartPoleSwingup-v0', 'planlab/Reacher2Link-v0')" in capsys.readouterr().err


def test_model_free_trainers_still_require_steps(capsys):
    args = _parse(["train", "--algo", "ppo", "--env", "CartPole-v1"])
    assert args.func(args) == 2
    assert "--steps: expected an integer >= 1" in capsys.readouterr().err


def test_train_gps_on_the_cartpole_runs_the_measured_preset(monkeypatch):
    import planlab.policies.gps.cli as cli
    from planlab.policies.gps.presets import apply_preset

    seen = []

    class _Built(Exception):
        pass

    def build(prob, cfg, out=None):
        seen.append(cfg)
        raise _Built

    monkeypatch.setattr(cli, "build_gps", build)
    args = _parse(["train", "--algo", "gps", "--env", "planlab/CartPoleSwingup-v0", "--seed", "1"])
    try:
        args.func(args)
    except _Built:
        pass
    cfg = seen[0]
    assert cfg.policy_reinit and cfg.relabel_rollouts == 3 and cfg.policy.epochs == 500
    assert apply_preset("cartpole-dagger", cfg) == cfg  # applying it again changes nothing: it is applied
    assert cfg.seed == 1 and cfg.policy.angle_indices == (2,)
