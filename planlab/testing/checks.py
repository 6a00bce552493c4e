"""``check_planner``: the planner contract as an executable check, for planlab's planners and yours.

Usage (in a test)::

    from planlab.testing import check_planner

    def make(dynamics, cost, horizon, seed):
        return MyPlanner(dynamics, cost, horizon, seed=seed)

    def test_my_planner_meets_the_contract():
        check_planner(make, lq_factor=1.2)

Each check raises :class:`PlannerCheckError` (an ``AssertionError``) naming the check, the problem
and what was expected and found.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np

from ..core.contracts import Cost, Dynamics
from ..core.planning import (
    STATUS_CONVERGED,
    STATUS_FAILED,
    STATUS_MAX_ITERATIONS,
    STATUS_OK,
    STATUS_STALLED,
    Plan,
    Planner,
)

__all__ = ["check_planner", "check_plan", "PlannerCheckError", "ALL_CHECKS", "reproduce_problem"]

#: Names of the checks :func:`check_planner` can run.
ALL_CHECKS = ("contract", "cost", "determinism", "warm_start", "lq")

_STATUSES = {STATUS_OK, STATUS_CONVERGED, STATUS_STALLED, STATUS_MAX_ITERATIONS, STATUS_FAILED}

PlannerFactory = Callable[[Dynamics, Cost, int, int], Planner]


class PlannerCheckError(AssertionError):
    """A planner broke its contract."""


def _fail(check, problem, msg):
    raise PlannerCheckError(f"[{check}] {msg}\n  problem: {problem() if callable(problem) else problem}")


def _arr(a) -> str:
    return np.array2string(np.asarray(a, dtype=np.float64), separator=", ", floatmode="unique", max_line_width=10**6,
                           threshold=10**6)


def reproduce_problem(dynamics: Dynamics, cost: Cost, x0, horizon: int) -> str:
    """Python that rebuilds a drawn problem exactly: the matrices ``A``, ``B``, the box, ``Q``, ``R``,
    ``Qf``, ``x0`` and ``horizon`` (floats printed to round-trip), for a failure report."""
    lines = [repr(dynamics)]
    if hasattr(dynamics, "matrices"):
        A, B = dynamics.matrices()
        disc = f", n_actions={dynamics.n_actions}" if dynamics.is_discrete else ""
        lines.append(f"dynamics = LinearSystem(A=np.array({_arr(A)}), B=np.array({_arr(B)}), "
                     f"action_low=np.array({_arr(dynamics.action_low)}), "
                     f"action_high=np.array({_arr(dynamics.action_high)}){disc}, dt={dynamics.dt!r})")
    if all(hasattr(cost, k) for k in ("Q", "R", "Qf")):
        lines.append(f"cost = QuadraticCost(Q=np.array({_arr(cost.Q)}), R=np.array({_arr(cost.R)}), "
                     f"Qf=np.array({_arr(cost.Qf)}), x_goal=np.array({_arr(cost.x_goal)}), "
                     f"u_goal=np.array({_arr(cost.u_goal)}), angle_indices={cost.angle_indices})")
    else:
        lines.append(f"cost = {cost!r}")
    lines.append(f"x0 = np.array({_arr(x0)}); horizon = {horizon}")
    return "\n    ".join(lines)


def check_plan(plan, dynamics: Dynamics, cost: Cost, x0, horizon: int, *, check_cost: bool = True,
               rtol: float = 1e-9, atol: float = 1e-9, problem="") -> None:
    """Check one plan against the contract.

    Checks: a :class:`~planlab.core.Plan`; ``actions`` (H, nu) finite and inside the action box
    (integers in ``0..n_actions-1`` for discrete models); ``states`` (H + 1, nx) finite with
    ``states[0] == x0``; a known ``status``; a finite ``cost`` unless the status is ``"failed"``;
    and (``check_cost``, deterministic models) the plan's ``cost`` and ``states`` equal a re-rollout
    of its actions through ``dynamics.rollout``.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    if not isinstance(plan, Plan):
        _fail("contract", problem, f"plan(): expected a planlab Plan, got {type(plan).__name__}")
    nx, nu = dynamics.state_dim, dynamics.action_dim
    if plan.actions.shape != (horizon, nu):
        _fail("contract", problem, f"actions: expected shape ({horizon}, {nu}), got {plan.actions.shape}")
    if plan.states.shape != (horizon + 1, nx):
        _fail("contract", problem, f"states: expected shape ({horizon + 1}, {nx}), got {plan.states.shape}")
    if not np.all(np.isfinite(plan.actions)):
        _fail("contract", problem, f"actions: expected finite values, got {plan.actions}")
    if not np.all(np.isfinite(plan.states)):
        _fail("contract", problem, "states: expected finite values, got NaN/inf")
    if not np.array_equal(plan.states[0], x0):
        _fail("contract", problem, f"states[0]: expected x0 = {x0}, got {plan.states[0]}")
    lo, hi = dynamics.action_low, dynamics.action_high
    if np.any(plan.actions < lo) or np.any(plan.actions > hi):
        i = np.argwhere((plan.actions < lo) | (plan.actions > hi))[0]
        _fail("contract", problem, f"actions: expected inside the box [{lo}, {hi}], got {plan.actions[tuple(i)]} "
              f"at (t, j) = {tuple(int(v) for v in i)}")
    if dynamics.is_discrete and not np.array_equal(plan.actions, np.rint(plan.actions)):
        _fail("contract", problem, f"actions: expected integer action indices, got {plan.actions.ravel()}")
    if plan.status not in _STATUSES:
        _fail("contract", problem, f"status: expected one of {sorted(_STATUSES)}, got {plan.status!r}")
    if plan.status != STATUS_FAILED and not math.isfinite(plan.cost):
        _fail("contract", problem, f"cost: expected a finite cost for status {plan.status!r}, got {plan.cost}")
    if check_cost and not dynamics.stochastic:
        roll = dynamics.rollout(x0, plan.actions[None], cost)
        c = float(roll.costs[0])
        if not math.isclose(c, plan.cost, rel_tol=rtol, abs_tol=atol):
            _fail("cost", problem, f"cost: expected the re-rollout cost {c!r} of the returned actions, "
                  f"got {plan.cost!r}")
        if not np.allclose(roll.states[0], plan.states, rtol=rtol, atol=atol):
            err = float(np.max(np.abs(roll.states[0] - plan.states)))
            _fail("cost", problem, f"states: expected the re-rollout of the returned actions, max error {err:.3g}")


