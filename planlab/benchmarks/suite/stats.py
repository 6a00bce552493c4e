"""Statistics of a sweep: robust point estimates with bootstrap intervals, profiles, Pareto fronts.

Following Agarwal et al. 2021 ("Deep reinforcement learning at the edge of the statistical
precipice", the rliable measures): the interquartile mean (IQM: the mean of the middle 50% of the
runs, ``scipy.stats.trim_mean(x, 0.25)``) with percentile-bootstrap 95% intervals; across tasks,
scores are normalised per task (min-max over every run of every planner on that task) and pooled
into the aggregate IQM (stratified bootstrap: runs resampled within each task), performance
profiles (the fraction of runs scoring above ``tau``) and the probability of improvement
``P(X > Y)`` (the Mann-Whitney statistic per task, averaged over tasks). Vectorised numpy, so a
report over thousands of runs takes well under a second.
"""

from __future__ import annotations

import numpy as np

__all__ = ["iqm", "bootstrap_ci", "summarize", "normalized_scores", "aggregate_iqm", "performance_profile",
           "probability_of_improvement", "pareto_front"]


def _as_1d(name, x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    if a.size == 0:
        raise ValueError(f"{name}: expected at least one value, got none")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: expected finite values, got {a[~np.isfinite(a)][:3].tolist()}")
    return a


def _trimmed_sorted(s: np.ndarray) -> np.ndarray:
    """IQM along the last axis of already sorted ``s`` (scipy's trim_mean(., 0.25) rule)."""
    n = s.shape[-1]
    k = int(0.25 * n)
    return s[..., k:n - k].mean(axis=-1)


def iqm(x) -> float:
    """Interquartile mean: mean after cutting ``int(0.25 n)`` values from each end (scipy's ``trim_mean``)."""
    return float(_trimmed_sorted(np.sort(_as_1d("x", x))))


_STATS = {"iqm": lambda s: _trimmed_sorted(s), "mean": lambda s: s.mean(axis=-1),
          "median": lambda s: np.median(s, axis=-1)}


def bootstrap_ci(x, stat: str = "iqm", *, reps: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of ``stat`` (``"iqm"``, ``"mean"``, ``"median"``) of the sample ``x``.

    Parameters
    ----------
    x : array_like (n,)
    reps : int
        Bootstrap resamples.
    level : float
        Coverage, in (0, 1).
    seed : int
        Seed of the resampling (reports are reproducible).

    Returns
    -------
    (low, high) : floats; a single value gives ``(x, x)``.
    """
    a = _as_1d("x", x)
    if stat not in _STATS:
        raise ValueError(f"stat: expected one of {', '.join(_STATS)}, got {stat!r}")
    if not 0 < level < 1:
        raise ValueError(f"level: expected a number in (0, 1), got {level}")
    if a.size == 1:
        return float(a[0]), float(a[0])
    rng = np.random.default_rng(seed)
    samples = np.sort(a[rng.integers(0, a.size, size=(int(reps), a.size))], axis=1)
    vals = _STATS[stat](samples)
    lo, hi = np.percentile(vals, [50 * (1 - level), 100 - 50 * (1 - level)])
    return float(lo), float(hi)


def summarize(values, *, reps: int = 2000, seed: int = 0) -> dict:
    """``n, median, iqm, iqm_low, iqm_high, mean`` of finite ``values`` (NaN entries when none)."""
    a = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if a.size == 0:
        return {"n": 0, "median": float("nan"), "iqm": float("nan"), "iqm_low": float("nan"),
                "iqm_high": float("nan"), "mean": float("nan")}
    lo, hi = bootstrap_ci(a, "iqm", reps=reps, seed=seed)
    return {"n": int(a.size), "median": float(np.median(a)), "iqm": iqm(a), "iqm_low": lo, "iqm_high": hi,
            "mean": float(a.mean())}


def normalized_scores(scores: dict) -> dict:
    """``{task: {planner: returns}}`` -> the same, min-max normalised per task over every run (in [0, 1]).

    A task where every run has the same return scores 1 everywhere (nothing separates the planners).
    """
    out = {}
    for task, by_planner in scores.items():
        allv = np.concatenate([np.asarray(v, float) for v in by_planner.values() if len(v)] or [np.zeros(0)])
        if allv.size == 0:
            continue
        lo, hi = float(allv.min()), float(allv.max())
        span = hi - lo
        out[task] = {p: (np.asarray(v, float) - lo) / span if span > 0 else np.ones(len(v))
                     for p, v in by_planner.items()}
    return out


def aggregate_iqm(per_task: list, *, reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """IQM of runs pooled over tasks, with a stratified-bootstrap 95% interval (runs resampled per task).

    Parameters
    ----------
    per_task : list of array_like
        One planner's normalised scores, one array per task.
    """
    arrs = [_as_1d("per_task", a) for a in per_task]
    point = iqm(np.concatenate(arrs))
    rng = np.random.default_rng(seed)
    boots = np.concatenate([a[rng.integers(0, a.size, size=(reps, a.size))] for a in arrs], axis=1)
    vals = _trimmed_sorted(np.sort(boots, axis=1))
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return point, float(lo), float(hi)


def performance_profile(scores, taus) -> np.ndarray:
    """Fraction of runs with score > tau, for each tau (Dolan & Moré 2002; Agarwal et al. 2021).

    Parameters
    ----------
    scores : array_like (n,)
        Normalised scores of one planner, pooled over tasks.
    taus : array_like (m,)

    Returns
    -------
    ndarray (m,)
    """
    s = _as_1d("scores", scores)
    t = np.asarray(taus, dtype=np.float64).reshape(-1)
    return (s[None, :] > t[:, None]).mean(axis=1)


def _poi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 for the last axis of x (..., n) against y (..., m)."""
    gt = (x[..., :, None] > y[..., None, :]).mean(axis=(-1, -2))
    eq = (x[..., :, None] == y[..., None, :]).mean(axis=(-1, -2))
    return gt + 0.5 * eq


def probability_of_improvement(x_per_task: list, y_per_task: list, *, reps: int = 1000,
                               seed: int = 0) -> tuple[float, float, float]:
    """``P(X > Y)`` averaged over tasks, with a stratified-bootstrap 95% interval.

    Parameters
    ----------
    x_per_task, y_per_task : lists of array_like
        Scores of planners X and Y, one array per task (same tasks, same order).

    Returns
    -------
    (point, low, high)
    """
    if len(x_per_task) != len(y_per_task) or not x_per_task:
        raise ValueError(f"x_per_task, y_per_task: expected equal non-zero task counts, got "
                         f"{len(x_per_task)} and {len(y_per_task)}")
    xs = [_as_1d("x_per_task", a) for a in x_per_task]
    ys = [_as_1d("y_per_task", a) for a in y_per_task]
    point = float(np.mean([_poi(x, y) for x, y in zip(xs, ys)]))
    rng = np.random.default_rng(seed)
    boot = np.zeros(reps)
    for x, y in zip(xs, ys):
        bx = x[rng.integers(0, x.size, size=(reps, x.size))]
        by = y[rng.integers(0, y.size, size=(reps, y.size))]
        boot += _poi(bx, by)
    boot /= len(xs)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return point, float(lo), float(hi)


def pareto_front(times, returns) -> np.ndarray:
    """Indices of the points no other point dominates (less or equal time and more or equal
    return, one of them strictly), sorted by time.

    Parameters
    ----------
    times, returns : array_like (n,)
    """
    t = _as_1d("times", times)
    r = _as_1d("returns", returns)
    if t.shape != r.shape:
        raise ValueError(f"returns: expected shape {t.shape} like times, got {r.shape}")
    order = np.lexsort((-r, t))  # by time, then by return (best first)
    front, best = [], -np.inf
    for i in order:
        if r[i] > best:
            front.append(int(i))
            best = r[i]
    return np.asarray(front, dtype=int)
