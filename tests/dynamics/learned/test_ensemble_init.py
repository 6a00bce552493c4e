"""The ensemble's weights start as in PETS: normal with std 1 / (2 sqrt(fan_in)), truncated at two std."""

import math

import torch

from planlab.dynamics.learned.network import EnsembleNet


def test_initial_weights_are_truncated_at_two_standard_deviations():
    fan_in = 200
    net = EnsembleNet(2, fan_in, 3, (300,), False, "swish", -10.0, 0.5, generator=torch.Generator().manual_seed(0))
    w = net.weights[0].detach()
    std = 1.0 / (2.0 * math.sqrt(fan_in))
    assert float(w.abs().max()) <= 2.0 * std
    assert float(w.abs().max()) > 1.95 * std  # 120 000 draws reach the truncation point
    # the std of a normal truncated at +-2 sigma is 0.880 sigma
    assert abs(float(w.std()) / std - 0.8796) < 0.01