def check_planner(factory: PlannerFactory, *, checks: Iterable[str] = ALL_CHECKS, discrete: bool = False,
                  lq_factor: float = 1.5, lq_atol: float = 1e-6, max_examples: int = 10, horizon=None,
                  max_state_dim: int = 4, max_action_dim: int = 2, stable=None, seed: int = 0,
                  deadline=None, derandomize: bool = True) -> None:
    r"""Run the planner contract on random problems drawn with hypothesis.

    Parameters
    ----------
    factory : callable ``(dynamics, cost, horizon, seed) -> Planner``
        Builds a fresh planner; ``seed`` is an int.
    checks : iterable of str
        A subset of :data:`ALL_CHECKS`:

        ``"contract"``
            shapes, finiteness, bounds, ``states[0] == x0``, status (:func:`check_plan`); half of
            the continuous problems get a random asymmetric action box (which may exclude 0);
        ``"cost"``
            the returned cost and states equal a re-rollout of the returned actions;
        ``"determinism"``
            two planners built with the same seed return identical plans, and
            ``reset(seed)`` replays the first plan;
        ``"warm_start"``
            after ``advance(1)``, planning with the first plan (shifted by one step) as warm start, as
            the MPC loop does, meets the contract;
        ``"lq"``
            (continuous actions only) on the linear-quadratic problems whose box contains the LQR
            actions, ``cost <= lq_factor * J* + lq_atol`` where ``J*`` is the optimum from the
            finite-horizon Riccati recursion (:func:`planlab.testing.riccati_reference`).
    discrete : bool
        Draw discrete-action problems (one input, 2-5 action levels); the ``"lq"`` check is
        skipped.
    lq_factor : float >= 1
        Allowed ratio to the LQR optimum (1 + a few 1e-6 for an exact solver such as LQR/iLQR).
    lq_atol : float
        Absolute slack of the LQ check.
    max_examples : int
        Problems drawn (hypothesis examples).
    horizon : int, optional
        Fix the horizon (default: drawn in 5..15, or 3..10 for discrete problems).
    max_state_dim, max_action_dim : int
        Problem sizes.
    stable : bool or None
        Only stable (True) / unstable (False) open-loop systems; None draws both.
    seed : int
        Planner seed.
    deadline : hypothesis deadline (default None: no per-example time limit).
    derandomize : bool
        Draw the same problems on every run (default, for reproducible CI); False explores new
        problems each run.

    Raises
    ------
    PlannerCheckError
        On the first violated check (hypothesis shrinks to a small failing problem).
    ValueError
        For an unknown check name.

    Examples
    --------
    >>> from planlab.planners import CEM
    >>> check_planner(lambda d, c, h, s: CEM(d, c, h, population=200, elites=20, seed=s),
    ...               max_examples=3)  # doctest: +SKIP
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from .strategies import action_boxes, discrete_linear_problems, lq_problems
    from .systems import LinearSystem

    checks = tuple(checks)
    unknown = [c for c in checks if c not in ALL_CHECKS]
    if unknown:
        raise ValueError(f"checks: expected names from {ALL_CHECKS}, got {unknown[0]!r}")
    if lq_factor < 1:
        raise ValueError(f"lq_factor: expected a number >= 1, got {lq_factor}")
    hz = st.just(int(horizon)) if horizon is not None else None

    def run(dynamics, cost, x0, H, lqr_cost=None):
        def problem():
            return reproduce_problem(dynamics, cost, x0, H)

        planner = factory(dynamics, cost, H, seed)
        if not isinstance(planner, Planner):
            _fail("contract", problem, f"factory: expected a planlab Planner, got {type(planner).__name__}")
        plan = planner.plan(x0)
        check_plan(plan, dynamics, cost, x0, H, check_cost="cost" in checks, problem=problem)
        if "determinism" in checks:
            again = factory(dynamics, cost, H, seed).plan(x0)
            if not (np.array_equal(again.actions, plan.actions) and again.cost == plan.cost):
                _fail("determinism", problem, "plan: expected the same plan from two planners with the same seed, "
                      f"got costs {plan.cost!r} and {again.cost!r}")
            planner.reset(seed)
            replay = planner.plan(x0)
            if not np.array_equal(replay.actions, plan.actions):
                _fail("determinism", problem, "reset(seed): expected the first plan again, got a different one")
        if "warm_start" in checks:
            ws = np.concatenate([plan.actions[1:], plan.actions[-1:]], axis=0)
            x1 = plan.states[1]
            planner.advance(1)  # as the MPC loop does before a warm-started replan
            p2 = planner.plan(x1, warm_start=ws)
            check_plan(p2, dynamics, cost, x1, H, check_cost="cost" in checks,
                       problem=lambda: problem() + "\n    (replanned from x1 = states[1] with the shifted plan as warm start)")
        if "lq" in checks and lqr_cost is not None:
            bound = lq_factor * lqr_cost + lq_atol
            if not plan.cost <= bound:
                _fail("lq", problem, f"cost: expected at most {lq_factor} x the LQR optimum {lqr_cost:.6g} "
                      f"(+{lq_atol:g}) = {bound:.6g}, got {plan.cost:.6g} (ratio {plan.cost / lqr_cost:.4g})")

    cfg = settings(max_examples=max_examples, deadline=deadline, derandomize=derandomize, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                          HealthCheck.data_too_large])
    if discrete:
        strat = discrete_linear_problems(max_state_dim=max_state_dim, **({"horizon": hz} if hz is not None else {}))

        @cfg
        @given(strat)
        def _check(p):
            dyn, cost, x0, H = p
            run(dyn, cost, x0, H)
    else:
        strat = lq_problems(max_state_dim=max_state_dim, max_action_dim=max_action_dim, stable=stable,
                            **({"horizon": hz} if hz is not None else {}))

        @cfg
        @given(strat, st.data())
        def _check(p, data):
            if data.draw(st.booleans(), label="random box"):  # an asymmetric box (maybe excluding 0): no LQ bound
                A, B = p.dynamics.matrices()
                lo, hi = data.draw(action_boxes(B.shape[1]), label="box")
                run(LinearSystem(A, B, lo, hi), p.cost, p.x0, p.horizon)
            else:
                run(p.dynamics, p.cost, p.x0, p.horizon, p.lqr_cost)

    _check()
