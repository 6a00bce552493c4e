"""Suites as data: tasks, planner entries and seeds, validated before any job runs.

A :class:`Suite` is a grid ``tasks x planners x seeds``. A :class:`Task` names an env (a gymnasium
id planlab has a model of, or ``"pkg.mod:EnvClass"`` for a user's env whose ``unwrapped`` carries
``dynamics`` and ``cost``), its success test and the planner settings that solve it. A
:class:`PlannerEntry` names a planner (a name of :data:`planlab.planners.PLANNERS` or
``"pkg.mod:MyPlanner"``) and options that override the task's settings.

Suites load from TOML (:func:`load_suite`)::

    name = "mine"
    seeds = 5
    [[tasks]]
    env = "Pendulum-v1"
    success = "upright"
    [tasks.settings.cem]
    horizon = 30
    population = 500
    [[planners]]
    name = "cem"
    [[planners]]
    name = "my_pkg.planners:MyPlanner"
    options = {horizon = 20}

:meth:`Suite.validate` rejects unknown planners and envs, a continuous-action planner on a
discrete task (and the reverse), seeds < 1 and unknown success tests, with a message naming the
entry, before a single job starts.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field

from .imports import SuiteError, import_path as _import_path
from .success import SUCCESS_TESTS

__all__ = ["Task", "PlannerEntry", "Suite", "SuiteError", "load_suite", "suite_from_dict", "resolve_planner",
           "planner_action_kinds", "make_env", "task_model"]

#: planner name -> the action spaces it plans over ("continuous", "discrete")
_ACTION_KINDS = {
    "lqr": ("continuous",),
    "ilqr": ("continuous",),
    "nlp": ("continuous",),
    "uct": ("discrete",),  # continuous needs progressive_widening (checked per entry)
}


def resolve_planner(name: str):
    """The planner class of a registered name or a ``"pkg.mod:Class"`` import path."""
    from ...planners import PLANNERS, planner_class

    if ":" in name:
        return _import_path(name, f"planner {name!r}")
    if name not in PLANNERS:
        raise SuiteError(f"planner {name!r}: expected one of {', '.join(sorted(PLANNERS))} or 'pkg.mod:Class'")
    return planner_class(name)


def planner_action_kinds(name: str, options: dict) -> tuple[str, ...]:
    """The action spaces (``"continuous"``, ``"discrete"``) planner ``name`` handles with ``options``.

    A user's class may declare ``action_kinds = ("continuous",)``; otherwise both are assumed.
    """
    if name == "uct" and options.get("progressive_widening") is not None:
        return ("continuous", "discrete")
    if name in _ACTION_KINDS:
        return _ACTION_KINDS[name]
    cls = resolve_planner(name)
    return tuple(getattr(cls, "action_kinds", ("continuous", "discrete")))


def make_env(env: str, **kwargs):
    """A gymnasium env from an id or a ``"pkg.mod:EnvClass"`` import path."""
    import gymnasium

    from ...envs import register_envs

    register_envs()
    if ":" in env and env.split(":", 1)[0] not in gymnasium.registry and "/" not in env.split(":", 1)[0]:
        cls = _import_path(env, f"task {env!r}")
        steps = kwargs.pop("max_episode_steps", None)
        e = cls(**kwargs)
        if steps is not None:
            e = gymnasium.wrappers.TimeLimit(e, steps)
        return e
    return gymnasium.make(env, **kwargs)


def task_model(env: str):
    """``(dynamics, cost)`` of a task's env (planlab's model of it)."""
    from ...envs.models import model_for

    if ":" in env and "/" not in env.split(":", 1)[0]:
        return model_for(make_env(env))
    return model_for(env)


@dataclass(frozen=True)
class Task:
    """One task of a suite.

    Parameters
    ----------
    env : str
        Gymnasium id (``planlab/...`` or one of :data:`planlab.envs.models.GYM_MODELS`) or
        ``"pkg.mod:EnvClass"``.
    success : str
        Name in :data:`planlab.benchmarks.suite.tasks.SUCCESS_TESTS` (``"env"``: the env's
        ``info["is_success"]``; ``"reward_threshold"``: return >= the gymnasium spec's threshold) or
        ``"pkg.mod:function"`` taking ``(result, info)`` and returning a bool.
    settings : dict
        Planner name -> constructor options (``horizon`` included) that solve the task;
        ``"*"`` applies to every planner without its own entry.
    steps : int, optional
        Episode length (default: the env's time limit).
    tiers : tuple of str
        Tiers of the stock suite the task belongs to.
    """

    env: str
    success: str = "env"
    settings: dict = field(default_factory=dict)
    steps: int | None = None
    tiers: tuple = ("quick", "full")

    def __post_init__(self):
        if not isinstance(self.env, str) or not self.env:
            raise SuiteError(f"task: expected an env id or 'pkg.mod:EnvClass', got {self.env!r}")
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps < 1):
            raise SuiteError(f"task {self.env!r}: steps: expected an integer >= 1, got {self.steps!r}")
        if not isinstance(self.settings, dict):
            raise SuiteError(f"task {self.env!r}: settings: expected a table planner -> options, got {self.settings!r}")

    def settings_for(self, planner: str) -> dict:
        """The task's options for ``planner``: its own entry, else the ``"*"`` entry restricted to
        the options the planner's constructor accepts, else none."""
        if planner in self.settings:
            return dict(self.settings[planner])
        star = dict(self.settings.get("*", {}))
        if not star:
            return star
        params = inspect.signature(resolve_planner(planner).__init__).parameters
        if any(q.kind is inspect.Parameter.VAR_KEYWORD for q in params.values()):
            return star
        return {k: v for k, v in star.items() if k in params}


@dataclass(frozen=True)
class PlannerEntry:
    """A planner of a suite: registered name or import path, and options overriding the task's settings."""

    name: str
    options: dict = field(default_factory=dict)
    label: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise SuiteError(f"planner: expected a name or 'pkg.mod:Class', got {self.name!r}")
        if not isinstance(self.options, dict):
            raise SuiteError(f"planner {self.name!r}: options: expected a table, got {self.options!r}")

    @property
    def key(self) -> str:
        """The name results and reports use."""
        return self.label or self.name


@dataclass(frozen=True)
class Suite:
    """A grid of tasks x planners x seeds.

    Parameters
    ----------
    tasks : tuple of Task
    planners : tuple of PlannerEntry
    seeds : int
        Seeds ``0 .. seeds - 1`` (env reset and planner) per task and planner; >= 1.
    name : str
    skip_inapplicable : bool
        Leave out planner/task pairs whose action spaces do not match (the stock suite) instead of
        rejecting the suite (the default: a mismatch is an error in a hand-written suite).
    replan_every : int
        Actions executed per plan.
    """

    tasks: tuple
    planners: tuple
    seeds: int = 10
    name: str = "suite"
    skip_inapplicable: bool = False
    replan_every: int = 1

    def __post_init__(self):
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "planners", tuple(self.planners))
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise SuiteError(f"suite {self.name!r}: seeds: expected an integer >= 1, got {self.seeds!r}")
        if not self.tasks:
            raise SuiteError(f"suite {self.name!r}: tasks: expected at least one task")
        if not self.planners:
            raise SuiteError(f"suite {self.name!r}: planners: expected at least one planner")
        if not isinstance(self.replan_every, int) or self.replan_every < 1:
            raise SuiteError(f"suite {self.name!r}: replan_every: expected an integer >= 1, got {self.replan_every!r}")

    def pairs(self) -> list[tuple[Task, PlannerEntry]]:
        """Validated (task, planner) pairs; raises :class:`SuiteError` naming the first bad entry."""
        out = []
        keys = [p.key for p in self.planners]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise SuiteError(f"planner {sorted(dup)[0]!r}: listed twice; give each entry a distinct label")
        for p in self.planners:
            cls = resolve_planner(p.name)
            _check_options(p.key, cls, p.options)
        for t in self.tasks:
            if t.success not in SUCCESS_TESTS:
                if ":" not in t.success:
                    raise SuiteError(f"task {t.env!r}: success: expected one of {', '.join(sorted(SUCCESS_TESTS))} "
                                     f"or 'pkg.mod:function', got {t.success!r}")
                fn = _import_path(t.success, f"task {t.env!r} success")
                if not callable(fn):
                    raise SuiteError(f"task {t.env!r}: success: {t.success!r} is not callable")
            try:
                dynamics, _ = task_model(t.env)
            except (ValueError, TypeError) as exc:
                raise SuiteError(f"task {t.env!r}: {exc}") from None
            kind = "discrete" if dynamics.is_discrete else "continuous"
            for p in self.planners:
                opts = {**t.settings_for(p.name), **p.options}
                kinds = planner_action_kinds(p.name, opts)
                if kind not in kinds:
                    if self.skip_inapplicable:
                        continue
                    raise SuiteError(f"planner {p.key!r} on task {t.env!r}: the planner handles "
                                     f"{'/'.join(kinds)} actions, the task has {kind} actions")
                _check_options(f"{p.key} on task {t.env!r}", resolve_planner(p.name), opts)
                out.append((t, p))
        if not out:
            raise SuiteError(f"suite {self.name!r}: no planner applies to any task")
        return out


def _check_options(where: str, cls, options: dict) -> None:
    options = dict(options)
    for k, v in list(options.items()):
        if isinstance(v, dict) and "import" in v:  # an object built by import path (e.g. a planning cost)
            if not set(v) <= {"import", "kwargs"}:
                raise SuiteError(f"planner {where}: option {k!r}: expected keys 'import' and 'kwargs', got {sorted(v)}")
            _import_path(v["import"], f"planner {where}: option {k!r}")
            if k == "cost":
                options.pop(k)
    params = inspect.signature(cls.__init__).parameters
    if any(q.kind is inspect.Parameter.VAR_KEYWORD for q in params.values()):
        return
    for k, v in options.items():
        if k not in params or k in ("self", "dynamics", "cost"):
            allowed = sorted(q for q in params if q not in ("self", "dynamics", "cost"))
            raise SuiteError(f"planner {where}: option {k!r} is not accepted (its options: {', '.join(allowed)})")
        if isinstance(v, float) and not math.isfinite(v):
            raise SuiteError(f"planner {where}: option {k!r}: expected a finite number, got {v}")


def suite_from_dict(data: dict, *, name: str = "suite") -> Suite:
    """A :class:`Suite` from a plain dict (the TOML layout of the module docstring)."""
    if not isinstance(data, dict):
        raise SuiteError(f"suite: expected a table, got {type(data).__name__}")
    known = {"name", "seeds", "tasks", "planners", "skip_inapplicable", "replan_every"}
    extra = sorted(set(data) - known)
    if extra:
        raise SuiteError(f"suite: unknown key {extra[0]!r} (expected {', '.join(sorted(known))})")
    tasks = []
    for i, t in enumerate(data.get("tasks", [])):
        if not isinstance(t, dict) or "env" not in t:
            raise SuiteError(f"tasks[{i}]: expected a table with an 'env' key, got {t!r}")
        unknown = sorted(set(t) - {"env", "success", "settings", "steps"})
        if unknown:
            raise SuiteError(f"task {t['env']!r}: unknown key {unknown[0]!r}")
        tasks.append(Task(t["env"], t.get("success", "env"), dict(t.get("settings", {})), t.get("steps")))
    planners = []
    for i, p in enumerate(data.get("planners", [])):
        if isinstance(p, str):
            p = {"name": p}
        if not isinstance(p, dict) or "name" not in p:
            raise SuiteError(f"planners[{i}]: expected a name or a table with a 'name' key, got {p!r}")
        unknown = sorted(set(p) - {"name", "options", "label"})
        if unknown:
            raise SuiteError(f"planner {p['name']!r}: unknown key {unknown[0]!r}")
        planners.append(PlannerEntry(p["name"], dict(p.get("options", {})), p.get("label")))
    return Suite(tuple(tasks), tuple(planners), seeds=data.get("seeds", 10), name=data.get("name", name),
                 skip_inapplicable=bool(data.get("skip_inapplicable", False)),
                 replan_every=data.get("replan_every", 1))


def load_suite(path) -> Suite:
    """A :class:`Suite` from a TOML file."""
    import tomllib
    from pathlib import Path

    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise SuiteError(f"suite file: {str(p)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"suite file {str(p)!r}: not valid TOML ({exc})") from None
    return suite_from_dict(data, name=p.stem)
