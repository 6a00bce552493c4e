"""``planlab bench``: planners x tasks x seeds, resumable, with honest statistics, plots and a report.

* :mod:`.spec` — suites as data (:class:`Suite`, :class:`Task`, :class:`PlannerEntry`, TOML);
* :mod:`.tasks` — the stock tasks, their success tests and settings (:func:`stock_suite`);
* :mod:`.jobs` — one episode per job, keyed by :func:`config_hash`;
* :mod:`.executors` — local processes or Ray;
* :mod:`.results` — ``results.jsonl`` written as jobs finish, resumed on a rerun;
* :mod:`.stats`, :mod:`.plots`, :mod:`.report` — ``report.md`` from the results alone.

Examples
--------
>>> from planlab.benchmarks.suite import Suite, Task, PlannerEntry, run_suite
>>> suite = Suite([Task("Pendulum-v1", "upright", {"cem": {"horizon": 30}})], [PlannerEntry("cem")], seeds=3)
>>> rows = run_suite(suite, "bench-out")  # doctest: +SKIP
"""

from .jobs import Job, config_hash, make_jobs, run_job
from .results import ResultStore, read_rows
from .runner import estimate_seconds, run_suite
from .spec import PlannerEntry, Suite, SuiteError, Task, load_suite, suite_from_dict
from .tasks import STOCK_TASKS, SUCCESS_TESTS, stock_suite, task_settings

__all__ = ["Suite", "Task", "PlannerEntry", "SuiteError", "load_suite", "suite_from_dict", "Job", "config_hash",
           "make_jobs", "run_job", "ResultStore", "read_rows", "run_suite", "estimate_seconds", "stock_suite",
           "STOCK_TASKS", "SUCCESS_TESTS", "task_settings"]
