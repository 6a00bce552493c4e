"""Pieces of the GPS loop that need none of its state: success tests, the sampled-dynamics prior, the plot."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ...core.ops import wrap_angle
from .local_dynamics import DynamicsPrior

__all__ = ["hold_success", "window_prior", "plot_curve"]


def hold_success(index: int = 2, tol: float = 0.2, steps: int = 40, *, angle: bool = True) -> Callable:
    """``success(states (N, T + 1, nx)) -> (N,) bool``: ``|x[index]| < tol`` (wrapped) for the last ``steps`` states."""
    def success(states, inputs=None):
        v = states[:, -steps:, index]
        v = wrap_angle(v) if angle else v
        return np.all(np.abs(v) < tol, axis=1)
    return success


def window_prior(X, U, window: int, strength: float) -> DynamicsPrior:
    """Per-step Gaussian over ``(x, u, x')`` pooled over steps ``t - window .. t + window`` of all samples."""
    Z = np.concatenate([X[:, :-1], U, X[:, 1:]], axis=2)
    T, nz = Z.shape[1], Z.shape[2]
    mu = np.empty((T, nz))
    sig = np.empty((T, nz, nz))
    for t in range(T):
        z = Z[:, max(0, t - window):t + window + 1].reshape(-1, nz)
        mu[t] = z.mean(axis=0)
        d = z - mu[t]
        sig[t] = d.T @ d / max(len(z) - 1, 1) + 1e-6 * np.eye(nz)
    return DynamicsPrior(mu, sig, float(strength))


def plot_curve(curve: list[dict], path) -> None:
    """Held-out success rate and sample cost of the rows of :attr:`GPS.curve` against iterations, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    its = [r["iteration"] for r in curve]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(its, [r["sample_cost"] for r in curve], "o-", label="samples: mean cost")
    ax.set_xlabel("GPS iteration")
    ax.set_ylabel("cost")
    if any(r["heldout_success"] is not None for r in curve):
        ax2 = ax.twinx()
        ax2.plot(its, [r["heldout_success"] for r in curve], "s-", color="C1", label="global policy: held-out success")
        ax2.set_ylim(-0.05, 1.05)
        ax2.set_ylabel("held-out success rate")
        ax2.legend(loc="center right")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
