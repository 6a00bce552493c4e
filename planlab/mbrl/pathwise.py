"""Differentiable model rollouts: the pieces back-propagation through a model is built from.

A deterministic state-feedback policy ``u = pi_theta(x)`` is rolled out through a differentiable
model ``x_{t+1} = f(x_t, u_t)`` and the summed cost

.. math::

    J(\\theta) = \\frac{1}{N} \\sum_{n=1}^{N} \\Big[ \\sum_{t=0}^{H-1} \\gamma^t c(x_t, u_t, x_{t+1})
                 + \\gamma^H V_\\phi(x_H) \\Big], \\qquad x_0 \\sim \\text{start states}

is differentiated with respect to ``theta`` by back-propagation through time (the pathwise
gradient of PILCO, Deisenroth & Rasmussen 2011, of SVG(infinity), Heess et al. 2015, and of
Dreamer's actor, Hafner et al. 2020). Two kinds of model are differentiable here:

* an analytic system's torch path (:meth:`planlab.dynamics.AnalyticSystem.step_torch`), the exact model;
* a learned ensemble (:class:`planlab.dynamics.learned.LearnedDynamics`): each rollout follows one
  elite member for the whole horizon (TS∞, Chua et al. 2018) and, for Gaussian members, the
  reparameterised noise ``mu + sigma * eps`` so the gradient passes through the sample.

Shapes::

    x   (N, nx)    states (the batch of rollouts)
    u   (N, nu)    actions
    J   ()         mean cost over the batch
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..core.contracts import Dynamics
from ..core.planning import Policy
from ..core.ops import wrap_angle
from ..core.validation import check_positive_int
from ..dynamics.analytic import never_terminates
from ..dynamics.learned import LearnedDynamics
from ..policies.networks import mlp

__all__ = ["StateFeedbackPolicy", "StateValue", "state_features", "exact_step", "EnsembleStep",
           "rollout_cost", "states_from_observations", "observations_from_states", "unwrap_next",
           "has_terminal_states", "ModelWeights", "clip_adjoint"]


def state_features(x: torch.Tensor, angle_indices: Sequence[int]) -> torch.Tensor:
    """Network inputs of states: plain components, then cos and sin of the angles, (..., nx + n_angles)."""
    if not angle_indices:
        return x
    ang = list(angle_indices)
    plain = [i for i in range(x.shape[-1]) if i not in set(ang)]
    a = x[..., ang]
    return torch.cat([x[..., plain], torch.cos(a), torch.sin(a)], dim=-1)


def states_from_observations(dynamics, obs: np.ndarray) -> np.ndarray:
    """``dynamics.state_from_observation`` row by row: (n, n_obs) -> (n, nx) float64."""
    obs = np.asarray(obs, dtype=np.float64)
    if type(dynamics).state_from_observation is Dynamics.state_from_observation:  # the identity
        if obs.shape[-1] != dynamics.state_dim:
            raise ValueError(f"obs: expected observations of size {dynamics.state_dim}, got shape {obs.shape}")
        return obs.copy()
    if obs.ndim == 1:
        return np.asarray(dynamics.state_from_observation(obs), dtype=np.float64)
    return np.stack([np.asarray(dynamics.state_from_observation(o), dtype=np.float64) for o in obs])


def observations_from_states(dynamics, x: np.ndarray) -> np.ndarray:
    """``dynamics.observation_from_state`` row by row (the identity without it): (n, nx) -> (n, n_obs) float32."""
    x = np.asarray(x, dtype=np.float64)
    f = getattr(dynamics, "observation_from_state", None)
    if f is None:
        return x.astype(np.float32)
    n_obs = getattr(dynamics, "observation_dim", None)
    try:  # maps written with numpy ufuncs take the whole batch at once
        out = np.asarray(f(x), dtype=np.float32)
        if n_obs is not None and out.shape == (x.shape[0], n_obs):
            return out
    except (TypeError, ValueError, IndexError):
        pass
    return np.stack([np.asarray(f(r), dtype=np.float32) for r in x]).reshape(x.shape[0], -1)


def unwrap_next(x: np.ndarray, xn: np.ndarray, angle_indices: Sequence[int]) -> np.ndarray:
    """``xn`` with each angle moved to ``x``'s branch (``x + wrap(xn - x)``), so a learned model
    sees the continuous change of an angle, not a jump of 2 pi at the wrap."""
    if not angle_indices:
        return xn
    a = list(angle_indices)
    xn = np.array(xn, dtype=np.float64, copy=True)
    xn[..., a] = x[..., a] + wrap_angle(xn[..., a] - x[..., a])
    return xn


def has_terminal_states(dynamics) -> bool:
    """Whether ``dynamics`` has terminal states (an analytic termination source other than 'never')."""
    src = getattr(type(dynamics), "termination_source", None)
    return src is not None and src is not never_terminates


class ModelWeights:
    """A learned model's weights as a trainer's saved state: ``state_dict`` / ``load_state_dict`` that
    also restore the elite set (whose size the saved ``elite_idx`` carries)."""

    def __init__(self, model: LearnedDynamics):
        self.model = model

    def state_dict(self) -> dict:
        return self.model.net.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.set_elites(state["elite_idx"].numpy())
        self.model.net.load_state_dict(state)
        self.model.invalidate()


class StateFeedbackPolicy(nn.Module, Policy):
    """A deterministic neural policy of the model state, squashed into the action box.

    ``u = c + h * tanh(mlp(features(x)))`` with ``c``, ``h`` the centre and half-width of
    ``[low, high]`` and the features of :func:`state_features` (angles as cos/sin).

    Parameters
    ----------
    state_dim, action_dim : int
    low, high : array_like (action_dim,)
    angle_indices : sequence of int
    hidden : sequence of int
    activation : {"tanh", "relu", "elu"}
    observation_model : Dynamics, optional
        Its ``state_from_observation`` maps env observations to states in :meth:`act`.

    Examples
    --------
    >>> pi = StateFeedbackPolicy(2, 1, [-2.0], [2.0], angle_indices=(0,), hidden=(8,))
    >>> pi(torch.zeros(5, 2)).shape
    torch.Size([5, 1])
    """

    def __init__(self, state_dim: int, action_dim: int, low, high, *, angle_indices: Sequence[int] = (),
                 hidden: Sequence[int] = (64, 64), activation: str = "tanh", observation_model=None):
        super().__init__()
        self.state_dim = check_positive_int("state_dim", state_dim)
        self.action_dim = check_positive_int("action_dim", action_dim)
        self.angle_indices = tuple(int(i) for i in angle_indices)
        low = np.broadcast_to(np.asarray(low, dtype=np.float64), (action_dim,))
        high = np.broadcast_to(np.asarray(high, dtype=np.float64), (action_dim,))
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)):
            raise ValueError(f"low, high: expected finite bounds with low < high, got {low.tolist()}, {high.tolist()}")
        self.net = mlp(state_dim + len(self.angle_indices), action_dim, hidden, activation, out_gain=0.01)
        self.register_buffer("center", torch.as_tensor((high + low) / 2, dtype=torch.float32))
        self.register_buffer("half_width", torch.as_tensor((high - low) / 2, dtype=torch.float32))
        self.observation_model = observation_model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Actions (..., nu) of states (..., nx), in the dtype of the parameters."""
        return self.center + self.half_width * torch.tanh(self.preactivation(x))

    def preactivation(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output before the tanh squashing, (..., nu)."""
        return self.net(state_features(x.to(self.center.dtype), self.angle_indices))

    @torch.no_grad()
    def act(self, obs) -> np.ndarray:
        """Actions of env observations (n_obs,) or (n, n_obs) (mapped to states by ``observation_model``)."""
        o = np.asarray(obs, dtype=np.float64)
        x = states_from_observations(self.observation_model, o) if self.observation_model is not None else o
        if x.shape[-1] != self.state_dim:
            raise ValueError(f"obs: expected states of size {self.state_dim} (after the observation map), "
                             f"got shape {x.shape}")
        return self(torch.as_tensor(x, dtype=self.center.dtype)).double().numpy()


class StateValue(nn.Module):
    """A cost-to-go network ``V_phi(x)`` on :func:`state_features`: (..., nx) -> (...)."""

    def __init__(self, state_dim: int, angle_indices: Sequence[int] = (), hidden: Sequence[int] = (64, 64)):
        super().__init__()
        self.angle_indices = tuple(int(i) for i in angle_indices)
        self.net = mlp(check_positive_int("state_dim", state_dim) + len(self.angle_indices), 1, hidden, "tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = next(self.net.parameters())
        return self.net(state_features(x.to(p.dtype), self.angle_indices)).squeeze(-1)


def exact_step(dynamics) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The differentiable step of an analytic system (its ``step_torch``)."""
    if not getattr(dynamics, "has_torch", False) or not hasattr(dynamics, "step_torch"):
        raise TypeError(f"dynamics: expected a model with a torch path (step_torch), got {type(dynamics).__name__}")
    return dynamics.step_torch


class EnsembleStep:
    """A differentiable step through a learned ensemble, one elite member per rollout (TS∞).

    Call :meth:`assign` once per batch of rollouts (it draws each rollout's member); then
    ``step(x, u)`` returns that member's next state, with reparameterised Gaussian noise when the
    members are probabilistic and ``sample=True``.

    Parameters
    ----------
    model : LearnedDynamics
    sample : bool
        Add the aleatoric noise ``sigma * eps`` (the gradient flows through ``mu`` and ``sigma``).
    generator : torch.Generator, optional
    """

    def __init__(self, model: LearnedDynamics, *, sample: bool = True, generator: torch.Generator | None = None):
        if not isinstance(model, LearnedDynamics):
            raise TypeError(f"model: expected a LearnedDynamics, got {type(model).__name__}")
        self.model = model
        self.sample = bool(sample) and model.config.probabilistic
        self.generator = generator
        self.members = None

    def assign(self, n: int) -> torch.Tensor:
        """Draw the member (an index into the elite list) of each of ``n`` rollouts."""
        k = int(self.model.elites.size)
        self.members = torch.randint(0, k, (n,), generator=self.generator)
        return self.members

    def __call__(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        if self.members is None or self.members.shape[0] != x.shape[0]:
            raise ValueError(f"x: expected {0 if self.members is None else self.members.shape[0]} rollouts "
                             f"(call assign(n) first), got {x.shape[0]}")
        nx = self.model.state_dim
        dtype = self.model.net.weights[0].dtype  # float32 unless the network was converted
        mean, var = self.model.predict_torch(x.to(dtype), u.to(dtype))  # (E', N, n_out)
        idx = self.members.view(1, -1, 1).expand(1, x.shape[0], mean.shape[-1])
        mu = mean.gather(0, idx)[0, :, :nx]
        if self.sample and var is not None:
            sd = var.gather(0, idx)[0, :, :nx].sqrt()
            mu = mu + sd * torch.randn(mu.shape, generator=self.generator)
        return mu.to(x.dtype)


class _ClipRows(torch.autograd.Function):
    """Identity forward; backward caps each row's gradient norm at ``k`` times the batch median."""

    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        norms = g.norm(dim=-1)
        cap = ctx.k * norms.median()
        scale = torch.where(norms > cap, cap / norms.clamp_min(torch.finfo(g.dtype).tiny), torch.ones_like(norms))
        return g * scale.unsqueeze(-1), None


def clip_adjoint(x: torch.Tensor, k: float) -> torch.Tensor:
    """``x`` (N, nx) unchanged, but the gradient flowing back into it is clipped row by row.

    Each rollout's adjoint ``dJ/dx_t`` (a row) is scaled down to at most ``k`` times the median
    row norm of the batch, so a few rollouts whose chain of Jacobians explodes (e.g. passing
    the unstable top of a pendulum at speed) cannot dominate the batch gradient; the others are
    untouched. Scale-free: it does not depend on the cost's units or the batch reduction.
    """
    if not (k > 0 and np.isfinite(k)):
        raise ValueError(f"k: expected a finite multiple of the median > 0, got {k!r}")
    return _ClipRows.apply(x, float(k))


def rollout_cost(step, cost, policy: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, horizon: int, *,
                 gamma: float = 1.0, terminal_value: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 terminated: Callable[[torch.Tensor], torch.Tensor] | None = None, keep: bool = False,
                 adjoint_clip: float | None = None):
    """Discounted cost of rolling ``policy`` out for ``horizon`` steps through ``step`` (differentiable).

    Parameters
    ----------
    step : callable ``(x (N, nx), u (N, nu)) -> (N, nx)``
        :func:`exact_step` or an :class:`EnsembleStep` (after ``assign(N)``).
    cost : Cost
        With ``running_torch(x, u, xn)`` and ``terminal_torch(x)`` (planlab's source costs).
    policy : callable ``(N, nx) -> (N, nu)``
    x0 : tensor (N, nx)
    horizon : int
    gamma : float
    terminal_value : callable ``(N, nx) -> (N,)``, optional
        Cost-to-go estimate added at the truncation, discounted by ``gamma^H``; without it the
        cost's own terminal term is used.
    terminated : callable ``(N, nx) -> (N,) bool``, optional
        Rollouts stop accruing cost after a terminal state.
    keep : bool
        Also return the states (N, H + 1, nx) and the running costs (N, H) (for value targets).
    adjoint_clip : float, optional
        Clip each rollout's gradient with respect to every state ``x_1 .. x_H`` to this multiple
        of the batch median (:func:`clip_adjoint`); None: the exact pathwise gradient.

    Returns
    -------
    total : tensor (N,)
        Per-rollout discounted cost (the mean is the objective J).
    states, costs : tensors, only with ``keep=True``
    """
    horizon = check_positive_int("horizon", horizon)
    x = x0
    alive = torch.ones(x.shape[0], dtype=x.dtype)
    total = torch.zeros(x.shape[0], dtype=x.dtype)
    states, costs = [x], []
    disc = 1.0
    for _ in range(horizon):
        u = policy(x).to(x.dtype)
        xn = step(x, u)
        if adjoint_clip is not None and xn.requires_grad:
            xn = clip_adjoint(xn, adjoint_clip)
        c = cost.running_torch(x, u, xn).to(x.dtype) * alive
        total = total + disc * c
        if terminated is not None:
            alive = alive * (~terminated(xn)).to(x.dtype)
        disc *= gamma
        x = xn
        states.append(x)
        costs.append(c)
    tail = terminal_value(x) if terminal_value is not None else cost.terminal_torch(x)
    total = total + disc * alive * tail.to(x.dtype)
    if keep:
        return total, torch.stack(states, 1), torch.stack(costs, 1)
    return total
