"""Guided policy search: linear-Gaussian local controllers trained into one neural policy.

* :mod:`.linear_gaussian` — controllers ``p(u|x) = N(K(x - x̂) + k + û, Σ)``, linear-Gaussian models,
  trajectory distributions and the KL between controllers;
* :mod:`.local_dynamics` — time-varying linear-Gaussian dynamics fitted from samples with a prior;
* :mod:`.kl_trajopt` — the KL-constrained LQG step and the mirror-descent step size;
* :mod:`.global_policy` — the neural Gaussian policy, precision-weighted regression, numpy inference;
* :mod:`.loop` — the GPS loop over M initial conditions (Levine & Koltun 2013; Levine & Abbeel 2014;
  Montgomery & Levine 2016).

Torch is imported only by :mod:`.global_policy` and :mod:`.loop`.
"""

from ...core.lazy import lazy_names

_LAZY = {
    "LinearGaussianController": "linear_gaussian",
    "LinearGaussianDynamics": "linear_gaussian",
    "trajectory_distribution": "linear_gaussian",
    "controller_kl": "linear_gaussian",
    "sample_linear_gaussian": "linear_gaussian",
    "DynamicsPrior": "local_dynamics",
    "fit_linear_gaussian_dynamics": "local_dynamics",
    "pooled_prior": "local_dynamics",
    "model_prior": "local_dynamics",
    "linearize_model": "local_dynamics",
    "expand_cost": "kl_trajopt",
    "lqg_backward": "kl_trajopt",
    "kl_step": "kl_trajopt",
    "adapt_epsilon": "kl_trajopt",
    "GlobalPolicyConfig": "global_policy",
    "GaussianMLPPolicy": "global_policy",
    "GPSConfig": "loop",
    "GPS": "loop",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(globals(), _LAZY)
