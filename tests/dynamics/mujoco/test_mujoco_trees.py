"""Finite-difference Jacobians that perturb independent kinematic trees together, and the nominal step
they leave for the cost derivatives."""

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco", reason="MuJoCo tests need the optional extra: pip install planlab[mujoco]")

from planlab.dynamics.mujoco import MujocoDynamics  # noqa: E402
from planlab.dynamics.mujoco.derivatives import _groups, nominal_next  # noqa: E402
from planlab.dynamics.mujoco.trees import column_groups, tree_partition  # noqa: E402
from planlab.envs.mujoco_models import GymReacher, ReacherTargetCost  # noqa: E402
from planlab.planners.trajopt import ILQR  # noqa: E402

# two arms side by side on the world, RK4 (finite differences through rollouts); the left one has two
# joints, a motor each and an activation (a filtered motor); the right one one joint and a motor
TWO_ARMS = """
<mujoco>
  <option timestep="0.01" gravity="0 0 -10" integrator="RK4"/>
  <worldbody>
    <body name="left" pos="-0.3 0 0"><joint name="l1" type="hinge" axis="0 1 0" damping="0.05"/>
      <geom type="capsule" fromto="0 0 0 0 0 -0.4" size="0.05" mass="1" CONTACT/>
      <body pos="0 0 -0.4"><joint name="l2" type="hinge" axis="0 1 0" range="-1 1" limited="true"/>
        <geom type="capsule" fromto="0 0 0 0 0 -0.4" size="0.05" mass="0.5" CONTACT/><site name="crank"/></body>
    </body>
    <body name="right" pos="0.3 0 0"><joint name="r1" type="slide" axis="1 0 0" range="-0.5 0.5" limited="true"/>
      <geom type="box" size="0.1 0.1 0.1" mass="1" CONTACT/><site name="slider" pos="0 0 0.1"/>
    </body>
  </worldbody>
  <actuator><motor joint="l1" ctrlrange="-2 2"/><general joint="l2" dyntype="filter" dynprm="0.05" ctrlrange="-1 1"/>
    <motor joint="r1" ctrlrange="-3 3"/></actuator>
  EXTRA
</mujoco>
"""


def _model(contact='contype="0" conaffinity="0"', extra=""):
    return MujocoDynamics(TWO_ARMS.replace("CONTACT", contact).replace("EXTRA", extra), frame_skip=2, nthread=1,
                          centered_jacobians=False)


def _ungrouped(dyn, X, U, centered):
    dyn.grouped_jacobians = False
    try:
        return dyn.jacobians(X, U, centered=centered)
    finally:
        dyn.grouped_jacobians = True


