r"""Guided policy search: local linear-Gaussian controllers trained into one neural policy.

The loop (Levine & Koltun 2013; Levine & Abbeel 2014; mirror-descent GPS, Montgomery & Levine 2016),
for ``M`` initial conditions ``x_0^i``, each iteration:

1. run each local controller ``p_i`` ``N`` times on the system (its noise explores);
2. fit each condition's time-varying linear-Gaussian dynamics: the linearisation of the known model
   along the sample mean (``dynamics="known"``) or regression on the samples with a prior pooled over
   neighbouring steps (``dynamics="sampled"``);
3. S-step (first iteration only, before the C-step): fit the global policy to the samples;
4. C-step: linearise the global policy along each condition's samples (``π̄_i``) and solve
   ``min E_p[c]  s.t.  D_KL(p ‖ π̄_i) ≤ ε_i`` (:func:`~planlab.policies.gps.kl_trajopt.kl_step`);
5. S-step: fit the global policy by precision-weighted regression onto the new controllers' means at
   all sample states;
6. adapt ``ε_i`` from predicted versus actual improvement; evaluate the global policy alone on
   held-out initial states; write ``progress.jsonl``, a checkpoint and ``learning_curve.png``.

The local controllers start from iLQR around each condition (``init="ilqr"``; needs the model; every
condition after the first is warm-started from the first one's plan, so that all demonstrations take
the same route — a swing-up to the left and one to the right from nearby states would average into
neither) or from zero gains with noise ``init_var`` (``init="zero"``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from ...core.contracts import Cost, Dynamics
from ...core.validation import as_float_array
from ...planners.trajopt.ilqr import ILQR
from .checkpoint import read_checkpoint, write_checkpoint
from .config import GPSConfig
from .global_policy import GaussianMLPPolicy
from .health import IterationHealth, controller_problem
from .kl_trajopt import adapt_epsilon, expand_cost, expected_cost, kl_step
from .linear_gaussian import LinearGaussianController, trajectory_distribution
from .local_dynamics import fit_linear_gaussian_dynamics, linearize_model
from .relabel import check_pool
from .sstep import fit_policy, relabel
from .support import hold_success, plot_curve, window_prior

__all__ = ["GPSConfig", "GPS", "hold_success", "window_prior"]  # the first and last two re-exported


class GPS:
    """Mirror-descent guided policy search over ``M`` initial conditions (see the module docstring).

    Parameters
    ----------
    dynamics : Dynamics
        The system the samples run on (and, with ``dynamics="known"`` or ``init="ilqr"``, the model).
    cost : Cost or sequence of M Costs
        One cost, or one per condition (goal-conditioned tasks).
    conditions : array_like (M, nx)
        Training initial states.
    config : GPSConfig
    inputs : array_like (M, k), optional
        Extra policy inputs per condition (a goal), appended to the state.
    heldout : array_like (H, nx), optional
        Initial states the global policy is evaluated on each iteration.
    heldout_costs, heldout_inputs : optional
        Their costs (default: ``cost``) and extra inputs.
    relabel_pool : tuple, optional
        ``(starts (R, nx), costs (R Costs), inputs (R, k) or None, nominal actions (R, T, nu) or None)``: the
        conditions ``config.relabel_fresh`` draws from, in order, a new set each iteration.
    relabel_expert : callable, optional
        Used instead of :func:`~planlab.policies.gps.relabel.policy_visits` (same arguments and returns) to
        label the policy's visits, e.g. :meth:`planlab.policies.gps.reach.ReachExpert.visits`.
    warm_starts : array_like (M, T, nu), optional
        ``init="ilqr"``: each condition's iLQR starts from these actions (goal-conditioned tasks, whose
        conditions have different goals) instead of the first condition's plan.
    success : callable, optional
        ``success(states (N, T + 1, nx), inputs (N, k) or None) -> (N,) bool``.
    out : str or Path, optional
        Directory for ``progress.jsonl``, the checkpoint and ``learning_curve.png``; an existing
        checkpoint of the same configuration is resumed.
    """

    def __init__(self, dynamics: Dynamics, cost, conditions, config: GPSConfig = GPSConfig(), *, inputs=None,
                 heldout=None, heldout_costs=None, heldout_inputs=None, success: Callable | None = None, out=None,
                 warm_starts=None, relabel_pool=None, relabel_expert: Callable | None = None):
        if not isinstance(config, GPSConfig):
            raise TypeError(f"config: expected a GPSConfig, got {type(config).__name__}")
        if dynamics.is_discrete:
            raise TypeError("dynamics: GPS needs continuous actions, got a discrete model")
        self.dynamics, self.config = dynamics, config
        nx, nu = dynamics.state_dim, dynamics.action_dim
        self.conditions = as_float_array("conditions", conditions, ndim=2)
        if self.conditions.shape[1] != nx or len(self.conditions) < 1:
            raise ValueError(f"conditions: expected shape (M >= 1, {nx}), got {self.conditions.shape}")
        M = len(self.conditions)
        self.costs = self._costs("cost", cost, M)
        self.inputs = None if inputs is None else as_float_array("inputs", inputs, ndim=2)
        if self.inputs is not None and len(self.inputs) != M:
            raise ValueError(f"inputs: expected {M} rows (one per condition), got {len(self.inputs)}")
        k = 0 if self.inputs is None else self.inputs.shape[1]
        self.heldout = None if heldout is None else as_float_array("heldout", heldout, ndim=2)
        if self.heldout is not None and self.heldout.shape[1] != nx:
            raise ValueError(f"heldout: expected shape (H, {nx}), got {self.heldout.shape}")
        H = 0 if self.heldout is None else len(self.heldout)
        self.heldout_costs = self._costs("heldout_costs", heldout_costs if heldout_costs is not None else
                                         (cost if isinstance(cost, Cost) else None), H) if H else []
        self.heldout_inputs = None if heldout_inputs is None else as_float_array("heldout_inputs", heldout_inputs, shape=(H, k))
        if k and H and self.heldout_inputs is None:
            raise ValueError("heldout_inputs: expected the held-out conditions' extra inputs, got None")
        self.success = success
        self.relabel_pool = None if config.relabel_fresh == 0 else check_pool(relabel_pool, nx, nu, k, config.horizon)
        self.relabel_expert = relabel_expert
        self.warm_starts = None if warm_starts is None else as_float_array(
            "warm_starts", warm_starts, shape=(M, config.horizon, nu))
        self.out = None if out is None else Path(out)
        self.policy = GaussianMLPPolicy(nx + k, nu, config.policy, action_low=dynamics.action_low,
                                        action_high=dynamics.action_high)
        base = config.kl_step * config.horizon
        self.epsilon = np.full(M, base)
        self.controllers: list[LinearGaussianController] = []
        self.iteration = 0
        self.curve: list[dict] = []
        self._prev = [None] * M  # (expected cost of the previous controller, predicted cost of the current one)
        self._agg = (np.empty((0, nx + k)), np.empty((0, nu)), np.empty((0, nu, nu)))  # relabelled (obs, u, P)
        if self.out is not None and (self.out / "checkpoint.npz").exists():
            self._resume()
        else:
            self._first_plan = None
            self.controllers = [self._initial_controller(i) for i in range(M)]

    @staticmethod
    def _costs(name, cost, n):
        if isinstance(cost, Cost):
            return [cost] * n
        if cost is None or len(cost) != n or not all(isinstance(c, Cost) for c in cost):
            raise ValueError(f"{name}: expected a Cost or a sequence of {n} Costs, got {cost!r}")
        return list(cost)

    # ------------------------------------------------------------------ pieces
    def _initial_controller(self, i: int) -> LinearGaussianController:
        cfg, nx, nu = self.config, self.dynamics.state_dim, self.dynamics.action_dim
        cov = cfg.init_var * np.eye(nu)
        if cfg.init == "zero":
            return LinearGaussianController(np.zeros((cfg.horizon, nu, nx)), cov=cov)
        warm = None
        short = cfg.init_horizon or cfg.horizon
        if self.warm_starts is not None:
            warm = self.warm_starts[i]
        elif i > 0 and self._first_plan is not None:
            warm = self._first_plan  # one homotopy class for all conditions: the demonstrations agree
        elif short < cfg.horizon:
            first = ILQR(self.dynamics, self.costs[i], short, max_iterations=cfg.ilqr_iterations).plan(self.conditions[i])
            warm = np.concatenate([first.actions, np.zeros((cfg.horizon - short, nu))])
        planner = ILQR(self.dynamics, self.costs[i], cfg.horizon, max_iterations=cfg.ilqr_iterations)
        plan = planner.plan(self.conditions[i], warm_start=warm)
        if i == 0:
            self._first_plan = plan.actions.copy()
        pol = plan.diagnostics["policy"]
        if pol is None:
            raise RuntimeError(f"conditions[{i}]: iLQR returned no controller (status {plan.status!r})")
        return LinearGaussianController(pol.K, pol.k, pol.x_ref, pol.u_ref, cov=cov)

    def _obs(self, X, inputs_row):
        if inputs_row is None:
            return X
        return np.concatenate([X, np.broadcast_to(inputs_row, X.shape[:-1] + inputs_row.shape)], axis=-1)

    def _sample(self, i: int, rng, on_policy: bool = False) -> tuple[np.ndarray, np.ndarray]:
        ctrl, T, N = self.controllers[i], self.config.horizon, self.config.samples
        lo, hi = self.dynamics.action_low, self.dynamics.action_high
        X = np.empty((N, T + 1, self.dynamics.state_dim))
        U = np.empty((N, T, self.dynamics.action_dim))
        X[:, 0] = self.conditions[i]
        L = np.linalg.cholesky(self.policy.cov) if on_policy else None
        row = None if self.inputs is None else self.inputs[i]
        for t in range(T):
            if on_policy:
                u = self.policy.mean(self._obs(X[:, t], row)) + rng.standard_normal(U[:, t].shape) @ L.T
            else:
                u = ctrl.sample(t, X[:, t], rng)
            U[:, t] = np.clip(u, lo, hi)
            X[:, t + 1] = self.dynamics.step(X[:, t], U[:, t])
        return X, U

    def _local_model(self, X, U, i):
        nx = self.dynamics.state_dim
        if self.config.dynamics == "known":
            Xm, Um = X.mean(axis=0), U.mean(axis=0)
            return linearize_model(self.dynamics, Xm, Um, 1e-6 * np.eye(nx), cost=self.costs[i])
        prior = window_prior(X, U, self.config.prior_window, self.config.prior_strength)
        return fit_linear_gaussian_dynamics(X, U, prior)

    def evaluate(self, starts=None, costs=None, inputs=None) -> dict:
        """Run the global policy alone (its mean, no planner) from ``starts`` (default: the held-out states).

        Returns
        -------
        dict with ``success_rate`` (None without a success function), ``mean_cost``, ``states`` (N, T + 1, nx).
        """
        starts = self.heldout if starts is None else as_float_array("starts", starts, ndim=2)
        costs = self.heldout_costs if costs is None else costs
        inputs = self.heldout_inputs if inputs is None else inputs
        T = self.config.horizon
        X = np.empty((len(starts), T + 1, self.dynamics.state_dim))
        U = np.empty((len(starts), T, self.dynamics.action_dim))
        X[:, 0] = starts
        for t in range(T):
            obs = X[:, t] if inputs is None else np.concatenate([X[:, t], inputs], axis=1)
            U[:, t] = self.policy.act(obs)
            X[:, t + 1] = self.dynamics.step(X[:, t], U[:, t])
        c = np.array([float(costs[j].trajectory_cost(X[j], U[j])) for j in range(len(starts))])
        rate = None
        if self.success is not None:
            rate = float(np.mean(self.success(X, inputs)))
        return {"success_rate": rate, "mean_cost": float(c.mean()), "states": X}

    # ------------------------------------------------------------------ the loop
    def step(self) -> dict:
        """One GPS iteration; returns its progress row."""
        cfg, it = self.config, self.iteration
        t0 = time.perf_counter()
        rng = np.random.default_rng([cfg.seed, it])
        M, T = len(self.conditions), cfg.horizon
        base = cfg.kl_step * T
        on_policy = cfg.sampling == "policy" and self.policy.fitted
        health = IterationHealth(it)
        samples, models, exps, mus, covs = [], [], [], [], []
        for i in range(M):
            X, U = self._sample(i, rng, on_policy)
            if not (np.all(np.isfinite(X)) and np.all(np.isfinite(U))):
                raise FloatingPointError(f"conditions[{i}]: a sampled trajectory left the finite states "
                                         f"(iteration {it + 1}); the dynamics or the controller diverged")
            dyn = self._local_model(X, U, i)
            exp = expand_cost(self.dynamics, self.costs[i], X.mean(axis=0), U.mean(axis=0))
            samples.append((X, U))
            models.append(dyn)
            exps.append(exp)
            mus.append(X[:, 0].mean(axis=0))
            covs.append(np.cov(X[:, 0].T).reshape(len(mus[-1]), -1) + 1e-6 * np.eye(len(mus[-1])))
        sample_cost = float(np.mean([self.costs[i].trajectory_cost(*samples[i]).mean() for i in range(M)]))
        if it == 0 and not self.policy.fitted:
            self._fit_policy(samples, it, models, mus, covs, health)
        statuses, kls, pol_costs = [], [], []
        for i in range(M):
            dyn, exp = models[i], exps[i]
            # MDGPS step size (Montgomery & Levine 2016): the improvement of the *policy's* expected cost
            # (its linearisation π̄ under the local model) against the one the last C-step predicted
            ref = self._policy_controller(samples[i][0].mean(axis=0)[:T], None if self.inputs is None else self.inputs[i])
            cur = expected_cost(trajectory_distribution(ref, dyn, mus[i], covs[i]), exp)
            if cfg.step_rule == "local":
                cur = expected_cost(trajectory_distribution(self.controllers[i], dyn, mus[i], covs[i]), exp)
            if self._prev[i] is not None:
                prev_cost, prev_pred = self._prev[i]
                self.epsilon[i] = adapt_epsilon(self.epsilon[i], prev_cost - prev_pred, prev_cost - cur, base=base,
                                                min_mult=cfg.min_step_mult, max_mult=cfg.max_step_mult)
            if cfg.c_step_reference == "local":
                ref = self.controllers[i]
            res = kl_step(dyn, exp, ref, mus[i], covs[i], float(self.epsilon[i]))
            problem = controller_problem(res.predicted_cost, trajectory_distribution(res.controller, dyn, mus[i], covs[i]),
                                         self.dynamics.state_dim, cfg.state_var_limit)
            if problem is None:
                self._prev[i] = (cur, res.predicted_cost)
                self.controllers[i] = res.controller
            else:  # keep the previous controller; its step-size history starts over
                health.flag(problem[0], f"conditions[{i}]: {problem[1]} (the previous controller is kept)")
                self._prev[i] = None
            statuses.append(res.status if problem is None else problem[0])
            kls.append(res.kl)
            pol_costs.append(cur)
        if cfg.relabel_rollouts:
            self._relabel(it, [U.mean(axis=0) for _, U in samples])
        fit_rms, fit_rms_fitted = self._fit_policy(samples, it, models, mus, covs, health)
        ev = self.evaluate() if self.heldout is not None else {"success_rate": None, "mean_cost": None}
        tr = self.evaluate(self.conditions, self.costs, self.inputs) if self.heldout is not None else {"success_rate": None}
        self.iteration += 1
        row = {"iteration": self.iteration, "sample_cost": sample_cost, "heldout_success": ev["success_rate"],
               "heldout_cost": ev["mean_cost"], "train_success": tr["success_rate"], "on_policy": on_policy,
               "epsilon_mean": float(self.epsilon.mean()), "kl_mean": float(np.mean(kls)),
               "epsilon": [round(float(e), 3) for e in self.epsilon], "kl": [round(float(k), 3) for k in kls],
               "policy_cost": [round(float(c), 3) for c in pol_costs], "fit_rms": fit_rms, "fit_rms_fitted": fit_rms_fitted,
               "statuses": statuses, "relabelled": len(self._agg[0]), "status": health.status,
               "issues": [m for _, m in health.issues], "wall_s": time.perf_counter() - t0}
        self.curve.append(row)
        if self.out is not None:
            self._checkpoint(row)
        health.report(cfg.on_failure)
        return row


    def _policy_controller(self, Xbar, inputs_row) -> LinearGaussianController:
        """The global policy linearised along ``Xbar`` (T, nx) as a controller of the state alone (the
        extra inputs are constant within a condition, so their gains fold into the offset)."""
        nx = self.dynamics.state_dim
        K, c = self.policy.linearize(self._obs(Xbar, inputs_row))
        if inputs_row is not None:
            c = c + K[:, :, nx:] @ inputs_row
        return LinearGaussianController.from_affine(K[:, :, :nx], c, self.policy.cov)

    def _relabel(self, it, nominal):
        relabel(self, it, nominal)

    def _fit_policy(self, samples, it, models, mus, covs, health):
        return fit_policy(self, samples, it, models, mus, covs, health)

    def run(self, iterations: int | None = None, *, progress: bool | None = None, stop_at: float | None = None) -> list[dict]:
        """Iterate until ``config.iterations`` (or ``iterations`` more); stop early once the held-out
        success rate reaches ``stop_at``. Returns :attr:`curve`."""
        end = self.config.iterations if iterations is None else self.iteration + int(iterations)
        show = sys.stderr.isatty() if progress is None else bool(progress)
        bar = tqdm(total=end, initial=self.iteration, disable=not show, desc="GPS")
        while self.iteration < end:
            row = self.step()
            bar.update(1)
            bar.set_postfix(success=row["heldout_success"], cost=f"{row['sample_cost']:.1f}")
            if stop_at is not None and row["heldout_success"] is not None and row["heldout_success"] >= stop_at:
                break
        bar.close()
        return self.curve

    # ------------------------------------------------------------------ files
    def _checkpoint(self, row):
        write_checkpoint(self, row)

    def _resume(self):
        read_checkpoint(self)

    def plot(self, path) -> None:
        """Held-out success rate and sample cost against iterations, as a PNG."""
        plot_curve(self.curve, path)
