"""REINFORCE (Williams 1992) with the usual variance reductions, and importance-weighted batch reuse.

The gradient estimate is

.. math::

    \\nabla_\\theta J \\approx \\frac{1}{M} \\sum_{i,t} w_{i,t}\\,
        \\nabla_\\theta \\log \\pi_\\theta(a_{i,t} \\mid s_{i,t}) \\, (\\hat Q_{i,t} - b_{i,t})

with ``Q_hat`` the whole return (the likelihood-ratio gradient of Williams 1992) or the reward-to-go
(policy gradient theorem, Sutton et al. 2000) under either discount option (``DISCOUNT_FROM_NOW``,
``DISCOUNT_FROM_START``); ``b`` nothing, the average return, the variance-minimising baseline
(Greensmith, Bartlett & Baxter 2004) or a learned value ``V_phi(s_t)``; and ``w`` the per-decision
importance weights (Precup, Sutton & Singh 2000), which are 1 on the first pass over a batch and
let ``n_updates > 1`` passes reuse it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch.func import functional_call, grad, vmap

from ..core.validation import check_in, check_positive, check_positive_int
from .config import TrainerConfig
from .trainer import Trainer
from .networks import CategoricalPolicy, GaussianPolicy, TorchPolicy, ValueNet
from .returns import (DISCOUNT_FROM_NOW, DISCOUNT_FROM_START, average_baseline, importance_weights, optimal_baseline,
                      pg_weights)

__all__ = ["ReinforceConfig", "REINFORCE", "per_sample_scores", "reinforce_loss", "BASELINES"]

#: Baseline choices: none, average return, variance-minimising (Greensmith et al. 2004), learned value.
BASELINES = ("none", "average", "optimal", "value")


def per_sample_scores(policy: TorchPolicy, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """``grad_theta log pi_theta(a_i | s_i)`` for every sample, flattened over all parameters.

    Parameters
    ----------
    policy : TorchPolicy
    obs : Tensor, shape (M, n_obs)
    actions : Tensor, shape (M,) (discrete) or (M, nu)

    Returns
    -------
    Tensor, shape (M, P)
        ``P`` = number of policy parameters (in ``named_parameters`` order).
    """
    params = {k: v.detach() for k, v in policy.named_parameters()}

    def lp(p, o, a):
        return functional_call(policy, p, (o.unsqueeze(0), a.unsqueeze(0))).squeeze(0)

    g = vmap(grad(lp), in_dims=(None, 0, 0))(params, obs, actions)
    return torch.cat([g[k].reshape(obs.shape[0], -1) for k in params], dim=1)


def reinforce_loss(log_probs: torch.Tensor, advantages: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Surrogate whose gradient is the REINFORCE estimate: ``-mean(w * log pi * A)``.

    ``w`` (per-decision importance weights, Precup et al. 2000) and ``A`` are treated as constants.
    """
    adv = advantages.detach()
    if weights is not None:
        adv = adv * weights.detach()
    return -(log_probs * adv).mean()


@dataclasses.dataclass(frozen=True)
class ReinforceConfig(TrainerConfig):
    """REINFORCE options.

    Parameters
    ----------
    batch_steps : int
        Collect whole episodes until at least this many steps (one batch).
    discount : {"from_now", "from_start"}
        Discount rewards from the decision (``from_now``) or from the episode start (``from_start``).
    causal : bool
        Reward-to-go instead of the whole return.
    baseline : {"none", "average", "optimal", "value"}
    value_lr : float
        Learning rate of ``V_phi`` (baseline ``"value"``).
    value_updates : int
        Regression steps of ``V_phi`` per batch (full batch).
    normalize_advantage : bool
        Standardise ``Q_hat - b`` within the batch (a common extra; off by default).
    n_updates : int
        Gradient steps per batch; after the first, samples are reweighted by per-decision importance weights.
    max_log_weight : float
        Clamp of the log importance weights.
    state_dependent_std : bool
        Gaussian policies only.
    activation : str
    """

    lr: float = 3e-3
    batch_steps: int = 2000
    discount: str = DISCOUNT_FROM_NOW
    causal: bool = True
    baseline: str = "value"
    value_lr: float = 3e-3
    value_updates: int = 20
    normalize_advantage: bool = False
    n_updates: int = 1
    max_log_weight: float = 5.0
    state_dependent_std: bool = False
    activation: str = "tanh"

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("batch_steps", self.batch_steps)
        check_in("discount", self.discount, (DISCOUNT_FROM_NOW, DISCOUNT_FROM_START))
        check_in("baseline", self.baseline, BASELINES)
        check_positive("value_lr", self.value_lr)
        check_positive_int("value_updates", self.value_updates)
        check_positive_int("n_updates", self.n_updates)
        check_positive("max_log_weight", self.max_log_weight)
        check_in("activation", self.activation, ("tanh", "relu", "elu"))
        if self.baseline == "value" and not self.causal:
            raise ValueError("baseline: expected 'none', 'average' or 'optimal' when causal=False "
                             "(a state-value baseline needs per-step returns), got 'value'")


