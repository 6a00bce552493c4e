"""The GPS loop on a small linear-quadratic task: learning, determinism, resume and input checks."""

import numpy as np
import pytest

from planlab.core import QuadraticCost
from planlab.dynamics import DoubleIntegrator
from planlab.policies.gps.global_policy import GlobalPolicyConfig
from planlab.policies.gps.loop import GPS, GPSConfig

SYS = DoubleIntegrator(n=1)
COST = QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0])
TRAIN = np.array([[1.0, 0.0], [-1.0, 0.0], [0.5, 0.5]])
HELD = np.array([[0.8, -0.2], [-0.6, 0.3], [0.2, 0.0]])


def _cfg(dynamics="known", iterations=3, **kw):
    return GPSConfig(iterations=iterations, horizon=30, samples=3, dynamics=dynamics, init="zero", init_var=0.5,
                     kl_step=2.0, policy=GlobalPolicyConfig(hidden=(), epochs=60, optimizer="lbfgs"), seed=1, **kw)


def _success(states, inputs=None):
    return np.abs(states[:, -1, 0]) < 0.15


def _run(cfg, out=None, iterations=None):
    g = GPS(SYS, COST, TRAIN, cfg, heldout=HELD, success=_success, out=out)
    g.run(iterations, progress=False)
    return g


@pytest.mark.parametrize("dynamics, augment", [("known", 0), ("sampled", 2)])
def test_global_policy_alone_reaches_the_goal_from_heldout_states(dynamics, augment):
    g = _run(_cfg(dynamics, iterations=4, prior_strength=1.0, augment=augment, step_rule="local", clip_targets=False))
    first, last = g.curve[0], g.curve[-1]
    assert last["heldout_success"] == 1.0
    assert last["sample_cost"] < first["sample_cost"]


def test_same_seed_same_run_and_resume_equals_an_uninterrupted_run(tmp_path):
    whole = _run(_cfg(iterations=2))
    again = _run(_cfg(iterations=2))
    assert [r["sample_cost"] for r in whole.curve] == [r["sample_cost"] for r in again.curve]
    part = _run(_cfg(iterations=2), out=tmp_path, iterations=1)
    assert part.iteration == 1 and (tmp_path / "learning_curve.png").exists()
    resumed = _run(_cfg(iterations=2), out=tmp_path)
    assert resumed.iteration == 2
    np.testing.assert_allclose(resumed.policy.mean(HELD), whole.policy.mean(HELD), rtol=1e-9, atol=1e-12)
    assert len((tmp_path / "progress.jsonl").read_text().splitlines()) == 2


def test_bad_configuration_and_conditions_raise():
    with pytest.raises(ValueError, match="conditions"):
        GPS(SYS, COST, np.zeros((3, 3)), _cfg())
    with pytest.raises(ValueError, match="kl_step"):
        GPSConfig(kl_step=0.0)
    with pytest.raises(ValueError, match="dynamics"):
        GPSConfig(dynamics="learned")
    with pytest.raises(ValueError, match="augment_max_var"):
        GPSConfig(augment_max_var=0.0)
    with pytest.raises(ValueError, match="sampling"):
        GPSConfig(sampling="both")
    with pytest.raises(ValueError, match="heldout"):
        GPS(SYS, COST, TRAIN, _cfg(), heldout=np.zeros((2, 3)))
