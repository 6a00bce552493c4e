"""planlab: model-based planning and control.

Dynamics models (analytic systems, learned models) feed interchangeable planners inside a
receding-horizon MPC loop. Importing planlab registers its gymnasium environments
(``planlab/PendulumSwingup-v0``, ...).
"""

__version__ = "0.1.0"

from . import envs as _envs  # noqa: E402  (registers the gymnasium ids)

__all__ = ["__version__"]
