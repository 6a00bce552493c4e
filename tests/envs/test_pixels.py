"""The pixel-observation wrapper: uint8 channels-first frames, action repeat, frame stack, state in info."""

import gymnasium
import numpy as np
import pytest

import planlab  # noqa: F401  (registers planlab's envs)
from planlab.envs.pixels import PixelObservation, frame_to_chw


def _make(**kw):
    return PixelObservation(gymnasium.make("planlab/PendulumSwingup-v0", render_mode="rgb_array"), **kw)


@pytest.mark.parametrize("size,gray,stack", [(32, True, 1), (64, False, 1), (32, False, 3)])
def test_observations_are_uint8_channels_first_frames_of_the_requested_shape(size, gray, stack):
    env = _make(size=size, grayscale=gray, frame_stack=stack)
    obs, info = env.reset(seed=0)
    c = (1 if gray else 3) * stack
    assert obs.shape == (c, size, size) and obs.dtype == np.uint8
    assert env.observation_space.contains(obs)
    obs2, *_ = env.step(np.array([0.5]))
    assert env.observation_space.contains(obs2)
    assert obs.min() < obs.max()  # a drawing, not a blank frame


def test_action_repeat_sums_the_rewards_of_the_unwrapped_env_and_keeps_the_true_state_in_info():
    env = _make(size=32, grayscale=True, action_repeat=3)
    ref = gymnasium.make("planlab/PendulumSwingup-v0")
    _, info = env.reset(seed=4)
    s, _ = ref.reset(seed=4)
    np.testing.assert_array_equal(info["state"], s)
    for a in ([1.0], [-2.0], [0.3]):
        _, r, *_, info = env.step(np.array(a))
        rs = []
        for _ in range(3):
            s, ri, *_ = ref.step(np.array(a))
            rs.append(ri)
        assert r == pytest.approx(sum(rs), rel=1e-12)
        np.testing.assert_array_equal(info["state"], s)


def test_frame_stack_holds_the_last_frames_oldest_first():
    env = _make(size=32, grayscale=True, frame_stack=2)
    single = _make(size=32, grayscale=True)
    obs, _ = env.reset(seed=1)
    o1, _ = single.reset(seed=1)
    np.testing.assert_array_equal(obs[0], obs[1])  # at reset the first frame is repeated
    obs, *_ = env.step(np.array([2.0]))
    o2, *_ = single.step(np.array([2.0]))
    np.testing.assert_array_equal(obs[0], o1[0])
    np.testing.assert_array_equal(obs[1], o2[0])


def test_block_average_resize_equals_the_mean_of_each_pixel_block():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    out = frame_to_chw(frame, 32, grayscale=False)
    ref = frame.astype(float).reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))
    np.testing.assert_array_equal(out, np.rint(ref).astype(np.uint8).transpose(2, 0, 1))


def test_bad_options_raise_errors_naming_the_argument():
    with pytest.raises(ValueError, match="size: expected one of"):
        _make(size=48)
    with pytest.raises(ValueError, match="env: expected an env made with render_mode='rgb_array'"):
        PixelObservation(gymnasium.make("planlab/PendulumSwingup-v0"), size=32)
    with pytest.raises(ValueError, match="action_repeat"):
        _make(size=32, action_repeat=0)
