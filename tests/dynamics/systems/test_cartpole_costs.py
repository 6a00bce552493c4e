"""Cart-pole costs of gymnasium's CartPole-v1: the plain -1 per step and the cart-centring variant for planners."""

import numpy as np
import pytest

from planlab.dynamics.systems.cartpole import CartPoleCentredGymCost, CartPoleGymCost


def test_centred_cost_is_minus_one_plus_the_weighted_squared_track_fraction():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2.4, 2.4, size=(50, 4))
    u = rng.integers(0, 2, size=(50, 1)).astype(float)
    c = CartPoleCentredGymCost(0.3)
    np.testing.assert_allclose(c.running(x, u), -1.0 + 0.3 * (x[:, 0] / 2.4) ** 2, rtol=1e-12)
    np.testing.assert_allclose(CartPoleCentredGymCost(0.5, x_threshold=1.0).running(x, u), -1.0 + 0.5 * x[:, 0] ** 2,
                               rtol=1e-12)
    # weight 0 is gymnasium's negated reward; below weight 1 every step inside the track still pays
    np.testing.assert_array_equal(CartPoleCentredGymCost(0.0).running(x, u), CartPoleGymCost().running(x, u))
    assert np.all(CartPoleCentredGymCost(0.99).running(x, u) < 0)


@pytest.mark.parametrize("kwargs, match", [({"weight": 1.0}, "weight"), ({"weight": -0.1}, "weight"),
                                           ({"x_threshold": 0.0}, "x_threshold")])
def test_centred_cost_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CartPoleCentredGymCost(**kwargs)
