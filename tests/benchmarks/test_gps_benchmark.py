"""The GPS benchmark's speed rows on a goal-conditioned task (the policy's input is the state and the goal)."""

import math

from planlab.benchmarks.gps import bench_speed
from planlab.policies.gps import GaussianMLPPolicy, GlobalPolicyConfig
from planlab.policies.gps.tasks import gps_problem


def test_speed_rows_of_a_goal_conditioned_policy_time_it_on_the_state_and_the_goal():
    prob = gps_problem("planlab/Reacher2Link-v0", 0, n_train=1, n_heldout=1)
    nx, k = prob.dynamics.state_dim, prob.heldout_inputs.shape[1]
    pi = GaussianMLPPolicy(nx + k, prob.dynamics.action_dim, GlobalPolicyConfig(angle_indices=prob.angle_indices),
                           action_low=prob.dynamics.action_low, action_high=prob.dynamics.action_high)
    row = bench_speed(pi, quick=True, task="planlab/Reacher2Link-v0")
    for key in ("policy_us_per_action", "policy_cpu_us_per_action", "policy_numpy_us_per_action", "mpc_ms_per_step"):
        assert math.isfinite(row[key]) and row[key] > 0, (key, row[key])


def test_relabelling_flags_reach_the_gps_configuration(monkeypatch):
    import planlab.benchmarks.gps as bench

    seen = {}
    monkeypatch.setattr(bench, "run_gps", lambda *a: seen.setdefault("options", next(x for x in a if isinstance(x, dict))))
    bench.main(["--parts", "gps", "--seeds", "1", "--relabel", "3", "--relabel-policy-warm", "--relabel-noise", "0.7",
                "--relabel-mix", "1", "--relabel-mix-decay", "0.5", "--c-step-reference", "local", "--relabel-local-weight", "0", "--relabel-precision", "unit"])
    assert seen["options"] == {"relabel_policy_warm": True, "relabel_noise": 0.7, "relabel_mix": 1.0,
                               "relabel_mix_decay": 0.5, "c_step_reference": "local",
                               "relabel_local_weight": 0.0, "relabel_precision": "unit"}
    bench.GPSConfig(**seen["options"])  # every key is a configuration field


def test_distill_rows_name_how_gymnasium_ended_a_cartpole_episode():
    import gymnasium as gym
    import numpy as np

    from planlab.benchmarks.gps import _end

    env = gym.make("CartPole-v1")
    for state, action, want in [((2.39, 1.0, 0.0, 0.0), 1, "cart"), ((-2.39, -1.0, 0.0, 0.0), 0, "cart"),
                                ((0.0, 0.0, 0.2, 1.0), 1, "pole"), ((0.0, 0.0, -0.2, -1.0), 0, "pole"),
                                ((0.0, 0.0, 0.0, 0.0), 1, "-")]:
        env.reset(seed=0)
        env.unwrapped.state = np.array(state)
        obs, _, term, _, _ = env.step(action)
        assert term == (want != "-")
        assert _end(obs) == want, (state, obs)
