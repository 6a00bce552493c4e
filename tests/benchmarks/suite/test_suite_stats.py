"""Statistics of a sweep against closed forms, scipy and rliable; the report from stored rows alone."""

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from planlab.benchmarks.suite.report import write_report
from planlab.benchmarks.sweeps import synthetic_rows
from planlab.benchmarks.suite.stats import (aggregate_iqm, bootstrap_ci, iqm, normalized_scores, pareto_front,
                                            performance_profile, probability_of_improvement)


def test_iqm_is_scipys_quarter_trimmed_mean(rng):
    for n in (1, 2, 3, 4, 7, 10, 101):
        x = rng.normal(size=n)
        assert iqm(x) == pytest.approx(sps.trim_mean(x, 0.25), abs=1e-12)


def test_bootstrap_interval_covers_the_true_iqm_at_about_the_nominal_rate():
    # Exponential(1): IQM = (int_a^b x e^-x dx) / 0.5 with a, b its quartiles, in closed form
    a, b = math.log(4 / 3), math.log(4)
    true = 2 * ((a + 1) * math.exp(-a) - (b + 1) * math.exp(-b))
    rng = np.random.default_rng(7)
    trials, hits = 400, 0
    for k in range(trials):
        lo, hi = bootstrap_ci(rng.exponential(size=60), "iqm", reps=1000, seed=k)
        hits += lo <= true <= hi
    rate = hits / trials
    # nominal 0.95; the binomial sd over 400 trials is 0.011, the percentile bootstrap runs a little low
    assert 0.90 <= rate <= 0.985, rate


def test_bootstrap_interval_narrows_with_more_data(rng):
    small = bootstrap_ci(rng.normal(size=20), reps=500)
    large = bootstrap_ci(rng.normal(size=2000), reps=500)
    assert (large[1] - large[0]) < 0.3 * (small[1] - small[0])


def test_pareto_front_of_hand_made_points():
    #            0    1    2    3    4    5    6
    times = [1.0, 2.0, 3.0, 2.5, 0.5, 4.0, 2.0]
    rets = [5.0, 7.0, 6.0, 9.0, 1.0, 9.0, 6.0]
    # 4 (fastest), 0, 1, 3 (best return at 2.5); 2 beaten by 1 and 3, 5 by 3 (same return, slower), 6 by 1
    assert pareto_front(times, rets).tolist() == [4, 0, 1, 3]


def test_performance_profile_counts_runs_above_tau():
    prof = performance_profile([0.1, 0.5, 0.5, 0.9], [0.0, 0.5, 0.95])
    assert prof.tolist() == [1.0, 0.25, 0.0]


def test_normalized_scores_span_zero_to_one_per_task():
    norm = normalized_scores({"t": {"a": [1.0, 3.0], "b": [5.0]}, "flat": {"a": [2.0, 2.0]}})
    assert norm["t"]["a"].tolist() == [0.0, 0.5] and norm["t"]["b"].tolist() == [1.0]
    assert norm["flat"]["a"].tolist() == [1.0, 1.0]


def test_probability_of_improvement_matches_rliable():
    rliable = pytest.importorskip("rliable.metrics", reason="rliable is not installed")
    rng = np.random.default_rng(3)
    x = [rng.normal(0.2, 1, 8), rng.normal(0.5, 1, 8)]
    y = [rng.normal(0.0, 1, 8), rng.normal(0.5, 1, 8)]
    ours, lo, hi = probability_of_improvement(x, y, reps=500)
    ref = rliable.probability_of_improvement(np.stack(x, axis=1), np.stack(y, axis=1))
    assert ours == pytest.approx(float(ref), abs=1e-12)
    assert lo <= ours <= hi


def test_aggregate_iqm_matches_rliable():
    rliable = pytest.importorskip("rliable.metrics", reason="rliable is not installed")
    rng = np.random.default_rng(4)
    per_task = [rng.uniform(size=12) for _ in range(3)]
    point, lo, hi = aggregate_iqm(per_task, reps=500)
    assert point == pytest.approx(float(rliable.aggregate_iqm(np.stack(per_task, axis=1))), abs=1e-12)
    assert lo <= point <= hi


def test_report_is_regenerated_from_the_results_folder_alone(tmp_path):
    rows = synthetic_rows(n_tasks=2, seeds=6)
    rows[3].update(status="error", error="ValueError: boom", **{"return": None}, success=False)
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = write_report(tmp_path)
    text = path.read_text()
    assert "### task0" in text and "### task1" in text
    # cem on task0: 5 ok runs (one error) -> success column and the failure listed with its error
    assert "| cem | 6 |" in text and "ValueError: boom" in text
    for fig in ("pareto", "latency", "returns", "trajectories", "profiles"):
        assert (tmp_path / "plots" / f"{fig}.png").stat().st_size > 1000
        assert f"plots/{fig}.png" in text
    assert "P(X > Y)" in text
    # the same folder gives the same report
    assert write_report(tmp_path).read_text() == text
