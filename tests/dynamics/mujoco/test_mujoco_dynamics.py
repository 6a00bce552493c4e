"""MujocoDynamics against MuJoCo itself: steps, rollouts, threads, sensors, costs and errors."""

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco", reason="MuJoCo tests need the optional extra: pip install planlab[mujoco]")

from planlab.dynamics.mujoco import MujocoDynamics, TaskCost  # noqa: E402
from planlab.dynamics.mujoco import loading  # noqa: E402

# A two-link arm in the x-z plane with a fingertip site, two motors, a limited and an unlimited joint.
ARM = """
<mujoco>
  <option timestep="0.01"/>
  <worldbody>
    <body name="upper">
      <joint name="shoulder" type="hinge" axis="0 1 0" damping="0.05"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03" mass="0.5" contype="0" conaffinity="0"/>
      <body name="lower" pos="0.3 0 0">
        <joint name="elbow" type="hinge" axis="0 1 0" range="-2 2" limited="true" damping="0.05"/>
        <geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.025" mass="0.3" contype="0" conaffinity="0"/>
        <site name="tip" pos="0.25 0 0"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="shoulder" ctrlrange="-2 2" ctrllimited="true"/>
    <motor joint="elbow" ctrlrange="-1 1" ctrllimited="true"/>
  </actuator>
  <sensor><jointvel joint="elbow" name="elbow_vel"/></sensor>
</mujoco>
"""


@pytest.fixture(scope="module")
def arm():
    return MujocoDynamics(ARM, frame_skip=3, positions=("site:tip",), nthread=1)


def _random_states(rng, n):
    return np.concatenate([rng.uniform(-1.5, 1.5, (n, 2)), rng.uniform(-2, 2, (n, 2))], axis=1)


def _mj_reference_step(model, x, u, frame_skip):
    """``frame_skip`` calls of mj_step from a fresh MjData: MuJoCo's own answer."""
    d = mujoco.MjData(model)
    d.qpos[:] = x[: model.nq]
    d.qvel[:] = x[model.nq:]
    d.ctrl[:] = u
    for _ in range(frame_skip):
        mujoco.mj_step(model, d)
    return np.concatenate([d.qpos, d.qvel])


def test_control_box_and_dt_come_from_the_model(arm):
    assert arm.state_dim == 4 and arm.action_dim == 2
    np.testing.assert_array_equal(arm.action_low, [-2.0, -1.0])
    np.testing.assert_array_equal(arm.action_high, [2.0, 1.0])
    assert arm.dt == pytest.approx(0.03)
    assert arm.angle_indices == (0, 1)
    assert arm.state_names == ("qpos:shoulder", "qpos:elbow", "qvel:shoulder", "qvel:elbow")


def test_step_equals_repeated_mj_step(arm, rng):
    X = _random_states(rng, 5)
    U = rng.uniform(-1, 1, (5, 2))
    out = arm.step(X, U)
    for x, u, xn in zip(X, U, out):
        np.testing.assert_array_equal(xn, _mj_reference_step(arm.model, x, u, arm.frame_skip))


def test_rollout_states_equal_repeated_steps_and_cost_equals_cost_of_the_states(arm, rng):
    x0 = _random_states(rng, 1)[0]
    U = rng.uniform(-1, 1, (4, 6, 2))
    cost = TaskCost(arm, positions={"site:tip": ([0.3, 0.0, 0.2], 2.0)}, joints={"elbow": (0.5, 0.1)},
                    sensors={"elbow_vel": (0.0, 0.01)}, velocity=0.01, control=[0.1, 0.2], terminal_weight=5.0)
    roll = arm.rollout(x0, U, cost)
    x = np.tile(x0, (4, 1))
    for t in range(6):
        x = arm.step(x, U[:, t])
        # a rollout carries the constraint solver's warm start (the elbow limit) from step to step, a
        # fresh step starts it from zero: equal to the solver's rounding
        np.testing.assert_allclose(roll.states[:, t + 1], x, rtol=1e-12, atol=1e-12)
    # the fused pass (sensors from the rollout) equals the generic Cost path (sensors recomputed per state)
    np.testing.assert_allclose(roll.costs, cost.trajectory_cost(roll.states, U), rtol=1e-12, atol=1e-12)


def test_tracked_position_equals_mujoco_site_xpos(arm, rng):
    X = _random_states(rng, 3)
    tips = arm.position(arm.sensors(X), "site:tip")
    for x, tip in zip(X, tips):
        d = mujoco.MjData(arm.model)
        d.qpos[:], d.qvel[:] = x[:2], x[2:]
        mujoco.mj_forward(arm.model, d)
        np.testing.assert_array_equal(tip, d.site_xpos[0])


def test_threaded_rollout_equals_single_threaded(arm, rng):
    threaded = MujocoDynamics(ARM, frame_skip=3, positions=("site:tip",), nthread=2)
    X = _random_states(rng, 37)
    U = rng.uniform(-2, 2, (37, 8, 2))
    cost = TaskCost(arm, positions={"site:tip": ([0.3, 0.0, 0.2], 1.0)}, control=0.1)
    cost2 = TaskCost(threaded, positions={"site:tip": ([0.3, 0.0, 0.2], 1.0)}, control=0.1)
    a, b = arm.rollout(X, U, cost), threaded.rollout(X, U, cost2)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.costs, b.costs)
    threaded.close()


