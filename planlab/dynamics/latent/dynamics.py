"""A latent model behind the :class:`~planlab.core.Dynamics` contract, and its learned reward as the Cost.

:class:`LatentDynamics` wraps a :class:`~planlab.dynamics.latent.models.RSSM` or
:class:`~planlab.dynamics.latent.models.DeterministicLatent`. Its states are latent vectors
(``nx = config.state_dim``); ``observe(frame, action)`` filters the newest frame into the latent the
planner starts from; ``step`` / ``rollout`` / ``rollout_cost`` roll latents forward open loop. With
:meth:`LatentDynamics.reward_cost` (cost = minus the learned reward), every action sequence and
every particle of a plan go through the network in **one batched torch call per horizon step**
(:meth:`LatentDynamics.horizon_step`: transition and reward together), so shooting, CEM, iCEM and
MPPI plan in latent space unchanged. The torch computations are float32; the boundary is float64
numpy (latents) and uint8 (frames).

With an ensemble of transition heads (``members > 1``) the model is stochastic: each rolled-out
sequence draws one head for its whole horizon from ``rng`` (TS∞ of PETS, Chua et al. 2018), so the
planner's particles average over heads.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ...core.contracts import Cost, Dynamics, Rollout
from ...core.files import atomic_write
from ...core.seeding import SeedLike, make_rng
from ...core.validation import as_float_array, check_positive_int
from ..learned.threads import torch_threads
from .config import LatentConfig
from .frames import check_frames, frames_to_float
from .models import build_net

__all__ = ["LatentDynamics", "LatentRewardCost", "frames_from_float"]


def frames_from_float(images: torch.Tensor) -> np.ndarray:
    """Float images in [-0.5, 0.5] (..., C, S, S) -> uint8 numpy (clipped)."""
    return np.clip(np.rint((images.detach().float().numpy() + 0.5) * 255.0), 0, 255).astype(np.uint8)


class LatentDynamics(Dynamics):
    """A latent model from pixels (RSSM or deterministic encoder) as a Dynamics over latent states.

    Parameters
    ----------
    config : LatentConfig
    action_low, action_high : float or array_like (nu,)
    dt : float
        Time between two frames (after action repeat).
    seed : int or None
        Seeds the weight initialisation.
    threads : int or None
        torch intra-op threads, set once (see :func:`planlab.dynamics.learned.torch_threads`).

    Examples
    --------
    >>> import numpy as np
    >>> m = LatentDynamics(LatentConfig(image_size=32), -2.0, 2.0, 0.1, seed=0)
    >>> x = m.observe(np.zeros((1, 32, 32), dtype=np.uint8))
    >>> m.step(np.stack([x, x]), np.zeros((2, 1))).shape == (2, m.state_dim)
    True
    """

    has_torch = True

    def __init__(self, config: LatentConfig, action_low, action_high, dt: float, *, seed: int | None = None,
                 threads: int | None = 1):
        if not isinstance(config, LatentConfig):
            raise TypeError(f"config: expected a LatentConfig, got {type(config).__name__}")
        if threads is not None:
            check_positive_int("threads", threads)
            with torch_threads(threads):
                pass
        super().__init__(config.state_dim, config.action_dim, action_low, action_high, dt,
                         stochastic=config.members > 1)
        self.config, self.seed, self.threads = config, seed, threads
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(int(seed))
            self.net = build_net(config)
        self.net.eval()
        self.reset_filter()

    # ------------------------------------------------------------------ frames and the filter
    def check_frames(self, frames, name: str = "frames", leading: int | None = None) -> np.ndarray:
        """Validate uint8 frames (..., C, S, S) of this model's channels and size."""
        return check_frames(name, frames, self.config.channels, self.config.image_size, leading=leading)

    def reset_filter(self) -> None:
        """Forget the filtered latent (call at the start of an episode)."""
        self._belief = None

    def observe(self, frame, action=None) -> np.ndarray:
        """Filter one frame into the latent state the planner starts from.

        Parameters
        ----------
        frame : ndarray (C, S, S) uint8
            The newest observation.
        action : array_like (nu,), optional
            The action executed since the previous frame (None at the first frame of an episode).

        Returns
        -------
        ndarray (nx,) float64
        """
        frame = self.check_frames(frame, "frame", leading=0)
        if self._belief is None or action is None:
            state, a = self.net.initial(1), torch.zeros(1, self.action_dim)
        else:
            state = self._belief
            a = torch.as_tensor(as_float_array("action", action, shape=(self.action_dim,)),
                                dtype=torch.float32).view(1, -1)
        with torch_threads(self.threads), torch.inference_mode():
            self._belief = self.net.observe(state, a, self.net.encoder(frames_to_float(frame[None])))
        return self._belief[0].double().numpy()

    def filter_sequence(self, frames, actions) -> np.ndarray:
        """Latents (T + 1, nx) of an episode's ``frames`` (T + 1, C, S, S) and ``actions`` (T, nu)."""
        frames = self.check_frames(frames, "frames", leading=1)
        actions = as_float_array("actions", actions, shape=(frames.shape[0] - 1, self.action_dim))
        self.reset_filter()
        out = [self.observe(frames[0])]
        for t in range(len(actions)):
            out.append(self.observe(frames[t + 1], actions[t]))
        return np.stack(out)

    def decode(self, states) -> np.ndarray:
        """Decoded frames (N, C, S, S) uint8 of latents ``states`` (N, nx)."""
        x = self.check_state(states, "states").reshape(-1, self.state_dim)
        with torch_threads(self.threads), torch.inference_mode():
            return frames_from_float(self.net.decode(torch.as_tensor(x, dtype=torch.float32)))

    def predict_frames(self, state, actions) -> np.ndarray:
        """Open-loop prediction: decoded frames (k, C, S, S) uint8 after each of ``actions`` (k, nu)
        from the latent ``state`` (nx,) (the heads' mean for an ensemble)."""
        U = self.check_actions(np.asarray(actions, dtype=np.float64)[None], "actions")[0]
        s = self.check_state(state, "state").reshape(1, -1)
        roll = self.rollout(s, U[None], None, mean_heads=True)
        return self.decode(roll.states[0, 1:])

    # ------------------------------------------------------------------ Dynamics
    def reward_cost(self) -> "LatentRewardCost":
        """The learned reward as a planlab Cost (cost = -reward)."""
        return LatentRewardCost(self)

    def horizon_step(self, state: torch.Tensor, action: torch.Tensor, head):
        """One batched network call of a rollout: next latents (B, nx) and rewards (B,) of (state, action)."""
        return self.net.imagine_reward(state, action, head)

    def _heads(self, n: int, rng, mean_heads: bool):
        if self.config.members == 1 or mean_heads:
            return None
        return torch.as_tensor(make_rng(rng).integers(0, self.config.members, size=n), dtype=torch.long)

    def step(self, x, u, rng=None):
        """Next latents: ``x`` (..., nx), ``u`` (..., nu) -> (..., nx) float64 (one random head per row
        for an ensemble). Actions outside the box are clipped to it, as every planlab model does."""
        x, u = self.check_step_inputs(x, u)
        x = self.check_state(x, "x")
        u = np.clip(u, self.action_low, self.action_high)
        batch = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        xb = np.broadcast_to(x, batch + (self.state_dim,)).reshape(-1, self.state_dim)
        ub = np.broadcast_to(u, batch + (self.action_dim,)).reshape(-1, self.action_dim)
        with torch_threads(self.threads), torch.inference_mode():
            out = self.net.imagine(torch.tensor(xb, dtype=torch.float32), torch.tensor(ub, dtype=torch.float32),
                                   self._heads(len(xb), rng, False))
        return out.double().numpy().reshape(batch + (self.state_dim,))

    def rollout(self, x0, actions, cost: Cost | None = None, *, rng: SeedLike = None, mean_heads: bool = False):
        """Roll N sequences (N, H, nu) out from ``x0`` (nx,) or (N, nx): one batched call per step.

        Returns
        -------
        Rollout
            ``states`` (N, H + 1, nx), ``costs`` (N,) (the learned reward's when ``cost`` is this
            model's :meth:`reward_cost`, else ``cost``'s numpy functions; None without a cost),
            ``terminated`` all False.
        """
        states, costs = self._roll(x0, actions, cost, rng, True, mean_heads)
        return Rollout(states, costs, np.zeros(states.shape[0], dtype=bool))

    def rollout_cost(self, x0, actions, cost: Cost, *, rng: SeedLike = None) -> np.ndarray:
        """Total cost (N,) of N sequences (N, H, nu); H batched network calls for all of them."""
        if not isinstance(cost, Cost):
            raise TypeError(f"cost: expected a planlab Cost, got {type(cost).__name__}")
        return self._roll(x0, actions, cost, rng, False, False)[1]

    def _roll(self, x0, actions, cost, rng, keep, mean_heads):
        U = np.clip(self.check_actions(actions), self.action_low, self.action_high)
        N, H, _ = U.shape
        x = torch.as_tensor(self._start_states(x0, N), dtype=torch.float32)
        learned = isinstance(cost, LatentRewardCost) and cost.model is self
        with torch_threads(self.threads), torch.inference_mode():
            Ut = torch.tensor(U, dtype=torch.float32)
            head = self._heads(N, rng, mean_heads)
            traj = [x] if keep else None
            total = torch.zeros(N, dtype=torch.float64)
            rewards = []
            for t in range(H):
                xn, r = self.horizon_step(x, Ut[:, t], head)
                if learned:
                    rewards.append(r)
                elif cost is not None:
                    total += torch.as_tensor(cost.running(x.double().numpy(), U[:, t], xn.double().numpy()))
                x = xn
                if keep:
                    traj.append(x)
            if learned:  # summed in float64 once, not per step
                total -= torch.stack(rewards, 1).double().sum(1)
            if cost is not None and not learned:
                total += torch.as_tensor(cost.terminal(x.double().numpy()))
        states = torch.stack(traj, 1).double().numpy() if keep else None
        return states, (total.numpy() if cost is not None else None)

    # ------------------------------------------------------------------ files
    def config_dict(self) -> dict:
        """JSON-serialisable constructor arguments."""
        return {"config": asdict(self.config), "action_low": self.action_low.tolist(),
                "action_high": self.action_high.tolist(), "dt": self.dt, "seed": self.seed, "threads": self.threads}

    def save(self, path) -> Path:
        """``path`` (.pt: the state dict via ``torch.save``) and ``path.json`` (the config), atomically."""
        path = Path(path).with_suffix(".pt")
        atomic_write(path, lambda f: torch.save(self.net.state_dict(), f))
        text = json.dumps(self.config_dict(), indent=1)
        atomic_write(path.with_suffix(".json"), lambda f: f.write(text), text=True)
        return path

    @classmethod
    def load(cls, path) -> "LatentDynamics":
        """Load a model written by :meth:`save` (``torch.load(weights_only=True)``: no code runs)."""
        path = Path(path).with_suffix(".pt")
        d = json.loads(path.with_suffix(".json").read_text())
        model = cls(LatentConfig(**d["config"]), d["action_low"], d["action_high"], d["dt"], seed=d["seed"],
                    threads=d["threads"])
        model.net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model

    def __repr__(self) -> str:
        c = self.config
        return (f"LatentDynamics({c.kind}, {c.channels}x{c.image_size}x{c.image_size}, nx={self.state_dim}, "
                f"nu={self.action_dim}, members={c.members})")


