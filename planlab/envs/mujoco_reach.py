r"""A first guess for trajectory optimisation on ``Reacher-v5``: joint-space PD control to the target's angles.

iLQR from zero controls starts where the arm barely moves and the terminal cost's gradient is
small; it then spends most of its iterations finding the direction of the reach. A guess that already
ends near the target leaves iLQR only the refinement. :func:`reacher_reach_controls`:

1. **Inverse kinematics.** The two-link planar arm (link lengths and base from the model) puts its
   fingertip on the target at the joint angles

   .. math::

       q_2 = \pm\arccos\frac{r^2 - l_1^2 - l_2^2}{2 l_1 l_2}, \qquad
       q_1 = \operatorname{atan2}(p_y, p_x) - \operatorname{atan2}(l_2 \sin q_2, l_1 + l_2 \cos q_2),

   with ``p`` the target relative to the arm's base and ``r = |p|`` (clamped to the reachable annulus);
   of the two elbow solutions the one nearer the current angles (``q_1`` wrapped to within ``pi`` of
   the current shoulder angle, ``q_2`` clipped to the elbow joint's range).
2. **PD control.** The model is simulated for ``horizon`` steps under
   ``u = clip(k_p (q^* - q) - k_d \dot q)`` (the actuators' control units, clipped to the control box)
   and the controls applied are the guess.

It is a guess, not a solution: the controls are not optimal (they often saturate), and iLQR may
converge from it to a different local optimum than from zero controls.
"""

from __future__ import annotations

import numpy as np

from ..core.validation import as_float_array, check_nonnegative, check_positive_int
from ..dynamics.mujoco.trajectory import MujocoTrajectory
from .mujoco_models import GymReacher

__all__ = ["reacher_reach_angles", "reacher_reach_controls"]


def _arm_geometry(dynamics: GymReacher):
    m, mj = dynamics.model, dynamics._mj
    ids = [mj.mj_name2id(m, mj.mjtObj.mjOBJ_BODY, name) for name in ("body0", "body1", "fingertip")]
    base = np.asarray(m.body_pos[ids[0]][:2], dtype=np.float64)
    l1 = float(np.linalg.norm(m.body_pos[ids[1]][:2]))
    l2 = float(np.linalg.norm(m.body_pos[ids[2]][:2]))
    elbow = np.asarray(m.jnt_range[1], dtype=np.float64) if bool(m.jnt_limited[1]) else np.array([-np.pi, np.pi])
    return base, l1, l2, elbow


def reacher_reach_angles(dynamics: GymReacher, x) -> np.ndarray:
    """Arm joint angles (2,) that put the fingertip on the target of state ``x`` (8,) (see the module)."""
    if not isinstance(dynamics, GymReacher):
        raise TypeError(f"dynamics: expected a GymReacher, got {type(dynamics).__name__}")
    x = as_float_array("x", x, shape=(dynamics.state_dim,))
    base, l1, l2, elbow = _arm_geometry(dynamics)
    p = dynamics.position(dynamics.sensors(x), "body:target")[:2] - base
    r = float(np.clip(np.linalg.norm(p), abs(l1 - l2), l1 + l2))
    c2 = float(np.clip((r * r - l1 * l1 - l2 * l2) / (2.0 * l1 * l2), -1.0, 1.0))
    best, best_d = None, np.inf
    for sign in (1.0, -1.0):
        q2 = float(np.clip(sign * np.arccos(c2), elbow[0], elbow[1]))
        q1 = float(np.arctan2(p[1], p[0]) - np.arctan2(l2 * np.sin(q2), l1 + l2 * np.cos(q2)))
        q1 = x[0] + (q1 - x[0] + np.pi) % (2.0 * np.pi) - np.pi  # the shoulder turns freely: nearest copy
        d = abs(q1 - x[0]) + abs(q2 - x[1])
        if d < best_d:
            best, best_d = np.array([q1, q2]), d
    return best


def reacher_reach_controls(dynamics: GymReacher, x0, horizon: int, *, kp: float = 1.0, kd: float = 0.1) -> np.ndarray:
    """Controls (horizon, 2) of joint-space PD control from ``x0`` (8,) to :func:`reacher_reach_angles`.

    Parameters
    ----------
    dynamics : GymReacher
    x0 : ndarray, shape (8,)
    horizon : int
    kp, kd : float >= 0
        Gains in control units per radian and per radian/s (the defaults saturate the controls until
        the arm is close, then brake).

    Returns
    -------
    ndarray, shape (horizon, 2), inside the control box.
    """
    if not isinstance(dynamics, GymReacher):
        raise TypeError(f"dynamics: expected a GymReacher, got {type(dynamics).__name__}")
    T = check_positive_int("horizon", horizon)
    kp, kd = check_nonnegative("kp", kp), check_nonnegative("kd", kd)
    x0 = as_float_array("x0", x0, shape=(dynamics.state_dim,))
    q = reacher_reach_angles(dynamics, x0)
    nx, nq = dynamics.state_dim, dynamics.nq
    K = np.zeros((T, 2, nx))
    K[:, [0, 1], [0, 1]] = -kp
    K[:, [0, 1], [nq, nq + 1]] = -kd
    Xref = np.tile(x0, (T + 1, 1))
    Xref[:, :2] = q
    Xref[:, nq:nq + 2] = 0.0
    stepper = getattr(dynamics, "_reach_stepper", None)
    if stepper is None:
        stepper = dynamics._reach_stepper = MujocoTrajectory(dynamics, None)
    X = np.empty((T + 1, nx))
    U = np.zeros((T, 2))  # an unstable simulation leaves the steps after it at 0
    zeros = np.zeros((T, 2))
    stepper.simulate(x0, zeros, X, None, K=K, Xref=Xref, k=zeros, alpha=0.0, Uout=U)
    return U
