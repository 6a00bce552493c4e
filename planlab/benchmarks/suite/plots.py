"""Figures of a sweep, drawn from result rows alone (matplotlib, Agg backend).

* ``pareto.png`` — per task, median return against median plan time (p50, log scale) per planner,
  interquartile ranges as bars, the Pareto front (fastest for its return) as a line;
* ``latency.png`` — per task, each planner's plan-time histogram (every MPC step of every seed);
* ``returns.png`` — per task, every run's return per planner (box and points);
* ``trajectories.png`` — per task, the state trajectory of seed 0 per planner;
* ``profiles.png`` — performance profiles of the normalised scores pooled over tasks.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .jobs import LATENCY_BINS_MS
from .stats import normalized_scores, pareto_front, performance_profile

__all__ = ["write_plots"]


def _grid(n):
    cols = min(4, n)
    return math.ceil(n / cols), cols


def _axes(plt, n, w=3.6, h=2.8):
    rows, cols = _grid(n)
    fig, axes = plt.subplots(rows, cols, figsize=(w * cols, h * rows), squeeze=False)
    flat = axes.reshape(-1)
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat


def _log_x(ax):
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_locator(NullLocator())


def _layout(fig):
    # fixed margins: tight_layout measures every tick label and costs seconds per figure
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.92, wspace=0.4, hspace=0.65)


def _colors(planners):
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {p: cmap(i % 10) for i, p in enumerate(planners)}


def write_plots(rows: list[dict], out) -> dict:
    """Write the figures to ``out`` (a folder); returns ``{name: path}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ok = [r for r in rows if r.get("status") == "ok" and r.get("return") is not None]
    tasks = sorted({r["task"] for r in ok})
    planners = sorted({r["planner"] for r in ok})
    if not tasks:
        return {}
    col = _colors(planners)
    by = {}
    for r in ok:
        by.setdefault((r["task"], r["planner"]), []).append(r)
    paths = {}

    fig, axes = _axes(plt, len(tasks))
    for ax, task in zip(axes, tasks):
        pts = []
        for p in planners:
            rs = by.get((task, p))
            if not rs:
                continue
            t = [r["plan_ms_p50"] for r in rs if r.get("plan_ms_p50") is not None]
            g = [r["return"] for r in rs]
            if not t:
                continue
            tm, gm = float(np.median(t)), float(np.median(g))
            q = np.percentile(g, [25, 75])
            ax.errorbar(tm, gm, yerr=[[gm - q[0]], [q[1] - gm]], fmt="o", color=col[p], label=p, capsize=2)
            pts.append((tm, gm))
        if pts:
            tt, gg = np.array(pts).T
            f = pareto_front(tt, gg)
            ax.plot(tt[f], gg[f], "-", color="0.6", zorder=0, lw=1)
        _log_x(ax)
        ax.set_title(task, fontsize=8)
        ax.set_xlabel("plan ms (p50)", fontsize=7)
        ax.set_ylabel("return", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=6)
    _layout(fig)
    paths["pareto"] = out / "pareto.png"
    fig.savefig(paths["pareto"], dpi=90)
    plt.close(fig)

    fig, axes = _axes(plt, len(tasks))
    centers = np.sqrt(LATENCY_BINS_MS[:-1] * LATENCY_BINS_MS[1:])
    for ax, task in zip(axes, tasks):
        for p in planners:
            hs = [r["plan_ms_hist"] for r in by.get((task, p), []) if r.get("plan_ms_hist")]
            if not hs:
                continue
            h = np.sum(hs, axis=0).astype(float)
            if h.sum() > 0:
                ax.step(centers, h / h.sum(), where="mid", color=col[p], label=p)
        _log_x(ax)
        ax.set_title(task, fontsize=8)
        ax.set_xlabel("plan ms", fontsize=7)
        ax.set_ylabel("fraction of steps", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=6)
    _layout(fig)
    paths["latency"] = out / "latency.png"
    fig.savefig(paths["latency"], dpi=90)
    plt.close(fig)

    fig, axes = _axes(plt, len(tasks))
    for ax, task in zip(axes, tasks):
        present = [p for p in planners if by.get((task, p))]
        data = [[r["return"] for r in by[(task, p)]] for p in present]
        if data:
            ax.boxplot(data, showfliers=False)
            for i, d in enumerate(data):
                jitter = np.linspace(-0.15, 0.15, len(d)) if len(d) > 1 else [0.0]
                ax.plot(i + 1 + np.asarray(jitter), d, ".", color=col[present[i]], ms=3)
            ax.set_xticks(range(1, len(present) + 1), present, fontsize=6, rotation=30)
        ax.set_title(task, fontsize=8)
        ax.set_ylabel("return", fontsize=7)
        ax.tick_params(labelsize=6)
    _layout(fig)
    paths["returns"] = out / "returns.png"
    fig.savefig(paths["returns"], dpi=90)
    plt.close(fig)

    fig, axes = _axes(plt, len(tasks))
    for ax, task in zip(axes, tasks):
        for p in planners:
            ex = [r for r in by.get((task, p), []) if r.get("states")]
            if not ex:
                continue
            s = np.asarray(ex[0]["states"], dtype=float)
            if s.ndim != 2:
                continue
            ax.plot(s[:, 0], color=col[p], lw=1, label=f"{p} x0")
            if s.shape[1] > 1:
                ax.plot(s[:, 1], color=col[p], lw=1, ls="--")
        ax.set_title(f"{task} (seed 0; x0 solid, x1 dashed)", fontsize=7)
        ax.set_xlabel("step", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=6)
    _layout(fig)
    paths["trajectories"] = out / "trajectories.png"
    fig.savefig(paths["trajectories"], dpi=90)
    plt.close(fig)

    norm = normalized_scores({t: {p: [r["return"] for r in by.get((t, p), [])] for p in planners} for t in tasks})
    taus = np.linspace(0, 1, 101)
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    fig.subplots_adjust(left=0.15, bottom=0.15, right=0.97, top=0.95)
    for p in planners:
        pooled = [v for t in norm for v in norm[t].get(p, [])]
        if pooled:
            ax.plot(taus, performance_profile(pooled, taus), color=col[p], label=p)
    ax.set_xlabel("normalised score tau", fontsize=8)
    ax.set_ylabel("fraction of runs with score > tau", fontsize=8)
    ax.legend(fontsize=7)
    paths["profiles"] = out / "profiles.png"
    fig.savefig(paths["profiles"], dpi=90)
    plt.close(fig)
    return paths
