"""Saving and loading learned models: the network's state dict (``torch.save``) and a JSON config.

Nothing loaded runs code: the weights are read with ``torch.load(weights_only=True)`` and the
constructor arguments from JSON.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import torch

from ...core.files import atomic_write
from .config import ModelConfig

__all__ = ["model_config_dict", "save_model", "load_model"]


def model_config_dict(model) -> dict:
    """JSON-serialisable constructor arguments of a ``LearnedDynamics``."""
    return {
        "state_dim": model.state_dim, "action_dim": model.action_dim,
        "action_low": model.action_low.tolist(), "action_high": model.action_high.tolist(), "dt": model.dt,
        "angle_indices": list(model.angle_indices), "seed": model.seed, "threads": model.threads,
        "state_names": list(model.state_names), "action_names": list(model.action_names),
        "config": {**asdict(model.config), "hidden": list(model.config.hidden)},
    }


def save_model(model, path) -> Path:
    """Save ``model`` to ``path`` (``.pt``: the state dict) and ``path.json`` (the config).

    Both files are written to temporaries first and moved into place with ``os.replace``.
    Returns the ``.pt`` path.
    """
    path = Path(path).with_suffix(".pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: torch.save(model.net.state_dict(), f))
    text = json.dumps(model_config_dict(model), indent=1).encode()
    atomic_write(path.with_suffix(".json"), lambda f: f.write(text))
    return path


def load_model(cls, path):
    """Build a ``cls`` (a ``LearnedDynamics`` class) from files written by :func:`save_model`.

    Raises ``TypeError`` for a ``path`` that is not a path, ``FileNotFoundError`` when a file is missing
    and ``ValueError`` naming ``path`` when the files do not hold a planlab model.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or path, got {type(path).__name__}")
    path = Path(path).with_suffix(".pt")
    for p in (path, path.with_suffix(".json")):
        if not p.is_file():
            raise FileNotFoundError(f"path: no planlab model file {p} (save writes {path.name} and "
                                    f"{path.with_suffix('.json').name})")
    try:
        cfg = json.loads(path.with_suffix(".json").read_text())
        mc = dict(cfg.pop("config"))
        mc["hidden"] = tuple(mc["hidden"])
        model = cls(cfg["state_dim"], cfg["action_dim"], cfg["action_low"], cfg["action_high"], cfg["dt"],
                    config=ModelConfig(**mc), angle_indices=cfg["angle_indices"], seed=cfg["seed"],
                    threads=cfg["threads"], state_names=cfg["state_names"], action_names=cfg["action_names"])
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.net.load_state_dict(state)
    except Exception as exc:  # torch.load of a foreign file raises many kinds (struct.error, ...)
        raise ValueError(f"path: {path} does not hold a planlab model ({type(exc).__name__}: "
                         f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})") from exc
    model.invalidate()
    return model
