"""The learning-curve plot ``Trainer.learn`` writes next to its ``progress.jsonl``."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_learning_curve"]


def plot_learning_curve(rows: list[dict], path, title: str = "") -> None:
    """Save the evaluation returns (and training-episode returns) against env steps as a PNG.

    Parameters
    ----------
    rows : list of dict
        ``Trainer.curve``: each row has ``step``, ``eval_mean``, ``eval_std`` and optionally ``train_mean``.
    path : str or Path
        The PNG to write.
    title : str
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    mean = np.array([r["eval_mean"] for r in rows])
    std = np.array([r["eval_std"] for r in rows])
    ax.plot(steps, mean, label="evaluation (deterministic)")
    ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
    tr = [(r["step"], r["train_mean"]) for r in rows if r.get("train_mean") is not None]
    if tr:
        ax.plot(*zip(*tr), label="training episodes", alpha=0.7)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
