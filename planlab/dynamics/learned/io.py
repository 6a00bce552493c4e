"""Saving and loading learned models: the network's state dict (``torch.save``) and a JSON config.

Nothing loaded runs code: the weights are read with ``torch.load(weights_only=True)`` and the
constructor arguments from JSON.
"""

from __future__ import annotations

import json
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
    """Build a ``cls`` (a ``LearnedDynamics`` class) from files written by :func:`save_model`."""
    path = Path(path).with_suffix(".pt")
    cfg = json.loads(path.with_suffix(".json").read_text())
    mc = dict(cfg.pop("config"))
    mc["hidden"] = tuple(mc["hidden"])
    model = cls(cfg["state_dim"], cfg["action_dim"], cfg["action_low"], cfg["action_high"], cfg["dt"],
                config=ModelConfig(**mc), angle_indices=cfg["angle_indices"], seed=cfg["seed"],
                threads=cfg["threads"], state_names=cfg["state_names"], action_names=cfg["action_names"])
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.net.load_state_dict(state)
    model.invalidate()
    return model