def test_actions_are_clipped_to_the_control_box_in_rollouts(arm, rng):
    x0 = _random_states(rng, 1)[0]
    U = rng.uniform(-5, 5, (3, 4, 2))
    a = arm.rollout(x0, U).states
    b = arm.rollout(x0, np.clip(U, arm.action_low, arm.action_high)).states
    np.testing.assert_array_equal(a, b)


def test_unstable_simulation_gives_nan_states_and_cost_not_a_reset_state(arm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo's warning also goes to MUJOCO_LOG.TXT in the working directory
    x0 = np.array([0.0, 0.0, 1e11, 0.0])  # MuJoCo resets velocities beyond 1e10 and warns
    roll = arm.rollout(x0, np.zeros((1, 3, 2)), TaskCost(arm, velocity=1.0))
    assert np.isnan(roll.states[0, 1:]).all()
    assert np.isnan(roll.costs[0])


def test_wrong_size_control_raises_naming_the_argument(arm):
    with pytest.raises(ValueError, match=r"u: expected shape \(\.\.\., 2\), got \(3,\)"):
        arm.step(np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match=r"actions: expected shape \(N, H, 2\)"):
        arm.rollout(np.zeros(4), np.zeros((2, 5, 1)))
    with pytest.raises(ValueError, match=r"x: expected shape \(\.\.\., 4\)"):
        arm.step(np.zeros(3), np.zeros(2))


def test_malformed_xml_raises_naming_the_argument(tmp_path):
    with pytest.raises(ValueError, match="model_or_xml_path: MuJoCo could not parse"):
        MujocoDynamics("<mujoco><worldbody><body></worldbody></mujoco>", nthread=1)
    bad = tmp_path / "bad.xml"
    bad.write_text("<mujoco><worldbody><geom type='sphere' size='-1'/></worldbody><actuator></mujoco>")
    with pytest.raises(ValueError, match="model_or_xml_path"):
        MujocoDynamics(bad, nthread=1)
    with pytest.raises(FileNotFoundError, match="model_or_xml_path: no MJCF file"):
        MujocoDynamics(tmp_path / "missing.xml", nthread=1)
    with pytest.raises(ValueError, match="positions: expected entries 'site:NAME'"):
        MujocoDynamics(ARM, positions=("tip",), nthread=1)
    with pytest.raises(ValueError, match="model_or_xml_path: MuJoCo could not compile"):
        MujocoDynamics(ARM, positions=("site:no_such_site",), nthread=1)
    with pytest.raises(ValueError, match="frame_skip"):
        MujocoDynamics(ARM, frame_skip=0, nthread=1)


def test_task_cost_rejects_unknown_names_and_bad_targets(arm):
    with pytest.raises(ValueError, match="joints: expected a joint name"):
        TaskCost(arm, joints={"knee": (0.0, 1.0)})
    with pytest.raises(ValueError, match=r"positions\['site:tip'\]: expected a target of shape \(3,\)"):
        TaskCost(arm, positions={"site:tip": ([0.0, 1.0], 1.0)})
    with pytest.raises(ValueError, match="name: expected a sensor of the model"):
        TaskCost(arm, sensors={"nope": (0.0, 1.0)})


def test_without_mujoco_the_model_says_which_extra_to_install(monkeypatch):
    monkeypatch.setattr(loading, "mujoco", None)
    with pytest.raises(ImportError, match=r"pip install planlab\[mujoco\]"):
        MujocoDynamics(ARM)


@pytest.mark.parametrize("name", ["cem", "mppi"])
def test_sampling_planners_meet_the_plan_contract_on_a_mujoco_model(arm, name):
    from planlab.planners import make_planner
    from planlab.testing import check_plan

    cost = TaskCost(arm, positions={"site:tip": ([0.2, 0.0, 0.3], 1.0)}, control=0.01, terminal_weight=2.0)
    x0 = np.array([0.3, -0.4, 0.0, 0.5])
    opts = dict(population=16, iterations=2) if name == "cem" else dict(population=16)
    if name == "cem":
        opts["elites"] = 4
    plans = [make_planner(name, arm, cost, horizon=6, seed=3, **opts).plan(x0) for _ in range(2)]
    check_plan(plans[0], arm, cost, x0, 6)  # shapes, bounds, finiteness, cost == re-rollout of its actions
    np.testing.assert_array_equal(plans[0].actions, plans[1].actions)  # same seed, same plan
    warm = make_planner(name, arm, cost, horizon=6, seed=3, **opts)
    first = warm.plan(x0)
    warm.advance(1)
    check_plan(warm.plan(first.states[1], warm_start=np.vstack([first.actions[1:], first.actions[-1:]])), arm,
               cost, first.states[1], 6)
