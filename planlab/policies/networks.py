"""Neural policies for the model-free algorithms (value and Q networks: :mod:`planlab.policies.critics`).

Every policy here is a ``torch.nn.Module`` *and* a planlab :class:`~planlab.core.planning.Policy`:
``act(obs)`` takes numpy observations (n_obs,) or (..., n_obs) and returns numpy actions.
Networks are float32; they convert at their boundary (``act``, ``predict``).

Shapes::

    obs       (..., n_obs)
    discrete  actions (...,)  integer indices 0 .. n_actions - 1
    continuous actions (..., nu)

Both usual actor-critic architectures are available through
:class:`ActorCriticNet`: two networks (``shared=False``, simple and stable) or one shared trunk with
a policy head and a value head (``shared=True``).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Normal

from ..core.planning import Policy
from ..core.validation import check_positive_int
from .critics import QEnsemble, QNet, ValueNet
from .layers import _activation, load_blob, mlp, save_blob

__all__ = [
    "mlp",
    "save_blob",
    "load_blob",
    "TorchPolicy",
    "CategoricalPolicy",
    "GaussianPolicy",
    "TanhGaussianPolicy",
    "ValueNet",
    "QNet",
    "QEnsemble",
    "ActorCriticNet",
]

#: bounds of the Gaussian policies' log standard deviation
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


class TorchPolicy(nn.Module, Policy):
    """Base of the stochastic torch policies.

    Subclasses implement :meth:`distribution` (a torch distribution over actions for a float32
    tensor of observations) and :meth:`mode` (the deterministic action).
    """

    discrete: bool = False

    def distribution(self, obs: torch.Tensor):  # pragma: no cover - abstract
        """The action distribution at observations ``obs`` (..., n_obs)."""
        raise NotImplementedError

    def mode(self, obs: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """The most likely action at ``obs`` (deterministic evaluation)."""
        raise NotImplementedError

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``log pi(a | s)`` (so ``torch.func.functional_call`` can take per-sample gradients)."""
        return self.log_prob(obs, actions)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``log pi(a | s)``, shape (...,)."""
        dist = self.distribution(obs)
        lp = dist.log_prob(actions)
        return lp if self.discrete else lp.sum(-1)

    @torch.no_grad()
    def act(self, obs, deterministic: bool = False) -> np.ndarray:
        """Sample (or, with ``deterministic=True``, take the mode of) actions for ``obs``.

        Parameters
        ----------
        obs : array_like, shape (n_obs,) or (..., n_obs)

        Returns
        -------
        ndarray
            Discrete: int64 indices of shape (...); continuous: float32 (..., nu).
        """
        o = torch.as_tensor(np.asarray(obs, dtype=np.float32))
        a = self.mode(o) if deterministic else self.distribution(o).sample()
        return a.numpy()


class CategoricalPolicy(TorchPolicy):
    """A softmax policy over ``n_actions`` discrete actions, logits from an MLP.

    Parameters
    ----------
    obs_dim, n_actions : int
    hidden : sequence of int
    activation : str
    """

    discrete = True

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64), activation: str = "tanh"):
        super().__init__()
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.n_actions = check_positive_int("n_actions", n_actions)
        self.net = mlp(obs_dim, n_actions, hidden, activation, out_gain=0.01)

    def distribution(self, obs: torch.Tensor) -> Categorical:
        """Categorical distribution over the actions at ``obs``."""
        return Categorical(logits=self.net(obs), validate_args=False)

    def mode(self, obs: torch.Tensor) -> torch.Tensor:
        """The action of highest probability at ``obs``."""
        return self.net(obs).argmax(-1)


class GaussianPolicy(TorchPolicy):
    """A diagonal Gaussian policy ``N(mu(s), sigma^2)`` for continuous actions.

    Parameters
    ----------
    obs_dim, action_dim : int
    hidden : sequence of int
    state_dependent_std : bool
        ``True``: ``log sigma(s)`` is a second head of the network; ``False``: a free parameter
        vector (the usual choice for on-policy methods).
    log_std_init : float
    activation : str

    Notes
    -----
    Samples are not squashed; the trainer clips them to the action box before stepping the
    environment (the log-probability is of the unclipped sample).
    """

    def __init__(self, obs_dim: int, action_dim: int, hidden: Sequence[int] = (64, 64), *,
                 state_dependent_std: bool = False, log_std_init: float = 0.0, activation: str = "tanh"):
        super().__init__()
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.action_dim = check_positive_int("action_dim", action_dim)
        self.state_dependent_std = bool(state_dependent_std)
        out = 2 * action_dim if state_dependent_std else action_dim
        self.net = mlp(obs_dim, out, hidden, activation, out_gain=0.01)
        if state_dependent_std:
            with torch.no_grad():
                self.net[-1].bias[action_dim:] = log_std_init
        else:
            self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))

    def mean_log_std(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log standard deviation of the Gaussian at ``obs``, each (..., nu)."""
        out = self.net(obs)
        if self.state_dependent_std:
            mu, log_std = out.split(self.action_dim, dim=-1)
            return mu, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
        return out, self.log_std.expand_as(out)

    def distribution(self, obs: torch.Tensor) -> Normal:
        """Diagonal Gaussian over the actions at ``obs``."""
        mu, log_std = self.mean_log_std(obs)
        return Normal(mu, log_std.exp(), validate_args=False)

    def mode(self, obs: torch.Tensor) -> torch.Tensor:
        """The Gaussian's mean at ``obs``."""
        return self.mean_log_std(obs)[0]


