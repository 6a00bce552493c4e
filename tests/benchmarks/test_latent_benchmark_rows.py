"""The latent benchmark's rows: training-update timings (``--update-timing``) and the per-run summary."""

import math

import pytest

from planlab.benchmarks.latent import UPDATE_VARIANTS, summary_row, update_step_rows


def test_update_step_rows_time_each_variant_on_the_same_data():
    rows = update_step_rows(quick=True, repeats=1, size=64)
    assert [r["config"] for r in rows] == [v[0] for v in UPDATE_VARIANTS[:2]]
    assert [r["encoder_size"] for r in rows] == [64, 32]
    for r in rows:
        assert r["kind"] == "update_step" and r["image_size"] == 64
        assert r["update_cpu_ms_median"] > 0 and math.isclose(r["updates_per_cpu_s"], 1e3 / r["update_cpu_ms_median"])
        assert math.isclose(r["sequence_steps_per_cpu_s"], r["updates_per_cpu_s"] * r["batch"] * r["length"])


def _rows(returns, tests=()):
    rows = [{"phase": "random", "return": -1500.0, "cpu_s": 0.1, "wall_s": 0.2},
            {"phase": "random", "return": -1300.0, "cpu_s": 0.1, "wall_s": 0.2}]
    return rows + [{"phase": "mpc", "return": r, "test": i in tests, "cpu_s": 10.0, "wall_s": 20.0}
                   for i, r in enumerate(returns)]


def test_summary_scores_the_last_test_episodes_against_the_reference():
    rows = _rows([-900.0, -450.0, -800.0, -400.0, -700.0, -420.0], tests={1, 3, 5})
    s = summary_row(rows, [-380.0, -382.0], "planlab/PendulumSwingup-v0", 0)
    assert s["score_of"] == "last 3 test episodes" and s["score"] == pytest.approx(-1270.0 / 3)
    assert s["reference_mean"] == -381.0 and s["random_mean"] == -1400.0
    assert s["within_20pct"] is True  # -423.3 >= -381 - 76.2
    assert s["gap_closed"] == pytest.approx((-1270.0 / 3 + 1400.0) / (1400.0 - 381.0))
    assert s["cpu_s"] == pytest.approx(60.2) and s["wall_s"] == pytest.approx(120.4)
    noisy = summary_row(_rows([-900.0, -450.0, -800.0, -400.0]), [-381.0], "e", 0)  # no test episodes
    assert noisy["score_of"] == "last 3 MPC episodes" and noisy["score"] == pytest.approx(-550.0)
    assert noisy["within_20pct"] is False
    assert "within_20pct" not in summary_row(rows, [], "e", 0)


def test_cpu_budget_stops_before_an_episode_that_would_pass_it():
    from planlab.benchmarks.latent import over_cpu_budget

    rows = _rows([-900.0, -800.0])  # 0.2 + 2 x 10 CPU s, the last episode 10 s
    assert over_cpu_budget(rows, None) is False
    assert over_cpu_budget(rows, 30.2) is False and over_cpu_budget(rows, 30.1) is True
