"""Frames at the boundary of latent models: uint8 in, float inside.

Images enter planlab's latent models as uint8 arrays ``(..., C, H, W)`` and become float32 in
``[-0.5, 0.5]`` inside (PlaNet's preprocessing, without the bit-depth noise).
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_frames", "frames_to_float"]


def check_frames(name: str, frames, channels: int, size: int, *, leading: int | None = None) -> np.ndarray:
    """Validate uint8 frames of shape ``(..., channels, size, size)``.

    Parameters
    ----------
    name : str
        Argument name for error messages.
    frames : ndarray
    channels, size : int
    leading : int, optional
        Required number of leading (batch/time) dimensions.

    Returns
    -------
    ndarray
        ``frames`` itself (uint8).

    Raises
    ------
    TypeError
        Not a uint8 array (floats are rejected: the scaling is the model's job).
    ValueError
        Wrong shape or channel count.
    """
    if not isinstance(frames, np.ndarray):
        raise TypeError(f"{name}: expected a numpy uint8 array, got {type(frames).__name__}")
    if frames.dtype != np.uint8:
        raise TypeError(f"{name}: expected dtype uint8, got {frames.dtype}")
    lead = "..." if leading is None else ", ".join(["N"] * leading) if leading else ""
    expected = f"({lead + ', ' if lead else ''}{channels}, {size}, {size})"
    if frames.ndim < 3 or (leading is not None and frames.ndim != 3 + leading):
        raise ValueError(f"{name}: expected shape {expected}, got {frames.shape}")
    if frames.shape[-3] != channels:
        raise ValueError(f"{name}: expected {channels} channel(s) in shape {expected}, got {frames.shape[-3]} "
                         f"(shape {frames.shape})")
    if frames.shape[-2:] != (size, size):
        raise ValueError(f"{name}: expected shape {expected}, got {frames.shape}")
    return frames


def frames_to_float(frames: np.ndarray):
    """uint8 frames (..., C, H, W) -> float32 torch tensor in [-0.5, 0.5]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0).sub_(0.5)