class REINFORCE(Trainer):
    """REINFORCE (Williams 1992) with reward-to-go, baselines and importance-weighted reuse.

    Examples
    --------
    >>> pg = REINFORCE("CartPole-v1", seed=0, baseline="value")  # doctest: +SKIP
    >>> pg.learn(200_000)  # doctest: +SKIP
    """

    name = "reinforce"
    config_class = ReinforceConfig
    default_eval_every = 10_000

    def _build(self) -> None:
        c = self.config
        if self.discrete:
            self.pi = CategoricalPolicy(self.obs_dim, int(self.action_space.n), c.hidden, c.activation)
        else:
            self.pi = GaussianPolicy(self.obs_dim, int(self.action_space.shape[0]), c.hidden,
                                     state_dependent_std=c.state_dependent_std, activation=c.activation)
        self.pi_opt = torch.optim.Adam(self.pi.parameters(), lr=c.lr)
        self.v = ValueNet(self.obs_dim, c.hidden, c.activation) if c.baseline == "value" else None
        self.v_opt = torch.optim.Adam(self.v.parameters(), lr=c.value_lr) if self.v is not None else None
        self.env = None

    @property
    def policy(self) -> TorchPolicy:
        return self.pi

    def _state(self):
        s = {"pi": self.pi, "pi_opt": self.pi_opt}
        if self.v is not None:
            s.update(v=self.v, v_opt=self.v_opt)
        return s

    def _act(self, obs, deterministic):
        return self.pi.act(obs, deterministic=deterministic)

    @torch.no_grad()
    def _collect(self):
        if self.env is None:
            self.env = self.env_fn()
            self._obs, _ = self.env.reset(seed=self.seed)
        low = None if self.discrete else self.action_space.low
        high = None if self.discrete else self.action_space.high
        episodes, steps = [], 0
        while steps < self.config.batch_steps:
            obs_l, act_l, rew_l = [], [], []
            obs = self._obs
            while True:
                o = np.asarray(obs, dtype=np.float32)
                a = self.pi.act(o)
                obs, r, term, trunc, _ = self.env.step(a if self.discrete else np.clip(a, low, high))
                obs_l.append(o)
                act_l.append(a)
                rew_l.append(r)
                if term or trunc:
                    break
            self._obs, _ = self.env.reset()
            steps += len(rew_l)
            self._episode_returns.append(float(np.sum(rew_l)))
            episodes.append((np.stack(obs_l), np.stack(act_l), np.asarray(rew_l, dtype=np.float64)))
        return episodes, steps

    def _iterate(self, max_steps: int):
        c = self.config
        episodes, steps = self._collect()
        obs = torch.from_numpy(np.concatenate([e[0] for e in episodes]))
        act = torch.from_numpy(np.concatenate([e[1] for e in episodes]))
        lens = [len(e[2]) for e in episodes]
        starts = torch.zeros(obs.shape[0], dtype=torch.bool)
        starts[np.cumsum([0] + lens[:-1])] = True
        q = np.concatenate([pg_weights(e[2], c.gamma, discount=c.discount, causal=c.causal) for e in episodes])
        disc_t = np.concatenate([c.gamma ** np.arange(n) for n in lens])  # gamma^t of each step (discount from the start)
        info = {}
        if c.baseline == "none":
            adv = q
        elif c.baseline == "average":
            adv = q - average_baseline(q if c.causal else q[starts.numpy()])
        elif c.baseline == "optimal":
            scores = per_sample_scores(self.pi, obs, act)
            if c.causal:
                g2 = scores.pow(2).sum(1).numpy()
                adv = q - optimal_baseline(q, g2)
            else:
                seg = torch.repeat_interleave(torch.arange(len(lens)), torch.as_tensor(lens))
                traj = torch.zeros(len(lens), scores.shape[1]).index_add_(0, seg, scores)
                b = optimal_baseline(q[starts.numpy()], traj.pow(2).sum(1).numpy())
                adv = q - b
        else:  # learned value baseline, fitted to the reward-to-go from now
            with torch.no_grad():
                v = self.v(obs).numpy().astype(np.float64)
            base = v * disc_t if c.discount == DISCOUNT_FROM_START else v
            adv = q - base
            target = torch.as_tensor(
                np.concatenate([pg_weights(e[2], c.gamma, discount=DISCOUNT_FROM_NOW) for e in episodes]),
                dtype=torch.float32)
            for _ in range(c.value_updates):
                vloss = (self.v(obs) - target).pow(2).mean()
                self._optimize(self.v_opt, vloss)
            info["value_loss"] = float(vloss.detach())
        adv_t = torch.as_tensor(adv, dtype=torch.float32)
        if c.normalize_advantage and adv_t.numel() > 1:
            adv_t = (adv_t - adv_t.mean()) / (adv_t.std() + 1e-8)
        with torch.no_grad():
            old_lp = self.pi.log_prob(obs, act)
        for _ in range(c.n_updates):
            lp = self.pi.log_prob(obs, act)
            w = importance_weights(lp.detach(), old_lp, starts, c.max_log_weight)
            loss = reinforce_loss(lp, adv_t, w)
            self._optimize(self.pi_opt, loss)
        info.update(policy_loss=float(loss.detach()), mean_weight=float(w.mean()))
        return steps, info
