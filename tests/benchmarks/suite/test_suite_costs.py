"""The energy-shaped planning cost of Acrobot-v1: its energy is the acrobot's (conserved without torque)."""

import math

import numpy as np

from planlab.benchmarks.suite.costs import AcrobotEnergyCost, acrobot_energy
from planlab.dynamics import Acrobot
from planlab.dynamics.systems.acrobot import AcrobotParams


def test_energy_is_conserved_along_torque_free_motion():
    params = AcrobotParams(dt=0.005)
    sys_ = Acrobot(params=params)
    p = np.array(AcrobotEnergyCost(params=params).params, dtype=float)
    x = np.array([1.0, -0.5, 0.3, -0.2])
    energies = []
    for _ in range(400):  # 2 s of swinging
        energies.append(acrobot_energy(x, p))
        x = sys_.step(x, np.zeros(1))
    energies = np.array(energies)
    assert np.ptp(energies) < 1e-6 * np.abs(energies).max()


def test_cost_is_one_hanging_at_rest_and_zero_at_the_goal():
    cost = AcrobotEnergyCost(weight=0.5)
    u = np.zeros(1)
    hanging = np.zeros(4)
    assert float(cost.running(hanging, u, hanging)) == 1.0  # energy 0 on the normalised scale
    up = np.array([math.pi, 0.0, 0.0, 0.0])
    assert float(cost.running(up, u, up)) == 0.0
    swinging = np.array([2.0, 0.0, 0.0, 0.0])  # higher energy, not yet at the goal: cheaper than hanging
    assert 0.5 <= float(cost.running(swinging, u, swinging)) < 1.0
