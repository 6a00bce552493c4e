r"""Cross-entropy method (CEM) over action sequences, and its improved variant iCEM.

The cross-entropy method (Rubinstein & Kroese, 2004, "The Cross-Entropy Method"; Botev, Kroese,
Rubinstein & L'Ecuyer, 2013, "The cross-entropy method for optimization") used as a planner
keeps a diagonal Gaussian over action sequences, ``A ~ N(mean, diag(std^2))`` with ``mean``
and ``std`` of shape (H, nu), and repeats: sample N sequences (clipped to the action box), evaluate
``J(A_i)`` through the model's rollout path, pick the M elites with the *lowest* cost, refit the
Gaussian to them with smoothing ``alpha``::

    mean <- alpha * mean + (1 - alpha) * mean(elites)
    std  <- max(alpha * std + (1 - alpha) * std(elites), min_std)

The plan is the best sequence ever evaluated (the warm start included), not the final mean, so the
returned cost is never worse than the warm start's.

:class:`ICEM` (Pinneri et al., 2020, "Sample-efficient cross-entropy method for real-time
planning") is :class:`CEM` with other defaults: coloured ``1/f^beta`` noise across time, a
fraction of elites kept from one iteration to the next and from one MPC step to the next (shifted
by the steps executed), population decay ``N_k = max(N * gamma^-k, 2 M)``; the mean is evaluated
as a candidate in the last iteration (by both).
"""

from __future__ import annotations

import functools
import inspect
import math
import time
import warnings

import numpy as np

from ...core.contracts import Cost, Dynamics
from ...core.planning import STATUS_FAILED, STATUS_OK, Plan, Planner
from ...core.seeding import SeedLike
from ...core.validation import check_positive_int
from .evaluator import SequenceEvaluator, action_scale, box_centre
from .noise import draw_noise

__all__ = ["CEM", "ICEM"]


def _check_fraction(name, value, *, low=0.0, high=1.0, low_open=False, high_open=True):
    v = float(value)
    ok = math.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        raise ValueError(f"{name}: expected a number in {lb}{low}, {high}{rb}, got {value!r}")
    return v


def _shifted(seq: np.ndarray, k: int) -> np.ndarray:
    """``seq`` (H, nu) advanced by ``k`` steps, padded with its last entry."""
    k = min(k, seq.shape[0])
    if k == 0:
        return seq.copy()
    return np.concatenate([seq[k:], np.repeat(seq[-1:], k, axis=0)], axis=0)


