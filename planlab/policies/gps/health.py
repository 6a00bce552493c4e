r"""Numerical health of a GPS iteration: non-finite or exploding labels, precisions, local costs and fits.

A GPS iteration chains several least-squares and Riccati steps; one that goes wrong (a local controller
whose trajectory distribution diverges under its linear model, states drawn from that distribution,
labels of ``1e20`` through the controller's gains, a regression onto them) poisons every later one,
because the next C-step linearises the badly fitted policy. Nothing of that raises by itself: NumPy and
torch carry ``inf`` and ``1e90`` along. :class:`IterationHealth` collects what each check finds; the loop
writes its :attr:`~IterationHealth.status` and messages into the iteration's progress row, warns
(:class:`GPSNumericalWarning`), and with ``GPSConfig.on_failure="raise"`` raises
:class:`GPSNumericalError` after the checkpoint of the iteration is written.

The checks and what the loop does about each:

* a sampled trajectory that leaves the finite states stops the loop with a ``FloatingPointError`` naming
  the condition (nothing downstream of it can be trusted).
* ``nonfinite_local_cost`` / ``diverged_local_controller`` — the C-step's controller has a non-finite
  predicted cost, or its trajectory distribution's state variance exceeds ``state_var_limit``: the previous
  controller is kept.
* ``nonfinite_labels`` / ``exploding_labels`` / ``nonfinite_precisions`` — S-step rows whose state, label
  or precision is not finite, or whose label exceeds ``label_limit`` times the action scale (half the
  width of a finite action box, else 1): the rows are left out of the fit.
* ``fit_diverged`` — the fit's loss is not finite, or its RMS error exceeds ``fit_limit`` times the RMS of
  the labels (a policy that outputs zero scores 1; at least the action scale): the previous policy is restored.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["GPSNumericalWarning", "GPSNumericalError", "IterationHealth", "action_scale", "screen_rows", "screen_sstep",
           "controller_problem", "fit_diverged"]


class GPSNumericalWarning(RuntimeWarning):
    """A GPS iteration met non-finite or exploding numbers (see :mod:`planlab.policies.gps.health`)."""


class GPSNumericalError(FloatingPointError):
    """Raised with ``GPSConfig.on_failure="raise"`` when an iteration's health check fails."""


class IterationHealth:
    """The problems found in one GPS iteration: ``(code, message)`` pairs."""

    def __init__(self, iteration: int):
        self.iteration = int(iteration)
        self.issues: list[tuple[str, str]] = []

    def flag(self, code: str, message: str) -> None:
        self.issues.append((code, message))

    @property
    def status(self) -> str:
        """``"ok"``, or the distinct problem codes in order of appearance joined by ``","``."""
        codes = list(dict.fromkeys(c for c, _ in self.issues))
        return ",".join(codes) if codes else "ok"

    def report(self, on_failure: str) -> None:
        """Warn (one :class:`GPSNumericalWarning` per iteration) or raise :class:`GPSNumericalError`."""
        if not self.issues:
            return
        text = f"GPS iteration {self.iteration + 1}: " + "; ".join(m for _, m in self.issues)
        if on_failure == "raise":
            raise GPSNumericalError(text)
        warnings.warn(text, GPSNumericalWarning, stacklevel=3)


def action_scale(low, high) -> np.ndarray:
    """Per-component scale of the actions: half the width of a finite box, else 1."""
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    half = 0.5 * (high - low)
    return np.where(np.isfinite(half) & (half > 0), half, 1.0)


def screen_rows(obs, target, prec, scale, label_limit: float, health: IterationHealth, source: str) -> np.ndarray:
    """Boolean mask of the S-step rows that are finite and whose labels are within ``label_limit · scale``;
    flags the rest on ``health`` (``source`` names where the rows came from)."""
    finite_obs = np.all(np.isfinite(obs), axis=1)
    finite_y = np.all(np.isfinite(target), axis=1)
    finite_p = np.all(np.isfinite(prec.reshape(len(prec), -1)), axis=1)
    with np.errstate(invalid="ignore"):
        big = finite_y & np.any(np.abs(target) > label_limit * scale, axis=1)
    keep = finite_obs & finite_y & finite_p & ~big
    n = len(keep)
    if not np.all(finite_obs & finite_y):
        health.flag("nonfinite_labels", f"{source}: {int(np.sum(~(finite_obs & finite_y)))} of {n} S-step rows have "
                    "non-finite states or labels (left out of the fit)")
    if not np.all(finite_p):
        health.flag("nonfinite_precisions", f"{source}: {int(np.sum(~finite_p))} of {n} S-step precisions are not "
                    "finite (left out of the fit)")
    if np.any(big):
        health.flag("exploding_labels", f"{source}: {int(np.sum(big))} of {n} S-step labels exceed {label_limit:g} x "
                    f"the action scale (largest |u| = {np.max(np.abs(target[big])):.3g}; left out of the fit)")
    return keep


def screen_sstep(obs, target, prec, source, dynamics, label_limit: float, health: IterationHealth) -> np.ndarray:
    """:func:`screen_rows` over each source of S-step rows (``source``: condition index, or -1 for relabelled
    states); returns the mask of rows to fit."""
    scale = action_scale(dynamics.action_low, dynamics.action_high)
    keep = np.ones(len(obs), dtype=bool)
    for i in np.unique(source):
        rows = source == i
        name = "relabelled states" if i < 0 else f"conditions[{i}] controller labels"
        keep[rows] = screen_rows(obs[rows], target[rows], prec[rows], scale, label_limit, health, name)
    return keep


def controller_problem(predicted_cost: float, traj, nx: int, state_var_limit: float) -> tuple[str, str] | None:
    """``(code, message)`` when a C-step's controller is numerically unusable (``traj``: its trajectory
    distribution under the local model), else None."""
    if not np.isfinite(predicted_cost):
        return "nonfinite_local_cost", f"the C-step's predicted cost is {predicted_cost}"
    var = np.diagonal(traj.sigma[:, :nx, :nx], axis1=1, axis2=2)
    worst = float(np.max(var)) if np.all(np.isfinite(var)) else float("inf")
    if worst > state_var_limit:
        return ("diverged_local_controller", f"the C-step's controller diverges under its linear model "
                f"(state variance {worst:.3g} > state_var_limit {state_var_limit:g})")
    return None


def fit_diverged(losses, fit_rms: float, label_rms: float, fit_limit: float, scale: float = 1.0) -> str | None:
    """Why a policy fit counts as diverged (a message), or None: a non-finite loss or output, or an RMS error
    above ``fit_limit`` times the larger of the labels' RMS and the action ``scale``."""
    if len(losses) and not np.isfinite(losses[-1]):
        return f"the S-step fit's loss is not finite ({losses[-1]})"
    if not np.isfinite(fit_rms):
        return f"the fitted policy's outputs are not finite (RMS error {fit_rms})"
    if fit_rms > fit_limit * max(label_rms, scale):
        return (f"the S-step fit diverged: RMS error {fit_rms:.3g} > {fit_limit:g} x max(the labels' RMS {label_rms:.3g}, "
                f"the action scale {scale:.3g}) (the previous policy is kept)")
    return None
