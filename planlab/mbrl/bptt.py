"""Back-propagation through the model: a neural policy trained by the pathwise gradient of the cost.

The loop (collect, fit, back-propagate into the policy, run it):

1. run the policy (with Gaussian exploration noise) in the real env, storing transitions of the
   model state;
2. with a learned model, refit the ensemble on all data (the exact model needs no fitting);
3. take ``updates_per_iteration`` Adam steps on the policy, each on the gradient of the mean
   discounted cost of ``batch_size`` rollouts of ``horizon`` steps through the model, started
   from states visited in the real env (:func:`planlab.mbrl.pathwise.rollout_cost`).

Exploding and vanishing gradients of long rollouts (the chain of Jacobians
``prod_t df/dx``) are managed by a truncated horizon, clipping of the gradient norm and, at the
truncation, an optional learned cost-to-go ``V_phi(x_H)`` (as SVG, Heess et al. 2015, and
Dreamer, Hafner et al. 2020), regressed on the discounted cost of the same model rollouts
bootstrapped from a slowly tracking (Polyak) target copy. A few exploding rollouts in a batch
are kept from setting the update's direction by capping each rollout's gradient with respect to
the model states at a multiple of the batch median (per-rollout normalisation,
:func:`planlab.mbrl.pathwise.clip_adjoint`), and a penalty on the policy's output beyond the
tanh's working range keeps saturated actions from passing no gradient at all. The pathwise gradient through a
deterministic model follows PILCO (Deisenroth & Rasmussen 2011); through a probabilistic ensemble
each rollout keeps one member (TS∞, Chua et al. 2018) and reparameterised noise.

>>> from planlab.mbrl.bptt import BPTT
>>> algo = BPTT("Pendulum-v1", model="exact", seed=0, target_return=-200)  # doctest: +SKIP
>>> algo.learn(2_000).solved_at  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import torch

from ..core.validation import check_in, check_nonnegative, check_positive, check_positive_int, check_probability
from ..dynamics.learned import ModelConfig, TrainConfig, TransitionBuffer, fit, for_model
from ..envs.models import model_for
from ..policies.config import TrainerConfig
from ..policies.trainer import Trainer
from .pathwise import (EnsembleStep, ModelWeights, StateFeedbackPolicy, StateValue, exact_step, has_terminal_states,
                       rollout_cost, states_from_observations, unwrap_next)
from .resume import restore_transitions, transitions_state

__all__ = ["BPTTConfig", "BPTT", "MODELS"]

#: ``model`` choices: the env's analytic model (its torch path) or a learned ensemble
MODELS = ("exact", "ensemble")


@dataclasses.dataclass(frozen=True)
class BPTTConfig(TrainerConfig):
    """Options of :class:`BPTT` (flat, so ``config.json`` round-trips).

    Parameters
    ----------
    model : {"exact", "ensemble"}
        Differentiate through the env's analytic model or through a learned ensemble fitted to the data.
    horizon : int
        Truncated rollout length H.
    batch_size : int
        Rollouts (start states drawn from the visited states) per policy update.
    steps_per_iteration : int
        Real env steps per iteration (collect, fit, update).
    updates_per_iteration : int
        Policy updates per iteration.
    max_grad_norm : float or None
        Clip the policy gradient to this norm (None: no clipping).
    terminal_value : bool
        Learn a cost-to-go ``V(x_H)`` for the truncation.
    value_lr, value_tau : float
        Its Adam rate and the Polyak rate of its target copy.
    value_updates : int
        Regression steps of the value on each batch of rollouts (the targets are computed once);
        a cost-to-go that lags the policy misdirects the gradient at the truncation.
    exploration_noise : float >= 0
        Std of the Gaussian action noise while collecting, in half-widths of the action box.
    random_steps : int
        Uniformly random actions for this many first steps (data for a learned model's first fit).
    model_members, model_hidden, model_elites, model_probabilistic
        The ensemble (:class:`~planlab.dynamics.learned.ModelConfig`).
    model_epochs : int
        Upper bound on the epochs of one model fit. Each fit runs until the held-out loss stops
        improving (:class:`~planlab.dynamics.learned.TrainConfig`'s patience); the bound only guards
        against a fit that never settles. Up to this version it was 50 and ended the early fits
        first (on 200 Pendulum-v1 transitions: 200 Adam steps, the model far from its early stop).
    sample_noise : bool
        Reparameterised aleatoric noise in rollouts through a probabilistic ensemble.
    reset_starts : float in [0, 1]
        Fraction of each batch's rollouts started from the env's initial-state distribution (a
        pool of ``reset_pool`` states from seeded ``env.reset`` calls — resets, no env steps) instead
        of visited states. Visited states follow the current policy: a policy stuck in a local
        optimum (e.g. spinning the pendulum) mostly sees that optimum's fast states and never the
        slow starts it fails from.
    reset_pool : int
        Size of that pool.
    adjoint_clip : float > 0 or None
        Per-rollout gradient normalisation: each rollout's gradient with respect to each model
        state is capped at this multiple of the batch median (:func:`~planlab.mbrl.pathwise.clip_adjoint`).
        Rollouts that cross the unstable top of the pendulum at speed have gradients 10-100 times
        the median; after the mean and the global clip (``max_grad_norm``) they set the update's
        direction and the balancing signal of the other rollouts is lost. None: exact gradient.
    saturation_penalty, saturation_level : float
        Adds ``saturation_penalty * mean(relu(|z| - saturation_level)^2)`` over the rollouts'
        states to the objective, ``z`` the policy's output before the tanh. A saturated tanh passes
        no gradient: a pendulum policy that pushes at full torque towards the top from the
        bottom (where gravity wins) stays there, its gradient ~1e-3 of the others'. Level 2 still
        allows 96% of the full action. 0: off.
    """

    lr: float = 1e-3
    model: str = "exact"
    horizon: int = 40
    batch_size: int = 256
    steps_per_iteration: int = 200
    updates_per_iteration: int = 50
    max_grad_norm: float | None = 10.0
    terminal_value: bool = True
    value_lr: float = 1e-3
    value_tau: float = 0.05
    value_updates: int = 1
    exploration_noise: float = 0.1
    random_steps: int = 0
    model_members: int = 5
    model_hidden: tuple = (64, 64, 64)
    model_elites: int | None = None
    model_probabilistic: bool = True
    model_epochs: int = 1000
    sample_noise: bool = True
    reset_starts: float = 0.5
    reset_pool: int = 1024
    adjoint_clip: float | None = 2.0
    saturation_penalty: float = 1.0
    saturation_level: float = 2.0

    def __post_init__(self):
        super().__post_init__()
        check_in("model", self.model, set(MODELS))
        check_positive_int("horizon", self.horizon)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("steps_per_iteration", self.steps_per_iteration)
        check_positive_int("updates_per_iteration", self.updates_per_iteration, minimum=0)
        if self.max_grad_norm is not None:
            check_positive("max_grad_norm", self.max_grad_norm)
        check_positive("value_lr", self.value_lr)
        check_probability("value_tau", self.value_tau)
        check_positive_int("value_updates", self.value_updates)
        check_nonnegative("exploration_noise", self.exploration_noise)
        check_positive_int("random_steps", self.random_steps, minimum=0)
        check_positive_int("model_epochs", self.model_epochs)
        check_probability("reset_starts", self.reset_starts)
        check_positive_int("reset_pool", self.reset_pool)
        if self.adjoint_clip is not None:
            check_positive("adjoint_clip", self.adjoint_clip)
        check_nonnegative("saturation_penalty", self.saturation_penalty)
        check_positive("saturation_level", self.saturation_level)
        # the ensemble's own checks (members, hidden, elites)
        ModelConfig(members=self.model_members, hidden=self.model_hidden, elites=self.model_elites)
        object.__setattr__(self, "model_hidden", tuple(int(h) for h in self.model_hidden))


class BPTT(Trainer):
    """Back-propagation through a model into a neural state-feedback policy (see the module docstring).

    Takes the :class:`~planlab.policies.trainer.Trainer` options (``seed``, ``eval_every``,
    ``target_return``, ``log_dir`` ...) and :class:`BPTTConfig` fields as keywords. The env must be
    one planlab has a model of (:func:`planlab.envs.models.model_for`): its cost is the objective
    and, with ``model="exact"``, its analytic system is the model.
    """

    name = "bptt"
    config_class = BPTTConfig
    supports_discrete = False
    default_eval_every = 200

    def _build(self) -> None:
        c = self.config
        try:
            self.dynamics, self.cost = model_for(self.env_id if self.env_id is not None else self.env_fn())
        except (ValueError, TypeError) as exc:
            raise ValueError(f"env: BPTT needs an env planlab has a model of; {exc}") from None
        d = self.dynamics
        if d.action_dim != int(self.action_space.shape[0]):
            raise ValueError(f"env: expected {d.action_dim} action components (the model's), "
                             f"got {self.action_space.shape[0]}")
        self.nx, self.nu = d.state_dim, d.action_dim
        self.angles = tuple(d.angle_indices)
        self.actor = StateFeedbackPolicy(self.nx, self.nu, d.action_low, d.action_high, angle_indices=self.angles,
                                         hidden=c.hidden, observation_model=d)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=c.lr)
        self.value = StateValue(self.nx, self.angles, c.hidden)
        self.value_target = copy.deepcopy(self.value).requires_grad_(False)
        self.value_opt = torch.optim.Adam(self.value.parameters(), lr=c.value_lr)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.data = TransitionBuffer(self.nx, self.nu)
        self.learned = None
        if c.model == "exact":
            self.step_fn = exact_step(d)
        else:
            mc = ModelConfig(members=c.model_members, hidden=c.model_hidden, probabilistic=c.model_probabilistic,
                             elites=c.model_elites, particles=1)
            self.learned = for_model(d, mc, seed=self.seed, threads=None)
            self.step_fn = EnsembleStep(self.learned, sample=c.sample_noise, generator=self.gen)
        self.env = None
        self.fits = 0
        self._last_info: dict = {}
        self._env_actions: list = []
        self.reset_states = self._reset_pool() if c.reset_starts > 0 else None

    def _reset_pool(self) -> torch.Tensor:
        """``reset_pool`` states from ``env.reset`` with seeds of their own (not the trainer's streams)."""
        env = self.env_fn()
        try:
            seeds = np.random.SeedSequence([self.seed, 7_919]).generate_state(self.config.reset_pool)
            obs = np.stack([np.asarray(env.reset(seed=int(s))[0], dtype=np.float64) for s in seeds])
        finally:
            env.close()
        return torch.as_tensor(states_from_observations(self.dynamics, obs), dtype=torch.float32)

    @property
    def policy(self) -> StateFeedbackPolicy:
        return self.actor

    def _state(self):
        s = {"actor": self.actor, "actor_opt": self.actor_opt, "value": self.value,
             "value_target": self.value_target, "value_opt": self.value_opt}
        if self.learned is not None:
            s["model"] = ModelWeights(self.learned)
        return s

    def _resume_state(self) -> tuple[dict, dict]:
        """Data and counters for :func:`planlab.mbrl.resume.save_checkpoint`."""
        return {"data": transitions_state(self.data), "gen": self.gen.get_state()}, {"fits": self.fits}

    def _restore_resume_state(self, tensors: dict, values: dict) -> None:
        restore_transitions(self.data, tensors["data"])
        self.gen.set_state(tensors["gen"])
        self.fits = values["fits"]

    def _act(self, obs, deterministic):
        a = self.actor.act(obs)
        if not deterministic and self.config.exploration_noise > 0:
            half = (self.dynamics.action_high - self.dynamics.action_low) / 2
            a = a + self.config.exploration_noise * half * self.rng.standard_normal(a.shape)
        return np.clip(a, self.dynamics.action_low, self.dynamics.action_high)

    # ------------------------------------------------------------------ the loop
    def _iterate(self, max_steps: int):
        c = self.config
        if self.env is None:
            self.env = self.env_fn()
            self._obs, _ = self.env.reset(seed=self.seed)
            self._ep_ret = 0.0
        n = min(max_steps, c.steps_per_iteration)
        d = self.dynamics
        obs = self._obs
        for i in range(n):
            x = states_from_observations(d, obs)
            if self.num_timesteps + i < c.random_steps:
                a = self.rng.uniform(d.action_low, d.action_high)
            else:
                a = self._act(np.asarray(obs, dtype=np.float64)[None], deterministic=False)[0]
            a_env = a.astype(self.action_space.dtype)
            nobs, r, term, trunc, _ = self.env.step(a_env)
            self._env_actions.append(a_env)
            xn = unwrap_next(x, states_from_observations(d, nobs), self.angles)
            self.data.add(x, a, float(r), xn, bool(term))
            self._ep_ret += float(r)
            if term or trunc:
                self._episode_returns.append(self._ep_ret)
                self._ep_ret = 0.0
                nobs, _ = self.env.reset()
            obs = nobs
        self._obs = obs
        info = {}
        if self.learned is not None:
            if self.num_timesteps + n < c.random_steps:
                return n, dict(self._last_info)
            res = self.fit_model()
            info["model_val_mse"] = float(np.min(res.best_val)) if res.best_val is not None else float("nan")
            info["model_fit_epochs"] = int(res.epochs)
        updates = max(1, round(c.updates_per_iteration * n / c.steps_per_iteration)) if c.updates_per_iteration else 0
        for _ in range(updates):
            self._last_info = self.update()
        return n, {**self._last_info, **info}

    def fit_model(self):
        """Refit the ensemble on every real transition until its held-out loss stops improving
        (at most ``model_epochs`` epochs)."""
        res = fit(self.learned, self.data, TrainConfig(epochs=self.config.model_epochs, progress=False, threads=None),
                  seed=int(self.rng.integers(2**31)))
        self.fits += 1
        return res

    def _starts(self) -> torch.Tensor:
        c = self.config
        n_reset = int(round(c.reset_starts * c.batch_size)) if self.reset_states is not None else 0
        idx = torch.randint(0, len(self.data), (c.batch_size - n_reset,), generator=self.gen)
        x = torch.as_tensor(self.data.states[idx.numpy()], dtype=torch.float32)
        if n_reset:
            j = torch.randint(0, len(self.reset_states), (n_reset,), generator=self.gen)
            x = torch.cat([x, self.reset_states[j]])
        return x

    def update(self, x0: torch.Tensor | None = None) -> dict:
        """One policy update (and one value update) on rollouts from ``x0`` (B, nx) or sampled starts."""
        c = self.config
        x0 = self._starts() if x0 is None else x0
        if isinstance(self.step_fn, EnsembleStep):
            self.step_fn.assign(x0.shape[0])
            self.learned.net.requires_grad_(False)
        term = self._terminated if has_terminal_states(self.dynamics) else None
        try:
            total, states, costs = rollout_cost(self.step_fn, self.cost, self.actor, x0, c.horizon, gamma=c.gamma,
                                                terminal_value=self.value if c.terminal_value else None,
                                                terminated=term, keep=True, adjoint_clip=c.adjoint_clip)
            self.value.requires_grad_(False)
            loss = total.mean()
            if c.saturation_penalty > 0:
                z = self.actor.preactivation(states.detach())
                over = torch.relu(z.abs() - c.saturation_level)
                loss = loss + c.saturation_penalty * over.pow(2).mean()
                saturated = float((over > 0).float().mean())
            ok = self._optimize(self.actor_opt, loss, list(self.actor.parameters()), c.max_grad_norm)
        finally:
            self.value.requires_grad_(True)
            if self.learned is not None:
                self.learned.net.requires_grad_(True)
        info = {"policy_loss": float(loss.detach()), "skipped": float(not ok)}
        if c.saturation_penalty > 0:
            info["saturated"] = saturated  # fraction of rollout states with |z| above the level
        if c.terminal_value:
            info["value_loss"] = self._value_update(states.detach(), costs.detach())
        return info

    def _terminated(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.as_tensor(self.dynamics.terminated(x.detach().double().numpy()))

    def _value_update(self, states: torch.Tensor, costs: torch.Tensor) -> float:
        """Regress V(x_t) on the discounted cost-to-go of the rollout, bootstrapped by the target at x_H."""
        c = self.config
        H = costs.shape[1]
        with torch.no_grad():
            g = self.value_target(states[:, H])
            targets = torch.empty_like(costs)
            for t in range(H - 1, -1, -1):
                g = costs[:, t] + c.gamma * g
                targets[:, t] = g
        for _ in range(c.value_updates):
            pred = self.value(states[:, :H])
            loss = (pred - targets).pow(2).mean()
            self._optimize(self.value_opt, loss)
        with torch.no_grad():
            for p, q in zip(self.value_target.parameters(), self.value.parameters()):
                p.mul_(1 - c.value_tau).add_(q, alpha=c.value_tau)
        return float(loss.detach())

