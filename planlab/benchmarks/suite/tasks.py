"""The stock tasks: every planlab env and gymnasium model, its success test and the settings that solve it.

Success tests are in :mod:`.success`.

Settings (:data:`STOCK_TASKS`) are per planner; ``"*"`` applies to planners without their own entry.
Where a planner needs a planning cost other than the task's reward (UCT on ``Acrobot-v1``, whose
reward is -1 per step until the goal and gives random rollouts nothing to follow), the ``cost``
option names it by import path; the row's return is always the env's own reward.
"""

from __future__ import annotations

from .spec import PlannerEntry, Suite, Task
from .success import SUCCESS_TESTS, success_test

__all__ = ["SUCCESS_TESTS", "success_test", "STOCK_TASKS", "STOCK_PLANNERS", "stock_suite", "task_settings",
           "MUJOCO_TASKS"]


_ACROBOT_UCT_COST = {"import": "planlab.benchmarks.suite.costs:AcrobotEnergyCost", "kwargs": {}}

#: the stock tasks (env id -> Task); settings checked by the quick tier's sweep (docs/bench.md)
STOCK_TASKS = {t.env: t for t in [
    Task("Pendulum-v1", "upright", {
        "*": dict(horizon=30, population=300),
        "cem": dict(horizon=30, population=300, elites=30, iterations=4),
        "icem": dict(horizon=30, population=300, elites=30, iterations=4),
        "mppi": dict(horizon=30, population=500, temperature=1.0),
        "ilqr": dict(horizon=40, max_iterations=50),
    }),
    Task("planlab/PendulumSwingup-v0", "env", {
        "*": dict(horizon=30, population=300),
        "cem": dict(horizon=30, population=300, elites=30, iterations=4),
        "icem": dict(horizon=30, population=300, elites=30, iterations=4),
        "mppi": dict(horizon=30, population=500, temperature=1.0),
        "ilqr": dict(horizon=40, max_iterations=50),
    }),
    Task("planlab/CartPoleSwingup-v0", "env", {
        "*": dict(horizon=30, population=500),
        "cem": dict(horizon=30, population=500, elites=50, iterations=5),
        "icem": dict(horizon=30, population=500, elites=50, iterations=5),
        "mppi": dict(horizon=30, population=1000, temperature=1.0),
        "ilqr": dict(horizon=50, max_iterations=50),
    }),
    Task("planlab/AcrobotSwingup-v0", "env", {
        "*": dict(horizon=40, population=500),
        "cem": dict(horizon=40, population=500, elites=50, iterations=5),
        "icem": dict(horizon=40, population=500, elites=50, iterations=5),
        "mppi": dict(horizon=40, population=1000, temperature=1.0),
        "ilqr": dict(horizon=50, max_iterations=50),
    }),
    Task("planlab/MountainCar-v0", "env", {
        "*": dict(horizon=100, population=300),
        "cem": dict(horizon=100, population=300, elites=30, iterations=3),
        "icem": dict(horizon=100, population=300, elites=30, iterations=3),
        "mppi": dict(horizon=100, population=300, temperature=1.0),
        "ilqr": dict(horizon=100, max_iterations=50),
    }),
    Task("MountainCarContinuous-v0", "reward_threshold", {
        "*": dict(horizon=100, population=300),
        "cem": dict(horizon=100, population=300, elites=30, iterations=3),
        "icem": dict(horizon=100, population=300, elites=30, iterations=3),
        "mppi": dict(horizon=100, population=300, temperature=1.0),
        "ilqr": dict(horizon=100, max_iterations=50),
    }),
    Task("planlab/DoubleIntegrator-v0", "env", {
        "*": dict(horizon=20, population=300),
        "cem": dict(horizon=20, population=300, elites=30, iterations=4),
        "icem": dict(horizon=20, population=300, elites=30, iterations=4),
        "lqr": dict(horizon=50),
        "ilqr": dict(horizon=30, max_iterations=20),
    }),
    Task("planlab/Reacher2Link-v0", "env", {
        "*": dict(horizon=30, population=300),
        "cem": dict(horizon=30, population=300, elites=30, iterations=4),
        "icem": dict(horizon=30, population=300, elites=30, iterations=4),
        "ilqr": dict(horizon=30, max_iterations=30),
    }),
    Task("planlab/UnicycleParking-v0", "env", {
        "*": dict(horizon=30, population=300),
        "cem": dict(horizon=30, population=300, elites=30, iterations=4),
        "icem": dict(horizon=30, population=300, elites=30, iterations=4),
        "ilqr": dict(horizon=30, max_iterations=30),
    }),
    Task("planlab/Quadrotor2DHover-v0", "env", {
        "*": dict(horizon=30, population=300),
        "cem": dict(horizon=30, population=300, elites=30, iterations=4),
        "icem": dict(horizon=30, population=300, elites=30, iterations=4),
        "ilqr": dict(horizon=30, max_iterations=30),
    }),
    Task("planlab/GridWorld-v0", "env", {
        "*": dict(horizon=20, population=200),
        "uct": dict(horizon=20, simulations=200),
    }),
    Task("CartPole-v1", "reward_threshold", {
        "*": dict(horizon=30, population=200),
        "uct": dict(horizon=50, simulations=200),
    }),
    Task("Acrobot-v1", "reward_threshold", {
        "*": dict(horizon=50, population=300),
        "uct": dict(horizon=30, simulations=300, cost=_ACROBOT_UCT_COST),
    }),
    Task("MountainCar-v0", "reward_threshold", {
        "*": dict(horizon=100, population=300),
        "uct": dict(horizon=100, simulations=300),
    }, tiers=("full",)),
]}

