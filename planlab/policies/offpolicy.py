"""Off-policy actor-critics with a replay buffer: a Q-critic actor-critic and SAC (Haarnoja et al. 2018).

Both keep transitions ``(s, a, r, s', terminated)`` in a :class:`~planlab.policies.buffers.ReplayBuffer`
and fit a Q critic to the bootstrapped target

.. math::  y_i = r_i + \\gamma \\bar Q(s'_i, a'_i), \\qquad a'_i \\sim \\pi_\\theta(\\cdot \\mid s'_i),

where ``a'`` comes from the *current* policy, not the buffer (the buffer's action was taken by an
older policy), and ``Q_bar`` is a Polyak-averaged target copy (Lillicrap et al. 2016).

* :class:`OffPolicyActorCritic` (in the spirit of Degris, White & Sutton 2012): the actor follows
  the score-function (likelihood-ratio, Williams 1992) gradient with fresh actions ``a_i^pi ~ pi_theta(. | s_i)``; ``n_action_samples`` actions per state,
  their mean Q is the baseline.
* :class:`SAC` (Haarnoja et al. 2018): the entropy-regularised version — twin critics (the minimum of two), a
  reparameterised tanh-Gaussian actor minimising ``E[alpha log pi(a|s) - Q(s, a)]`` and automatic
  tuning of the temperature ``alpha`` towards a target entropy (``-dim(A)`` by default).
  The target becomes ``y = r + gamma (min_k Q_bar_k(s', a') - alpha log pi(a'|s'))``.

Continuous (Box) action spaces only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..core.validation import check_nonnegative, check_positive, check_positive_int, check_probability
from .config import TrainerConfig
from .trainer import Trainer
from .buffers import ReplayBuffer
from .features import AngleFeatures
from .networks import QEnsemble, TanhGaussianPolicy

__all__ = ["OffPolicyConfig", "SACConfig", "OffPolicyACConfig", "SAC", "OffPolicyActorCritic"]


@dataclasses.dataclass(frozen=True)
class OffPolicyConfig(TrainerConfig):
    """Options of the replay-buffer actor-critics.

    Parameters
    ----------
    buffer_size : int
    batch_size : int
    tau : float in (0, 1]
        Polyak rate of the target critic.
    learning_starts : int
        Uniformly random actions (and no updates) for this many first steps.
    train_freq : int
        Update every this many environment steps ...
    gradient_steps : int
        ... with this many gradient steps.
    n_critics : int
    activation : str
    reward_scale : float > 0
        Rewards are multiplied by this in the critic's target (SAC's reward scale, Haarnoja et al.
        2018): with large per-step costs (hundreds per step) the Q values and their errors grow
        with them and the entropy term stops mattering; a scale that brings rewards near unit size
        keeps them comparable. Returns are reported unscaled. Default 1 (none).
    reward_clip : float > 0, optional
        Clip the (scaled) rewards to ``[-reward_clip, reward_clip]`` in the critic's target (as DQN
        clips rewards, Mnih et al. 2015). Bounds every Q target by ``reward_clip / (1 - gamma)``
        plus the entropy term on tasks whose cost grows without bound (a cart pushed ever further
        from the centre): such states are then valued like the worst clipped reward instead of
        making targets of any size. Changes the objective the critic sees; evaluation returns are
        the env's. Default None (no clipping).
    reward_symlog : bool
        Replace each (scaled) reward ``r`` by ``sign(r) log(1 + |r|)`` in the critic's target (the
        symlog of DreamerV3, Hafner et al. 2023). Unlike ``reward_clip`` it stays strictly monotone:
        a cart twice as far still costs more, so the critic keeps the direction back towards the
        centre where clipping makes every far state look alike, while a cost growing like the
        square of the distance grows only like its logarithm in the targets. Identity near 0 to
        first order. Applied before ``reward_clip``. Default False.
    angle_features : tuple of int
        Observation components that are angles: the actor and the critics see their ``sin`` and
        ``cos`` instead (:class:`~planlab.policies.features.AngleFeatures`); the replay buffer keeps
        the env's observations. For envs that observe an angle unwrapped (planlab's swing-ups: the
        state). Default ``()`` (the raw observation).
    """

    lr: float = 1e-3
    hidden: tuple = (64, 64)
    buffer_size: int = 100_000
    batch_size: int = 256
    tau: float = 0.005
    learning_starts: int = 1000
    train_freq: int = 1
    gradient_steps: int = 1
    n_critics: int = 2
    reward_scale: float = 1.0
    reward_clip: float | None = None
    reward_symlog: bool = False
    angle_features: tuple = ()

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.reward_symlog, (bool, np.bool_)):
            raise ValueError(f"reward_symlog: expected a bool, got {self.reward_symlog!r}")
        idx = tuple(self.angle_features)
        if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i >= 0 for i in idx) \
                or len(set(idx)) != len(idx):
            raise ValueError(f"angle_features: expected distinct non-negative ints, got {self.angle_features!r}")
        object.__setattr__(self, "angle_features", tuple(int(i) for i in idx))
        check_positive("reward_scale", self.reward_scale)
        if self.reward_clip is not None:
            check_positive("reward_clip", self.reward_clip)
        check_positive_int("buffer_size", self.buffer_size)
        check_positive_int("batch_size", self.batch_size)
        check_probability("tau", self.tau)
        check_positive("tau", self.tau)
        check_positive_int("learning_starts", self.learning_starts, minimum=0)
        check_positive_int("train_freq", self.train_freq)
        check_positive_int("gradient_steps", self.gradient_steps)
        check_positive_int("n_critics", self.n_critics)


@dataclasses.dataclass(frozen=True)
class SACConfig(OffPolicyConfig):
    """SAC options.

    Parameters
    ----------
    init_alpha : float > 0
        Initial entropy temperature.
    auto_alpha : bool
        Tune ``alpha`` so the policy's entropy tracks ``target_entropy``.
    target_entropy : float, optional
        Default ``-dim(A)``.
    """

    init_alpha: float = 1.0
    auto_alpha: bool = True
    target_entropy: float | None = None

    def __post_init__(self):
        super().__post_init__()
        check_positive("init_alpha", self.init_alpha)


@dataclasses.dataclass(frozen=True)
class OffPolicyACConfig(OffPolicyConfig):
    """Options of :class:`OffPolicyActorCritic`.

    Parameters
    ----------
    n_action_samples : int
        Fresh policy actions per state for the score-function gradient.
    ent_coef : float >= 0
        Optional entropy bonus (0 = the algorithm as written).
    """

    n_critics: int = 1
    n_action_samples: int = 8
    ent_coef: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("n_action_samples", self.n_action_samples)
        check_nonnegative("ent_coef", self.ent_coef)


class _OffPolicy(Trainer):
    supports_discrete = False
    config_class = OffPolicyConfig
    default_eval_every = 1000

    def _build(self) -> None:
        c = self.config
        nu = int(self.action_space.shape[0])
        self.nu = nu
        if any(i >= self.obs_dim for i in c.angle_features):
            raise ValueError(f"angle_features: expected indices below the observation size {self.obs_dim}, "
                             f"got {c.angle_features!r}")

        def features():
            return AngleFeatures(self.obs_dim, c.angle_features) if c.angle_features else None

        self.actor = TanhGaussianPolicy(self.obs_dim, nu, self.action_space.low, self.action_space.high, c.hidden,
                                        features=features())
        self.critic = QEnsemble(self.obs_dim, nu, c.n_critics, c.hidden, features=features())
        self.critic_target = QEnsemble(self.obs_dim, nu, c.n_critics, c.hidden, features=features())
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=c.lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=c.lr)
        gen = torch.Generator().manual_seed(self.seed)
        self.buffer = ReplayBuffer(c.buffer_size, self.obs_dim, nu, generator=gen)
        self._critic_params = list(self.critic.parameters())
        self._target_params = list(self.critic_target.parameters())
        self.env = None
        self._updates = 0
        self._last_info: dict = {}

    @property
    def policy(self) -> TanhGaussianPolicy:
        return self.actor

    def _state(self):
        return {"actor": self.actor, "critic": self.critic, "critic_target": self.critic_target,
                "actor_opt": self.actor_opt, "critic_opt": self.critic_opt}

    def _act(self, obs, deterministic):
        return self.actor.act(obs, deterministic=deterministic)

    def _iterate(self, max_steps: int):
        c = self.config
        if self.env is None:
            self.env = self.env_fn()
            self._obs, _ = self.env.reset(seed=self.seed)
            self._ep_ret = 0.0
        low, high = self.action_space.low, self.action_space.high
        obs = self._obs
        t0 = self.num_timesteps
        for i in range(max_steps):
            t = t0 + i
            if t < c.learning_starts:
                a = self.rng.uniform(low, high).astype(np.float32)
            else:
                with torch.no_grad():
                    a = self.actor.sample(torch.from_numpy(np.asarray(obs, dtype=np.float32)))[0].numpy()
            nobs, r, term, trunc, _ = self.env.step(a)
            self.buffer.add(obs, a, r, nobs, term)
            self._ep_ret += r
            if term or trunc:
                self._episode_returns.append(float(self._ep_ret))
                self._ep_ret = 0.0
                nobs, _ = self.env.reset()
            obs = nobs
            if t + 1 >= c.learning_starts and (t + 1) % c.train_freq == 0:
                for _ in range(c.gradient_steps):
                    self._last_info = self._update()
        self._obs = obs
        return max_steps, dict(self._last_info)

    @torch.no_grad()
    def _polyak(self) -> None:
        tau = self.config.tau
        torch._foreach_mul_(self._target_params, 1.0 - tau)
        torch._foreach_add_(self._target_params, self._critic_params, alpha=tau)

    def _critic_step(self, o, a, r, o2, d, alpha: float) -> torch.Tensor:
        with torch.no_grad():
            a2, lp2 = self.actor.sample(o2)
            q_next = self.critic_target(o2, a2).min(0).values
            if alpha:
                q_next = q_next - alpha * lp2
            c = self.config
            if c.reward_scale != 1.0:
                r = c.reward_scale * r
            if c.reward_symlog:
                r = torch.sign(r) * torch.log1p(r.abs())
            if c.reward_clip is not None:
                r = r.clamp(-c.reward_clip, c.reward_clip)
            y = r + c.gamma * (1.0 - d) * q_next
        q = self.critic(o, a)
        loss = (q - y).pow(2).mean(1).sum()
        self._optimize(self.critic_opt, loss)
        return loss

    def _update(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


class SAC(_OffPolicy):
    """Soft actor-critic (Haarnoja et al. 2018) with twin critics and automatic entropy tuning.

    Examples
    --------
    >>> sac = SAC("Pendulum-v1", seed=0, target_return=-200)  # doctest: +SKIP
    >>> sac.learn(6_000).solved_at  # doctest: +SKIP
    """

    name = "sac"
    config_class = SACConfig

    def _build(self) -> None:
        super()._build()
        c = self.config
        self.log_alpha = torch.tensor(float(np.log(c.init_alpha)), requires_grad=True)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=c.lr)
        self.target_entropy = float(-self.nu if c.target_entropy is None else c.target_entropy)

    def _state(self):
        return {**super()._state(), "log_alpha": self.log_alpha, "alpha_opt": self.alpha_opt}

    def _update(self) -> dict:
        o, a, r, o2, d = self.buffer.sample(self.config.batch_size)
        alpha = float(self.log_alpha.detach().exp())
        qloss = self._critic_step(o, a, r, o2, d, alpha)
        self.critic.requires_grad_(False)
        pi, lp = self.actor.sample(o)
        aloss = (alpha * lp - self.critic(o, pi).min(0).values).mean()
        self._optimize(self.actor_opt, aloss)
        self.critic.requires_grad_(True)
        if self.config.auto_alpha:
            alpha_loss = -(self.log_alpha * (lp.detach().mean() + self.target_entropy))
            self._optimize(self.alpha_opt, alpha_loss)
        self._polyak()
        self._updates += 1
        if self._updates % 100 == 0:
            return {"critic_loss": float(qloss.detach()), "actor_loss": float(aloss.detach()), "alpha": alpha}
        return self._last_info


class OffPolicyActorCritic(_OffPolicy):
    """Off-policy actor-critic: Q critic on the bootstrapped target, score-function actor (Williams 1992).

    Examples
    --------
    >>> ac = OffPolicyActorCritic("Pendulum-v1", seed=0)  # doctest: +SKIP
    >>> ac.learn(20_000)  # doctest: +SKIP
    """

    name = "offpolicy_ac"
    config_class = OffPolicyACConfig

    def _update(self) -> dict:
        c = self.config
        o, a, r, o2, d = self.buffer.sample(c.batch_size)
        qloss = self._critic_step(o, a, r, o2, d, 0.0)
        K, B = c.n_action_samples, o.shape[0]
        orep = o.repeat(K, 1)
        with torch.no_grad():
            api, _ = self.actor.sample(orep)
            q = self.critic(orep, api).min(0).values.view(K, B)
            adv = (q - q.mean(0, keepdim=True)).reshape(-1)  # baseline: V(s) ~ mean_k Q(s, a_k)
        lp = self.actor.log_prob(orep, api)
        aloss = -(lp * adv).mean() + c.ent_coef * lp.mean()
        self._optimize(self.actor_opt, aloss)
        self._polyak()
        self._updates += 1
        if self._updates % 100 == 0:
            return {"critic_loss": float(qloss.detach()), "actor_loss": float(aloss.detach())}
        return self._last_info
