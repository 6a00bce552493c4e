"""Settings of the guided-policy-search loop (:class:`~planlab.policies.gps.loop.GPS`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ...core.validation import check_in, check_positive, check_positive_int
from .global_policy import GlobalPolicyConfig

__all__ = ["GPSConfig"]


@dataclass(frozen=True)
class GPSConfig:
    """Settings of :class:`GPS`.

    Attributes
    ----------
    iterations : int
    horizon : int
        ``T`` steps per trajectory (training and evaluation).
    samples : int
        Trajectories per condition per iteration.
    dynamics : {"known", "sampled"}
        Linearise the given model, or fit the local dynamics from the samples alone.
    init : {"ilqr", "zero"}
    init_var : float
        Action variance of the initial controllers.
    kl_step : float
        Base KL bound per time step; ``ε = kl_step · T`` nats per trajectory.
    min_step_mult, max_step_mult : float
        Bounds of ``ε / (kl_step · T)`` under adaptation.
    prior_window, prior_strength : int, float
        Sampled dynamics: the prior of step ``t`` pools the samples of steps ``t ± prior_window``, with this
        pseudo-count.
    augment : int
        S-step: for every sampled state, this many extra states drawn around it from
        ``N(0, Σ_x,t + augment_var I)`` (``Σ_x,t`` the state marginal of the condition's trajectory
        distribution), labelled by the local controller — the S-step objective is an expectation under
        that distribution, and the extra states teach the policy the controller's feedback gains.
    augment_var : float
    augment_max_var : float or None
        Cap on each eigenvalue of ``Σ_x,t`` before drawing the extra states (a controller that does not
        stabilise has marginals that spread far beyond where its gains mean anything).
    sampling : {"local", "policy"}
        Where the samples of iterations after the first come from: the local controllers (off-policy), or
        the global policy with its noise ``Σ_π`` (on-policy mirror-descent GPS): the local step then
        linearises around the policy's own trajectories and the S-step labels the states the policy visits.
    weighting : {"raw", "normalized"}
        S-step sample weights: ``P_t = Σ_t⁻¹`` as is (Levine & Abbeel; steps whose ``Q_uu`` is orders of
        magnitude larger dominate the fit), or scaled to unit mean eigenvalue per step and condition
        (every step counts the same; ``Σ_t`` still shapes the directions).
    clip_targets : bool
        S-step labels clipped to the action box like the executed actions (far augmented states
        otherwise get labels of hundreds through the feedback gains); a linear policy cannot represent
        the saturation.
    step_rule : {"policy", "local"}
        ``ε`` adaptation compares the improvement the last C-step predicted with the actual one of the
        global policy's expected cost (its linearisation under the local model; mirror-descent GPS), or of
        the local controller's.
    relabel_rollouts : int
        After each C-step, run the global policy (mean + noise ``Σ_π``) this many times from every
        training condition and label the states it visits with an iLQR MPC expert's actions (DAgger /
        PLATO, :func:`~planlab.policies.gps.relabel.policy_visits`); the labelled states are kept across
        iterations and fitted in every S-step together with the local controllers' samples. 0 = off.
        Needs the model (the expert plans on ``dynamics``).
    relabel_mix : float
        Probability that a relabelling step executes the expert's action instead of the policy's.
    relabel_horizon, relabel_iterations : int
        The expert's iLQR horizon and iterations per step.
    relabel_anchor : bool
        Warm start the expert at every visited state from the condition's mean sampled actions at that
        time step (one route for all labels) instead of its own shifted previous plan.
    relabel_fresh : int
        Also relabel the policy's visits from this many further conditions per iteration, the next ones of the
        ``relabel_pool`` given to :class:`GPS` (fresh starts and goals every iteration, aggregated like the
        rest: DAgger's data aggregation, Ross et al. 2011, over a goal distribution rather than 12 fixed
        goals). 0 = off. Needs ``relabel_rollouts >= 1``.
    relabel_policy_warm : bool
        Warm start the expert at every visited state from the global policy's own open-loop actions from
        that state (:func:`~planlab.policies.gps.relabel.policy_plan`): labels that depend on the state
        alone and follow the policy's route (excludes ``relabel_anchor``).
    relabel_policy_warm_from : int >= 0
        With ``relabel_policy_warm``: the first iteration (counted from 0) that uses it; earlier ones warm
        start the expert from its own shifted plan (the policy of the first iterations, fitted to a few
        local samples, is a poor warm start: on the cart-pole its plans gave labels that never swung up).
    relabel_noise : float or None
        Standard deviation of the Gaussian noise on the executed actions of the relabelling rollouts
        (every action component); None = the policy's own ``Σ_π``.
    relabel_mix_decay : float in (0, 1]
        The expert-execution probability of iteration ``i`` (from 0) is ``relabel_mix · relabel_mix_decay^i``
        (DAgger's decaying β).
    relabel_local_weight : float >= 0
        Factor on the local controllers' samples in the S-steps that also fit relabelled states (1 = as
        they are; 0 = once relabelled states exist, the policy is fitted to the expert's labels alone and
        the local controllers only shape the first fit).
    relabel_precision : {"controller", "unit"}
        Precision of a relabelled state: ``relabel_weight`` times the median controller precision of its
        condition (the conditions' scales can differ by orders of magnitude), or ``relabel_weight`` times
        the identity (every labelled state counts the same, as in DAgger).
    c_step_reference : {"policy", "local"}
        The C-step's KL constraint is to the linearised global policy ``π̄_i`` (mirror-descent GPS), or
        to the previous local controller (the trajectory-centric step of Levine & Abbeel 2014, which
        keeps the local controllers on their own improving route while the policy is still poor).
    relabel_weight : float
        Precision of a relabelled state: this factor times the median over steps of the condition's
        controller precision ``Σ_t⁻¹`` (by trace).
    policy_reinit : bool
        Every S-step after the first fits a freshly initialised network (seed ``policy.seed + 1000 · iteration``)
        to all its rows, as DAgger trains a new policy on the aggregate data each round (Ross et al. 2011),
        instead of continuing from the previous fit's weights; rows of weight 0 are left out of such fits.
        On the cart-pole's relabelled states the warm-started L-BFGS stalled (RMS error 2.3 N after 300
        more iterations, 1.9 after 1000) where a fresh network reached 1.7 and 1.15.
    ilqr_iterations : int
    init_horizon : int or None
        ``init="ilqr"``: first optimise this shorter horizon, then the full one warm-started from it
        (padded with zeros), which steers iLQR away from poor local minima of long swing-up horizons.
    on_failure : {"warn", "raise"}
        What an iteration whose numerical health check fails does (:mod:`~planlab.policies.gps.health`): its
        progress row gets the status and a :class:`~planlab.policies.gps.health.GPSNumericalWarning` is
        issued (the offending rows, controllers or fit are left out), or, after the iteration's checkpoint is
        written, :class:`~planlab.policies.gps.health.GPSNumericalError` is raised.
    label_limit : float
        S-step labels larger than this times the action scale (half the action box) count as exploding.
    fit_limit : float
        An S-step fit whose RMS error exceeds this times the labels' RMS counts as diverged.
    state_var_limit : float
        A local controller whose trajectory distribution has a state variance above this counts as diverged.
    policy : GlobalPolicyConfig
    seed : int
    """

    iterations: int = 15
    horizon: int = 100
    samples: int = 5
    dynamics: str = "known"
    init: str = "ilqr"
    init_var: float = 0.1
    kl_step: float = 0.5
    min_step_mult: float = 0.1
    max_step_mult: float = 10.0
    prior_window: int = 3
    prior_strength: float = 1.0
    augment: int = 0
    augment_var: float = 0.01
    augment_max_var: float | None = None
    sampling: str = "local"
    weighting: str = "raw"
    step_rule: str = "policy"
    clip_targets: bool = False
    relabel_rollouts: int = 0
    relabel_mix: float = 0.0
    relabel_horizon: int = 50
    relabel_iterations: int = 20
    relabel_weight: float = 1.0
    relabel_anchor: bool = False
    relabel_fresh: int = 0
    relabel_policy_warm: bool = False
    relabel_policy_warm_from: int = 1
    relabel_noise: float | None = None
    relabel_mix_decay: float = 1.0
    relabel_local_weight: float = 1.0
    relabel_precision: str = "controller"
    c_step_reference: str = "policy"
    policy_reinit: bool = False
    ilqr_iterations: int = 200
    init_horizon: int | None = None
    on_failure: str = "warn"
    label_limit: float = 100.0
    fit_limit: float = 10.0
    state_var_limit: float = 1e6
    policy: GlobalPolicyConfig = field(default_factory=GlobalPolicyConfig)
    seed: int = 0

    def __post_init__(self):
        for name in ("iterations", "horizon", "samples", "ilqr_iterations"):
            check_positive_int(name, getattr(self, name))
        for name in ("init_var", "kl_step", "min_step_mult", "max_step_mult", "prior_strength"):
            check_positive(name, getattr(self, name))
        check_in("dynamics", self.dynamics, {"known", "sampled"})
        check_in("init", self.init, {"ilqr", "zero"})
        check_in("sampling", self.sampling, {"local", "policy"})
        check_in("weighting", self.weighting, {"normalized", "raw"})
        check_in("step_rule", self.step_rule, {"policy", "local"})
        check_in("relabel_precision", self.relabel_precision, {"controller", "unit"})
        check_in("c_step_reference", self.c_step_reference, {"policy", "local"})
        check_in("on_failure", self.on_failure, {"warn", "raise"})
        for name in ("label_limit", "fit_limit", "state_var_limit"):
            check_positive(name, getattr(self, name))
        if self.init_horizon is not None and not 1 <= self.init_horizon <= self.horizon:
            raise ValueError(f"init_horizon: expected None or an integer in [1, {self.horizon}], got {self.init_horizon}")
        if self.augment < 0:
            raise ValueError(f"augment: expected an integer >= 0, got {self.augment}")
        check_positive("augment_var", self.augment_var)
        if self.augment_max_var is not None:
            check_positive("augment_max_var", self.augment_max_var)
        if self.relabel_fresh < 0 or (self.relabel_fresh and not self.relabel_rollouts):
            raise ValueError(f"relabel_fresh: expected an integer >= 0 (> 0 only with relabel_rollouts >= 1), got "
                             f"{self.relabel_fresh} with relabel_rollouts={self.relabel_rollouts}")
        if self.relabel_rollouts < 0:
            raise ValueError(f"relabel_rollouts: expected an integer >= 0, got {self.relabel_rollouts}")
        if not 0.0 <= self.relabel_mix <= 1.0:
            raise ValueError(f"relabel_mix: expected a probability in [0, 1], got {self.relabel_mix}")
        check_positive_int("relabel_horizon", self.relabel_horizon)
        check_positive_int("relabel_iterations", self.relabel_iterations)
        check_positive("relabel_weight", self.relabel_weight)
        if self.relabel_noise is not None:
            check_positive("relabel_noise", self.relabel_noise)
        if not 0.0 < self.relabel_mix_decay <= 1.0:
            raise ValueError(f"relabel_mix_decay: expected a value in (0, 1], got {self.relabel_mix_decay}")
        if self.relabel_policy_warm_from < 0:
            raise ValueError(f"relabel_policy_warm_from: expected an integer >= 0, got {self.relabel_policy_warm_from}")
        if not self.relabel_local_weight >= 0.0:
            raise ValueError(f"relabel_local_weight: expected a value >= 0, got {self.relabel_local_weight}")
        if self.relabel_policy_warm and self.relabel_anchor:
            raise ValueError("relabel_policy_warm: expected False with relabel_anchor=True (one warm start per label), got True")
        if self.prior_window < 0:
            raise ValueError(f"prior_window: expected an integer >= 0, got {self.prior_window}")
        if isinstance(self.policy, dict):
            object.__setattr__(self, "policy", GlobalPolicyConfig(**self.policy))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
