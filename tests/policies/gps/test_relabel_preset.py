"""The named GPS presets: the benchmark's ``--preset`` builds exactly the configuration ``apply_preset`` gives,
explicit flags override it, and bad names raise."""

import pytest

import planlab.benchmarks.gps as bench
from planlab.policies.gps.config import GPSConfig
from planlab.policies.gps.presets import PRESETS, apply_preset


class _Built(Exception):
    pass


def _config(monkeypatch, argv):
    seen = []

    def build(prob, cfg, out=None):
        seen.append(cfg)
        raise _Built

    monkeypatch.setattr(bench, "build_gps", build)
    with pytest.raises(_Built):
        bench.main(["--parts", "gps", "--seeds", "1", "--first-seed", "2"] + argv)
    return seen[0]


def test_benchmark_preset_is_the_applied_preset_and_flags_override_it(monkeypatch):
    plain = _config(monkeypatch, [])
    preset = _config(monkeypatch, ["--preset", "cartpole-dagger"])
    assert preset == apply_preset("cartpole-dagger", plain)
    assert preset != plain
    assert preset.policy_reinit and preset.relabel_rollouts == 3 and preset.policy.epochs == 500
    over = _config(monkeypatch, ["--preset", "cartpole-dagger", "--relabel", "5", "--policy-epochs", "300"])
    assert over.relabel_rollouts == 5 and over.policy.epochs == 300 and over.policy_reinit


def test_every_preset_names_configuration_fields_and_bad_names_raise():
    for name in PRESETS:
        cfg = apply_preset(name, GPSConfig())
        gps, policy = PRESETS[name]
        assert all(getattr(cfg, k) == v for k, v in gps.items())
        assert all(getattr(cfg.policy, k) == v for k, v in policy.items())
    with pytest.raises(ValueError, match="preset"):
        apply_preset("cartpole", GPSConfig())
