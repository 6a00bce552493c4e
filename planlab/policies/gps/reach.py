r"""The goal-conditioned 2-link reacher: a receding-horizon expert, (start, target) draws, and DAgger over goals.

:class:`ReachExpert` is the teacher: iLQR over ``horizon`` steps (default 50 = 1 s) on a
:class:`~planlab.dynamics.systems.two_link_arm.ReachCost` whose terminal weights make it arrive and stop
(``w_pos_final`` 300, ``w_vel_final`` 30, against 10 and 0.1 of the env's cost), re-planned at every step
from its shifted previous plan; the first plan of an episode starts from
:func:`~planlab.policies.gps.tasks.reach_warm_start` (both elbow solutions, the better one). Run in closed
loop it is time-invariant, like the policy that imitates it. One open-loop iLQR plan over the env's whole
100 steps reaches only 0.84–0.89 of random (start, target) pairs with any of the terminal weights tried:
its failing plans are still moving at step 90 and the success needs the last 10 steps inside the radius.

:func:`reach_dagger` trains a goal-conditioned :class:`~planlab.policies.gps.global_policy.GaussianMLPPolicy`
by DAgger (Ross, Gordon & Bagnell 2011) with data aggregation over fresh goals: round 0 labels the
expert's own (noisy) episodes; every later round runs the policy (with probability ``mix · decay^r`` per
step the expert's action instead) from new (start, target) pairs, labels every visited state with the
expert's action there, adds them to the data and refits the policy on all of it (unit precision).
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from ...core.validation import as_float_array, check_positive, check_positive_int
from ...dynamics.systems.two_link_arm import ReachCost
from ...planners.trajopt.ilqr import ILQR
from .global_policy import GaussianMLPPolicy
from .relabel import policy_plan
from .tasks import reach_pairs, reach_success, reach_warm_start

__all__ = ["ReachExpert", "reach_pairs", "reach_dagger", "rollout_goal_policy"]


class ReachExpert:
    """Receding-horizon iLQR reaching expert (module docstring).

    Parameters
    ----------
    dynamics : TwoLinkArm
    horizon, iterations : int
        iLQR horizon and iterations per step.
    w_pos_final, w_vel_final : float
        Terminal weights of the expert's :class:`ReachCost` (the running weights are the env's).
    policy_warm : bool
        :meth:`visits` (when the policy executes, ``mix < 1``): at every visited state also plan from the
        policy's own open-loop actions (:func:`~planlab.policies.gps.relabel.policy_plan`) and keep the cheaper
        of the two plans, so that the label follows the policy's route whenever that route is as good (a
        target on the far side can be reached turning either way; labels of both turns average into a stall).
    """

    def __init__(self, dynamics, horizon: int = 50, iterations: int = 20, w_pos_final: float = 300.0,
                 w_vel_final: float = 30.0, policy_warm: bool = False):
        self.policy_warm = bool(policy_warm)
        self.dynamics = dynamics
        self.horizon = check_positive_int("horizon", horizon)
        self.iterations = check_positive_int("iterations", iterations)
        self.w_pos_final = check_positive("w_pos_final", w_pos_final)
        self.w_vel_final = check_positive("w_vel_final", w_vel_final)
        self._planner = self._warm = None

    def cost(self, goal) -> ReachCost:
        """The expert's cost for ``goal`` (2,)."""
        p = self.dynamics.params
        return ReachCost(tuple(np.asarray(goal, dtype=np.float64)), p.l1, p.l2, w_pos_final=self.w_pos_final,
                         w_vel_final=self.w_vel_final)

    def start(self, x0, goal) -> None:
        """Begin an episode from ``x0`` (4,) towards ``goal`` (2,): the first plan's warm start."""
        x0 = as_float_array("x0", x0, shape=(4,))
        goal = as_float_array("goal", goal, shape=(2,))
        cost = self.cost(goal)
        self._planner = ILQR(self.dynamics, cost, self.horizon, max_iterations=self.iterations)
        self._warm = reach_warm_start(self.dynamics, cost, x0, goal, self.horizon)

    def act(self, x, alternative=None) -> np.ndarray:
        """The expert's action at ``x`` (4,) (after :meth:`start`); its plan is kept as the next warm start.
        ``alternative`` (horizon, 2): a second warm start; the cheaper of the two plans is taken."""
        if self._planner is None:
            raise RuntimeError("ReachExpert.act: call start(x0, goal) first")
        with warnings.catch_warnings():  # a receding-horizon expert stops at its iteration cap by design
            warnings.filterwarnings("ignore", message="iLQR: ", category=RuntimeWarning)
            plan = self._planner.plan(x, warm_start=self._warm)
            if alternative is not None:
                other = self._planner.plan(x, warm_start=alternative)
                if other.status != "failed" and np.all(np.isfinite(other.actions)) and other.cost < plan.cost:
                    plan = other
        if plan.status == "failed" or not np.all(np.isfinite(plan.actions)):
            raise FloatingPointError(f"ReachExpert: iLQR failed at x = {x} ({plan.status})")
        self._warm = np.concatenate([plan.actions[1:], plan.actions[-1:]])
        return plan.actions[0].copy()

    def visits(self, dynamics, cost, act, x0, horizon: int, *, rollouts: int, noise_cov, rng: np.random.Generator,
               mix: float = 0.0, nominal=None, warm_from_policy: bool = False, **_ignored) -> tuple[np.ndarray, np.ndarray]:
        """The contract of :func:`~planlab.policies.gps.relabel.policy_visits` (``GPS(relabel_expert=...)``):
        ``rollouts`` episodes of ``horizon`` steps from ``x0`` executing ``act(x)`` (with probability ``mix`` the
        expert's action) plus Gaussian noise ``noise_cov``; returns the visited states ``X`` (rollouts · horizon, 4)
        and this expert's actions there ``U``. The goal is ``cost.target``; the expert plans with its own
        horizon, iterations and terminal weights (``mpc_horizon`` and ``mpc_iterations`` are not used)."""
        if dynamics is not self.dynamics:
            raise ValueError("dynamics: expected the expert's own model, got another one")
        if nominal is not None or warm_from_policy:
            raise ValueError("nominal, warm_from_policy: ReachExpert warm starts itself; expected None and False")
        goal = np.asarray(getattr(cost, "target", None), dtype=np.float64)
        if goal.shape != (2,):
            raise ValueError(f"cost: expected a ReachCost (with a 2-d target), got {type(cost).__name__}")
        if not 0.0 <= mix <= 1.0:
            raise ValueError(f"mix: expected a probability in [0, 1], got {mix}")
        S = as_float_array("noise_cov", noise_cov, shape=(2, 2))
        w, V = np.linalg.eigh(0.5 * (S + S.T))
        L = V * np.sqrt(np.maximum(w, 0.0))
        x0 = as_float_array("x0", x0, shape=(4,))
        horizon, rollouts = check_positive_int("horizon", horizon), check_positive_int("rollouts", rollouts)
        X, U = np.empty((rollouts, horizon, 4)), np.empty((rollouts, horizon, 2))
        lo, hi = self.dynamics.action_low, self.dynamics.action_high
        for r in range(rollouts):
            self.start(x0, goal)
            x = x0
            for t in range(horizon):
                alt = policy_plan(self.dynamics, act, x, self.horizon) if self.policy_warm and mix < 1.0 else None
                X[r, t], U[r, t] = x, self.act(x, alt)
                u = U[r, t] if mix >= 1.0 or (mix > 0.0 and rng.random() < mix) else act(x)
                x = self.dynamics.step(x, np.clip(u + L @ rng.standard_normal(2), lo, hi))
                if not np.all(np.isfinite(x)):
                    raise FloatingPointError(f"dynamics: the rollout from x0 = {x0} left the finite states at step {t}")
        return X.reshape(-1, 4), U.reshape(-1, 2)


