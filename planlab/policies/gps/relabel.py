r"""Labelling the states the global policy itself visits with an MPC expert (DAgger / PLATO for GPS).

The S-step of guided policy search fits the policy at the states of the local controllers' samples; a
policy that is not yet exact drifts off those states, and nothing tells it how to recover (the
distribution-shift argument of Ross, Gordon & Bagnell 2011). PLATO (Kahn, Zhang, Levine & Abbeel 2017)
trains the policy on the states it visits, labelled by an MPC expert. :func:`policy_visits` runs the
global policy (its mean plus noise ``Σ_π``) from a condition's initial state and, at every state it
reaches, asks a receding-horizon iLQR for its action. The executed action is the policy's (with
probability ``mix`` the expert's instead, the β-mixture of DAgger), so the labelled states are the
ones the policy goes to, and the expert — time-invariant like the policy, unlike the time-varying local
controllers — says what to do there.

References: S. Ross, G. Gordon & D. Bagnell, "A reduction of imitation learning and structured prediction
to no-regret online learning", AISTATS 2011. G. Kahn, T. Zhang, S. Levine & P. Abbeel, "PLATO: Policy
learning using adaptive trajectory optimization", ICRA 2017.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from ...core.contracts import Cost, Dynamics
from ...core.validation import as_float_array, check_positive_int
from ...planners.mpc import MPC
from ...planners.trajopt.ilqr import ILQR

__all__ = ["policy_visits", "policy_plan", "median_precision", "check_pool"]


def check_pool(pool, nx: int, nu: int, k: int, horizon: int) -> tuple:
    """Validate a relabelling pool ``(starts (R, nx), costs (R Costs), inputs (R, k) or None, nominal
    (R, horizon, nu) or None)``; returns it with arrays as float64."""
    if pool is None or len(pool) != 4:
        raise ValueError("relabel_pool: expected (starts, costs, inputs, nominal) with config.relabel_fresh > 0, "
                         f"got {type(pool).__name__}")
    starts = as_float_array("relabel_pool starts", pool[0], ndim=2)
    R = len(starts)
    if starts.shape[1] != nx or R < 1:
        raise ValueError(f"relabel_pool starts: expected shape (R >= 1, {nx}), got {starts.shape}")
    costs = list(pool[1])
    if len(costs) != R or not all(isinstance(c, Cost) for c in costs):
        raise ValueError(f"relabel_pool costs: expected {R} Costs, got {pool[1]!r}")
    inputs = None if pool[2] is None else as_float_array("relabel_pool inputs", pool[2], shape=(R, k))
    if k and inputs is None:
        raise ValueError("relabel_pool inputs: expected the pool's extra inputs, got None")
    nom = None if pool[3] is None else as_float_array("relabel_pool nominal", pool[3], shape=(R, horizon, nu))
    return starts, costs, inputs, nom


def median_precision(P) -> np.ndarray:
    """The precision ``(nu, nu)`` of the median step by trace of a controller's ``P (T, nu, nu)``."""
    P = np.asarray(P, dtype=np.float64)
    return P[np.argsort(np.trace(P, axis1=1, axis2=2))[len(P) // 2]]


def policy_visits(dynamics: Dynamics, cost: Cost, act: Callable, x0, horizon: int, *, rollouts: int, noise_cov,
                  rng: np.random.Generator, mpc_horizon: int, mpc_iterations: int,
                  mix: float = 0.0, nominal=None, warm_from_policy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """States the policy visits from ``x0`` and the MPC expert's actions there.

    Parameters
    ----------
    dynamics, cost : the system and the condition's cost (the expert plans on both).
    act : callable
        ``act(x (nx,)) -> (nu,)``: the policy's mean action (any extra inputs already appended by the caller).
    x0 : array_like (nx,)
    horizon : int
        Steps per rollout.
    rollouts : int
    noise_cov : array_like (nu, nu)
        Covariance of the Gaussian noise added to the executed action, the policy's or the expert's
        (``Σ_π``; zeros for none): without it, expert-executed rollouts from one start would all be the
        same trajectory.
    rng : numpy Generator
    mpc_horizon, mpc_iterations : int
        The expert: iLQR over this horizon with at most this many iterations per step, warm-started from
        its shifted previous plan.
    mix : float in [0, 1]
        Probability that a step executes the expert's action instead of the policy's.
    nominal : array_like (horizon, nu), optional
        Warm start the expert at step ``t`` from ``nominal[t : t + mpc_horizon]`` (padded with its last
        row) instead of its own shifted previous plan: every label is then a re-plan in the route of
        the nominal actions (the local controller's), so that states the policy visits in different
        rollouts get labels of one homotopy class (a swing-up to the left and one to the right from
        nearby states would average into neither).
    warm_from_policy : bool
        Warm start the expert at every visited state ``x`` from the policy's own open-loop actions over
        the expert's horizon (:func:`policy_plan`, run on ``dynamics`` from ``x``): the label is then the
        expert's improvement of what the policy would do from ``x`` — one function of the state (not of
        the rollout's history, as the shifted previous plan is) and in the policy's own route, so the
        policy is never asked to swing left and right from nearby states. Excludes ``nominal``.

    Returns
    -------
    X : ndarray (rollouts · horizon, nx)
        Visited states (the last state of each rollout is not labelled).
    U : ndarray (rollouts · horizon, nu)
        The expert's actions at them.
    """
    nx, nu = dynamics.state_dim, dynamics.action_dim
    x0 = as_float_array("x0", x0, shape=(nx,))
    horizon = check_positive_int("horizon", horizon)
    rollouts = check_positive_int("rollouts", rollouts)
    S = as_float_array("noise_cov", noise_cov, shape=(nu, nu))
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix: expected a probability in [0, 1], got {mix}")
    w, V = np.linalg.eigh(0.5 * (S + S.T))
    L = V * np.sqrt(np.maximum(w, 0.0))
    X, U = np.empty((rollouts, horizon, nx)), np.empty((rollouts, horizon, nu))
    planner = ILQR(dynamics, cost, mpc_horizon, max_iterations=mpc_iterations)
    if warm_from_policy:
        if nominal is not None:
            raise ValueError("nominal: expected None with warm_from_policy=True (one warm start per label), got an array")
        def expert(x, t):
            return planner.plan(x, warm_start=policy_plan(dynamics, act, x, mpc_horizon)).actions[0]
        reset = (lambda: None)
    elif nominal is None:
        mpc = MPC(planner)
        expert, reset = (lambda x, t: mpc.act(x)), mpc.reset
    else:
        nom = as_float_array("nominal", nominal, shape=(horizon, nu))
        nom = np.concatenate([nom, np.repeat(nom[-1:], mpc_horizon, axis=0)])
        expert, reset = (lambda x, t: planner.plan(x, warm_start=nom[t:t + mpc_horizon]).actions[0]), (lambda: None)
    with warnings.catch_warnings():  # a receding-horizon expert stops at its iteration cap by design
        warnings.filterwarnings("ignore", message="iLQR: stopped at max_iterations", category=RuntimeWarning)
        _rollouts(dynamics, expert, reset, act, x0, L, rng, mix, X, U)
    return X.reshape(-1, nx), U.reshape(-1, nu)


def _rollouts(dynamics, expert, reset, act, x0, L, rng, mix, X, U):
    lo, hi, nu = dynamics.action_low, dynamics.action_high, dynamics.action_dim
    rollouts, horizon = X.shape[:2]
    for r in range(rollouts):
        reset()
        x = x0.copy()
        for t in range(horizon):
            X[r, t] = x
            U[r, t] = expert(x, t)
            if mix > 0.0 and rng.random() < mix:  # the expert's action, explored with the same noise
                u = np.clip(U[r, t] + L @ rng.standard_normal(nu), lo, hi)
            else:
                u = np.clip(act(x) + L @ rng.standard_normal(nu), lo, hi)
            x = dynamics.step(x, u)
            if not np.all(np.isfinite(x)):
                raise FloatingPointError(f"dynamics: the rollout from x0 = {x0} left the finite states at step {t}")



def policy_plan(dynamics: Dynamics, act: Callable, x0, horizon: int) -> np.ndarray:
    """``(horizon, nu)``: the actions of ``act`` (clipped to the action box) along its own rollout on ``dynamics``
    from ``x0`` — the policy's open-loop plan, used to warm start an expert in the policy's route."""
    x = as_float_array("x0", x0, shape=(dynamics.state_dim,)).copy()
    U = np.empty((check_positive_int("horizon", horizon), dynamics.action_dim))
    for t in range(horizon):
        U[t] = np.clip(act(x), dynamics.action_low, dynamics.action_high)
        x = dynamics.step(x, U[t])
    return U
