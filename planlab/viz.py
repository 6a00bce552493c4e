"""Pictures of what a controller did: a plot of an episode and a video of its rendered frames.

* :func:`plot_episode` draws states (angles wrapped), actions, cost per step and the planner's time
  per plan of an :class:`~planlab.episodes.EpisodeResult` into a PNG (or any format matplotlib
  writes), with matplotlib's Agg backend (no display needed).
* :func:`save_video` writes frames (``run_episode(..., render=True)`` collects them) as a GIF
  (imageio + pillow) or an MP4 (imageio with its ffmpeg plugin, ``pip install imageio-ffmpeg``).

``planlab run --plot PATH --save-video PATH`` calls both.

Examples
--------
>>> import gymnasium as gym
>>> from planlab.episodes import mpc_for_env, run_episode
>>> env = gym.make("Pendulum-v1", render_mode="rgb_array")
>>> result = run_episode(env, mpc_for_env(env, "shooting", horizon=10, population=50, seed=0), steps=3,
...                      seed=0, render=True)
>>> len(result.frames)
4
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_episode", "save_video", "VIDEO_SUFFIXES"]

#: file suffixes :func:`save_video` writes
VIDEO_SUFFIXES = (".gif", ".mp4")


def _names(prefix: str, names, n: int):
    names = tuple(names) if names else ()
    return names if len(names) == n else tuple(f"{prefix}{i}" for i in range(n))


def plot_episode(result, path, *, title: str = "", state_names=None, action_names=None) -> Path:
    """Plot an episode: states, actions, cost per step and plan time, one panel each.

    Parameters
    ----------
    result : EpisodeResult
        ``states`` (T + 1, nx), ``actions`` (T, nu), ``rewards`` (T,), ``plan_times`` (n_plans,);
        its ``angle_indices`` components are drawn wrapped to ``[-pi, pi)``.
    path : str or Path
        Output file; the suffix picks the format (``.png``, ``.pdf``, ``.svg``).
    title : str
    state_names, action_names : sequence of str, optional
        Legend labels (default ``x0, x1, ...`` and ``u0, ...``).

    Returns
    -------
    Path
        ``path``.
    """
    for attr in ("states", "actions", "rewards", "plan_times"):
        if not hasattr(result, attr):
            raise TypeError(f"result: expected an EpisodeResult (with {attr}), got {type(result).__name__}")
    states = np.asarray(result.wrapped_states() if hasattr(result, "wrapped_states") else result.states, float)
    actions = np.asarray(result.actions, float)
    costs = -np.asarray(result.rewards, float)
    if states.ndim != 2 or actions.ndim != 2 or len(states) != len(actions) + 1 or len(costs) != len(actions):
        raise ValueError(f"result: expected states (T + 1, nx), actions (T, nu), rewards (T,), got "
                         f"{states.shape}, {actions.shape}, {costs.shape}")
    path = Path(path)
    if not path.suffix:
        raise ValueError(f"path: expected a file name with a suffix such as .png, got {str(path)!r}")
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    dt_steps = np.arange(len(states))
    fig = Figure(figsize=(7, 8), dpi=100)
    axes = fig.subplots(4, 1, sharex=False)
    for i, name in enumerate(_names("x", state_names, states.shape[1])):
        axes[0].plot(dt_steps, states[:, i], label=name, lw=1.2)
    axes[0].set_ylabel("state")
    axes[0].legend(fontsize=7, loc="upper right", ncol=min(4, states.shape[1]))
    for i, name in enumerate(_names("u", action_names, actions.shape[1])):
        axes[1].step(dt_steps[:-1], actions[:, i], where="post", label=name, lw=1.2)
    axes[1].set_ylabel("action")
    axes[1].legend(fontsize=7, loc="upper right")
    axes[2].plot(dt_steps[:-1], costs, color="tab:red", lw=1.2)
    axes[2].set_ylabel("cost per step")
    plan_ms = 1e3 * np.asarray(result.plan_times, float)
    if plan_ms.size:
        axes[3].plot(np.arange(plan_ms.size), plan_ms, ".", color="tab:gray", ms=3)
        axes[3].axhline(float(np.median(plan_ms)), color="k", lw=0.8, label=f"median {np.median(plan_ms):.3g} ms")
        axes[3].legend(fontsize=7, loc="upper right")
        if plan_ms.min() > 0:
            axes[3].set_yscale("log")  # a first plan that compiles would flatten the rest
    axes[3].set_ylabel("plan time (ms)")
    axes[3].set_xlabel("plan")
    axes[2].set_xlabel("step")
    for ax in axes:
        ax.grid(alpha=0.3)
    success = getattr(result, "success", None)
    head = title or "episode"
    head += f": return {float(np.sum(result.rewards)):.4g}, {len(actions)} steps"
    if success is not None:
        head += f", success={success}"
    fig.suptitle(head, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return path


def save_video(frames, path, fps: float = 30.0) -> Path:
    """Write frames as a GIF or an MP4.

    Parameters
    ----------
    frames : sequence of ndarray (H, W, 3) or (H, W, 4), uint8 (floats in [0, 1] are scaled)
        All of one size; ``run_episode(..., render=True)`` collects them in ``result.frames``.
    path : str or Path
        ``.gif`` (imageio + pillow) or ``.mp4`` (needs imageio's ffmpeg plugin: ``pip install
        imageio-ffmpeg``; without it a ``RuntimeError`` says so).
    fps : float
        Frames per second (> 0).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"path: expected a file ending in {' or '.join(VIDEO_SUFFIXES)}, got {str(path)!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps: expected a positive number, got {fps!r}")
    if frames is None or isinstance(frames, (str, bytes)):
        raise TypeError(f"frames: expected a sequence of images (H, W, 3), got {type(frames).__name__}")
    imgs = [np.asarray(f) for f in frames]
    if not imgs:
        raise ValueError("frames: expected at least one frame, got none (run the episode with render=True)")
    shape = imgs[0].shape
    for i, f in enumerate(imgs):
        if f.ndim != 3 or f.shape[-1] not in (3, 4) or f.shape != shape:
            raise ValueError(f"frames: expected images of one shape (H, W, 3|4), got {f.shape} at index {i} "
                             f"(first: {shape})")
        if f.dtype != np.uint8:
            if not np.issubdtype(f.dtype, np.number) or not np.all(np.isfinite(f)):
                raise ValueError(f"frames: expected uint8 or finite float images, got {f.dtype} at index {i}")
            imgs[i] = np.clip(np.rint(f * 255.0 if f.max(initial=0) <= 1.0 else f), 0, 255).astype(np.uint8)
    import imageio.v3 as iio

    if suffix == ".gif":
        iio.imwrite(path, np.stack(imgs), extension=".gif", duration=1000.0 / fps, loop=0)
        return path
    try:
        import imageio_ffmpeg  # noqa: F401  (imageio's mp4 writer)
    except ImportError:
        raise RuntimeError(f"path: writing {suffix} needs imageio's ffmpeg plugin (pip install imageio-ffmpeg); "
                           f"use a .gif path instead") from None
    iio.imwrite(path, np.stack(imgs), extension=suffix, fps=fps, codec="libx264", macro_block_size=1)
    return path
