"""Settings of latent models and their training: :class:`LatentConfig`, :class:`LatentTrainConfig`."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...core.validation import check_in, check_nonnegative, check_positive, check_positive_int

__all__ = ["LatentConfig", "LatentTrainConfig", "KINDS", "IMAGE_SIZES"]

#: ``"rssm"``: PlaNet's recurrent state-space model; ``"deterministic"``: the encoder g(o) = s
KINDS = ("rssm", "deterministic")
IMAGE_SIZES = (32, 64)


@dataclass(frozen=True)
class LatentConfig:
    """Architecture of a latent model (see :mod:`planlab.dynamics.latent.models`).

    Parameters
    ----------
    kind : {"rssm", "deterministic"}
    image_size : {32, 64}
        Frames are (channels, image_size, image_size) uint8.
    channels : int
        Image channels (1 gray, 3 RGB, times the frame stack).
    action_dim : int
    depth : int
        Channels of the first convolution (doubled per layer, as in PlaNet's encoder).
    deter : int
        RSSM: units of the deterministic recurrent state h (a GRU).
    stoch : int
        RSSM: size of the stochastic latent z; deterministic model: size of s = g(o).
    embed : int
        Size of the image embedding fed to the posterior (RSSM).
    hidden : int
        Width of the MLPs (transition, posterior, reward).
    min_std : float
        Lower bound of the latent standard deviations (PlaNet: 0.1).
    free_nats : float
        KL below this many nats per step is not penalised (PlaNet: 3).
    kl_balance : float in [0, 1] or None
        RSSM: None trains on the plain KL; a number ``b`` is KL balancing (DreamerV2): the prior gets
        ``b`` and the posterior ``1 - b`` of the KL's gradient (DreamerV2 and the default: 0.8; on
        pixel-pendulum data it gave better open-loop predictions than the plain KL, docs/latent.md).
    overshooting : int
        Extra prediction distance D >= 0 of the multi-step loss (0: one-step only). RSSM: latent
        overshooting (KL of the d-step prior, d = 2..D+1); deterministic: squared error of the
        d-step prediction of g(o_{t+d}).
    reward_overshooting : int
        Open-loop reward loss over D >= 0 decisions (0: off): from the latent of every frame ``t`` of a
        training chunk, the model is rolled forward open loop (``imagine``: prior means, what planning
        rolls out) under the taken actions for ``d = 1..D`` decisions, and the reward model is fitted to
        ``r_{t+d}`` on those imagined latents as well (the gradient reaches the transition too). The
        planner sums the reward over exactly such latents, which the one-step terms never train.
    members : int
        Transition heads (an ensemble for uncertainty; 1 = one head). Each planning sequence uses
        one head for its whole horizon; training averages the heads' losses.
    encoder_size : {None, 32, 64}
        Size of the frame the encoder sees (None: ``image_size``). 32 with 64x64 frames: the encoder
        reads a 2x2-averaged 32x32 copy (three convolutions instead of four) while the decoder and its
        reconstruction loss stay on the 64x64 frames.
    """

    kind: str = "rssm"
    image_size: int = 32
    channels: int = 1
    action_dim: int = 1
    depth: int = 16
    deter: int = 32
    stoch: int = 16
    embed: int = 128
    hidden: int = 64
    min_std: float = 0.1
    free_nats: float = 3.0
    kl_balance: float | None = 0.8
    overshooting: int = 0
    reward_overshooting: int = 0
    members: int = 1
    encoder_size: int | None = None

    def __post_init__(self):
        check_in("kind", self.kind, set(KINDS))
        if self.image_size not in IMAGE_SIZES:
            raise ValueError(f"image_size: expected one of {IMAGE_SIZES}, got {self.image_size!r}")
        for name in ("channels", "action_dim", "depth", "deter", "stoch", "embed", "hidden", "members"):
            check_positive_int(name, getattr(self, name))
        check_nonnegative("min_std", self.min_std)
        check_nonnegative("free_nats", self.free_nats)
        if self.kl_balance is not None and not (isinstance(self.kl_balance, (int, float))
                                                and 0.0 <= self.kl_balance <= 1.0):
            raise ValueError(f"kl_balance: expected None or a number in [0, 1], got {self.kl_balance!r}")
        check_positive_int("overshooting", self.overshooting, minimum=0)
        check_positive_int("reward_overshooting", self.reward_overshooting, minimum=0)
        if self.encoder_size is not None and (self.encoder_size not in IMAGE_SIZES
                                              or self.encoder_size > self.image_size):
            raise ValueError(f"encoder_size: expected None or one of {IMAGE_SIZES} not above image_size "
                             f"{self.image_size}, got {self.encoder_size!r}")

    @property
    def state_dim(self) -> int:
        """Size of the latent state the planners see: ``deter + stoch`` (RSSM) or ``stoch``."""
        return self.deter + self.stoch if self.kind == "rssm" else self.stoch

    @property
    def encoder_pool(self) -> int:
        """The averaging factor of frames before the encoder: ``image_size / encoder_size`` (1: none)."""
        return 1 if self.encoder_size is None else self.image_size // self.encoder_size


@dataclass(frozen=True)
class LatentTrainConfig:
    """Training of a latent model on sequences (see :func:`planlab.dynamics.latent.fit_latent`).

    Parameters
    ----------
    steps : int
        Gradient updates per call.
    batch : int
        Sequences per update.
    length : int
        Transitions per sequence (frames: length + 1).
    lr : float
        Adam learning rate (PlaNet: 1e-3, eps 1e-4).
    grad_clip : float
        Global gradient-norm clip (PlaNet: 1000).
    recon_fraction : float in (0, 1]
        Share of each update's frames that are decoded for the reconstruction term (drawn at random
        without replacement; the mean over them estimates the mean over all frames without bias). The
        encoder, filter, KL and reward terms always see all frames; the decoder is about half of an
        update's cost, so a fraction below 1 buys more updates per CPU second.
    progress : bool
    """

    steps: int = 100
    batch: int = 16
    length: int = 16
    lr: float = 1e-3
    grad_clip: float = 1000.0
    recon_fraction: float = 1.0
    progress: bool = True

    def __post_init__(self):
        for name in ("steps", "batch", "length"):
            check_positive_int(name, getattr(self, name))
        check_positive("lr", self.lr)
        check_positive("grad_clip", self.grad_clip)
        if not (isinstance(self.recon_fraction, (int, float)) and 0.0 < self.recon_fraction <= 1.0):
            raise ValueError(f"recon_fraction: expected a number in (0, 1], got {self.recon_fraction!r}")
        if not math.isfinite(self.lr):
            raise ValueError(f"lr: expected a finite number, got {self.lr}")
