"""planlab's analytic systems, each written once (see :mod:`planlab.dynamics.analytic`).

``SYSTEMS`` lists the eight continuous-state systems; the gridworld and the chain (discrete states,
used by the tree-search planners and tabular learners) are exported beside them.
"""

from .acrobot import Acrobot
from .cartpole import CartPole
from .chain import Chain, ChainCost, ChainParams
from .double_integrator import DoubleIntegrator
from .gridworld import GridWorld, GridWorldCost, value_iteration
from .mountain_car import MountainCar
from .pendulum import Pendulum
from .quadrotor2d import Quadrotor2D
from .two_link_arm import TwoLinkArm
from .unicycle import Unicycle

SYSTEMS = {
    "pendulum": Pendulum,
    "cartpole": CartPole,
    "acrobot": Acrobot,
    "mountaincar": MountainCar,
    "doubleintegrator": DoubleIntegrator,
    "twolinkarm": TwoLinkArm,
    "unicycle": Unicycle,
    "quadrotor2d": Quadrotor2D,
}

__all__ = ["Pendulum", "CartPole", "Acrobot", "MountainCar", "DoubleIntegrator", "TwoLinkArm", "Unicycle",
           "Quadrotor2D", "SYSTEMS",
           "GridWorld", "GridWorldCost", "value_iteration", "Chain", "ChainCost", "ChainParams"]
