"""Learned dynamics: transition data, MLP / Gaussian MLP / bootstrap-ensemble models (Lakshminarayanan
et al. 2017; PETS, Chua et al. 2018) behind the :class:`~planlab.core.Dynamics` contract, and their trainer.

Modules: ``data`` (transitions), ``config`` (ModelConfig, Prediction), ``network`` (the batched
ensemble MLP), ``normalization`` (features, targets, normalisers), ``propagation`` (TS1, TS∞,
expectation), ``model`` (LearnedDynamics), ``io`` (save/load), ``threads``, ``trainer`` (fit).

>>> from planlab.dynamics.learned import LearnedDynamics, ModelConfig, TransitionBuffer, fit
"""

from .data import TransitionBuffer
from .config import PROPAGATIONS, ModelConfig, Prediction
from .model import LearnedDynamics
from .threads import torch_threads
from .trainer import FIT_EARLY_STOPPED, FIT_NAN_LOSS, FIT_OK, FitResult, TrainConfig, fit

__all__ = ["TransitionBuffer", "LearnedDynamics", "ModelConfig", "Prediction", "PROPAGATIONS", "TrainConfig",
           "FitResult", "fit", "FIT_OK", "FIT_EARLY_STOPPED", "FIT_NAN_LOSS", "for_model", "torch_threads"]


def for_model(dynamics, config: ModelConfig | None = None, *, seed=None, threads=None) -> LearnedDynamics:
    """A learned model with the state/action spaces, bounds, dt and angles of ``dynamics``.

    Parameters
    ----------
    dynamics : Dynamics
        E.g. ``planlab.envs.models.model_for("Pendulum-v1")[0]``; only its interface is used (and its
        ``state_from_observation``, so ``run_episode`` can drive gymnasium's env with the learned model).
    """
    model = LearnedDynamics(dynamics.state_dim, dynamics.action_dim, dynamics.action_low, dynamics.action_high,
                            dynamics.dt, config=config, angle_indices=dynamics.angle_indices, seed=seed,
                            threads=threads, state_names=dynamics.state_names, action_names=dynamics.action_names)
    model.observation_model = dynamics  # observation <-> state maps (e.g. Pendulum-v1's cos/sin observation)
    return model
