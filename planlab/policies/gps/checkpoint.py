"""Checkpoints of the GPS loop: ``progress.jsonl``, ``checkpoint.npz``, ``policy.pt``, ``config.json``."""

from __future__ import annotations

import json

import numpy as np

from .global_policy import GaussianMLPPolicy
from .linear_gaussian import LinearGaussianController

__all__ = ["write_checkpoint", "read_checkpoint"]


def write_checkpoint(gps, row) -> None:
    """Append ``row`` to ``progress.jsonl`` and write the policy, the controllers, ε and the relabelled data
    of :class:`~planlab.policies.gps.loop.GPS` ``gps`` to its ``out`` directory (atomically), and the plot."""
    gps.out.mkdir(parents=True, exist_ok=True)
    with open(gps.out / "progress.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    gps.policy.save(gps.out / "policy.pt")
    arrays = {"epsilon": gps.epsilon, "iteration": np.array(gps.iteration), "agg_obs": gps._agg[0],
              "agg_u": gps._agg[1], "agg_p": gps._agg[2]}
    for i, c in enumerate(gps.controllers):
        K, k = c.affine()
        arrays[f"K{i}"], arrays[f"k{i}"], arrays[f"cov{i}"] = K, k, c.cov
        arrays[f"prev{i}"] = np.array(gps._prev[i] if gps._prev[i] is not None else [np.nan, np.nan])
    tmp = gps.out / "checkpoint.tmp.npz"
    np.savez(tmp, **arrays)
    tmp.replace(gps.out / "checkpoint.npz")
    (gps.out / "config.json").write_text(json.dumps(gps.config.to_dict()))
    gps.plot(gps.out / "learning_curve.png")

def read_checkpoint(gps) -> None:
    """Restore a :class:`~planlab.policies.gps.loop.GPS` ``gps`` from its ``out`` directory (same configuration only)."""
    saved = json.loads((gps.out / "config.json").read_text())
    if saved != json.loads(json.dumps(gps.config.to_dict())):
        raise ValueError(f"out: {gps.out} holds a run with another configuration; use a new directory")
    data = np.load(gps.out / "checkpoint.npz", allow_pickle=False)
    gps.iteration = int(data["iteration"])
    gps.epsilon = data["epsilon"].copy()
    gps._agg = (data["agg_obs"].copy(), data["agg_u"].copy(), data["agg_p"].copy())
    M = len(gps.conditions)
    gps.controllers = [LinearGaussianController.from_affine(data[f"K{i}"], data[f"k{i}"], data[f"cov{i}"]) for i in range(M)]
    gps._prev = [None if np.isnan(data[f"prev{i}"][0]) else tuple(data[f"prev{i}"]) for i in range(M)]
    gps.policy = GaussianMLPPolicy.load(gps.out / "policy.pt")
    lines = (gps.out / "progress.jsonl").read_text().splitlines()
    gps.curve = [json.loads(s) for s in lines][: gps.iteration]
