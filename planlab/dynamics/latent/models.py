r"""The two latent models as torch modules, with their training losses.

Both share one interface over a flat latent state ``s`` of size ``config.state_dim`` (float32 torch):

* ``observe(state, prev_action, embed) -> state``: the filter: the latent of the newest frame given
  the previous latent and action (``embed = self.encoder(image)``).
* ``imagine(state, action, head=None) -> state``: one open-loop transition, what planners roll out
  (``head``: (B,) long, the ensemble head of each row; None: the heads' mean).
* ``reward(state, action) -> (B,)`` and ``decode(state) -> image``.
* ``imagine_reward(state, action, head=None)``: both of the above in one pass (what planning calls).
* ``loss(images, actions, rewards) -> dict``: the training objective on sequences
  ``images`` (B, T + 1, C, S, S) float, ``actions`` (B, T, nu), ``rewards`` (B, T), where
  ``rewards[:, t]`` is the reward of the transition ``(o_t, a_t, o_{t+1})``.

:class:`DeterministicLatent` is the deterministic encoder ``s_t = g_psi(o_t)`` trained on the
objective (5.3.6) of the reference notes (maximum likelihood of the encoded next state under the
latent dynamics plus the likelihood of the frame under the decoder; Watter et al. 2015 for the
idea), here with unit-variance Gaussians and the reward model of Algorithm 26 added::

    L = mean_{b,t} [ 1/2 ||f(g(o_t), a_t) - g(o_{t+1})||^2 + 1/2 (r_hat(g(o_t), a_t) - r_t)^2 ]
      + mean_{b,t} 1/2 ||d(g(o_t)) - o_t||^2

with ``f(s, a) = s + mlp([s, a])``; gradients flow through both encodings (as written in (5.3.6)).

:class:`RSSM` is PlaNet's recurrent state-space model (Hafner et al. 2019, "Learning Latent Dynamics
for Planning from Pixels"): ``h_t = GRU(h_{t-1}, [z_{t-1}, a_{t-1}])``, prior
``p(z_t | h_t) = N(mu, sigma)``, posterior ``q(z_t | h_t, o_t)``, decoder and reward from
``(h_t, z_t)``, trained on the evidence lower bound with free nats::

    L = mean_{b,t} [ 1/2 ||dec(s_t) - o_t||^2 + 1/2 (r_hat(s_t, a_t) - r_t)^2
                     + max(free_nats, KL(q(z_t | h_t, o_t) || p(z_t | h_t))) ]

Options: overshooting (multi-step KL / prediction losses, PlaNet's latent overshooting), an open-loop
reward loss (``reward_overshooting``: the reward model fitted on latents rolled open loop, as the
planner uses it) and an ensemble of transition heads.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .config import LatentConfig
from .nets import Decoder, Encoder, mlp

__all__ = ["LatentNet", "RSSM", "DeterministicLatent", "kl_free_nats", "build_net"]


def _kl(post_mean, post_std, prior_mean, prior_std):
    # the closed form of KL(N(m1, s1) || N(m2, s2)) summed over the last dimension (what
    # torch.distributions computes, a test checks it) without building distribution objects
    var_ratio = (post_std / prior_std).pow(2)
    return 0.5 * (var_ratio + ((post_mean - prior_mean) / prior_std).pow(2) - 1.0 - torch.log(var_ratio)).sum(-1)


def kl_free_nats(post_mean, post_std, prior_mean, prior_std, free_nats: float, balance: float | None = None):
    """``max(free_nats, KL(q || p))`` per row, the KL summed over the last (latent) dimension.

    Parameters
    ----------
    post_mean, post_std, prior_mean, prior_std : tensor (..., z)
    free_nats : float
    balance : float in [0, 1] or None
        None: the plain KL. Otherwise KL balancing (Hafner et al. 2021, DreamerV2):
        ``balance * KL(sg(q) || p) + (1 - balance) * KL(q || sg(p))`` with ``sg`` stopping gradients:
        the same value, but the prior gets ``balance`` times the plain KL's gradient and the posterior
        ``1 - balance`` times it (above 0.5: the prior moves to the posterior more than the posterior
        is pulled to the prior).

    Returns
    -------
    tensor (...)
        Below the floor the value is the constant ``free_nats`` (no gradient).
    """
    if balance is None:
        kl = _kl(post_mean, post_std, prior_mean, prior_std)
    else:
        kl = (balance * _kl(post_mean.detach(), post_std.detach(), prior_mean, prior_std)
              + (1.0 - balance) * _kl(post_mean, post_std, prior_mean.detach(), prior_std.detach()))
    return torch.clamp(kl, min=free_nats)


def _gauss(stats: torch.Tensor, min_std: float):
    mean, raw = stats.chunk(2, dim=-1)
    return mean, F.softplus(raw) + min_std


def _mlp_forward(seq: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``seq(x)`` for an :func:`~planlab.dynamics.latent.nets.mlp` (Linear/ReLU layers) in functional calls."""
    layers = [m for m in seq if isinstance(m, nn.Linear)]
    for lin in layers[:-1]:
        x = torch.relu(F.linear(x, lin.weight, lin.bias))
    return F.linear(x, layers[-1].weight, layers[-1].bias)


