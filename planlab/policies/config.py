"""The config fields every model-free trainer shares (each algorithm's config subclasses it)."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.validation import check_positive, check_probability

__all__ = ["TrainerConfig"]


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    """Fields every algorithm's config has. Subclasses add their own (all with defaults).

    Parameters
    ----------
    gamma : float in [0, 1]
        Discount factor of the return ``sum_t gamma^t r_t``.
    lr : float > 0
        Learning rate (Adam).
    hidden : tuple of int
        Hidden layer widths of every MLP.
    """

    gamma: float = 0.99
    lr: float = 3e-4
    hidden: tuple = (64, 64)

    def __post_init__(self):
        check_probability("gamma", self.gamma)
        check_positive("lr", self.lr)
        h = tuple(self.hidden)
        if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x > 0 for x in h):
            raise ValueError(f"hidden: expected a tuple of positive ints, got {self.hidden!r}")
        object.__setattr__(self, "hidden", tuple(int(x) for x in h))

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict (what ``Trainer.save`` writes)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """The config saved by :meth:`to_dict`; unknown fields raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"config: unknown field(s) {sorted(unknown)} for {cls.__name__}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
