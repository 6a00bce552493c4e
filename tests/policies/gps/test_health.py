"""GPS numerical health: non-finite or exploding labels, diverged fits and local controllers get a status
and a warning (or an error) instead of a silent 1e90 fit."""

import json
import warnings

import numpy as np
import pytest

from planlab.core import QuadraticCost
from planlab.dynamics import DoubleIntegrator
from planlab.policies.gps import sstep as gps_sstep
from planlab.policies.gps.global_policy import GaussianMLPPolicy, GlobalPolicyConfig
from planlab.policies.gps.health import GPSNumericalError, GPSNumericalWarning, IterationHealth, fit_diverged, screen_rows
from planlab.policies.gps.loop import GPS, GPSConfig

SYS = DoubleIntegrator(n=1)
COST = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
TRAIN = np.array([[1.0, 0.0], [-1.0, 0.0]])


def _cfg(**kw):
    kw.setdefault("relabel_rollouts", 1)
    return GPSConfig(iterations=2, horizon=15, samples=2, init="zero", init_var=0.5, kl_step=2.0, relabel_horizon=5,
                     relabel_iterations=3, policy=GlobalPolicyConfig(hidden=(), epochs=40, optimizer="lbfgs"), seed=1, **kw)


def _bad_labels(value):
    real = gps_sstep.policy_visits

    def visits(*args, **kw):
        X, U = real(*args, **kw)
        U = U.copy()
        U[::3] = value  # every third relabelled state gets a broken label
        return X, U
    return visits


@pytest.mark.parametrize("value, code", [(1e40, "exploding_labels"), (np.inf, "nonfinite_labels"),
                                         (np.nan, "nonfinite_labels")])
def test_broken_relabelling_labels_get_a_status_and_a_warning_not_a_huge_fit(monkeypatch, value, code):
    monkeypatch.setattr(gps_sstep, "policy_visits", _bad_labels(value))
    g = GPS(SYS, COST, TRAIN, _cfg())
    with pytest.warns(GPSNumericalWarning, match="relabelled states"):
        row = g.step()
    assert code in row["status"].split(",") and row["issues"]
    assert np.isfinite(row["fit_rms"]) and row["fit_rms"] < 10.0  # the broken rows were not fitted
    assert np.all(np.isfinite(g.policy.mean(TRAIN))) and np.all(np.abs(g.policy.mean(TRAIN)) < 100)


def test_a_clean_iteration_reports_ok_and_no_warning():
    g = GPS(SYS, COST, TRAIN, _cfg(relabel_rollouts=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", GPSNumericalWarning)
        row = g.step()
    assert row["status"] == "ok" and row["issues"] == []


def test_on_failure_raise_stops_after_writing_the_checkpoint(monkeypatch, tmp_path):
    monkeypatch.setattr(gps_sstep, "policy_visits", _bad_labels(np.inf))
    g = GPS(SYS, COST, TRAIN, _cfg(on_failure="raise"), out=tmp_path)
    with pytest.raises(GPSNumericalError, match="iteration 1: .*non-finite"):
        g.run(progress=False)
    assert (tmp_path / "checkpoint.npz").exists()
    rows = [json.loads(s) for s in (tmp_path / "progress.jsonl").read_text().splitlines()]
    assert rows[-1]["status"] == "nonfinite_labels"


def test_a_diverged_fit_is_flagged_and_the_previous_policy_kept(monkeypatch):
    g = GPS(SYS, COST, TRAIN, _cfg(relabel_rollouts=0))
    g.step()
    before = g.policy.mean(TRAIN)
    real = GaussianMLPPolicy.fit

    def blown_fit(self, *a, **kw):  # a fit whose weights end up at 1e50 (what Adam or L-BFGS can do)
        losses = real(self, *a, **kw)
        for p in self.net.parameters():
            p.data.fill_(1e50)
        self._export()
        return losses
    monkeypatch.setattr(GaussianMLPPolicy, "fit", blown_fit)
    with pytest.warns(GPSNumericalWarning, match="fit diverged"):
        row = g.step()
    assert row["status"] == "fit_diverged" and row["fit_rms"] > 1e40
    np.testing.assert_array_equal(g.policy.mean(TRAIN), before)


def test_a_local_controller_over_the_state_variance_limit_is_not_taken(monkeypatch):
    g = GPS(SYS, COST, TRAIN, _cfg(relabel_rollouts=0, state_var_limit=1e-12))
    first = [c.affine() for c in g.controllers]
    with pytest.warns(GPSNumericalWarning, match="diverges under its linear model"):
        row = g.step()
    assert row["status"] == "diverged_local_controller"
    assert row["statuses"] == ["diverged_local_controller"] * 2
    for c, (K, k) in zip(g.controllers, first):
        np.testing.assert_array_equal(c.affine()[0], K)


def test_screen_rows_and_fit_diverged_name_what_they_found():
    h = IterationHealth(0)
    Y = np.array([[0.5], [3e3], [np.inf], [0.1]])
    P = np.ones((4, 1, 1))
    P[3] = np.nan
    keep = screen_rows(np.zeros((4, 2)), Y, P, np.array([2.0]), 1e3, h, "src")
    assert keep.tolist() == [True, False, False, False]
    assert h.status == "nonfinite_labels,nonfinite_precisions,exploding_labels"
    assert fit_diverged([1.0], 0.5, 1.0, 10.0) is None
    assert "not finite" in fit_diverged([np.nan], 0.5, 1.0, 10.0)
    assert "diverged" in fit_diverged([1.0], 11.0, 1.0, 10.0)
    assert fit_diverged([1.0], 1e-8, 0.0, 10.0) is None  # all-zero labels: a tiny error is no divergence
    with pytest.raises(ValueError, match="on_failure"):
        GPSConfig(on_failure="ignore")
    with pytest.raises(ValueError, match="label_limit"):
        GPSConfig(label_limit=0.0)