class LatentRewardCost(Cost):
    """Cost = minus the learned reward ``r_hat(s_t, a_t)`` of a :class:`LatentDynamics` (no terminal cost).

    Planning with it through ``model.rollout_cost`` computes the reward in the same batched call as
    the transition (:meth:`LatentDynamics.horizon_step`).
    """

    def __init__(self, model: LatentDynamics):
        if not isinstance(model, LatentDynamics):
            raise TypeError(f"model: expected a LatentDynamics, got {type(model).__name__}")
        self.model = model
        self.state_dim = model.state_dim
        self.action_dim = model.action_dim

    def running(self, x, u, x_next=None):
        """``-r_hat(x, u)``: ``x`` (..., nx), ``u`` (..., nu) -> (...)."""
        x = self.model.check_state(x, "x")
        u = as_float_array("u", u)
        batch = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        xb = np.broadcast_to(x, batch + (self.state_dim,)).reshape(-1, self.state_dim)
        ub = np.broadcast_to(u, batch + (self.action_dim,)).reshape(-1, self.action_dim)
        with torch_threads(self.model.threads), torch.inference_mode():
            r = self.model.net.reward(torch.tensor(xb, dtype=torch.float32), torch.tensor(ub, dtype=torch.float32))
        return -r.double().numpy().reshape(batch)
