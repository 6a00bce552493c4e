"""MuJoCo models as planlab dynamics (optional extra: ``pip install planlab[mujoco]``).

* :class:`MujocoDynamics` — any MJCF model as a :class:`~planlab.core.Dynamics`: state
  ``(qpos, qvel, act)``, frame skip, control box from ``ctrlrange``, batched threaded rollouts through
  ``mujoco.rollout``, Jacobians from ``mjd_transitionFD``;
* :class:`MujocoCost`, :class:`TaskCost` — costs over site/body positions, joints, sensors and
  control effort, evaluated in the same batched pass.

Importing this package works without MuJoCo; constructing a model then raises an ImportError that
names the extra.
"""

from .cost import MujocoCost, TaskCost
from .loading import INSTALL_HINT, load_model, require_mujoco
from .model import MujocoDynamics, default_threads

__all__ = ["MujocoDynamics", "MujocoCost", "TaskCost", "load_model", "require_mujoco", "INSTALL_HINT",
           "default_threads"]
