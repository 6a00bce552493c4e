"""Settings of the global policy of guided policy search (:class:`~planlab.policies.gps.global_policy.GaussianMLPPolicy`)."""

from __future__ import annotations

from dataclasses import dataclass

from ...core.validation import check_positive, check_positive_int

__all__ = ["GlobalPolicyConfig"]


@dataclass(frozen=True)
class GlobalPolicyConfig:
    """Settings of :class:`GaussianMLPPolicy`.

    Attributes
    ----------
    hidden : tuple of int
        Hidden widths (``()`` = a linear policy).
    activation : {"tanh", "relu"}
    epochs : int
        Passes over the data per :meth:`~GaussianMLPPolicy.fit`.
    batch_size : int
    lr : float
        Adam learning rate.
    weight_decay : float
    angle_indices : tuple of int
        State components fed to the network as ``(sin, cos)``.
    optimizer : {"adam", "lbfgs"}
        Minibatch Adam, or full-batch L-BFGS with ``epochs`` iterations (small or linear policies).
    seed : int
        Initial weights and minibatch order.
    normalization : {"first", "refit"}
        The input normalisation (per-feature mean and standard deviation) is taken from the data of the first
        :meth:`~GaussianMLPPolicy.fit` and kept (``"first"``), or taken anew from the rows of every fit
        (``"refit"``; rows with weight 0 do not count) with the first layer rescaled so that the network's
        function is unchanged before training continues — data that arrive later (states a policy visits,
        relabelled by an expert) may lie far outside the first fit's range.
    box_loss : bool
        The executed action is the mean clipped to the action box: a label on a bound of the box counts as
        met by any output at or beyond that bound (the residual ``min(μ, high) - high`` for labels at
        ``high``, likewise at ``low``), so the network need not hold saturated outputs exactly at the
        bound (default False: plain residuals; needs ``action_low``/``action_high`` on the policy).
    feature_map : str or None
        A named input map of :mod:`~planlab.policies.gps.features` (e.g. ``"reach2link"``: goal-relative
        features of the 2-link reacher) used instead of ``angle_indices``; None = the state as is (with
        ``angle_indices``).
    """

    hidden: tuple = (64, 64)
    activation: str = "tanh"
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    angle_indices: tuple = ()
    optimizer: str = "adam"
    seed: int = 0
    normalization: str = "first"
    feature_map: str | None = None
    box_loss: bool = False

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.feature_map is not None and self.angle_indices:
            raise ValueError(f"angle_indices: expected () with feature_map={self.feature_map!r} (the map makes the "
                             f"features), got {tuple(self.angle_indices)}")
        object.__setattr__(self, "angle_indices", tuple(int(i) for i in self.angle_indices))
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden: expected positive widths, got {self.hidden}")
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"activation: expected 'tanh' or 'relu', got {self.activation!r}")
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValueError(f"optimizer: expected 'adam' or 'lbfgs', got {self.optimizer!r}")
        if self.normalization not in ("first", "refit"):
            raise ValueError(f"normalization: expected 'first' or 'refit', got {self.normalization!r}")
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive("lr", self.lr)
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay: expected a value >= 0, got {self.weight_decay}")
