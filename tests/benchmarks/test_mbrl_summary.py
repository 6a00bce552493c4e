import pytest

from planlab.benchmarks.mbrl import summarise_curves


def _rows(env, returns, wall=10.0):
    rows, elapsed = [], 0.0
    for ep, ret in enumerate(returns):
        elapsed += wall
        rows.append({"env": env, "seed": 0, "config": "default", "episode": ep,
                     "phase": "random" if ep == 0 else "mpc", "return": ret, "elapsed_s": elapsed,
                     "plan_ms_median": None if ep == 0 else 5.0})
    return rows


def test_pendulum_target_is_the_first_trailing_mean_of_three_at_or_above_minus_200():
    (s,) = summarise_curves(_rows("Pendulum-v1", [-900.0, -500.0, -190.0, -180.0, -170.0, -400.0]))
    # trailing means over MPC episodes: -290 at episode 3, -180 at episode 4
    assert s["reached_at_episode"] == 4 and s["met"] is True
    assert s["wall_s_to_target"] == pytest.approx(50.0)  # random episode + 4 MPC episodes
    assert s["last3_mean"] == pytest.approx((-180.0 - 170.0 - 400.0) / 3)


def test_relative_target_is_measured_from_the_random_return_towards_the_true_model():
    env = "planlab/CartPoleSwingup-v0"
    refs = {env: {0: {1: -100.0, 2: -100.0}}}
    # random -1000, true model -100: 90% of the way is -190
    (s,) = summarise_curves(_rows(env, [-1000.0, -195.0, -185.0]), refs)
    assert s["target"] == pytest.approx(-190.0)
    assert s["reached_at_episode"] == 2 and s["met"] is True
    # the strict reading: a cost at most the true model's / 0.9, i.e. a return >= -111.1
    assert s["strict_target"] == pytest.approx(-100.0 / 0.9) and s["strict_reached_at_episode"] is None
    (good,) = summarise_curves(_rows(env, [-1000.0, -150.0, -105.0]), refs)
    assert good["strict_reached_at_episode"] == 2
    (miss,) = summarise_curves(_rows(env, [-1000.0, -195.0, -191.0]), refs)
    assert miss["reached_at_episode"] is None and miss["met"] is False
