"""The S-step of the GPS loop and the relabelling that feeds it (functions of a
:class:`~planlab.policies.gps.loop.GPS` instance; its methods ``_relabel`` and ``_fit_policy`` call them)."""

from __future__ import annotations

import numpy as np
import torch

from .health import action_scale, fit_diverged, screen_sstep
from .linear_gaussian import trajectory_distribution
from .relabel import median_precision, policy_visits

__all__ = ["relabel", "fit_policy"]


def relabel(gps, it, nominal) -> None:
    """DAgger/PLATO: the states the current policy visits from each condition (and from this iteration's
    ``relabel_fresh`` conditions of the pool), labelled by the MPC expert."""
    cfg, M, nu = gps.config, len(gps.conditions), gps.dynamics.action_dim
    rng = np.random.default_rng([cfg.seed, it, 2])
    Ps = [cfg.relabel_weight * (median_precision(c.precision) if cfg.relabel_precision == "controller" else np.eye(nu))
          for c in gps.controllers]
    jobs = [(gps.conditions[i], gps.costs[i], None if gps.inputs is None else gps.inputs[i],
             nominal[i] if cfg.relabel_anchor else None, Ps[i]) for i in range(M)]
    if cfg.relabel_fresh:
        starts, costs, inputs, noms = gps.relabel_pool
        P = np.median(np.stack(Ps), axis=0)
        for j in (it * cfg.relabel_fresh + np.arange(cfg.relabel_fresh)) % len(starts):
            jobs.append((starts[j], costs[j], None if inputs is None else inputs[j], None if noms is None else noms[j], P))
    obs, us, ps = [gps._agg[0]], [gps._agg[1]], [gps._agg[2]]
    noise = gps.policy.cov if cfg.relabel_noise is None else cfg.relabel_noise ** 2 * np.eye(nu)
    mix = cfg.relabel_mix * cfg.relabel_mix_decay ** it
    warm = cfg.relabel_policy_warm and it >= cfg.relabel_policy_warm_from
    for x0, cost, row, nom, P in jobs:
        visits = gps.relabel_expert or policy_visits
        X, U = visits(gps.dynamics, cost, lambda x: gps.policy.mean(gps._obs(x[None], row))[0], x0,
                             cfg.horizon, rollouts=cfg.relabel_rollouts, noise_cov=noise, rng=rng,
                             mpc_horizon=cfg.relabel_horizon, mpc_iterations=cfg.relabel_iterations,
                             mix=mix, nominal=nom if not warm else None, warm_from_policy=warm)
        obs.append(gps._obs(X, row))
        us.append(U)
        ps.append(np.broadcast_to(P, (len(X),) + P.shape))
    gps._agg = (np.concatenate(obs), np.concatenate(us), np.concatenate(ps))


def fit_policy(gps, samples, it, models, mus, covs, health) -> tuple[float, float]:
    """The S-step: the local controllers' means at their samples' states (and at the augmentation states drawn
    around them) plus the aggregated relabelled states, screened by the health check, fitted by
    precision-weighted regression. Returns the fit's RMS error over all rows and over the rows with a
    positive weight (with ``relabel_local_weight=0`` the local controllers' rows are in the first figure
    only, and a diverged local controller's labels can dominate it)."""
    obs, target, prec, weight, source = [], [], [], [], []
    cfg, T = gps.config, gps.config.horizon
    rng = np.random.default_rng([cfg.seed, it, 1])
    nx = gps.dynamics.state_dim
    local_w = cfg.relabel_local_weight if len(gps._agg[0]) else 1.0
    for i, (X, U) in enumerate(samples):
        ctrl = gps.controllers[i]
        extra = None
        if cfg.augment:
            traj = trajectory_distribution(ctrl, models[i], mus[i], covs[i])
            w, V = np.linalg.eigh(traj.sigma[:, :nx, :nx])  # a square root that tolerates round-off
            w = np.maximum(w, 0.0) if cfg.augment_max_var is None else np.clip(w, 0.0, cfg.augment_max_var)
            L = V * np.sqrt(w + cfg.augment_var)[:, None, :]
            noise = rng.standard_normal((cfg.augment, X.shape[0], T, nx))
            extra = X[None, :, :T] + np.einsum("tij,antj->anti", L, noise)
        for t in range(T):
            Xt = X[:, t] if extra is None else np.concatenate([X[:, t], extra[:, :, t].reshape(-1, nx)])
            obs.append(gps._obs(Xt, None if gps.inputs is None else gps.inputs[i]))
            u = ctrl.mean(t, Xt)
            target.append(np.clip(u, gps.dynamics.action_low, gps.dynamics.action_high) if cfg.clip_targets else u)
            P = ctrl.precision[t]
            prec.append(np.broadcast_to(P, (len(Xt),) + P.shape))
            w = P.shape[0] / np.trace(P) if cfg.weighting == "normalized" else 1.0
            weight.append(np.full(len(Xt), w * local_w))
            source.append(np.full(len(Xt), i))
    obs.append(gps._agg[0])
    target.append(gps._agg[1])
    prec.append(gps._agg[2])
    weight.append(np.ones(len(gps._agg[0])))
    source.append(np.full(len(gps._agg[0]), -1))
    O, Y, P, W, S = (np.concatenate(a) for a in (obs, target, prec, weight, source))
    keep = screen_sstep(O, Y, P, S, gps.dynamics, cfg.label_limit, health)
    if not np.any(keep) or (cfg.policy_reinit and gps.policy.fitted and not np.any(keep & (W > 0))):
        health.flag("fit_diverged", "no finite S-step rows are left; the policy is not refitted")
        return float("nan"), float("nan")
    reinit = cfg.policy_reinit and gps.policy.fitted
    if reinit:
        keep &= W > 0
    O, Y, P, W = O[keep], Y[keep], P[keep], W[keep]
    seed = cfg.seed * 7919 + it
    torch.manual_seed(seed)
    before = gps.policy.snapshot()
    if reinit:
        gps.policy.reinitialize(cfg.policy.seed + 1000 * it)
    losses = gps.policy.fit(O, Y, P, weights=W, seed=seed)
    with np.errstate(over="ignore", invalid="ignore"):
        err = (gps.policy.mean(O) - Y) ** 2
        rms = float(np.sqrt(np.mean(err)))
        rms_fitted = float(np.sqrt(np.mean(err[W > 0]))) if np.any(W > 0) else float("nan")
    scale = float(np.mean(action_scale(gps.dynamics.action_low, gps.dynamics.action_high)))
    problem = fit_diverged(losses, rms, float(np.sqrt(np.mean(Y ** 2))), cfg.fit_limit, scale)
    if problem is not None:
        health.flag("fit_diverged", problem)
        gps.policy.restore(before)
    return rms, rms_fitted

