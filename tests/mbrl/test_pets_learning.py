"""Long learning runs (``-m slow``): PETS with planlab's default CLI configuration."""

import numpy as np
import pytest

from planlab.dynamics.learned import TrainConfig
from planlab.mbrl import MBRLConfig, model_config, run_mbrl_loop
from planlab.mbrl.cli import DEFAULTS


@pytest.mark.slow
def test_pets_default_configuration_reaches_minus_200_on_pendulum_within_10_episodes():
    hidden = tuple(int(h) for h in DEFAULTS["hidden"].split(","))
    opts = {k: DEFAULTS[k] for k in ("population", "iterations") if DEFAULTS[k] is not None}
    if "population" in opts:
        opts["elites"] = max(2, opts["population"] // 10)
    cfg = MBRLConfig("Pendulum-v1", episodes=10, random_episodes=DEFAULTS["random_episodes"], planner="cem",
                     horizon=DEFAULTS["horizon"], planner_options=opts,
                     model=model_config("ensemble", members=DEFAULTS["members"], hidden=hidden,
                                        particles=DEFAULTS["particles"]),
                     train=TrainConfig(epochs=DEFAULTS["epochs"], progress=False), seed=0)
    res = run_mbrl_loop(cfg, progress=False)
    mpc = np.array([r["return"] for r in res.rows if r["phase"] == "mpc"])
    trailing = np.convolve(mpc, np.ones(3) / 3, mode="valid")  # mean of 3 consecutive episodes (random starts)
    assert trailing.max() >= -200, mpc
