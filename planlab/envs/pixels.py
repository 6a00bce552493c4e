"""Pixel observations: a gymnasium wrapper that replaces an env's observation by rendered frames.

:class:`PixelObservation` wraps any env that renders ``rgb_array`` frames (planlab's numpy renderers,
gymnasium's own envs where they render) and returns uint8 observations of shape
``(stack * C, size, size)`` (channels first), ``C = 1`` (grayscale) or 3 (RGB), the newest frame
last. Options: action repeat (each action is applied ``action_repeat`` times, rewards summed, as in
PlaNet, Hafner et al. 2019) and frame stacking. The wrapped env's own observation (the true state) is
kept in ``info["state"]`` for evaluation only.

>>> import gymnasium, planlab  # doctest: +SKIP
>>> env = PixelObservation(gymnasium.make("planlab/PendulumSwingup-v0", render_mode="rgb_array"), size=32)
>>> obs, info = env.reset(seed=0)  # doctest: +SKIP
>>> obs.shape, obs.dtype  # doctest: +SKIP
((1, 32, 32), dtype('uint8'))
"""

from __future__ import annotations

from collections import deque

import gymnasium
import numpy as np
from gymnasium import spaces

from ..core.validation import check_positive_int

__all__ = ["PixelObservation", "frame_to_chw", "IMAGE_SIZES"]

#: image sizes the wrapper (and planlab's latent models) support
IMAGE_SIZES = (32, 64)

_GRAY = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma weights


def frame_to_chw(frame: np.ndarray, size: int, grayscale: bool) -> np.ndarray:
    """An ``rgb_array`` frame (H, W, 3) uint8 as a (C, size, size) uint8 image.

    The frame is resized by averaging blocks when ``H`` and ``W`` are multiples of ``size`` and by
    nearest-pixel sampling otherwise; grayscale uses the BT.601 luma weights.
    """
    f = np.asarray(frame)
    if f.ndim != 3 or f.shape[2] < 3:
        raise ValueError(f"frame: expected an rgb_array frame of shape (H, W, 3), got {f.shape}")
    f = f[..., :3].astype(np.float64)
    h, w = f.shape[:2]
    if h % size == 0 and w % size == 0:
        f = f.reshape(size, h // size, size, w // size, 3).mean(axis=(1, 3))
    else:
        rows = ((np.arange(size) + 0.5) * h / size).astype(int)
        cols = ((np.arange(size) + 0.5) * w / size).astype(int)
        f = f[rows][:, cols]
    if grayscale:
        f = (f @ _GRAY)[..., None]
    return np.clip(np.rint(f), 0, 255).astype(np.uint8).transpose(2, 0, 1).copy()


class PixelObservation(gymnasium.Wrapper):
    """Rendered frames as observations: uint8 ``(frame_stack * C, size, size)``.

    Parameters
    ----------
    env : gymnasium.Env
        Made with ``render_mode="rgb_array"``. planlab's envs are asked to render at ``size``
        directly (their ``render_size``), others are resized.
    size : {32, 64}
    grayscale : bool
        One channel (luma) instead of RGB.
    action_repeat : int
        Each action is applied this many times; the rewards are summed and the episode stops at the
        first termination or truncation.
    frame_stack : int
        The observation holds the last ``frame_stack`` frames (oldest first; at reset the first
        frame is repeated).

    Notes
    -----
    ``info["state"]`` holds the wrapped env's observation (for planlab's envs, the true state) after
    the step; use it for evaluation only, never as an input to a pixel agent.
    """

    def __init__(self, env: gymnasium.Env, *, size: int = 64, grayscale: bool = False, action_repeat: int = 1,
                 frame_stack: int = 1):
        super().__init__(env)
        if size not in IMAGE_SIZES:
            raise ValueError(f"size: expected one of {IMAGE_SIZES}, got {size!r}")
        if env.render_mode != "rgb_array":
            raise ValueError(f"env: expected an env made with render_mode='rgb_array', got {env.render_mode!r}")
        self.size = int(size)
        self.grayscale = bool(grayscale)
        self.action_repeat = check_positive_int("action_repeat", action_repeat)
        self.frame_stack = check_positive_int("frame_stack", frame_stack)
        self.channels = 1 if self.grayscale else 3
        if hasattr(env.unwrapped, "render_size"):  # planlab's renderers draw at any size
            env.unwrapped.render_size = self.size
        self.observation_space = spaces.Box(0, 255, shape=(self.frame_stack * self.channels, self.size, self.size),
                                            dtype=np.uint8)
        self._frames: deque = deque(maxlen=self.frame_stack)

    def _frame(self) -> np.ndarray:
        frame = self.env.render()
        if frame is None:
            raise RuntimeError("env.render() returned None; make the env with render_mode='rgb_array'")
        return frame_to_chw(frame, self.size, self.grayscale)

    def _obs(self) -> np.ndarray:
        return np.concatenate(list(self._frames), axis=0)

    def reset(self, *, seed=None, options=None):
        state, info = self.env.reset(seed=seed, options=options)
        frame = self._frame()
        self._frames.clear()
        for _ in range(self.frame_stack):
            self._frames.append(frame)
        return self._obs(), {**info, "state": np.array(state, copy=True)}

    def step(self, action):
        total = 0.0
        terminated = truncated = False
        info = {}
        state = None
        for _ in range(self.action_repeat):
            state, r, terminated, truncated, info = self.env.step(action)
            total += float(r)
            if terminated or truncated:
                break
        self._frames.append(self._frame())
        return self._obs(), total, terminated, truncated, {**info, "state": np.array(state, copy=True)}
