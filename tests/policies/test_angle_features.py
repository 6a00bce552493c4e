"""SAC's angle_features: the networks see sin/cos of the chosen observation components, nothing else changes."""

import numpy as np
import pytest
import torch

from planlab.policies.features import AngleFeatures
from planlab.policies.offpolicy import SAC, SACConfig


def test_angle_features_are_the_other_components_then_sin_then_cos():
    obs = torch.tensor([[0.5, -1.0, 2.0, 3.0], [1.0, 7.0, -0.2, 0.0]], dtype=torch.float64)
    got = AngleFeatures(4, (2, 0))(obs).numpy()
    o = obs.numpy()
    want = np.column_stack([o[:, 1], o[:, 3], np.sin(o[:, 2]), np.sin(o[:, 0]), np.cos(o[:, 2]), np.cos(o[:, 0])])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_sac_with_angle_features_does_not_tell_apart_angles_a_full_turn_apart():
    sac = SAC("planlab/CartPoleSwingup-v0", seed=0, angle_features=(2,))
    assert sac.actor.net[0].in_features == 5 and sac.buffer.obs.shape[1] == 4  # the buffer keeps the env's obs
    o = np.array([0.2, -0.1, 2.5, 0.3], dtype=np.float32)
    turned = o + np.array([0, 0, -2 * np.pi, 0], dtype=np.float32)
    np.testing.assert_allclose(sac.predict(o)[0], sac.predict(turned)[0], atol=1e-6)
    raw = SAC("planlab/CartPoleSwingup-v0", seed=0)
    assert raw.actor.features is None and raw.actor.net[0].in_features == 4
    assert not np.allclose(raw.predict(o)[0], raw.predict(turned)[0], atol=1e-6)  # raw angles differ


def test_a_saved_sac_with_angle_features_loads_and_acts_the_same(tmp_path):
    sac = SAC("planlab/CartPoleSwingup-v0", seed=1, angle_features=(2,))
    same = SAC.load(sac.save(tmp_path / "sac"))
    o = np.array([[0.2, -0.1, 2.5, 0.3], [0.0, 1.0, -7.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(same.predict(o)[0], sac.predict(o)[0])
    assert same.config.angle_features == (2,)


@pytest.mark.parametrize("value", [(1, 1), (-1,), (0.5,), (True,)])
def test_bad_angle_features_raise_an_error_naming_them(value):
    with pytest.raises(ValueError, match="angle_features"):
        SACConfig(angle_features=value)


def test_angle_features_beyond_the_observation_raise_an_error_naming_them():
    with pytest.raises(ValueError, match="angle_features: expected indices below the observation size 4"):
        SAC("planlab/CartPoleSwingup-v0", angle_features=(4,))


def test_default_is_the_raw_observation():
    assert SACConfig().angle_features == ()