def _sq(x: torch.Tensor, dims: int) -> torch.Tensor:
    """1/2 squared norm over the last ``dims`` dimensions."""
    return 0.5 * x.pow(2).flatten(-dims).sum(-1) if dims else 0.5 * x.pow(2)


class LatentNet(nn.Module):
    """What both models share: the encoder, the decoder and the reward model."""

    def __init__(self, config: LatentConfig, enc_out: int):
        super().__init__()
        c = config
        self.config = c
        self.state_dim = c.state_dim
        self.encoder = Encoder(c.channels, c.image_size, c.depth, enc_out, pool=c.encoder_pool)
        self.decoder = Decoder(c.state_dim, c.channels, c.image_size, c.depth)
        self.reward_head = mlp(c.state_dim + c.action_dim, c.hidden, 1)

    def initial(self, batch: int) -> torch.Tensor:
        """The latent before the first frame, zeros (batch, nx)."""
        return torch.zeros(batch, self.state_dim)

    def reward(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Predicted reward (B,) of taking ``action`` (B, nu) in ``state`` (B, nx)."""
        return self.reward_head(torch.cat([state, action], -1)).squeeze(-1)

    def decode(self, state: torch.Tensor) -> torch.Tensor:
        """Mean frame (B, C, S, S) of ``state`` (B, nx)."""
        return self.decoder(state)

    def _recon_reward(self, states, images, actions, rewards, recon_index=None):
        B, T1 = images.shape[:2]
        flat_states, flat_images = states.reshape(B * T1, -1), images.reshape(B * T1, *images.shape[2:])
        if recon_index is not None:  # the decoder on a subset of the frames (an unbiased estimate of the mean)
            flat_states, flat_images = flat_states[recon_index], flat_images[recon_index]
        recon = _sq(self.decoder(flat_states) - flat_images, 3).mean()
        r_hat = self.reward(states[:, :-1].reshape(-1, self.state_dim), actions.reshape(-1, actions.shape[-1]))
        reward = _sq(r_hat - rewards.reshape(-1), 0).mean()
        return recon, reward

    def _openloop_reward(self, states, actions, rewards):
        """The open-loop reward loss (``config.reward_overshooting`` = D): mean over d = 1..D of
        ``1/2 (r_hat(s_hat_{t+d|t}, a_{t+d}) - r_{t+d})^2``, ``s_hat_{t+d|t}`` rolled by ``imagine`` from
        ``states[:, t]`` under ``a_t .. a_{t+d-1}``; all start frames ``t`` of a chunk in one batch per d."""
        B, T = actions.shape[:2]
        nx, nu = states.shape[-1], actions.shape[-1]
        s, terms = states[:, :-1], []
        for d in range(1, min(self.config.reward_overshooting, T - 1) + 1):
            n = T - d  # starts t = 0..n-1 keep a reward r_{t+d} inside the chunk
            s = self.imagine(s[:, :n].reshape(B * n, nx), actions[:, d - 1:d - 1 + n].reshape(B * n, nu)).view(B, n, nx)
            r_hat = self.reward(s.reshape(B * n, nx), actions[:, d:d + n].reshape(B * n, nu))
            terms.append(_sq(r_hat - rewards[:, d:d + n].reshape(-1), 0).mean())
        return torch.stack(terms).mean() if terms else None

    def _add_openloop_reward(self, out, states, actions, rewards):
        if self.config.reward_overshooting:
            term = self._openloop_reward(states, actions, rewards)
            if term is not None:
                out["openloop_reward"] = term
                out["loss"] = out["loss"] + term
        return out


class DeterministicLatent(LatentNet):
    """The deterministic encoder ``s = g_psi(o)`` with latent dynamics, reward and decoder ((5.3.6))."""

    def __init__(self, config: LatentConfig):
        super().__init__(config, config.stoch)
        c = config
        self.heads = nn.ModuleList(mlp(c.stoch + c.action_dim, c.hidden, c.stoch) for _ in range(c.members))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """``g_psi(o)``: images (B, C, S, S) float -> latents (B, nx)."""
        return self.encoder(images)

    def observe(self, state, prev_action, embed):
        """The filter of this model ignores the past: the latent is the encoding itself."""
        return embed

    def imagine(self, state, action, head=None):
        """``f(s, a) = s + mlp_k([s, a])`` with head ``k`` per row (heads' mean when ``head`` is None)."""
        x = torch.cat([state, action], -1)
        if len(self.heads) == 1:
            return state + self.heads[0](x)
        outs = torch.stack([h(x) for h in self.heads])  # (E, B, nx)
        if head is None:
            return state + outs.mean(0)
        return state + outs.gather(0, head.view(1, -1, 1).expand(1, -1, outs.shape[-1]))[0]

    def imagine_reward(self, state, action, head=None):
        """``(imagine(state, action, head), reward(state, action))`` for planning."""
        return self.imagine(state, action, head), self.reward(state, action)

    def loss(self, images, actions, rewards, recon_index=None) -> dict:
        """The objective (5.3.6) with a reward term; see the module docstring. Terms averaged over heads.
        ``recon_index``: (k,) long indices into the B * (T + 1) frames, the only ones decoded (None: all)."""
        B, T1 = images.shape[:2]
        s = self.encode(images.reshape(B * T1, *images.shape[2:])).view(B, T1, -1)
        recon, reward = self._recon_reward(s, images, actions, rewards, recon_index)
        x = torch.cat([s[:, :-1], actions], -1)
        trans = torch.stack([_sq(s[:, :-1] + h(x) - s[:, 1:], 1).mean() for h in self.heads]).mean()
        total = recon + reward + trans
        out = {"recon": recon, "reward": reward, "transition": trans}
        D = self.config.overshooting
        if D:
            over = []
            for k in range(len(self.heads)):
                pred = s[:, :-1]
                for d in range(1, min(D + 1, T1 - 1) + 1):
                    pred = pred[:, :-1] if d > 1 else pred
                    a = actions[:, d - 1:d - 1 + pred.shape[1]]
                    pred = pred + self.heads[k](torch.cat([pred, a], -1))
                    if d > 1:
                        over.append(_sq(pred - s[:, d:], 1).mean())
            if over:
                out["overshooting"] = torch.stack(over).mean()
                total = total + out["overshooting"]
        out["loss"] = total
        return self._add_openloop_reward(out, s, actions, rewards)


class RSSM(LatentNet):
    """PlaNet's recurrent state-space model; the latent state is ``[h, z]`` (deter + stoch)."""

    def __init__(self, config: LatentConfig):
        super().__init__(config, config.embed)
        c = config
        self.inp = nn.Sequential(nn.Linear(c.stoch + c.action_dim, c.hidden), nn.ReLU())
        self.gru = nn.GRUCell(c.hidden, c.deter)
        self.priors = nn.ModuleList(mlp(c.deter, c.hidden, 2 * c.stoch, layers=1) for _ in range(c.members))
        self.posterior = mlp(c.deter + c.embed, c.hidden, 2 * c.stoch, layers=1)

    def split(self, state):
        """``state`` (B, deter + stoch) -> (h, z)."""
        return state[..., : self.config.deter], state[..., self.config.deter:]

    def _deter(self, state, action):
        h, z = self.split(state)
        return self.gru(self.inp(torch.cat([z, action], -1)), h)

    def prior_stats(self, h, head=None):
        """Prior mean and std (B, z) of ``p(z | h)``: head ``k`` per row, or the heads' mean (None)."""
        if len(self.priors) == 1:
            return _gauss(self.priors[0](h), self.config.min_std)
        stats = [_gauss(p(h), self.config.min_std) for p in self.priors]
        means, stds = torch.stack([m for m, _ in stats]), torch.stack([s for _, s in stats])  # (E, B, z)
        if head is None:
            return means.mean(0), stds.mean(0)
        idx = head.view(1, -1, 1).expand(1, -1, means.shape[-1])
        return means.gather(0, idx)[0], stds.gather(0, idx)[0]

    def post_stats(self, h, embed):
        return _gauss(self.posterior(torch.cat([h, embed], -1)), self.config.min_std)

    def observe(self, state, prev_action, embed):
        """Filter step: ``h' = GRU(h, [z, a])``, ``z'`` = the posterior mean given the frame's embedding."""
        h = self._deter(state, prev_action)
        mean, _ = self.post_stats(h, embed)
        return torch.cat([h, mean], -1)

    def imagine(self, state, action, head=None):
        """Open-loop step: ``h' = GRU(h, [z, a])``, ``z'`` = the prior mean (planning is deterministic
        given the heads)."""
        h = self._deter(state, action)
        mean, _ = self.prior_stats(h, head)
        return torch.cat([h, mean], -1)

    def imagine_reward(self, state, action, head=None):
        """``(imagine(state, action, head), reward(state, action))`` in one pass for planning.

        The same numbers as the two calls (a test checks it), computed with functional torch calls on
        the layers' own parameters (no ``nn.Module`` dispatch per layer) and without the prior's
        standard deviation, which open-loop planning does not use. Ensembles with a head per row take
        the two calls.
        """
        if len(self.priors) != 1:
            return self.imagine(state, action, head), self.reward(state, action)
        c = self.config
        inp, gru, prior = self.inp[0], self.gru, self.priors[0]
        x = torch.relu(F.linear(torch.cat([state[:, c.deter:], action], -1), inp.weight, inp.bias))
        h = torch.gru_cell(x, state[:, :c.deter], gru.weight_ih, gru.weight_hh, gru.bias_ih, gru.bias_hh)
        mean = F.linear(torch.relu(F.linear(h, prior[0].weight, prior[0].bias)),
                        prior[2].weight[:c.stoch], prior[2].bias[:c.stoch])
        return torch.cat([h, mean], -1), _mlp_forward(self.reward_head, torch.cat([state, action], -1)).squeeze(-1)

    def loss(self, images, actions, rewards, recon_index=None) -> dict:
        """The free-nats ELBO of the module docstring (plus latent overshooting when configured).
        ``recon_index``: (k,) long indices into the B * (T + 1) frames, the only ones decoded (None: all)."""
        c = self.config
        B, T1 = images.shape[:2]
        embed = self.encoder(images.reshape(B * T1, *images.shape[2:])).view(B, T1, -1)
        # only the GRU and the posterior are sequential: the posterior's first layer splits into its h part
        # and its embedding part (one batched call for all frames), and the priors and the KL run once on
        # all (B, T + 1) steps after the loop (the same numbers as per step, in fewer, larger calls)
        first, last = self.posterior[0], self.posterior[2]
        w_h = first.weight[:, :c.deter]
        e_part = F.linear(embed, first.weight[:, c.deter:], first.bias)
        state = self.initial(B)
        a_prev = torch.zeros(B, c.action_dim)
        states, pms, pss = [], [], []
        for t in range(T1):
            h = self._deter(state, a_prev)
            pm, ps = _gauss(F.linear(torch.relu(F.linear(h, w_h) + e_part[:, t]), last.weight, last.bias), c.min_std)
            state = torch.cat([h, pm + ps * torch.randn_like(ps)], -1)
            states.append(state)
            pms.append(pm)
            pss.append(ps)
            if t < T1 - 1:
                a_prev = actions[:, t]
        S = torch.stack(states, 1)  # (B, T + 1, nx)
        PM, PS, Hs = torch.stack(pms, 1), torch.stack(pss, 1), S[..., :c.deter]
        posts = [(PM[:, t], PS[:, t]) for t in range(T1)]
        recon, reward = self._recon_reward(S, images, actions, rewards, recon_index)
        kl = torch.stack([kl_free_nats(PM, PS, *_gauss(p(Hs), c.min_std), c.free_nats, c.kl_balance)
                          for p in self.priors]).mean(0).mean()
        out = {"recon": recon, "reward": reward, "kl": kl}
        total = recon + reward + kl
        if c.overshooting and T1 > 2:
            over = []
            for t in range(T1 - 2):
                s = S[:, t]
                for d in range(1, min(c.overshooting + 1, T1 - 1 - t) + 1):
                    h = self._deter(s, actions[:, t + d - 1])
                    qm, qs = self.prior_stats(h)
                    s = torch.cat([h, qm + qs * torch.randn_like(qs)], -1)
                    if d > 1:
                        pm, ps = posts[t + d]
                        over.append(kl_free_nats(pm.detach(), ps.detach(), qm, qs, c.free_nats).mean())
            if over:
                out["overshooting"] = torch.stack(over).mean()
                total = total + out["overshooting"]
        out["loss"] = total
        return self._add_openloop_reward(out, S, actions, rewards)


def build_net(config: LatentConfig) -> LatentNet:
    """The torch module of ``config.kind``."""
    return RSSM(config) if config.kind == "rssm" else DeterministicLatent(config)