class TanhGaussianPolicy(TorchPolicy):
    """``a = c + h * tanh(u)``, ``u ~ N(mu(s), sigma(s)^2)``: a Gaussian squashed into the box.

    Used by SAC (Haarnoja et al. 2018) and the off-policy actor-critic. ``c`` and ``h`` are the
    centre and half-width of the action box ``[low, high]``.

    Parameters
    ----------
    obs_dim, action_dim : int
    low, high : array_like, shape (action_dim,)
    hidden : sequence of int
    activation : str
    features : nn.Module, optional
        Applied to the observation before the network (e.g. :class:`~planlab.policies.features.AngleFeatures`);
        its ``out_dim`` is the network's input size.
    """

    def __init__(self, obs_dim: int, action_dim: int, low, high, hidden: Sequence[int] = (64, 64),
                 activation: str = "relu", features: nn.Module | None = None):
        super().__init__()
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.action_dim = check_positive_int("action_dim", action_dim)
        self.features = features
        self.net = mlp(obs_dim if features is None else features.out_dim, 2 * action_dim, hidden, activation,
                       out_gain=0.01)
        low = torch.as_tensor(np.asarray(low, dtype=np.float32)).reshape(action_dim)
        high = torch.as_tensor(np.asarray(high, dtype=np.float32)).reshape(action_dim)
        self.register_buffer("center", (high + low) / 2)
        self.register_buffer("half_width", (high - low) / 2)
        self._log_half_sum = float(torch.log(self.half_width).sum())

    def mean_log_std(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and clamped log standard deviation of the pre-tanh Gaussian at ``obs``."""
        if self.features is not None:
            obs = self.features(obs)
        mu, log_std = self.net(obs).split(self.action_dim, dim=-1)
        return mu, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised sample and its log-density.

        Returns
        -------
        actions : Tensor, shape (..., nu)
        log_prob : Tensor, shape (...)
            ``log N(u) - sum log(h (1 - tanh(u)^2))``, with the stable form
            ``log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))``.
        """
        mu, log_std = self.mean_log_std(obs)
        eps = torch.randn_like(mu)
        u = mu + log_std.exp() * eps
        logp = (-0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        logp = logp - (2.0 * (math.log(2.0) - u - nn.functional.softplus(-2.0 * u))).sum(-1) - self._log_half_sum
        return self.center + self.half_width * torch.tanh(u), logp

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        mu, log_std = self.mean_log_std(obs)
        y = ((actions - self.center) / self.half_width).clamp(-1 + 1e-6, 1 - 1e-6)
        u = torch.atanh(y)
        z = (u - mu) / log_std.exp()
        logp = (-0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        return logp - torch.log(1 - y.pow(2) + 1e-6).sum(-1) - self._log_half_sum

    def distribution(self, obs: torch.Tensor):
        """Not available (no closed form): use :meth:`sample` and :meth:`log_prob`."""
        raise NotImplementedError("TanhGaussianPolicy: use sample() / log_prob(); it has no closed-form distribution")

    def mode(self, obs: torch.Tensor) -> torch.Tensor:
        """The squashed mean action at ``obs``, inside the action box."""
        return self.center + self.half_width * torch.tanh(self.mean_log_std(obs)[0])

    @torch.no_grad()
    def act(self, obs, deterministic: bool = False) -> np.ndarray:
        o = torch.as_tensor(np.asarray(obs, dtype=np.float32))
        a = self.mode(o) if deterministic else self.sample(o)[0]
        return a.numpy()


class ActorCriticNet(TorchPolicy):
    """Actor and critic together: two networks, or one shared trunk with two heads (as in Mnih et al. 2016).

    Parameters
    ----------
    obs_dim : int
    n_actions : int, optional
        Discrete actions (a categorical head). Give this or ``action_dim``.
    action_dim : int, optional
        Continuous actions (a Gaussian head with a free log-std).
    hidden : sequence of int
    shared : bool
        ``False``: two networks (policy MLP and value MLP). ``True``: one trunk, two linear heads.
    activation : str
    log_std_init : float
    """

    def __init__(self, obs_dim: int, *, n_actions: int | None = None, action_dim: int | None = None,
                 hidden: Sequence[int] = (64, 64), shared: bool = False, activation: str = "tanh",
                 log_std_init: float = 0.0):
        super().__init__()
        if (n_actions is None) == (action_dim is None):
            raise ValueError("ActorCriticNet: expected exactly one of n_actions / action_dim, got "
                             f"n_actions={n_actions}, action_dim={action_dim}")
        self.discrete = n_actions is not None
        self.shared = bool(shared)
        out = n_actions if self.discrete else action_dim
        if shared:
            if not hidden:
                raise ValueError("hidden: expected at least one hidden layer for a shared trunk, got ()")
            trunk = mlp(obs_dim, hidden[-1], hidden[:-1], activation)
            self.trunk = nn.Sequential(*trunk, _activation(activation)())
            self.pi_head = nn.Linear(hidden[-1], out)
            nn.init.orthogonal_(self.pi_head.weight, 0.01)
            nn.init.zeros_(self.pi_head.bias)
            self.v_head = nn.Linear(hidden[-1], 1)
            nn.init.orthogonal_(self.v_head.weight, 1.0)
            nn.init.zeros_(self.v_head.bias)
        else:
            self.pi_net = mlp(obs_dim, out, hidden, activation, out_gain=0.01)
            self.v_net = mlp(obs_dim, 1, hidden, activation, out_gain=1.0)
        if not self.discrete:
            self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))

    def _pi_out(self, obs):
        return self.pi_head(self.trunk(obs)) if self.shared else self.pi_net(obs)

    def _dist(self, out):
        if self.discrete:
            return Categorical(logits=out, validate_args=False)
        return Normal(out, self.log_std.exp().expand_as(out), validate_args=False)

    def distribution(self, obs: torch.Tensor):
        """The policy head's action distribution at ``obs``."""
        return self._dist(self._pi_out(obs))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """``V_phi(s)``, shape (...)."""
        h = self.v_head(self.trunk(obs)) if self.shared else self.v_net(obs)
        return h.squeeze(-1)

    def distribution_and_value(self, obs: torch.Tensor):
        """Policy distribution and ``V(s)`` in one pass (one trunk evaluation when shared)."""
        if self.shared:
            h = self.trunk(obs)
            return self._dist(self.pi_head(h)), self.v_head(h).squeeze(-1)
        return self._dist(self.pi_net(obs)), self.v_net(obs).squeeze(-1)

    def mode(self, obs: torch.Tensor) -> torch.Tensor:
        """The most likely action at ``obs`` (argmax for discrete actions, the mean otherwise)."""
        out = self._pi_out(obs)
        return out.argmax(-1) if self.discrete else out
