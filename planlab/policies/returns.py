"""Returns, advantages, baselines and importance weights of the policy-gradient methods.

All functions are plain numpy (float64) except :func:`importance_weights` (torch, so the
trainers can keep it on the graph if they want). Time is the leading axis; any trailing axes
(parallel environments) are carried along.

Conventions for rollouts from vectorised environments (time ``T``, envs ``N``)::

    rewards      (T, N)   r_t
    values       (T, N)   V(s_t)
    next_values  (T, N)   V(s_{t+1}); for a step that ended an episode by *truncation* this is
                          V(final observation), and 0 when the episode *terminated*
    terminated   (T, N)   bool, the MDP ended (no bootstrap)
    dones        (T, N)   bool, terminated or truncated (the advantage recursion is cut)
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.validation import as_float_array, check_in, check_probability

__all__ = [
    "DISCOUNT_FROM_NOW",
    "DISCOUNT_FROM_START",
    "reward_to_go",
    "pg_weights",
    "td_residual",
    "gae",
    "n_step_advantage",
    "average_baseline",
    "optimal_baseline",
    "importance_weights",
]

#: Discount option 1: ``sum_{t'>=t} gamma^(t'-t) r_t'`` — discount rewards relative to the decision.
DISCOUNT_FROM_NOW = "from_now"
#: Discount option 2: discount from the start of the episode, which also discounts later
#: decisions' gradients by ``gamma^t`` (the discounted objective's exact gradient).
DISCOUNT_FROM_START = "from_start"


def _rewards(rewards) -> np.ndarray:
    r = as_float_array("rewards", rewards)
    if r.ndim < 1:
        raise ValueError(f"rewards: expected shape (T, ...), got {r.shape}")
    return r


def reward_to_go(rewards, gamma: float = 1.0) -> np.ndarray:
    """Reward-to-go ``Q_hat_t = sum_{t'>=t} gamma^(t'-t) r_t'`` of one episode (Sutton et al. 2000).

    Parameters
    ----------
    rewards : array_like, shape (T, ...)
    gamma : float in [0, 1]

    Returns
    -------
    ndarray, shape (T, ...)

    Examples
    --------
    >>> reward_to_go([1.0, 1.0, 1.0], gamma=0.5)
    array([1.75, 1.5 , 1.  ])
    """
    r = _rewards(rewards)
    gamma = check_probability("gamma", gamma)
    out = np.empty_like(r)
    acc = np.zeros(r.shape[1:])
    for t in range(r.shape[0] - 1, -1, -1):
        acc = r[t] + gamma * acc
        out[t] = acc
    return out


def pg_weights(rewards, gamma: float = 1.0, *, discount: str = DISCOUNT_FROM_NOW, causal: bool = True) -> np.ndarray:
    """The weight multiplying ``grad log pi(a_t | s_t)`` in the Monte-Carlo policy gradient.

    Parameters
    ----------
    rewards : array_like, shape (T,)
        One episode's rewards.
    gamma : float in [0, 1]
    discount : {"from_now", "from_start"}
        The two discount options. ``"from_now"`` (option 1): ``gamma^(t'-t)``;
        ``"from_start"`` (option 2): ``gamma^t'``, i.e. option 1 times ``gamma^t``.
    causal : bool
        ``True``: reward-to-go, only rewards at ``t' >= t``. ``False``: every step is
        weighted by the whole (discounted-from-start) return of the episode (Theorem 3.1).

    Returns
    -------
    ndarray, shape (T,)
    """
    r = _rewards(rewards)
    check_in("discount", discount, (DISCOUNT_FROM_NOW, DISCOUNT_FROM_START))
    gamma = check_probability("gamma", gamma)
    if not causal:
        total = float(np.sum(r * gamma ** np.arange(r.shape[0])))
        return np.full(r.shape[0], total)
    rtg = reward_to_go(r, gamma)
    if discount == DISCOUNT_FROM_START:
        rtg = rtg * gamma ** np.arange(r.shape[0])
    return rtg


def td_residual(rewards, values, next_values, terminated, gamma: float) -> np.ndarray:
    """``delta_t = r_t + gamma V(s_{t+1}) (1 - terminated_t) - V(s_t)`` (the one-step TD error, Sutton 1988).

    All arrays have the same shape (T, ...); returns that shape.
    """
    gamma = check_probability("gamma", gamma)
    r = _rewards(rewards)
    v = as_float_array("values", values, shape=r.shape)
    vn = as_float_array("next_values", next_values, shape=r.shape)
    term = np.asarray(terminated, dtype=bool)
    return r + gamma * np.where(term, 0.0, vn) - v


def gae(rewards, values, next_values, terminated, dones, gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimation (Schulman et al. 2016).

    ``A_t = sum_{t'>=t} (gamma lambda)^(t'-t) delta_t'``, the sum cut at episode ends. ``lam = 0``
    gives the TD residual; ``lam = 1`` gives the (bootstrapped at the rollout's end) Monte-Carlo
    return minus ``V(s_t)``.

    Parameters
    ----------
    rewards, values, next_values : array_like, shape (T, ...)
    terminated, dones : array_like of bool, shape (T, ...)
        See the module docstring.
    gamma, lam : float in [0, 1]

    Returns
    -------
    ndarray, shape (T, ...)
    """
    lam = check_probability("lam", lam)
    delta = td_residual(rewards, values, next_values, terminated, gamma)
    cont = ~np.asarray(dones, dtype=bool)
    out = np.empty_like(delta)
    acc = np.zeros(delta.shape[1:])
    for t in range(delta.shape[0] - 1, -1, -1):
        acc = delta[t] + gamma * lam * cont[t] * acc
        out[t] = acc
    return out


def n_step_advantage(rewards, values, next_values, terminated, dones, gamma: float, n: int) -> np.ndarray:
    """n-step advantage (Mnih et al. 2016): ``sum_{k<n} gamma^k r_{t+k} + gamma^n V(s_{t+n}) - V(s_t)``.

    The window is cut at an episode's end (bootstrapping from ``next_values`` there, 0 if
    terminated) and at the end of the rollout. ``n = 1`` is the TD residual.

    Shapes as in :func:`gae`.
    """
    gamma = check_probability("gamma", gamma)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: expected an integer >= 1, got {n!r}")
    r = _rewards(rewards)
    v = as_float_array("values", values, shape=r.shape)
    vn = np.where(np.asarray(terminated, dtype=bool), 0.0, as_float_array("next_values", next_values, shape=r.shape))
    d = np.asarray(dones, dtype=bool)
    T = r.shape[0]
    out = np.empty_like(r)
    for t in range(T):
        ret = np.zeros(r.shape[1:])
        disc = np.ones(r.shape[1:])
        alive = np.ones(r.shape[1:], dtype=bool)
        boot = np.zeros(r.shape[1:])
        for k in range(n):
            if t + k >= T:
                break
            ret = ret + alive * disc * r[t + k]
            last = (k == n - 1) | (t + k == T - 1) | d[t + k]
            boot = np.where(alive & last, disc * gamma * vn[t + k], boot)
            disc = disc * gamma
            alive = alive & ~d[t + k]
        out[t] = ret + boot - v[t]
    return out


def average_baseline(returns) -> float:
    """The average-return baseline ``b = mean(r(tau))`` (Williams 1992)."""
    return float(np.mean(as_float_array("returns", returns)))


def optimal_baseline(returns, score_sq_norms) -> float:
    """The variance-minimising baseline ``b = E[g^2 r] / E[g^2]`` (Greensmith, Bartlett & Baxter 2004).

    Parameters
    ----------
    returns : array_like, shape (M,)
        ``r(tau)`` (or reward-to-go) of each sample.
    score_sq_norms : array_like, shape (M,)
        ``g^2 = ||grad log p(tau)||^2`` of each sample.
    """
    r = as_float_array("returns", returns, ndim=1)
    g2 = as_float_array("score_sq_norms", score_sq_norms, shape=r.shape)
    den = float(g2.sum())
    return float((g2 * r).sum() / den) if den > 0 else float(r.mean())


def importance_weights(logp_new: torch.Tensor, logp_old: torch.Tensor, episode_starts: torch.Tensor,
                       max_log_weight: float = 20.0) -> torch.Tensor:
    """Per-decision importance weights ``prod_{t'<=t} pi_theta'(a_t'|s_t') / pi_theta(a_t'|s_t')`` (Precup, Sutton & Singh 2000).

    The product restarts at every episode start. Equal to 1 when the two policies agree.

    Parameters
    ----------
    logp_new, logp_old : Tensor, shape (M,)
        Log-probabilities of the stored actions under the current and the behaviour policy, for
        ``M`` steps of consecutive episodes laid end to end.
    episode_starts : Tensor of bool, shape (M,)
        True where an episode begins (``episode_starts[0]`` is treated as True).
    max_log_weight : float
        Log-weights are clamped to ``[-max, max]`` so a long episode cannot overflow.

    Returns
    -------
    Tensor, shape (M,)
    """
    lr = logp_new - logp_old
    cs = torch.cumsum(lr, 0)
    starts = episode_starts.clone().bool()
    starts[0] = True
    idx = torch.arange(lr.shape[0], device=lr.device)
    start_idx = torch.cummax(torch.where(starts, idx, torch.zeros_like(idx)), 0).values
    seg = cs - cs[start_idx] + lr[start_idx]
    return torch.exp(seg.clamp(-max_log_weight, max_log_weight))
