"""One evaluation path for the sampling planners' candidate action sequences, compiled when possible.

The sampling planners (random shooting aside) search over action sequences
``U = clip(mean + std * eps)`` with standard noise ``eps`` (N, H, nu)
(:mod:`planlab.planners.sampling.noise`). :class:`SequenceEvaluator` evaluates them, choosing once
per planner between:

* **fused**: the model declares compiled sources (:meth:`planlab.core.Dynamics.compiled_sources`,
  e.g. an :class:`~planlab.dynamics.analytic.AnalyticSystem` with a source cost, numba on) and is
  deterministic. A copy of :mod:`planlab.planners.sampling.kernel` specialised for those sources
  forms each action ``clip(mean + std * eps)`` *inside* the rollout loop and sums the cost, so the
  candidates are never materialised as an (N, H, nu) array unless asked for.
* **generic** (any other :class:`~planlab.core.Dynamics`, e.g. a learned model): the actions are
  formed with numpy and evaluated with ``dynamics.rollout_cost``; for a stochastic model
  (``dynamics.stochastic``) each sequence is rolled out with ``particles`` independent particles
  and the costs averaged, ``J(a_1..a_H) = 1/P sum_p sum_t c(s_t^p, a_t)`` (the particle estimate of
  PETS, Chua et al., 2018).

Both paths give the same numbers for the same noise (tested, also with numba disabled): the same
operations in the same order per entry. That is what lets a cold evaluator serve its first calls
with numpy while its kernels compile in a background process and switch when they are ready
(:mod:`planlab.planners.sampling.background`) without the plans depending on when it switched.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...core.contracts import CompiledSources, Cost, Dynamics
from ...core.seeding import SeedLike
from ...core.validation import check_positive_int
from ...dynamics.analytic import AnalyticSystem
from ...dynamics.compiled import model_sources, numba_enabled, rollout_kernels, source_name, specialise
from . import background
from . import kernel as _kernel_template
from . import ziggurat
from .noise import WordNoise, defer_compiled_noise

__all__ = ["SequenceEvaluator", "sampling_kernels", "action_scale", "box_centre", "nan_to_inf"]


def sampling_kernels(dynamics, termination, running, terminal):
    """:mod:`planlab.planners.sampling.kernel` specialised for these four module-level sources.

    Raises
    ------
    ValueError
        If a source is not a module-level function (kernels import them by name).
    """
    return specialise(_kernel_template, model_sources(dynamics, termination, running, terminal),
                      prefix="planlab_sampling", depends=(ziggurat,))


def action_scale(dynamics: Dynamics) -> np.ndarray:
    """Half-width of the action box (nu,), 1 where the box is unbounded; the unit of relative std options."""
    half = 0.5 * (dynamics.action_high - dynamics.action_low)
    return np.where(np.isfinite(half) & (half > 0), half, 1.0)


def box_centre(dynamics: Dynamics) -> np.ndarray:
    """The centre of the action box (nu,) (0 clipped to the box where a side is unbounded)."""
    lo, hi = dynamics.action_low, dynamics.action_high
    c = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi), np.clip(0.0, lo, hi))
    return dynamics.clip_action(c)


def nan_to_inf(costs: np.ndarray) -> np.ndarray:
    """Costs with NaN replaced by +inf (a NaN rollout is the worst candidate, never the best)."""
    return np.where(np.isnan(costs), np.inf, costs)


class SequenceEvaluator:
    """Evaluates candidate action sequences of one (dynamics, cost) pair, fused when possible.

    Parameters
    ----------
    dynamics : Dynamics
    cost : Cost
    particles : int
        Rollouts per sequence for a stochastic model (costs averaged, as in PETS, Chua et al., 2018);
        ignored (one rollout) for a deterministic model.
    background_compile : bool or None
        When the compiled kernels are not in the cache yet: True evaluates with numpy while a
        background process compiles them (:mod:`planlab.planners.sampling.background`), False
        compiles on the first call; None (default) follows ``PLANLAB_BACKGROUND_COMPILE`` (on unless
        set to 0).

    Attributes
    ----------
    fused : bool
        Whether the compiled kernel (:mod:`planlab.planners.sampling.kernel`) is used (False while
        it compiles in the background).
    """

    def __init__(self, dynamics: Dynamics, cost: Cost, particles: int = 1, *, background_compile: bool | None = None):
        self.dynamics = dynamics
        self.cost = cost
        self.particles = check_positive_int("particles", particles) if dynamics.stochastic else 1
        self.lo = np.ascontiguousarray(dynamics.action_low, dtype=np.float64)
        self.hi = np.ascontiguousarray(dynamics.action_high, dtype=np.float64)
        self.discrete = bool(dynamics.is_discrete)
        self._kernel = None
        self.fused = False
        self._pending = None  # CompiledSources whose kernels compile in the background
        self._bg = None
        self.background_error = None  # why a background compile failed, if one did
        self._numpy_only = False  # while compiling in the background, or after a refused switch
        self._no3 = np.empty((0, 1, 1))
        self._no_words = np.empty(0, dtype=np.uint32)
        if dynamics.stochastic or not numba_enabled():
            return
        bg = background.enabled() if background_compile is None else bool(background_compile) and numba_enabled()
        lazy = background.importable_sources(dynamics, cost) if bg else None
        if lazy is not None and not background.ready_marker(_kernel_name(lazy)).exists():
            self._pending = lazy
            self._numpy_only = True
            defer_compiled_noise(True)
            return
        self._use_kernels(dynamics.compiled_sources(cost))

    def _use_kernels(self, sources) -> None:
        if sources is None:  # None: no sources, or they do not compile with numba
            return
        try:
            self._kernel = sampling_kernels(sources.dynamics, sources.termination, sources.running,
                                            sources.terminal)
        except ValueError:
            self._kernel = None
            return
        self._variants = {flags: getattr(self._kernel, name)  # (explicit, write, round) -> kernel
                          for flags, name in _kernel_template.VARIANTS.items()}
        # explicit sequences go through the rollout kernel the plan's own rollout compiles anyway
        self._rollout = rollout_kernels(sources.dynamics, sources.termination, sources.running,
                                        sources.terminal)
        self._p = np.ascontiguousarray(sources.params, dtype=np.float64)
        self._cp = np.ascontiguousarray(sources.cost_params, dtype=np.float64)
        self.fused = True

    # ------------------------------------------------------------------ background compilation
    @property
    def compiling(self) -> bool:
        """True while the evaluator serves with numpy because its kernels compile in the background."""
        return self._pending is not None

    def _end_pending(self) -> None:
        self._pending = None
        defer_compiled_noise(False)

    def _poll_background(self, flags) -> bool:
        """Start or poll the background compile; True when the compiled kernels may be tried now."""
        if self._bg is None:
            src = self._pending
            names = [list(source_name(f)) for f in (src.dynamics, src.termination, src.running, src.terminal)]
            self._bg = background.start({
                "sources": names, "nx": int(self.dynamics.state_dim), "nu": int(self.dynamics.action_dim),
                "params": np.asarray(src.params, dtype=float).tolist(),
                "cost_params": np.asarray(src.cost_params, dtype=float).tolist(),
                "lo": self.lo.tolist(), "hi": self.hi.tolist(), "variants": [list(flags)],
                "readonly": [not np.asarray(a).flags.writeable for a in (src.params, src.cost_params, self.lo, self.hi)],
                "marker": str(background.ready_marker(_kernel_name(src)))})
            return False
        done = self._bg.poll()
        if done is None:
            return False
        if not done:  # the child failed or timed out: compile here, as without background compilation (a
            # source numba cannot compile then gets its usual warning and the numpy path)
            self.background_error = self._bg.error
        return True

    def _switch(self, numpy_result, compiled_call):
        """Use the compiled kernels from now on if they give ``numpy_result`` bit for bit; returns the result."""
        self._end_pending()
        self._numpy_only = False
        self._use_kernels(self.dynamics.compiled_sources(self.cost))
        if not self.fused:
            return numpy_result
        res = compiled_call()
        same = all(np.array_equal(a, b) and a.tobytes() == b.tobytes()
                   for a, b in zip(_tuple(numpy_result), _tuple(res)))
        if not same:
            self._kernel, self.fused, self._numpy_only = None, False, True
            defer_compiled_noise(True)  # the noise stays on numpy too
            warnings.warn("planlab: the compiled sampling kernels and the numpy path differ in the last bits on "
                          "this machine; this planner stays on numpy (set PLANLAB_BACKGROUND_COMPILE=0 to compile "
                          "on the first plan instead)", RuntimeWarning, stacklevel=4)
        return numpy_result

    # --------------------------------------------------------------------------------------
    def actions(self, mean: np.ndarray, std: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """The candidate actions ``clip(mean + std * eps)`` (rounded for discrete models), (N, H, nu).

        Exactly the actions the fused kernel forms (same operations, same order).
        """
        U = mean + std * eps
        np.maximum(U, self.lo, out=U)
        np.minimum(U, self.hi, out=U)
        if self.discrete:
            np.rint(U, out=U)
        return U

    def sampled_actions(self, mean: np.ndarray, std: np.ndarray, noise, idx) -> np.ndarray:
        """The candidate actions of rows ``idx`` of ``noise`` (len(idx), H, nu), exactly as evaluated."""
        if isinstance(noise, WordNoise):
            return noise.actions(idx, mean, std, self.lo, self.hi, self.discrete)
        return self.actions(mean, std, noise[idx])

    def sampled_costs(self, x0: np.ndarray, mean: np.ndarray, std: np.ndarray, noise,
                      rng: SeedLike = None, *, return_actions: bool = False):
        """Costs (N,) of the sequences ``clip(mean + std * eps_i)`` from ``x0``.

        Parameters
        ----------
        x0 : ndarray (nx,)
        mean, std : ndarray (H, nu)
        noise : ndarray (N, H, nu) or WordNoise
            Standard noise ``eps``.
        rng : Generator, optional
            For stochastic models.
        return_actions : bool
            Also return the actions (N, H, nu) (the fused kernel writes them in the same pass).

        Returns
        -------
        costs : ndarray (N,)
            NaN costs are returned as +inf.
        actions : ndarray (N, H, nu), only when ``return_actions``
        """
        if self._pending is not None:
            flags = (not isinstance(noise, WordNoise), bool(return_actions), self.discrete)
            ready = self._poll_background(flags)
            res = self._sampled(x0, mean, std, noise, rng, return_actions)
            if not ready:
                return res
            return self._switch(res, lambda: self.sampled_costs(x0, mean, std, noise, rng,
                                                                return_actions=return_actions))
        return self._sampled(x0, mean, std, noise, rng, return_actions, compiled=True)

    def _sampled(self, x0, mean, std, noise, rng, return_actions, compiled=False):
        """The sampled costs through the compiled kernel (``compiled`` and one is loaded) or numpy."""
        N = len(noise)
        if compiled and self._kernel is not None:
            out = np.empty(N)
            W = np.empty((N,) + mean.shape) if return_actions else self._no3
            if isinstance(noise, WordNoise):
                E, words, key, base = self._no3, noise.words, noise.key, noise.base
            else:
                E, words, key, base = np.ascontiguousarray(noise), self._no_words, np.uint64(0), 0
            fn = self._variants[(E.shape[0] > 0, bool(return_actions), self.discrete)]
            fn(x0, mean, std, E, words, key, base, self.lo, self.hi, self._p, self._cp, out, W)
            out = nan_to_inf(out)
            return (out, W) if return_actions else out
        eps = noise.array() if isinstance(noise, WordNoise) else noise
        U = self.actions(mean, std, eps)
        out = self.costs(x0, U, rng)
        return (out, U) if return_actions else out

    def costs(self, x0: np.ndarray, U: np.ndarray, rng: SeedLike = None) -> np.ndarray:
        """Costs (N,) of explicit in-box sequences ``U`` (N, H, nu) from ``x0`` (particle mean if stochastic)."""
        d = self.dynamics
        if self._kernel is not None:
            # the actions exactly as the fused kernels form them from mean 0, std 1 and noise U (clipped,
            # rounded for discrete models), rolled out by the kernel that also gives the plan's states
            U = self.actions(np.zeros(U.shape[1:]), np.ones(U.shape[1:]), np.asarray(U, dtype=np.float64))
            N, H = U.shape[0], U.shape[1]
            out = np.empty(N)
            self._rollout.rollout_states(np.ascontiguousarray(x0[None]), U, self._p, self._cp,
                                         np.empty((N, H + 1, x0.shape[0])), out, np.empty(N, dtype=np.bool_))
            return nan_to_inf(out)
        if self._numpy_only:  # numpy, without touching the system's own compiled kernels
            return nan_to_inf(np.asarray(super(AnalyticSystem, d).rollout(x0, U, self.cost).costs, dtype=np.float64))
        if self.particles > 1:
            N = U.shape[0]
            c = d.rollout_cost(x0, np.repeat(U, self.particles, axis=0), self.cost, rng=rng)
            c = np.asarray(c, dtype=np.float64).reshape(N, self.particles).mean(axis=1)
        else:
            c = np.asarray(d.rollout_cost(x0, U, self.cost, rng=rng), dtype=np.float64)
        return nan_to_inf(c)

    def plan_rollout(self, x0: np.ndarray, actions: np.ndarray, rng: SeedLike = None):
        """States (H + 1, nx) and cost of one sequence (H, nu); the particle mean for stochastic models."""
        d = self.dynamics
        if self.particles > 1:
            roll = d.rollout(x0, np.repeat(actions[None], self.particles, axis=0), self.cost, rng=rng)
            return roll.states.mean(axis=0), float(np.mean(roll.costs))
        if self._numpy_only:  # numpy, without touching the system's own compiled kernels
            roll = super(AnalyticSystem, d).rollout(x0, actions[None], self.cost)
        else:
            roll = d.rollout(x0, actions[None], self.cost, rng=rng)
        return roll.states[0], float(roll.costs[0])


def _tuple(x):
    return x if isinstance(x, tuple) else (x,)




def _kernel_name(src: CompiledSources) -> str:
    """Name of the sampled kernel module for these sources (writes and imports it; compiles nothing)."""
    return sampling_kernels(src.dynamics, src.termination, src.running, src.terminal).__name__
