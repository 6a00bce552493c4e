"""Configuration and result types of learned models: :class:`ModelConfig` and :class:`Prediction`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ...core.validation import check_in, check_positive_int

__all__ = ["ModelConfig", "Prediction", "PROPAGATIONS", "ACTIVATIONS"]

#: particle propagation schemes of Chua et al. 2018 (see :mod:`planlab.dynamics.learned.propagation`)
PROPAGATIONS = ("ts1", "tsinf", "expectation")
#: hidden-layer activations of :class:`~planlab.dynamics.learned.network.EnsembleNet`
ACTIVATIONS = ("silu", "relu", "tanh")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and propagation of a learned model (see :mod:`planlab.dynamics.learned.model`).

    Parameters
    ----------
    members : int
        Ensemble size E (1 = a single network).
    hidden : tuple of int
        Hidden layer widths.
    probabilistic : bool
        Gaussian heads (mean and soft-bounded log-variance, NLL loss) or deterministic (MSE).
    activation : {"silu", "relu", "tanh"}
    propagation : {"ts1", "tsinf", "expectation"}
    particles : int
        Particles P per action sequence in :meth:`LearnedDynamics.rollout_cost` (forced to 1 for
        ``"expectation"`` and for a deterministic single network, where particles coincide).
    elites : int or None
        Members used for prediction after training (the best on held-out data); None = all.
    learn_reward : bool
        Also predict the reward (then :meth:`LearnedDynamics.rollout_cost` can plan without a cost).
    init_min_logvar, init_max_logvar : float
        Initial soft bounds of the log-variance (normalised units); both are learned.
    """

    members: int = 5
    hidden: tuple = (200, 200, 200, 200)
    probabilistic: bool = True
    activation: str = "silu"
    propagation: str = "tsinf"
    particles: int = 20
    elites: int | None = None
    learn_reward: bool = False
    init_min_logvar: float = -10.0
    init_max_logvar: float = 0.5

    def __post_init__(self):
        check_positive_int("members", self.members)
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for h in self.hidden:
            check_positive_int("hidden", h)
        check_in("activation", self.activation, set(ACTIVATIONS))
        check_in("propagation", self.propagation, set(PROPAGATIONS))
        check_positive_int("particles", self.particles)
        if self.elites is not None:
            check_positive_int("elites", self.elites)
            if self.elites > self.members:
                raise ValueError(f"elites: expected at most members ({self.members}), got {self.elites}")
        if not self.init_min_logvar < self.init_max_logvar:
            raise ValueError(f"init_min_logvar: expected < init_max_logvar ({self.init_max_logvar}), "
                             f"got {self.init_min_logvar}")


class Prediction(NamedTuple):
    """One-step predictive distribution of an ensemble (float64 numpy).

    Attributes
    ----------
    mean : (..., nx)
        Mean next state, averaged over members.
    epistemic_var : (..., nx)
        Variance of the members' means (model uncertainty).
    aleatoric_var : (..., nx)
        Mean of the members' predicted variances (noise; zero for deterministic members).
    member_means : (E, ..., nx)
        Each member's mean next state.
    reward : (...) or None
        Mean predicted reward when the model learns rewards.
    """

    mean: np.ndarray
    epistemic_var: np.ndarray
    aleatoric_var: np.ndarray
    member_means: np.ndarray
    reward: np.ndarray | None

    @property
    def variance(self) -> np.ndarray:
        """Total predictive variance = epistemic + aleatoric (law of total variance)."""
        return self.epistemic_var + self.aleatoric_var
