"""Dynamics models: analytic systems (numba / numpy / torch / casadi from one source), and later learned ones."""

from .analytic import AnalyticSystem
from .systems import (
    SYSTEMS,
    Acrobot,
    CartPole,
    Chain,
    DoubleIntegrator,
    GridWorld,
    MountainCar,
    Pendulum,
    Quadrotor2D,
    TwoLinkArm,
    Unicycle,
)

__all__ = ["AnalyticSystem", "SYSTEMS", "Pendulum", "CartPole", "Acrobot", "MountainCar", "DoubleIntegrator",
           "TwoLinkArm", "Unicycle", "Quadrotor2D", "GridWorld", "Chain"]
