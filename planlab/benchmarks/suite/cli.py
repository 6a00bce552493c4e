"""``planlab bench``: planners x tasks x seeds, resumable, with a Markdown report.

``planlab bench [--suite stock|FILE.toml] [--tier quick|full] [--planners cem,mppi] [--tasks ID,...]
[--seeds N] [--budget-ms X] [--out DIR] [--executor local|ray] [--address ADDR] [--workers N] [--timeout S]
[--retry-failed] [--estimate-from DIR] [--dry-run] [--report-only]``
"""

from __future__ import annotations

import math
import sys

__all__ = ["add_bench_parser", "cmd_bench"]


def add_bench_parser(sub) -> None:
    """Add the ``bench`` subcommand to the ``planlab`` parser's subparsers."""
    b = sub.add_parser("bench", help="benchmark planners x tasks x seeds (resumable; results.jsonl + report.md)")
    b.add_argument("--suite", default="stock",
                   help="'stock' (default), a packaged suite (planners, mcts: the benchmark scripts' grids) "
                        "or a TOML file")
    b.add_argument("--tier", default="quick", choices=("quick", "full"), help="stock suite tier (default quick)")
    b.add_argument("--planners", default=None,
                   help="comma-separated planner names or 'pkg.mod:Class' import paths (default: the tier's)")
    b.add_argument("--tasks", default=None,
                   help="comma-separated env ids or 'pkg.mod:EnvClass' (default: the tier's)")
    b.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 per task and planner")
    b.add_argument("--out", default="bench-results", help="results folder (default ./bench-results)")
    b.add_argument("--executor", default="local", choices=("local", "ray"), help="where jobs run (default local)")
    b.add_argument("--address", default=None, help="Ray cluster address ('auto', 'host:6379', 'ray://host:10001')")
    b.add_argument("--workers", type=int, default=None, help="local processes / CPUs of a Ray instance started here")
    b.add_argument("--timeout", type=float, default=None, help="seconds per job before it is killed (local)")
    b.add_argument("--budget-ms", type=float, default=None,
                   help="equal compute: scale each planner's size option to this many CPU ms per plan")
    b.add_argument("--retry-failed", action="store_true", help="run failed jobs of the results folder again")
    b.add_argument("--estimate-from", default=None, help="results folder whose wall times estimate this sweep")
    b.add_argument("--dry-run", action="store_true", help="validate, list the job count and estimate; run nothing")
    b.add_argument("--report-only", action="store_true", help="rewrite report.md and plots from results.jsonl")
    b.set_defaults(func=cmd_bench)


def _split(text):
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _suite(args):
    from .spec import PlannerEntry, Suite, load_suite
    from .tasks import stock_suite

    if args.suite == "stock":
        return stock_suite(args.tier, seeds=args.seeds, planners=_split(args.planners), tasks=_split(args.tasks))
    from pathlib import Path

    packaged = Path(__file__).parent / "suites" / f"{args.suite}.toml"
    suite = load_suite(packaged if packaged.exists() and "/" not in args.suite else args.suite)
    if args.planners or args.tasks or args.seeds is not None:
        from .tasks import STOCK_TASKS
        from .spec import Task

        planners = suite.planners if args.planners is None else tuple(PlannerEntry(n) for n in _split(args.planners))
        tasks = suite.tasks if args.tasks is None else tuple(
            next((t for t in suite.tasks if t.env == e), None) or STOCK_TASKS.get(e) or Task(e)
            for e in _split(args.tasks))
        suite = Suite(tasks, planners, seeds=suite.seeds if args.seeds is None else args.seeds, name=suite.name,
                      skip_inapplicable=suite.skip_inapplicable, replan_every=suite.replan_every)
    return suite


def _fmt_s(s: float) -> str:
    if not math.isfinite(s):
        return "unknown"
    return f"{s / 60:.1f} min" if s >= 90 else f"{s:.0f} s"


def cmd_bench(args) -> int:
    import os

    from .jobs import make_jobs
    from .report import write_report
    from .results import ResultStore, read_rows
    from .runner import estimate_seconds, run_suite
    from .spec import SuiteError

    def fail(msg):
        print(f"planlab bench: error: {msg}", file=sys.stderr)
        return 2

    if args.seeds is not None and args.seeds < 1:
        return fail(f"--seeds: expected an integer >= 1, got {args.seeds}")
    if args.workers is not None and args.workers < 1:
        return fail(f"--workers: expected an integer >= 1, got {args.workers}")
    if args.report_only:
        store = ResultStore(args.out)
        if not store.path.exists():
            return fail(f"--out: no results.jsonl in {args.out!r}")
        print(write_report(args.out))
        return 0
    try:
        suite = _suite(args)
        if args.budget_ms is not None:
            from .budget import equal_compute_suite

            suite = equal_compute_suite(suite, args.budget_ms, args.out)
        jobs = make_jobs(suite)
    except (SuiteError, ValueError, TypeError) as exc:
        return fail(str(exc))
    done = ResultStore(args.out).done(retry_failed=args.retry_failed) if os.path.isdir(args.out) else set()
    todo = [j for j in jobs if j.config_hash not in done]
    rows = read_rows(os.path.join(args.out, "results.jsonl"))
    if args.estimate_from:
        rows = rows + read_rows(os.path.join(args.estimate_from, "results.jsonl"))
    workers = args.workers or (os.cpu_count() or 1)
    est, measured = estimate_seconds(todo, rows, workers)
    pairs = len({(j.task, j.key) for j in jobs})
    print(f"planlab bench: suite {suite.name!r}: {len(suite.tasks)} tasks, {len(suite.planners)} planners, "
          f"{pairs} task/planner pairs x {suite.seeds} seeds = {len(jobs)} jobs; {len(todo)} to run", file=sys.stderr)
    if todo:
        basis = (f"from the CPU seconds of stored rows; {measured} of {len(todo)} jobs have their task/planner "
                 "measured" if math.isfinite(est) else
                 "no measured rows; pass --estimate-from a quick-tier results folder")
        print(f"planlab bench: estimated time on {workers} {'processes' if args.executor == 'local' else 'CPUs'}: "
              f"{_fmt_s(est)} ({basis})", file=sys.stderr)
    if args.dry_run:
        return 0
    try:
        run_suite(suite, args.out, executor=args.executor, workers=args.workers, timeout=args.timeout,
                  address=args.address, retry_failed=args.retry_failed)
    except (SuiteError, ImportError, ValueError) as exc:
        return fail(str(exc))
    print(os.path.join(args.out, "report.md"))
    return 0
