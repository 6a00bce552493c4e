r"""Model-predictive path integral control (MPPI), a sampling planner.

Williams et al. (2017), "Information theoretic MPC for model-based reinforcement learning" (ICRA).
MPPI perturbs a nominal action sequence ``mean`` (H, nu) with Gaussian noise, evaluates the N
perturbed sequences through the model's rollout path (as random shooting does, but averaging
instead of picking), and moves the nominal sequence by the importance-weighted average
of the perturbations:

.. math::

    w_i = \frac{\exp(-(S_i - \min_j S_j) / \lambda)}{\sum_k \exp(-(S_k - \min_j S_j) / \lambda)}, \qquad
    \text{mean} \leftarrow \text{mean} + \sum_i w_i \, \delta_i

with ``S_i`` the cost of sequence i (optionally plus the control cost
``gamma * lambda * sum_t mean_t^T Sigma^{-1} delta_{i,t}`` of the information-theoretic derivation)
and ``lambda`` the temperature: ``lambda -> 0`` picks the best sample, ``lambda -> inf`` averages
all of them.

Drift toward the bounds. Implementations that clip the sampled actions but update the nominal
sequence with the *unclipped* noise let the nominal sequence wander outside the box whenever the
costs tie (a saturated actuator, a flat cost): beyond the bound every sample costs the same, so
nothing pulls it back, and it sticks at (or past) the bound. Here (1) the update uses the applied
perturbations ``delta_i = clip(mean + eps_i) - mean``, so the new nominal sequence is a convex
combination of in-box sequences and never leaves the box, and (2) when all costs tie (spread below
``1e-12`` relative), the weights carry no information and the nominal sequence is left unchanged
instead of taking a random step.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from ...core.contracts import Cost, Dynamics
from ...core.planning import STATUS_FAILED, STATUS_OK, Plan, Planner
from ...core.seeding import SeedLike
from ...core.validation import as_float_array, check_positive_int
from .evaluator import SequenceEvaluator, action_scale, box_centre
from .noise import draw_noise

__all__ = ["MPPI", "mppi_weights"]

#: Relative cost spread below which MPPI treats all samples as tied (no update).
TIE_RTOL = 1e-12


def mppi_weights(costs: np.ndarray, temperature: float) -> tuple[np.ndarray, bool]:
    """Importance weights ``softmax(-(S - min S) / lambda)`` over the finite costs.

    Parameters
    ----------
    costs : ndarray (N,)
        Non-finite costs get weight 0.
    temperature : float
        ``lambda > 0``.

    Returns
    -------
    weights : ndarray (N,)
        Sum to 1 (all zeros when no cost is finite).
    tied : bool
        True when the finite costs all tie (or none is finite): the weights carry no information.
    """
    costs = np.asarray(costs, dtype=np.float64)
    finite = np.isfinite(costs)
    n_finite = int(np.count_nonzero(finite))
    if n_finite == 0:
        return np.zeros(costs.shape), True
    if n_finite < costs.size:
        c = np.where(finite, costs, np.inf)
    else:
        c = costs
    cmin = float(c.min())
    cmax = float(np.max(costs[finite])) if n_finite < costs.size else float(c.max())
    if cmax - cmin <= TIE_RTOL * max(1.0, abs(cmin)):
        return np.where(finite, 1.0 / n_finite, 0.0), True
    e = np.exp((cmin - c) / temperature)  # exp(-inf) = 0 for the non-finite costs
    e /= e.sum()
    return e, False


class MPPI(Planner):
    r"""Model-predictive path integral control (Williams et al., 2017).

    Parameters
    ----------
    dynamics : Dynamics
    cost : Cost
    horizon : int
        Planning horizon H (>= 1).
    population : int
        Perturbed sequences per iteration N.
    temperature : float > 0
        ``lambda`` of the importance weights.
    noise_std : float or array_like (nu,)
        Standard deviation of the perturbations as a fraction of the action box's half-width
        (absolute where the box is unbounded). Ignored when ``noise_cov`` is given.
    noise_cov : array_like (nu, nu), optional
        Full noise covariance ``Sigma`` in action units (symmetric positive definite).
    iterations : int
        Update steps per plan (classic MPPI: 1).
    smoothing : float in [0, 1)
        Exponential smoothing of the update along time,
        ``d_t <- smoothing * d_{t-1} + (1 - smoothing) * d_t`` (0 = none).
    control_cost : float >= 0
        ``gamma`` of the control-cost term ``gamma * lambda * sum_t mean_t^T Sigma^{-1} delta_t``
        (0 = off).
    background_compile : bool or None
        With kernels not yet in the cache, serve plans with numpy while they compile in a background
        process (same numbers; :mod:`planlab.planners.sampling.background`); None follows
        ``PLANLAB_BACKGROUND_COMPILE`` (on unless set to 0).
    particles : int
        Rollouts per sequence on stochastic models (costs averaged, as in PETS, Chua et al., 2018).
    seed : int, Generator or None

    Examples
    --------
    >>> import numpy as np
    >>> from planlab.dynamics import Pendulum
    >>> sys = Pendulum()
    >>> plan = MPPI(sys, sys.default_cost(), horizon=20, population=200, seed=0).plan(np.array([np.pi, 0.0]))
    >>> plan.actions.shape
    (20, 1)
    """

    name = "mppi"
    discrete_actions = False
    cli_options = ("population", "iterations", "temperature")

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int = 30, *, population: int = 1000,
                 temperature: float = 1.0, noise_std=0.5, noise_cov=None, iterations: int = 1,
                 smoothing: float = 0.0, control_cost: float = 0.0, particles: int = 1, seed: SeedLike = None,
                 background_compile: bool | None = None):
        super().__init__(dynamics, cost, horizon, seed=seed)
        self.population = check_positive_int("population", population)
        t = float(temperature)
        if not (math.isfinite(t) and t > 0):
            raise ValueError(f"temperature: expected a finite number > 0, got {temperature!r}")
        self.temperature = t
        nu = dynamics.action_dim
        if noise_cov is not None:
            cov = as_float_array("noise_cov", noise_cov)
            if cov.shape != (nu, nu):
                raise ValueError(f"noise_cov: expected shape ({nu}, {nu}), got {cov.shape}")
            if not np.allclose(cov, cov.T):
                raise ValueError("noise_cov: expected a symmetric matrix, got an asymmetric one")
            try:
                L = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                raise ValueError(f"noise_cov: expected a positive definite matrix, got eigenvalues "
                                 f"{np.linalg.eigvalsh(cov)}") from None
            self.noise_cov = cov
        else:
            s = as_float_array("noise_std", noise_std)
            try:
                s = np.broadcast_to(s, (nu,)).astype(np.float64)
            except ValueError:
                raise ValueError(f"noise_std: expected a number or shape ({nu},), got {s.shape}") from None
            if np.any(s <= 0):
                raise ValueError(f"noise_std: expected values > 0, got {s}")
            sd = s * action_scale(dynamics)
            self.noise_cov = np.diag(sd * sd)
            L = np.diag(sd)
        self._L = L
        self._diag = bool(np.count_nonzero(L - np.diag(np.diag(L))) == 0)
        self._cov_inv = np.linalg.inv(self.noise_cov)
        self.iterations = check_positive_int("iterations", iterations)
        sm = float(smoothing)
        if not (math.isfinite(sm) and 0 <= sm < 1):
            raise ValueError(f"smoothing: expected a number in [0, 1), got {smoothing!r}")
        self.smoothing = sm
        g = float(control_cost)
        if not (math.isfinite(g) and g >= 0):
            raise ValueError(f"control_cost: expected a finite number >= 0, got {control_cost!r}")
        self.control_cost = g
        self.particles = check_positive_int("particles", particles)
        self._eval = SequenceEvaluator(dynamics, cost, self.particles, background_compile=background_compile)

    def plan(self, x0, warm_start=None) -> Plan:
        """Plan from ``x0`` (nx,), starting from the nominal sequence ``warm_start`` (H, nu)."""
        t0 = time.perf_counter()
        x0 = np.ascontiguousarray(self._check_x0(x0))
        ws = self._check_warm_start(warm_start)
        d, H, nu = self.dynamics, self.horizon, self.dynamics.action_dim
        ev = self._eval
        mean = np.array(ws if ws is not None else np.broadcast_to(box_centre(d), (H, nu)), dtype=np.float64)
        N = self.population
        eps_all = draw_noise(self.rng, [N] * self.iterations, H, nu)
        if self._diag:
            std = np.broadcast_to(np.diag(self._L), (H, nu)).copy()
        else:  # correlated noise: transform here, unit std in the kernel
            eps_all = [e.array() @ self._L.T for e in eps_all]
            std = np.ones((H, nu))
        ties = 0
        min_costs, ess = [], []
        finite_any = False
        for k in range(self.iterations):
            costs, U = ev.sampled_costs(x0, mean, std, eps_all[k], self.rng, return_actions=True)
            S = costs
            if self.control_cost:  # delta = U - mean: the applied perturbations (after the clip)
                S = costs + self.control_cost * self.temperature * np.einsum("hu,uv,nhv->n", mean, self._cov_inv,
                                                                            U - mean)
            w, tied = mppi_weights(S, self.temperature)
            fin = np.isfinite(S)
            finite_any |= bool(fin.any())
            min_costs.append(float(costs[fin].min()) if fin.any() else math.inf)
            ess.append(float(1.0 / np.sum(w * w)) if fin.any() else 0.0)
            if tied:
                ties += 1
                continue
            step = np.tensordot(w, U, axes=1) - mean  # sum_i w_i delta_i, as the weights sum to 1 (H, nu)
            if self.smoothing:
                for t in range(1, H):
                    step[t] = self.smoothing * step[t - 1] + (1 - self.smoothing) * step[t]
            mean = d.clip_action(mean + step) if not d.is_discrete else np.clip(mean + step, d.action_low,
                                                                                   d.action_high)
        actions = d.clip_action(mean)
        states, cost = ev.plan_rollout(x0, actions, self.rng)
        status = STATUS_OK
        if not finite_any or not np.isfinite(cost) or not np.all(np.isfinite(states)):
            status = STATUS_FAILED
            warnings.warn(f"MPPI: no finite-cost rollout from x0={x0}; returning the nominal sequence",
                          RuntimeWarning, stacklevel=2)
            states = np.where(np.isfinite(states), states, x0[None])
        return Plan(actions, states, cost if np.isfinite(cost) else np.inf, status, {
            "plan_time_s": time.perf_counter() - t0, "iterations": self.iterations, "population": N,
            "sample_cost_min": min_costs, "effective_sample_size": ess, "tied_iterations": ties,
            "fused": ev.fused,
        })
