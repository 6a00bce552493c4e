"""Latent dynamics from pixels: encoder, latent transition, reward and decoder models behind the
:class:`~planlab.core.Dynamics` contract (PlaNet's RSSM, Hafner et al. 2019; the deterministic
encoder of the latent-model objective, after Watter et al. 2015), and their trainer.

Modules: ``config`` (LatentConfig, LatentTrainConfig), ``frames`` (uint8 validation, scaling),
``nets`` (convolutional encoder/decoder), ``models`` (RSSM, DeterministicLatent, losses), ``dynamics``
(LatentDynamics, LatentRewardCost), ``data`` (EpisodeBuffer), ``trainer`` (fit_latent, make_optimizer), ``diagnostics``
(reward_sum_errors: the learned reward summed open loop and along the filter against the env's).

>>> from planlab.dynamics.latent import LatentConfig, LatentDynamics, EpisodeBuffer, fit_latent

Names load on first use (torch is imported only then).
"""

from ...core.lazy import lazy_names

_LAZY = {
    "LatentConfig": "config", "LatentTrainConfig": "config", "KINDS": "config",
    "check_frames": "frames", "frames_to_float": "frames",
    "RSSM": "models", "DeterministicLatent": "models", "kl_free_nats": "models", "build_net": "models",
    "LatentDynamics": "dynamics", "LatentRewardCost": "dynamics", "frames_from_float": "dynamics",
    "EpisodeBuffer": "data", "reward_sum_errors": "diagnostics",
    "fit_latent": "trainer", "make_optimizer": "trainer", "LatentFitResult": "trainer", "FIT_OK": "trainer", "FIT_NAN_LOSS": "trainer",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_names(globals(), _LAZY)