def test_partition_of_reacher_and_two_arms():
    reacher = GymReacher(nthread=1)
    state, ctrl, why = tree_partition(mujoco, reacher.model)
    assert why is None
    # qpos (arm 2, target 2), qvel (same), two motors on the arm
    np.testing.assert_array_equal(state, [0, 0, 1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal(ctrl, [0, 0])
    _, _, groups = _groups(reacher)
    assert len(groups) == 6  # 11 rollout rows per point -> 7 (forward differences)
    arms = _model()
    state, ctrl, why = tree_partition(mujoco, arms.model)
    assert why is None
    np.testing.assert_array_equal(state, [0, 0, 1, 0, 0, 1, 0])  # qpos, qvel, the filter's activation
    np.testing.assert_array_equal(ctrl, [0, 0, 1])
    cols = np.concatenate([state, ctrl])
    groups = column_groups(cols)
    assert len(groups) == 7  # the left arm's 7 columns; the right one's 3 ride along
    for g in groups:
        assert len(set(cols[g])) == len(g)  # at most one column of each tree per group
    assert sorted(np.concatenate(groups)) == list(range(cols.size))


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("which", ["reacher", "reacher, 2 threads", "arms"])
def test_grouped_jacobians_equal_the_ungrouped_ones(which, centered, rng):
    dyn = GymReacher(nthread=2 if "2" in which else 1) if "reacher" in which else _model()
    T = 6
    X = rng.normal(size=(T, dyn.state_dim)) * 0.6  # joint limits active in some rows
    U = rng.uniform(dyn.action_low, dyn.action_high, size=(T, dyn.action_dim))
    A, B = dyn.jacobians(X, U, centered=centered)
    A0, B0 = _ungrouped(dyn, X, U, centered)
    assert not np.allclose(A0, np.eye(dyn.state_dim))  # a real Jacobian
    np.testing.assert_allclose(A, A0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(B, B0, rtol=0, atol=1e-9)


@pytest.mark.parametrize("contact, extra, reason", [
    ("", "", "may collide"),  # default contype/conaffinity 1: the boxes can touch the arm
    ('contype="0" conaffinity="0"', '<equality><joint joint1="l1" joint2="r1"/></equality>', "eq elements"),
    ('contype="0" conaffinity="0"', '<tendon><fixed name="t"><joint joint="l1" coef="1"/><joint joint="r1" coef="1"/>'
                                    '</fixed></tendon>', "tendon elements"),
    ('contype="0" conaffinity="0"', '<actuator><general cranksite="crank" slidersite="slider" cranklength="0.7"/>'
                                    '</actuator>', "acts on no single tree"),
])
def test_coupled_trees_are_not_grouped(contact, extra, reason, rng):
    dyn = _model(contact, extra)
    _, _, why = tree_partition(mujoco, dyn.model)
    assert why is not None and reason in why
    assert len(_groups(dyn)[2]) == dyn.state_dim + dyn.action_dim
    X = rng.normal(size=(3, dyn.state_dim)) * 0.3
    U = np.clip(rng.uniform(-1, 1, size=(3, dyn.action_dim)), dyn.action_low, dyn.action_high)
    A, B = dyn.jacobians(X, U)
    A0, B0 = _ungrouped(dyn, X, U, False)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(B, B0)


def test_an_installed_callback_turns_grouping_off():
    dyn = _model()
    assert len(_groups(dyn)[2]) == 7
    mujoco.set_mjcb_control(lambda m, d: None)
    try:
        assert len(_groups(dyn)[2]) == dyn.state_dim + dyn.action_dim
    finally:
        mujoco.set_mjcb_control(None)
    assert len(_groups(dyn)[2]) == 7


def test_nominal_next_reuses_the_forward_difference_rollout_only_at_the_same_points(rng):
    dyn = GymReacher(nthread=1, centered_jacobians=False)
    X = rng.normal(size=(5, 8)) * 0.3
    U = rng.uniform(-1, 1, size=(5, 2))
    dyn.jacobians(X, U)
    calls = []
    step = dyn.step
    dyn.step = lambda x, u: calls.append(1) or step(x, u)
    np.testing.assert_array_equal(nominal_next(dyn, X, U), step(X, U))
    assert calls == []  # from the Jacobians' rollout
    np.testing.assert_array_equal(nominal_next(dyn, X, U), step(X, U))
    assert calls == [1]  # used once: the second call steps
    dyn.jacobians(X, U)
    X2 = X.copy()
    X2[2, 1] += 1e-3
    np.testing.assert_array_equal(nominal_next(dyn, X2, U), step(X2, U))
    assert calls == [1, 1]  # other points: a new step, not the cached one


@pytest.mark.filterwarnings("ignore:iLQR. stopped at max_iterations")
def test_ilqr_plans_the_same_with_and_without_grouping():
    import gymnasium

    env = gymnasium.make("Reacher-v5")
    env.reset(seed=4)
    x0 = np.concatenate([env.unwrapped.data.qpos, env.unwrapped.data.qvel])
    env.close()
    plans = []
    for grouped in (True, False):
        dyn = GymReacher(nthread=1, centered_jacobians=False)
        dyn.grouped_jacobians = grouped
        plans.append(ILQR(dyn, ReacherTargetCost(dyn), horizon=10, max_iterations=6, derivatives="fd",
                          background_compile=False).plan(x0))
    assert plans[0].diagnostics["iterations"] == plans[1].diagnostics["iterations"] >= 2
    np.testing.assert_allclose(plans[0].actions, plans[1].actions, rtol=0, atol=1e-9)
    assert plans[0].cost == pytest.approx(plans[1].cost, rel=1e-12)
