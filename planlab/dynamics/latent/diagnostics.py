"""How well a latent model predicts what the planner sums: :func:`reward_sum_errors`.

For every start ``t`` of an episode, the learned reward summed over ``horizon`` decisions of the
taken actions is compared with the env's sum ``r_t + ... + r_{t+H-1}``, two ways:

* ``open``: rolled open loop from the filtered latent of frame ``t`` (``rollout_cost`` with the
  model's own reward, the planner's computation);
* ``filtered``: on the filtered latents of the frames themselves (the reward model alone).

A model whose ``filtered`` error is small but ``open`` error large has a good reward model on a
transition model that drifts: the planner is misled by the prediction, not by the reward.
"""

from __future__ import annotations

import numpy as np
import torch

from ...core.validation import as_float_array, check_positive_int
from ..learned.threads import torch_threads

__all__ = ["reward_sum_errors"]


def reward_sum_errors(model, frames, actions, rewards, horizon: int = 12, *, stride: int = 1, latents=None) -> dict:
    """Errors (predicted minus true) of ``horizon``-decision reward sums along one episode.

    Parameters
    ----------
    model : LatentDynamics
    frames : ndarray (T + 1, C, S, S) uint8
    actions : array_like (T, nu)
    rewards : array_like (T,)
    horizon : int
        Decisions per sum (the planner's horizon); at most T.
    stride : int
        Every ``stride``-th start ``t = 0, stride, ...`` with ``t + horizon <= T``.
    latents : ndarray (T + 1, nx), optional
        The filtered latents of ``frames`` if already computed (``model.filter_sequence``).

    Returns
    -------
    dict
        ``starts`` (n,), ``true`` (n,), ``open`` (n,) and ``filtered`` (n,) errors, and the summaries
        ``open_median_abs``, ``open_bias`` (mean), ``filtered_median_abs``, ``filtered_bias``.
    """
    frames = model.check_frames(frames, "frames", leading=1)
    T = frames.shape[0] - 1
    actions = as_float_array("actions", actions, shape=(T, model.action_dim))
    rewards = as_float_array("rewards", rewards, shape=(T,))
    check_positive_int("horizon", horizon)
    check_positive_int("stride", stride)
    if horizon > T:
        raise ValueError(f"horizon: expected at most the episode's {T} decisions, got {horizon}")
    if latents is None:
        latents = model.filter_sequence(frames, actions)
    latents = as_float_array("latents", latents, shape=(T + 1, model.state_dim))
    starts = np.arange(0, T - horizon + 1, stride)
    windows = np.stack([actions[t:t + horizon] for t in starts])
    true = np.array([rewards[t:t + horizon].sum() for t in starts])
    open_sum = -model.rollout_cost(latents[starts], windows, model.reward_cost())
    with torch_threads(model.threads), torch.inference_mode():
        per_step = model.net.reward(torch.tensor(latents[:-1], dtype=torch.float32),
                                    torch.tensor(actions, dtype=torch.float32)).double().numpy()
    filt_sum = np.array([per_step[t:t + horizon].sum() for t in starts])
    out = {"starts": starts, "true": true, "open": open_sum - true, "filtered": filt_sum - true}
    for key in ("open", "filtered"):
        out[f"{key}_median_abs"] = float(np.median(np.abs(out[key])))
        out[f"{key}_bias"] = float(np.mean(out[key]))
    return out