class CEM(Planner):
    r"""Cross-entropy method over action sequences (Rubinstein & Kroese, 2004).

    Parameters
    ----------
    dynamics : Dynamics
    cost : Cost
    horizon : int
        Planning horizon H (>= 1).
    population : int
        Sequences sampled per iteration N.
    elites : int
        Elites M refitted per iteration (``1 <= M < N``).
    iterations : int
        CEM iterations per plan.
    alpha : float in [0, 1)
        Smoothing: the weight of the previous mean/std in each refit.
    init_std : float > 0
        Initial standard deviation, as a fraction of the action box's half-width (absolute where
        the box is unbounded).
    min_std : float >= 0
        Lower bound on the standard deviation, same unit as ``init_std``.
    background_compile : bool or None
        With kernels not yet in the cache, serve plans with numpy while they compile in a background
        process (same numbers; :mod:`planlab.planners.sampling.background`); None follows
        ``PLANLAB_BACKGROUND_COMPILE`` (on unless set to 0).
    particles : int
        Rollouts per sequence on stochastic models (costs averaged, as in PETS, Chua et al., 2018).
    noise_beta : float >= 0
        Exponent of the coloured noise across time (0 = white; iCEM uses 2-4).
    keep_elites : float in [0, 1]
        Fraction of the elites carried into the next iteration and, shifted by the steps executed
        (:meth:`advance`), into the next MPC step (iCEM); 0 disables it.
    population_decay : float >= 1
        Population of iteration k is ``max(N / decay^k, 2 M)`` (iCEM); 1 disables it.
    seed : int, Generator or None

    Notes
    -----
    Actions are sampled as ``clip(mean + std * eps, low, high)`` (clipping, not a truncated normal:
    samples on the bound are legitimate candidates and the clip is one comparison inside the fused
    rollout). When the MPC loop has called :meth:`advance` with the k steps executed since the
    previous plan, the mean starts from the previous *final mean* shifted by k steps and the kept
    elites (iCEM) are shifted alike; the warm start itself (the previous plan shifted) is still
    evaluated as a candidate. Otherwise a warm start becomes the starting mean; without one the
    mean starts at the centre of the box. The random words behind all iterations' standard normals
    are drawn in one call and turned into normals inside the fused rollout
    (:mod:`planlab.planners.sampling.ziggurat`).

    Examples
    --------
    >>> import numpy as np
    >>> from planlab.dynamics import Pendulum
    >>> sys = Pendulum()
    >>> cem = CEM(sys, sys.default_cost(), horizon=20, population=200, elites=20, seed=0)
    >>> plan = cem.plan(np.array([np.pi, 0.0]))
    >>> plan.actions.shape, bool(np.all(np.abs(plan.actions) <= 2.0))
    ((20, 1), True)
    """

    name = "cem"
    discrete_actions = False  # Gaussian sampling rounded to indices drifts (CartPole-v1 falls)
    cli_options = ("population", "iterations", "elites")

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int = 30, *, population: int = 500,
                 elites: int = 50, iterations: int = 5, alpha: float = 0.1, init_std: float = 0.5,
                 min_std: float = 0.02, particles: int = 1, noise_beta: float = 0.0, keep_elites: float = 0.0,
                 population_decay: float = 1.0, seed: SeedLike = None,
                 background_compile: bool | None = None):
        super().__init__(dynamics, cost, horizon, seed=seed)
        self.population = check_positive_int("population", population, minimum=2)
        self.elites = check_positive_int("elites", elites)
        if self.elites >= self.population:
            raise ValueError(f"elites: expected fewer elites than the population ({self.population}), got {elites}")
        self.iterations = check_positive_int("iterations", iterations)
        self.alpha = _check_fraction("alpha", alpha)
        self.init_std = float(init_std)
        if not (math.isfinite(self.init_std) and self.init_std > 0):
            raise ValueError(f"init_std: expected a finite number > 0, got {init_std!r}")
        self.min_std = float(min_std)
        if not (math.isfinite(self.min_std) and self.min_std >= 0):
            raise ValueError(f"min_std: expected a finite number >= 0, got {min_std!r}")
        self.particles = check_positive_int("particles", particles)
        self.noise_beta = float(noise_beta)
        if not (math.isfinite(self.noise_beta) and self.noise_beta >= 0):
            raise ValueError(f"noise_beta: expected a finite number >= 0, got {noise_beta!r}")
        self.keep_elites = _check_fraction("keep_elites", keep_elites, high_open=False)
        self.population_decay = float(population_decay)
        if not (math.isfinite(self.population_decay) and self.population_decay >= 1):
            raise ValueError(f"population_decay: expected a finite number >= 1, got {population_decay!r}")
        self._eval = SequenceEvaluator(dynamics, cost, self.particles, background_compile=background_compile)
        self._scale = action_scale(dynamics)
        self._kept = None  # elites of the previous MPC step (K, H, nu)
        self._prev_mean = None  # the previous plan's final mean (H, nu)
        self._advanced = None  # steps executed since the previous plan, as told by advance()

    def reset(self, seed: SeedLike = None) -> None:
        super().reset(seed)
        self._kept = None
        self._prev_mean = None
        self._advanced = None

    def advance(self, steps: int) -> None:
        """``steps`` actions of the previous plan were executed: the next plan starts from the previous
        final mean and kept elites shifted by ``steps`` (the MPC loop calls this before a replan)."""
        steps = int(steps)
        if steps < 0:
            raise ValueError(f"steps: expected a number >= 0, got {steps}")
        self._advanced = (self._advanced or 0) + steps

    # ------------------------------------------------------------------------------------------
    def _populations(self) -> list[int]:
        return [max(int(self.population / self.population_decay ** k), min(2 * self.elites, self.population))
                for k in range(self.iterations)]

    def _noise(self, sizes: list[int]):
        """Standard noise for every iteration, drawn in one call: list of (N_k, H, nu) noises."""
        return draw_noise(self.rng, sizes, self.horizon, self.dynamics.action_dim, self.noise_beta)

    def plan(self, x0, warm_start=None) -> Plan:
        """Plan from ``x0`` (nx,), warm-started with actions (H, nu). See the class docstring."""
        t0 = time.perf_counter()
        x0 = np.ascontiguousarray(self._check_x0(x0))
        ws = self._check_warm_start(warm_start)
        d, H, nu = self.dynamics, self.horizon, self.dynamics.action_dim
        ev = self._eval
        shift = self._advanced if self._prev_mean is not None else None
        self._advanced = None
        if shift is not None:  # told by advance(): start from our previous mean, shifted
            mean = _shifted(self._prev_mean, shift)
        elif ws is not None:
            mean = ws.copy()
        else:
            mean = np.array(np.broadcast_to(box_centre(d), (H, nu)), dtype=np.float64)
        std = np.broadcast_to(self.init_std * self._scale, (H, nu)).copy()
        min_std = self.min_std * self._scale
        n_keep = int(round(self.keep_elites * self.elites))

        # candidates carried in: the warm start and the previous step's elites (shifted)
        extra = [(ws if ws is not None else d.clip_action(mean))[None]]
        if n_keep and self._kept is not None and shift is not None:
            extra.append(np.stack([_shifted(e, shift) for e in self._kept[:n_keep]]))
        carried = np.concatenate(extra, axis=0)
        carried_cost = ev.costs(x0, carried, self.rng)
        best_i = int(np.argmin(carried_cost))
        best_cost, best = float(carried_cost[best_i]), carried[best_i].copy()
        ws_cost = float(carried_cost[0]) if ws is not None else None
        # kept elites take part in the first refit; the warm start only as a candidate
        pool_U = carried[1:]
        pool_c = carried_cost[1:]

        sizes = self._populations()
        noise = self._noise(sizes)
        history = []
        n_evals = len(carried)
        for k, eps in enumerate(noise):
            costs = ev.sampled_costs(x0, mean, std, eps, self.rng)
            n_evals += len(costs)
            if len(pool_c):  # kept elites compete with the new samples
                all_c = np.concatenate([costs, pool_c])
            else:
                all_c = costs
            M = self.elites
            idx = np.argpartition(all_c, M - 1)[:M] if M < len(all_c) else np.arange(len(all_c))
            if len(pool_c):
                new = idx[idx < len(costs)]
                old = idx[idx >= len(costs)] - len(costs)
                elites = ev.sampled_actions(mean, std, eps, new)
                if len(old):
                    elites = np.concatenate([elites, pool_U[old]], axis=0)
                idx = np.concatenate([new, old + len(costs)])  # the order of the rows of elites
            else:
                elites = ev.sampled_actions(mean, std, eps, idx)
            el_c = all_c[idx]
            i = int(np.argmin(el_c))
            ci = float(el_c[i])
            if ci < best_cost:
                best_cost, best = ci, elites[i].copy()
            history.append(ci)
            finite = np.isfinite(el_c)
            n_fin = int(np.count_nonzero(finite))
            if n_fin == 0:
                continue  # nothing finite to refit to: keep the distribution
            el = elites if n_fin == len(el_c) else elites[finite]
            m = el.sum(axis=0) / len(el)
            d2 = el - m
            s = np.sqrt((d2 * d2).sum(axis=0) / len(el))
            mean = self.alpha * mean + (1 - self.alpha) * m
            std = np.maximum(self.alpha * std + (1 - self.alpha) * s, min_std)
            if n_keep:
                order = np.argsort(el_c)[:n_keep]
                pool_U, pool_c = elites[order], el_c[order]
            if k == len(noise) - 1:  # iCEM: the final mean is a candidate too (clipped/rounded to the box)
                m = d.clip_action(mean)[None]
                mc = float(ev.costs(x0, m, self.rng)[0])
                n_evals += 1
                if mc < best_cost:
                    best_cost, best = mc, m[0].copy()
        if n_keep:
            self._kept = pool_U.copy() if len(pool_U) else None
        self._prev_mean = mean.copy()

        status = STATUS_OK
        if not np.isfinite(best_cost):
            status = STATUS_FAILED
            warnings.warn(f"{type(self).__name__}: no finite-cost action sequence found from x0={x0}; "
                          "returning the start sequence", RuntimeWarning, stacklevel=2)
        states, cost = ev.plan_rollout(x0, best, self.rng)
        if not np.all(np.isfinite(states)):
            status = STATUS_FAILED
            states = np.where(np.isfinite(states), states, x0[None])  # never a NaN plan
        return Plan(best, states, cost if np.isfinite(cost) else np.inf, status, {
            "plan_time_s": time.perf_counter() - t0, "iterations": self.iterations, "populations": sizes,
            "evaluations": n_evals, "best_cost_history": history, "warm_start_cost": ws_cost,
            "best_cost": best_cost,
            "final_std_mean": float(np.mean(std)), "fused": ev.fused, "warm_start_shift": shift,
        })


def _with_defaults(init, **defaults):
    """``init`` with other defaults for some of its keyword-only parameters (signature included)."""
    sig = inspect.signature(init)
    for name in defaults:
        if name not in sig.parameters or sig.parameters[name].kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{name}: not a keyword-only parameter of {init.__qualname__}")

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *args, **{**defaults, **kwargs})

    __init__.__signature__ = sig.replace(parameters=[
        p.replace(default=defaults[p.name]) if p.name in defaults else p for p in sig.parameters.values()])
    return __init__


class ICEM(CEM):
    """iCEM: :class:`CEM` with the improvements of Pinneri et al. (2020) switched on by default.

    Pinneri et al. (2020), "Sample-efficient cross-entropy method for real-time planning" (CoRL).
    Only the defaults differ: coloured noise ``noise_beta=2.5``, ``keep_elites=0.3`` and
    ``population_decay=1.25``; see :class:`CEM` for every parameter.
    """

    name = "icem"
    __init__ = _with_defaults(CEM.__init__, noise_beta=2.5, keep_elites=0.3, population_decay=1.25)
