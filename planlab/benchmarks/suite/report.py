"""``report.md``: a Markdown report regenerated from ``results.jsonl`` and ``meta.json`` alone.

Per task and planner: runs, success rate, median return, IQM with a bootstrap 95% interval, plan
time p50/p90 (medians over the runs of each run's percentile). Across tasks: the IQM of normalised
scores with a stratified-bootstrap interval, the success rate, and the probability of improvement
between every pair of planners on the tasks both ran (:mod:`.stats`). Then the figures
(:mod:`.plots`), the failed jobs with their errors, and the environment the results came from.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .results import META, RESULTS, read_rows
from .stats import aggregate_iqm, normalized_scores, probability_of_improvement, summarize

__all__ = ["write_report", "render_report"]


def _f(v, digits=4):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.{digits}g}"


def _med(vals):
    vals = [v for v in vals if v is not None]
    return float(np.median(vals)) if vals else float("nan")


def render_report(rows: list[dict], meta: dict, figures: dict | None = None, *, reps: int = 2000) -> str:
    """The report's Markdown text."""
    lines = []
    suite = meta.get("suite", {})
    lines.append(f"# planlab bench: {suite.get('name', 'results')}\n")
    ok = [r for r in rows if r.get("status") == "ok" and r.get("return") is not None]
    failed = [r for r in rows if r.get("status") != "ok"]
    lines.append(f"{len(rows)} jobs: {len(ok)} finished, {len(failed)} failed "
                 f"(errors, timeouts, crashes, divergence; listed below). Regenerate with "
                 f"`planlab bench --report-only --out DIR`.\n")
    tasks = sorted({r["task"] for r in rows})
    planners = sorted({r["planner"] for r in rows})
    by = {}
    for r in rows:
        by.setdefault((r["task"], r["planner"]), []).append(r)

    lines.append("## Per task\n")
    lines.append("Returns: median, interquartile mean (IQM) with a percentile-bootstrap 95% interval; "
                 "plan time: median over runs of each run's p50 / p90 per MPC step.\n")
    for task in tasks:
        lines.append(f"### {task}\n")
        lines.append("| planner | runs | success | median return | IQM [95% CI] | plan ms p50 | plan ms p90 "
                     "| failed |")
        lines.append("|---|---:|---:|---:|---|---:|---:|---:|")
        for p in planners:
            rs = by.get((task, p))
            if not rs:
                continue
            good = [r for r in rs if r.get("status") == "ok"]
            s = summarize([r["return"] for r in good], reps=reps)
            succ = sum(bool(r.get("success")) for r in rs)
            lines.append(f"| {p} | {len(rs)} | {succ}/{len(rs)} | {_f(s['median'])} | {_f(s['iqm'])} "
                         f"[{_f(s['iqm_low'])}, {_f(s['iqm_high'])}] "
                         f"| {_f(_med(r.get('plan_ms_p50') for r in good), 3)} "
                         f"| {_f(_med(r.get('plan_ms_p90') for r in good), 3)} | {len(rs) - len(good)} |")
        lines.append("")

    scores = {t: {p: [r["return"] for r in ok if r["task"] == t and r["planner"] == p] for p in planners}
              for t in tasks}
    scores = {t: {p: v for p, v in d.items() if v} for t, d in scores.items()}
    norm = normalized_scores(scores)
    if norm:
        lines.append("## Across tasks\n")
        lines.append("Scores normalised per task to [0, 1] (min-max over every run of every planner on that task); "
                     "IQM pooled over the tasks a planner ran, with a stratified-bootstrap 95% interval "
                     "(Agarwal et al. 2021).\n")
        lines.append("| planner | tasks | runs | success rate | normalised IQM [95% CI] |")
        lines.append("|---|---:|---:|---:|---|")
        for p in planners:
            per = [norm[t][p] for t in norm if p in norm[t]]
            if not per:
                continue
            point, lo, hi = aggregate_iqm(per, reps=reps)
            rs = [r for r in rows if r["planner"] == p]
            rate = sum(bool(r.get("success")) for r in rs) / len(rs)
            lines.append(f"| {p} | {len(per)} | {sum(len(a) for a in per)} | {rate:.0%} | {_f(point, 3)} "
                         f"[{_f(lo, 3)}, {_f(hi, 3)}] |")
        lines.append("")
        pairs = [(a, b) for a in planners for b in planners if a < b]
        poi_rows = []
        for a, b in pairs:
            shared = [t for t in norm if a in norm[t] and b in norm[t]]
            if not shared:
                continue
            pt, lo, hi = probability_of_improvement([norm[t][a] for t in shared], [norm[t][b] for t in shared],
                                                    reps=min(reps, 1000))
            poi_rows.append(f"| {a} | {b} | {len(shared)} | {pt:.2f} [{lo:.2f}, {hi:.2f}] |")
        if poi_rows:
            lines.append("Probability of improvement P(X > Y) on the tasks both ran (0.5: no difference), "
                         "stratified-bootstrap 95% interval:\n")
            lines.append("| X | Y | tasks | P(X > Y) [95% CI] |")
            lines.append("|---|---|---:|---|")
            lines.extend(poi_rows)
            lines.append("")

    if figures:
        lines.append("## Figures\n")
        titles = {"pareto": "Return versus plan time (Pareto front in grey)", "latency": "Plan-time histograms",
                  "returns": "Return distributions", "trajectories": "Example trajectories (seed 0)",
                  "profiles": "Performance profiles"}
        for k, path in figures.items():
            lines.append(f"### {titles.get(k, k)}\n\n![{k}]({path})\n")

    if failed:
        lines.append("## Failed jobs\n")
        lines.append("| task | planner | seed | status | error |")
        lines.append("|---|---|---:|---|---|")
        for r in failed:
            err = str(r.get("error", "")).replace("|", "\\|").replace("\n", " ")[:200]
            lines.append(f"| {r['task']} | {r['planner']} | {r['seed']} | {r.get('status')} | {err} |")
        lines.append("")

    runs = meta.get("runs", [])
    if runs:
        env = runs[-1].get("environment", {})
        lines.append("## Environment\n")
        lines.append(f"- python {env.get('python')}, {env.get('platform')}, {env.get('cpus')} CPUs")
        lines.append("- " + ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items()))
        for run in runs:
            lines.append(f"- run started {run.get('started')} ({run.get('executor')}): {run.get('jobs')} jobs, "
                         f"{run.get('skipped_finished')} already finished, "
                         f"{_f(run.get('seconds'), 4)} s, {run.get('failed', '?')} failed")
        lines.append("")
    return "\n".join(lines)


def write_report(out, *, plots: bool = True, reps: int = 2000) -> Path:
    """Write ``out/report.md`` (and ``out/plots/*.png``) from the folder's results; returns its path."""
    out = Path(out)
    rows = read_rows(out / RESULTS)
    try:
        meta = json.loads((out / META).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        meta = {}
    figures = None
    if plots and rows:
        from .plots import write_plots

        figures = {k: str(Path(p).relative_to(out)) for k, p in write_plots(rows, out / "plots").items()}
    path = out / "report.md"
    path.write_text(render_report(rows, meta, figures, reps=reps))
    return path
