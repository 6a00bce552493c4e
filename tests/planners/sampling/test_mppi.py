"""MPPI: contract, lambda -> 0 picks the best sample, no drift toward the bounds on ties, config errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planlab.core.cost import SourceCost
from planlab.dynamics import DoubleIntegrator, Pendulum
from planlab.planners import MPC, MPPI
from planlab.planners.sampling.mppi import mppi_weights
from planlab.testing import check_planner
from planlab.testing.strategies import lq_problems
from stochastic_models import NoisyDoubleIntegrator


def _mppi(d, c, h, s):
    return MPPI(d, c, h, population=500, iterations=20, temperature=1e-3, noise_std=0.05, seed=s)


def test_mppi_meets_the_planner_contract():
    # Ratio to the LQR optimum with these settings over 150 drawn LQ problems (H * nu up to 30
    # decision variables): median 1.00, 90th percentile 1.07, 99th 1.29, worst 1.74.
    check_planner(_mppi, lq_factor=2.5, max_examples=12)


def test_mppi_refuses_discrete_actions_naming_the_planners_that_apply():
    from planlab.envs.models import model_for

    d, c = model_for("CartPole-v1")
    with pytest.raises(TypeError, match=r"dynamics: MPPI plans continuous actions.*discrete actions: shooting, uct"):
        MPPI(d, c, 10)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(lq_problems(max_state_dim=3), st.integers(0, 2**16))
def test_mppi_with_vanishing_temperature_returns_the_best_sample(p, seed):
    plan = MPPI(p.dynamics, p.cost, p.horizon, population=64, temperature=1e-300, seed=seed).plan(p.x0)
    best = plan.diagnostics["sample_cost_min"][0]
    assert plan.cost == pytest.approx(best, rel=1e-9, abs=1e-12)


def test_mppi_weights_are_a_softmax_of_negative_costs():
    c = np.array([3.0, 1.0, 2.0, np.nan, np.inf])
    w, tied = mppi_weights(c, 0.5)
    e = np.exp(-(c[:3] - 1.0) / 0.5)
    np.testing.assert_allclose(w[:3], e / e.sum(), rtol=1e-14)
    assert w[3] == 0 and w[4] == 0 and not tied
    w, tied = mppi_weights(np.full(5, 7.0), 1.0)
    assert tied and np.allclose(w, 0.2)
    w, tied = mppi_weights(np.full(3, np.nan), 1.0)
    assert tied and not w.any()


def _flat_running(x, u, xn, p):
    return 1.0 + 0.0 * u[0]


def test_mppi_nominal_sequence_does_not_drift_toward_the_bounds_when_costs_tie():
    sys_ = Pendulum()
    flat = SourceCost(2, 1, _flat_running, [0.0])  # every sequence costs the same
    mpc = MPC(MPPI(sys_, flat, horizon=10, population=100, noise_std=1.0, seed=0))
    x = np.array([np.pi, 0.0])
    for _ in range(60):
        mpc.act(x)
    np.testing.assert_array_equal(mpc.last_plan.actions, 0.0)
    assert mpc.last_plan.diagnostics["tied_iterations"] == 1


def test_mppi_nominal_sequence_stays_in_the_box_when_the_cost_saturates():
    # gymnasium's pendulum cost clips the torque: beyond the bound every action costs the same
    sys_ = Pendulum()
    p = MPPI(sys_, sys_.default_cost(), horizon=10, population=200, noise_std=2.0, iterations=20, seed=0)
    plan = p.plan(np.array([np.pi - 0.3, 0.0]), warm_start=np.full((10, 1), 2.0))
    assert np.all(np.abs(plan.actions) <= 2.0)


def test_mppi_correlated_noise_covariance_is_used():
    sys_ = DoubleIntegrator(n=2, accel_max=100.0)
    cov = np.array([[1.0, 0.9], [0.9, 1.0]])
    p = MPPI(sys_, sys_.default_cost(), horizon=5, population=20000, noise_cov=cov, temperature=1e9, seed=0)
    plan = p.plan(np.zeros(4))
    assert plan.actions.shape == (5, 2)
    np.testing.assert_allclose(p.noise_cov, cov)


@pytest.mark.parametrize("kwargs, match", [
    (dict(temperature=0.0), "temperature"),
    (dict(temperature=-1.0), "temperature"),
    (dict(noise_std=-0.5), "noise_std"),
    (dict(noise_cov=[[1.0, 2.0], [2.0, 1.0]]), "noise_cov"),
    (dict(noise_cov=[[1.0]]), "noise_cov"),
    (dict(population=0), "population"),
    (dict(iterations=0), "iterations"),
    (dict(smoothing=1.0), "smoothing"),
    (dict(control_cost=-1.0), "control_cost"),
    (dict(horizon=0), "horizon"),
])
def test_bad_mppi_configs_raise_clear_errors(kwargs, match):
    sys_ = DoubleIntegrator(n=2) if "noise_cov" in kwargs else Pendulum()
    kw = dict(horizon=10, population=50)
    kw.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        MPPI(sys_, sys_.default_cost(), **kw)


def test_mppi_plans_through_a_stochastic_model_with_particles():
    from planlab.core.cost import QuadraticCost

    d = NoisyDoubleIntegrator()
    cost = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
    mk = lambda: MPPI(d, cost, horizon=15, population=200, iterations=3, particles=4, temperature=0.1, seed=3)
    plan = mk().plan(np.array([1.0, 0.0]))
    assert np.all(np.abs(plan.actions) <= 1) and np.isfinite(plan.cost)
    assert plan.actions[:3].mean() < 0
    np.testing.assert_array_equal(mk().plan(np.array([1.0, 0.0])).actions, plan.actions)


def test_cli_runs_mppi_with_temperature(capsys):
    import json

    from planlab.cli import main

    rc = main(["run", "--env", "planlab/CartPoleSwingup-v0", "--planner", "mppi", "--horizon", "10",
               "--population", "50", "--temperature", "0.5", "--iterations", "2", "--steps", "3", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["planner"] == "mppi" and out["temperature"] == 0.5 and out["steps"] == 3
    assert np.isfinite(out["plan_ms_median"])
    rc = main(["run", "--env", "Pendulum-v1", "--planner", "mppi", "--temperature", "-1", "--steps", "2", "--json"])
    assert rc == 2 and "temperature" in capsys.readouterr().err