def rollout_goal_policy(dynamics, act, starts, goals, steps: int = 100) -> np.ndarray:
    """States ``(N, steps + 1, 4)`` of the batched goal-conditioned ``act(obs (N, 6)) -> (N, 2)`` from ``starts``."""
    X = np.empty((len(starts), steps + 1, 4))
    X[:, 0] = starts
    for t in range(steps):
        u = np.clip(act(np.concatenate([X[:, t], goals], axis=1)), dynamics.action_low, dynamics.action_high)
        X[:, t + 1] = dynamics.step(X[:, t], u)
    return X


def reach_dagger(dynamics, policy: GaussianMLPPolicy, expert: ReachExpert, heldout, *, rounds: int = 8,
                 pairs: int = 40, seed: int = 0, mix: float = 0.5, mix_decay: float = 0.5, noise: float = 0.3,
                 epochs: int = 30, steps: int = 100, log=None) -> list[dict]:
    """DAgger over fresh goals (module docstring); returns one row per round.

    Parameters
    ----------
    heldout : tuple (starts (H, 4), goals (H, 2))
        Evaluated after every round by the policy alone (its mean, clipped), with the env's success.
    rounds : int
        Rounds after round 0 (the expert's own episodes).
    pairs : int
        New (start, target) pairs per round, drawn by :func:`reach_pairs` with seeds disjoint from the
        GPS problem's.
    mix, mix_decay : float
        Round ``r`` >= 1 executes the expert's action with probability ``mix · mix_decay^(r-1)``.
    noise : float
        Std of the Gaussian noise on every executed action.
    epochs : int
        Adam epochs per refit over all data.
    log : callable, optional
        Called with each row.
    """
    hs, hg = as_float_array("heldout starts", heldout[0], ndim=2), as_float_array("heldout goals", heldout[1], ndim=2)
    succ = reach_success(dynamics.params.l1, dynamics.params.l2, 0.05, 10)
    rng = np.random.default_rng([seed, 31])
    obs, lab, rows = [], [], []
    for r in range(rounds + 1):
        c0, w0 = time.process_time(), time.perf_counter()
        starts, goals = reach_pairs(pairs, 30_000 + 1000 * seed + r)
        beta = 1.0 if r == 0 else mix * mix_decay ** (r - 1)
        for x0, g in zip(starts, goals):
            X, U = expert.visits(dynamics, expert.cost(g), lambda x, g=g: policy.mean(np.concatenate([x, g])), x0, steps,
                                 rollouts=1, noise_cov=noise ** 2 * np.eye(2), rng=rng, mix=beta)
            obs.append(np.concatenate([X, np.broadcast_to(g, (steps, 2))], axis=1))
            lab.append(U)
        label_cpu = time.process_time() - c0
        O, Y = np.concatenate(obs), np.concatenate(lab)
        losses = policy.fit(O, Y, np.repeat(np.eye(2)[None], len(O), axis=0), epochs=epochs, seed=seed * 7919 + r)
        fit_rms = float(np.sqrt(np.mean((policy.act(O) - Y) ** 2)))
        X = rollout_goal_policy(dynamics, policy.act, hs, hg, steps)
        dist = np.linalg.norm(dynamics.fingertip(X[:, -1]) - hg, axis=1)
        row = {"round": r, "beta": beta, "samples": len(O), "heldout_success": float(np.mean(succ(X, hg))),
               "heldout_final_dist_median": float(np.median(dist)), "fit_rms": fit_rms, "loss": losses[-1],
               "label_cpu_s": label_cpu, "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0,
               "loadavg_1min": os.getloadavg()[0]}
        rows.append(row)
        if log is not None:
            log(row)
    return rows
