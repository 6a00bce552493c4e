"""planlab's eight analytic systems, each written once (see :mod:`planlab.dynamics.analytic`)."""

from .acrobot import Acrobot
from .cartpole import CartPole
from .double_integrator import DoubleIntegrator
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
           "Quadrotor2D", "SYSTEMS"]