# --- MuJoCo tasks (planlab.envs.mujoco_models, need planlab[mujoco]): `planlab run` settings, in no stock tier ---
_IDP_BALANCE_COST = {"import": "planlab.envs.mujoco_models:InvertedDoublePendulumBalanceCost", "kwargs": {}}
_REACHER_REACH_COST = {"import": "planlab.envs.mujoco_models:ReacherReachCost", "kwargs": {}}
_REACHER_TARGET_COST = {"import": "planlab.envs.mujoco_models:ReacherTargetCost", "kwargs": {}}

#: gymnasium MuJoCo tasks (env id -> Task): settings for ``planlab run``; not in the stock suite's tiers
MUJOCO_TASKS = {t.env: t for t in [
    Task("InvertedDoublePendulum-v5", "reward_threshold", {
        "mppi": dict(horizon=2, population=32, noise_std=0.3, temperature=1.0, cost=_IDP_BALANCE_COST),
    }, tiers=()),
    Task("Reacher-v5", "planlab.envs.mujoco_models:reacher_reached", {
        "icem": dict(horizon=10, population=64, elites=8, iterations=3, cost=_REACHER_REACH_COST),
        "ilqr": dict(horizon=10, max_iterations=2, tol=1e-3, derivatives="fd", cost=_REACHER_TARGET_COST),
    }, tiers=()),
    Task("HalfCheetah-v5", "reward_threshold", {
        "cem": dict(horizon=15, population=64, elites=8, iterations=2),
    }, tiers=()),
]}
# --- end MuJoCo tasks ---

#: the planners of the stock suite per tier
STOCK_PLANNERS = {
    "quick": ("cem", "icem", "mppi", "ilqr", "uct"),
    "full": ("shooting", "cem", "icem", "mppi", "lqr", "ilqr", "uct"),
}


def task_settings(env_id: str, planner: str, *, build: bool = False) -> dict:
    """The stock task's settings for ``planner`` (empty when the env is not a stock task).

    With ``build``, options given by import path (a planning ``cost``) are built into objects.
    """
    task = STOCK_TASKS.get(env_id) or MUJOCO_TASKS.get(env_id)
    opts = task.settings_for(planner) if task is not None else {}
    if build:
        from .jobs import resolve_options

        opts = resolve_options(opts)
    return opts


def stock_suite(tier: str = "quick", *, seeds: int | None = None, planners=None, tasks=None) -> Suite:
    """The stock suite: every stock task with every planner that applies.

    Parameters
    ----------
    tier : {"quick", "full"}
        ``quick``: 2 seeds, the main planners; ``full``: 10 seeds, every planner, every task.
    seeds : int, optional
        Override the tier's seed count.
    planners, tasks : sequence of str, optional
        Restrict to these planner names / env ids (stock settings still apply). A task that is not
        a stock task has no settings; its success test is the env's ``info["is_success"]`` for
        planlab ids and import paths, else gymnasium's ``reward_threshold``.
    """
    if tier not in STOCK_PLANNERS:
        raise ValueError(f"tier: expected one of {', '.join(STOCK_PLANNERS)}, got {tier!r}")
    chosen = [t for t in STOCK_TASKS.values() if tier in t.tiers] if tasks is None else [
        STOCK_TASKS.get(e) or Task(e, "env" if e.startswith("planlab/") or ":" in e else "reward_threshold")
        for e in tasks]
    names = STOCK_PLANNERS[tier] if planners is None else tuple(planners)
    return Suite(tuple(chosen), tuple(PlannerEntry(n) for n in names),
                 seeds=seeds if seeds is not None else (2 if tier == "quick" else 10),
                 name=f"stock-{tier}", skip_inapplicable=planners is None)
