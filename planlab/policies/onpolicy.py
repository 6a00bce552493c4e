"""On-policy actor-critic methods over synchronous vector environments.

* :class:`ActorCritic` — batch actor-critic (Konda & Tsitsiklis 2000; Sutton & Barto 2018, ch. 13):
  sample, fit ``V_phi`` to the sampled (bootstrapped) reward sums, evaluate advantages, take a
  policy-gradient step. Advantages: GAE (Schulman et al. 2016; ``gae_lambda = 0`` is the one-step
  TD residual, ``gae_lambda = 1`` the Monte-Carlo return minus the learned baseline) or n-step.
* :class:`A2C` — the synchronous variant of the parallel advantage actor-critic of Mnih et al.
  2016 (``n_envs`` actors, one shared update per step of all of them).
* :class:`OnlineActorCritic` — one transition (per worker), update the critic on
  ``r + gamma V(s')``, then the actor with the TD advantage (Sutton & Barto 2018, sec. 13.5).
* :class:`PPO` — proximal policy optimisation (Schulman et al. 2017): several epochs of minibatch
  updates on each batch with the clipped importance ratio ``pi_theta'(a|s) / pi_theta(a|s)``.

Every environment copy steps with gymnasium's ``SyncVectorEnv`` in same-step autoreset mode, so
a step that ends an episode by truncation bootstraps from ``V(final observation)``.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from .onpolicy_config import A2CConfig, ActorCriticConfig, OnlineActorCriticConfig, OnPolicyConfig, PPOConfig
from .trainer import Trainer, _set_lr, linear_schedule
from .buffers import RolloutBuffer
from .networks import ActorCriticNet
from .returns import gae, n_step_advantage

__all__ = ["OnPolicyConfig", "ActorCriticConfig", "A2CConfig", "OnlineActorCriticConfig", "PPOConfig",
           "ActorCritic", "A2C", "OnlineActorCritic", "PPO"]


class _OnPolicy(Trainer):
    """Vector-env rollouts + advantage estimation; subclasses implement :meth:`_update`."""

    config_class = OnPolicyConfig
    default_eval_every = 2048

    def _build(self) -> None:
        c = self.config
        if self.discrete:
            self.net = ActorCriticNet(self.obs_dim, n_actions=int(self.action_space.n), hidden=c.hidden,
                                      shared=c.shared, activation=c.activation)
        else:
            self.net = ActorCriticNet(self.obs_dim, action_dim=int(self.action_space.shape[0]), hidden=c.hidden,
                                      shared=c.shared, activation=c.activation, log_std_init=c.log_std_init)
        opt = getattr(c, "optimizer", "adam")
        if opt == "rmsprop":
            self.optimizer = torch.optim.RMSprop(self.net.parameters(), lr=c.lr, alpha=0.99, eps=1e-5)
        else:
            self.optimizer = torch.optim.Adam(self.net.parameters(), lr=c.lr, eps=1e-5)
        self.venv = None
        self.buffer = RolloutBuffer(c.n_steps, c.n_envs, self.obs_dim, None if self.discrete else self.action_space.shape[0])
        self._low = None if self.discrete else self.action_space.low
        self._high = None if self.discrete else self.action_space.high

    @property
    def policy(self) -> ActorCriticNet:
        return self.net

    def _state(self):
        return {"net": self.net, "optimizer": self.optimizer}

    def _act(self, obs, deterministic):
        return self.net.act(obs, deterministic=deterministic)

    def _start(self) -> None:
        c = self.config
        self.venv = SyncVectorEnv([self.env_fn for _ in range(c.n_envs)], autoreset_mode=AutoresetMode.SAME_STEP)
        obs, _ = self.venv.reset(seed=self.seed)
        self._obs = obs.astype(np.float32)
        self._starts = np.ones(c.n_envs, bool)
        self._ep_ret = np.zeros(c.n_envs)

    def _log_prob(self, dist, actions):
        lp = dist.log_prob(actions)
        return lp if self.discrete else lp.sum(-1)

    def _entropy(self, dist):
        e = dist.entropy()
        return e if self.discrete else e.sum(-1)

    @torch.no_grad()
    def _collect(self) -> None:
        if self.venv is None:
            self._start()
        b, net = self.buffer, self.net
        obs = self._obs
        for t in range(b.n_steps):
            b.obs[t] = obs
            b.episode_starts[t] = self._starts
            dist = net.distribution(torch.from_numpy(obs))
            a = dist.sample()
            b.log_probs[t] = self._log_prob(dist, a).numpy()
            a = a.numpy()
            b.actions[t] = a
            nobs, r, term, trunc, info = self.venv.step(a if self.discrete else np.clip(a, self._low, self._high))
            done = term | trunc
            b.rewards[t] = r
            b.terminated[t] = term
            b.dones[t] = done
            b.next_obs[t] = nobs
            self._ep_ret += r
            if done.any():
                final = info["final_obs"]
                for i in np.flatnonzero(done):
                    b.next_obs[t, i] = final[i]
                    self._episode_returns.append(float(self._ep_ret[i]))
                    self._ep_ret[i] = 0.0
            self._starts = done
            obs = nobs.astype(np.float32, copy=False)
        self._obs = obs

    @torch.no_grad()
    def _advantages(self) -> tuple[np.ndarray, np.ndarray]:
        """Advantages and value targets (T, N) from the current critic."""
        b, c = self.buffer, self.config
        T, N = b.n_steps, b.n_envs
        v = self.net.value(torch.from_numpy(b.obs.reshape(T * N, -1))).numpy().reshape(T, N).astype(np.float64)
        vn = self.net.value(torch.from_numpy(b.next_obs.reshape(T * N, -1))).numpy().reshape(T, N).astype(np.float64)
        if c.advantage == "gae":
            adv = gae(b.rewards, v, vn, b.terminated, b.dones, c.gamma, c.gae_lambda)
        else:
            adv = n_step_advantage(b.rewards, v, vn, b.terminated, b.dones, c.gamma, c.n_step)
        return adv, adv + v

    def _progress_remaining(self) -> float:
        return 1.0 - self.num_timesteps / max(self._total_steps, 1)

    def _iterate(self, max_steps: int):
        c = self.config
        if c.lr_schedule == "linear":
            _set_lr(self.optimizer, linear_schedule(c.lr, self._progress_remaining()))
        self._collect()
        info = self._update()
        return self.buffer.n_steps * self.buffer.n_envs, info

    def _tensors(self, adv, ret):
        b = self.buffer
        M = b.n_steps * b.n_envs
        obs = torch.from_numpy(b.obs.reshape(M, -1))
        act = torch.from_numpy(b.actions.reshape(M) if self.discrete else b.actions.reshape(M, -1))
        return (obs, act, torch.from_numpy(b.log_probs.reshape(M)),
                torch.as_tensor(adv.reshape(M), dtype=torch.float32), torch.as_tensor(ret.reshape(M), dtype=torch.float32))

    def _step(self, loss) -> None:
        self._optimize(self.optimizer, loss, self.net.parameters(), self.config.max_grad_norm)

    def _update(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


def _f(x: torch.Tensor) -> float:
    return float(x.detach())


def _normalize(a: torch.Tensor) -> torch.Tensor:
    if a.numel() < 2:
        return a
    return (a - a.mean()) / (a.std() + 1e-8)


class ActorCritic(_OnPolicy):
    """Batch actor-critic with GAE (Schulman et al. 2016) or n-step advantages.

    Parameters
    ----------
    env, config, **kwargs
        See :class:`~planlab.policies.trainer.Trainer` and :class:`ActorCriticConfig`.

    Examples
    --------
    >>> ac = ActorCritic("CartPole-v1", seed=0, n_envs=8, n_steps=16)  # doctest: +SKIP
    >>> ac.learn(100_000)  # doctest: +SKIP
    """

    name = "ac"
    config_class = ActorCriticConfig

    def _update(self) -> dict:
        c = self.config
        adv, ret = self._advantages()
        obs, act, _, adv_t, ret_t = self._tensors(adv, ret)
        info = {}
        if c.critic_updates > 0:
            for _ in range(c.critic_updates):
                vloss = (self.net.value(obs) - ret_t).pow(2).mean()
                self._step(vloss)
            info["value_loss"] = _f(vloss)
            adv, _ = self._advantages()  # step 4 with the refit critic
            adv_t = torch.as_tensor(adv.reshape(-1), dtype=torch.float32)
            if c.normalize_advantage:
                adv_t = _normalize(adv_t)
            dist = self.net.distribution(obs)
            ent = self._entropy(dist).mean()
            pg = -(self._log_prob(dist, act) * adv_t).mean()
            self._step(pg - c.ent_coef * ent)
        else:
            if c.normalize_advantage:
                adv_t = _normalize(adv_t)
            dist, v = self.net.distribution_and_value(obs)
            ent = self._entropy(dist).mean()
            pg = -(self._log_prob(dist, act) * adv_t).mean()
            vloss = (v - ret_t).pow(2).mean()
            self._step(pg + c.vf_coef * vloss - c.ent_coef * ent)
            info["value_loss"] = _f(vloss)
        info.update(policy_loss=_f(pg), entropy=_f(ent))
        return info


class A2C(ActorCritic):
    """Synchronous advantage actor-critic (A2C, Mnih et al. 2016) over ``n_envs`` gymnasium environments.

    Examples
    --------
    >>> a2c = A2C("CartPole-v1", seed=0, target_return=475)  # doctest: +SKIP
    >>> a2c.learn(50_000)  # doctest: +SKIP
    """

    name = "a2c"
    config_class = A2CConfig


class OnlineActorCritic(ActorCritic):
    """Online actor-critic (Sutton & Barto 2018, sec. 13.5): update after every transition of every worker."""

    name = "online_ac"
    config_class = OnlineActorCriticConfig
    default_eval_every = 5000


class PPO(_OnPolicy):
    """Proximal policy optimisation with the clipped surrogate objective (Schulman et al. 2017).

    Each batch of ``n_envs * n_steps`` transitions is reused for ``n_epochs`` passes of
    minibatch updates; the one-step importance ratio ``pi_theta'(a|s) / pi_theta(a|s)`` is
    clipped to ``[1 - eps, 1 + eps]``; advantages by GAE (Schulman et al. 2016).

    Examples
    --------
    >>> ppo = PPO("CartPole-v1", seed=0, target_return=475)  # doctest: +SKIP
    >>> ppo.learn(50_000).solved_at  # doctest: +SKIP
    """

    name = "ppo"
    config_class = PPOConfig

    def _update(self) -> dict:
        c = self.config
        adv, ret = self._advantages()
        obs, act, old_lp, adv_t, ret_t = self._tensors(adv, ret)
        M = obs.shape[0]
        clip = c.clip_range if c.clip_schedule == "constant" else linear_schedule(c.clip_range, self._progress_remaining())
        bs = min(c.batch_size, M)
        for _ in range(c.n_epochs):
            perm = torch.randperm(M)
            for s in range(0, M, bs):
                idx = perm[s:s + bs]
                dist, v = self.net.distribution_and_value(obs[idx])
                lp = self._log_prob(dist, act[idx])
                ratio = torch.exp(lp - old_lp[idx])
                a = _normalize(adv_t[idx]) if c.normalize_advantage else adv_t[idx]
                pg = -torch.min(ratio * a, ratio.clamp(1 - clip, 1 + clip) * a).mean()
                vloss = (v - ret_t[idx]).pow(2).mean()
                ent = self._entropy(dist).mean()
                self._step(pg + c.vf_coef * vloss - c.ent_coef * ent)
        return {"policy_loss": _f(pg), "value_loss": _f(vloss), "entropy": _f(ent),
                "clip_fraction": float(((ratio - 1).abs() > clip).float().mean())}
