"""Training a latent model on sequences: :func:`fit_latent`.

Adam (PlaNet's settings: learning rate 1e-3, epsilon 1e-4, gradient norm clipped at 1000) on chunks
drawn from an :class:`~planlab.dynamics.latent.data.EpisodeBuffer`. Each call seeds its own torch
random stream (chunk choice, decoded frames and latent samples) and either starts a fresh optimiser
or continues one passed in (:func:`make_optimizer`; PlaNet keeps Adam's moments across the whole
run, and so does the loop, which saves the optimiser's state with every checkpoint), so a run
resumed from a checkpoint trains exactly as the uninterrupted one. A non-finite loss stops the call, restores
the weights from before it and reports the status ``"nan_loss"`` (never a silent NaN model).
"""

from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass

import numpy as np
import torch

from ..learned.threads import torch_threads
from .config import LatentTrainConfig
from .data import EpisodeBuffer
from .frames import frames_to_float

__all__ = ["fit_latent", "make_optimizer", "LatentFitResult", "FIT_OK", "FIT_NAN_LOSS"]

FIT_OK = "ok"
FIT_NAN_LOSS = "nan_loss"


@dataclass
class LatentFitResult:
    """Outcome of :func:`fit_latent`.

    Attributes
    ----------
    status : {"ok", "nan_loss"}
    history : list of dict
        Every update's loss terms (floats): ``loss``, ``recon``, ``reward`` and ``kl`` (RSSM) or
        ``transition`` (deterministic), ``overshooting`` when configured.
    """

    status: str
    history: list

    def mean(self, key: str, last: int | None = None) -> float:
        """Mean of one loss term over the (last ``last``) updates."""
        vals = [h[key] for h in self.history[-last if last else 0:]]
        return float(np.mean(vals)) if vals else math.nan


def make_optimizer(model, config: LatentTrainConfig | None = None) -> torch.optim.Adam:
    """Adam over ``model.net``'s parameters with PlaNet's settings (``config.lr``, epsilon 1e-4)."""
    config = config or LatentTrainConfig()
    return torch.optim.Adam(model.net.parameters(), lr=config.lr, eps=1e-4)


def _check_optimizer(optimizer, net) -> None:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer: expected a torch.optim.Optimizer, got {type(optimizer).__name__}")
    have = {id(p) for g in optimizer.param_groups for p in g["params"]}
    want = {id(p) for p in net.parameters()}
    if have != want:
        raise ValueError(f"optimizer: expected the {len(want)} parameters of this model's network, got "
                         f"{len(have)} parameters, {len(have - want)} of them not the model's")


def fit_latent(model, buffer: EpisodeBuffer, config: LatentTrainConfig | None = None, *, seed: int = 0,
               progress: bool | None = None, optimizer: torch.optim.Optimizer | None = None) -> LatentFitResult:
    """Train ``model`` (a :class:`~planlab.dynamics.latent.LatentDynamics`) on ``buffer``.

    Parameters
    ----------
    model : LatentDynamics
    buffer : EpisodeBuffer
        Frames of the model's channels and size.
    config : LatentTrainConfig, optional
    seed : int
        Seeds chunk sampling and the latent noise of this call.
    progress : bool, optional
        A tqdm bar (quiet off a terminal); default ``config.progress``.
    optimizer : torch.optim.Optimizer, optional
        Continue this optimiser (from :func:`make_optimizer` on this model); None: a fresh Adam.
        On a non-finite loss its state is restored with the weights.

    Returns
    -------
    LatentFitResult
    """
    config = config or LatentTrainConfig()
    if not isinstance(config, LatentTrainConfig):
        raise TypeError(f"config: expected a LatentTrainConfig, got {type(config).__name__}")
    if not isinstance(buffer, EpisodeBuffer):
        raise TypeError(f"buffer: expected an EpisodeBuffer, got {type(buffer).__name__}")
    c = model.config
    if (buffer.channels, buffer.size, buffer.action_dim) != (c.channels, c.image_size, c.action_dim):
        raise ValueError(f"buffer: expected frames ({c.channels}, {c.image_size}, {c.image_size}) and "
                         f"action_dim {c.action_dim}, got ({buffer.channels}, {buffer.size}, {buffer.size}) "
                         f"and {buffer.action_dim}")
    net = model.net
    rng = np.random.default_rng(seed)
    backup = copy.deepcopy(net.state_dict())
    if optimizer is not None:
        _check_optimizer(optimizer, net)
    opt = optimizer if optimizer is not None else make_optimizer(model, config)
    opt_backup = copy.deepcopy(opt.state_dict()) if optimizer is not None else None
    history, status = [], FIT_OK
    show = config.progress if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, unit="update", desc="latent fit", leave=False, disable=not sys.stderr.isatty())
    net.train()
    try:
        with torch_threads(model.threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for _ in range(config.steps):
                frames, actions, rewards = buffer.sample(config.batch, config.length, rng)
                index = None
                if config.recon_fraction < 1.0:
                    n = frames.shape[0] * frames.shape[1]
                    index = torch.randperm(n)[:max(1, int(round(config.recon_fraction * n)))]
                terms = net.loss(frames_to_float(frames), torch.from_numpy(actions), torch.from_numpy(rewards),
                                 recon_index=index)
                loss = terms["loss"]
                if not torch.isfinite(loss):
                    status = FIT_NAN_LOSS
                    net.load_state_dict(backup)
                    if opt_backup is not None:
                        opt.load_state_dict(opt_backup)
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
                opt.step()
                history.append({k: float(v.detach()) for k, v in terms.items()})
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{history[-1]['loss']:.1f}")
    finally:
        net.eval()
        if bar is not None:
            bar.close()
    return LatentFitResult(status, history)
