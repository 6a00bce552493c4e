"""General Dyna with a learned ensemble: model-based policy optimisation (MBPO, Janner et al. 2019).

Dyna (Sutton 1990) trains a model-free learner on real experience *and* on experience simulated
by a learned model. MBPO keeps the simulated experience short and close to the data: every
``rollout_freq`` real steps it branches ``rollout_batch_size`` rollouts of ``k`` steps from states
of the real replay buffer, with ``k`` growing over training (the schedule), and trains SAC
(Haarnoja et al. 2018) on minibatches that mix a fraction ``real_ratio`` of real transitions with
model transitions. The model is planlab's bootstrap ensemble of Gaussian networks
(:class:`~planlab.dynamics.learned.LearnedDynamics`), refitted every ``model_train_freq`` real
steps with its elites chosen on held-out data; each simulated transition uses a random elite
member and samples its Gaussian (as MBPO does). The cost (reward = -cost) and terminal states come
from planlab's model of the env (:func:`planlab.envs.models.model_for`), as in planlab's PETS loop.

:class:`MBPO` *is* planlab's :class:`~planlab.policies.offpolicy.SAC` (same networks, update, entropy
tuning, save/load) with a model, branched rollouts and a mixed replay.

>>> from planlab.mbrl.mbpo import MBPO
>>> algo = MBPO("Pendulum-v1", seed=0, target_return=-200)  # doctest: +SKIP
>>> algo.learn(1_500).solved_at  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import torch

from ..core.validation import check_positive, check_positive_int, check_probability
from ..dynamics.learned import ModelConfig, TrainConfig, TransitionBuffer, fit, for_model
from ..envs.models import model_for
from ..policies.buffers import ReplayBuffer
from ..policies.offpolicy import SAC, SACConfig
from .resume import replay_state, restore_replay, restore_transitions, transitions_state
from .pathwise import ModelWeights, has_terminal_states, observations_from_states, states_from_observations, unwrap_next

__all__ = ["MBPOConfig", "MBPO", "MixedReplay", "branched_rollouts", "rollout_length"]


def rollout_length(step: int, schedule: tuple) -> int:
    """The scheduled rollout length ``k`` after ``step`` real env steps.

    ``schedule = (k_min, k_max, step_min, step_max)``: ``k_min`` until ``step_min``, then linear to
    ``k_max`` at ``step_max`` and constant after (MBPO's epoch schedule, in env steps).
    """
    k0, k1, s0, s1 = schedule
    if step <= s0:
        return int(k0)
    if step >= s1:
        return int(k1)
    return int(round(k0 + (k1 - k0) * (step - s0) / (s1 - s0)))


def branched_rollouts(step: Callable, policy: Callable, cost, starts: np.ndarray, k: int, *,
                      terminated: Callable | None = None, uncertainty: Callable | None = None,
                      max_uncertainty: float | None = None) -> dict:
    """``k``-step model rollouts branched from ``starts``; a rollout stops at its first terminal state
    and, with ``uncertainty``, before its first transition the model is not trusted with.

    Parameters
    ----------
    step : callable ``(x (n, nx), u (n, nu)) -> (n, nx)``
        The model (e.g. ``lambda x, u: model.step(x, u, rng)``).
    policy : callable ``(x (n, nx)) -> (n, nu)``
    cost : Cost
        ``reward = -cost.running(x, u, x')``.
    starts : ndarray (n, nx)
    k : int
    terminated : callable ``(n, nx) -> (n,) bool``, optional
    uncertainty : callable ``(x (n, nx), u (n, nu)) -> (n,)``, optional
        The model's uncertainty about each transition (e.g. :meth:`MBPO.disagreement`).
    max_uncertainty : float > 0, optional
        A transition whose uncertainty exceeds this is dropped and its rollout ends there: rollouts
        stop where they leave the data, the halting of MOReL (Kidambi et al. 2020) and the
        masking of M2AC (Pan et al. 2020) instead of MOPO's reward penalty (Yu et al. 2020).
        Required with ``uncertainty``.

    Returns
    -------
    dict of ndarrays with ``m <= n k`` rows
        ``states (m, nx)``, ``actions (m, nu)``, ``rewards (m,)``, ``next_states (m, nx)``,
        ``terminated (m,)`` and ``depth (m,)`` (0 for the transitions leaving the start states),
        and the count ``untrusted`` of transitions dropped for their uncertainty.
    """
    k = check_positive_int("k", k)
    if (uncertainty is None) != (max_uncertainty is None):
        raise ValueError("max_uncertainty: expected a threshold exactly when uncertainty is given, "
                         f"got max_uncertainty={max_uncertainty!r} with uncertainty={uncertainty!r}")
    if max_uncertainty is not None and not (np.isfinite(max_uncertainty) and max_uncertainty > 0):
        raise ValueError(f"max_uncertainty: expected a finite float > 0, got {max_uncertainty!r}")
    x = np.asarray(starts, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"starts: expected a non-empty (n, nx) array, got shape {x.shape}")
    out = {key: [] for key in ("states", "actions", "rewards", "next_states", "terminated", "depth")}
    untrusted = 0
    for depth in range(k):
        u = np.asarray(policy(x), dtype=np.float64)
        xn = np.asarray(step(x, u), dtype=np.float64)
        r = -np.asarray(cost.running(x, u, xn), dtype=np.float64)
        done = np.asarray(terminated(xn), dtype=bool) if terminated is not None else np.zeros(len(x), bool)
        ok = np.isfinite(xn).all(1) & np.isfinite(r)  # a diverging model must not feed NaN to the learner
        if uncertainty is not None:
            trusted = np.asarray(uncertainty(x, u), dtype=np.float64) <= max_uncertainty  # NaN: not trusted
            untrusted += int((ok & ~trusted).sum())
            ok &= trusted
        for key, v in (("states", x), ("actions", u), ("rewards", r), ("next_states", xn), ("terminated", done),
                       ("depth", np.full(len(x), depth))):
            out[key].append(v[ok])
        keep = ok & ~done
        x = xn[keep]
        if x.shape[0] == 0:
            break
    return {**{key: np.concatenate(v) for key, v in out.items()}, "untrusted": untrusted}


class MixedReplay:
    """The real replay buffer plus a ring buffer of model transitions; minibatches mix both.

    ``sample(B)`` takes ``round(real_ratio * B)`` real and ``B - round(real_ratio * B)`` model
    transitions (all real while the model buffer is empty). ``add`` stores a real transition, so
    SAC's update uses this in place of its replay buffer.

    Parameters
    ----------
    real : ReplayBuffer
    model_capacity, obs_dim, action_dim : int
    real_ratio : float in [0, 1]
    generator : torch.Generator, optional
    """

    def __init__(self, real: ReplayBuffer, model_capacity: int, obs_dim: int, action_dim: int, real_ratio: float,
                 generator: torch.Generator | None = None):
        self.real = real
        self.model = ReplayBuffer(model_capacity, obs_dim, action_dim, generator=generator)
        self.real_ratio = check_probability("real_ratio", real_ratio)

    def add(self, obs, action, reward, next_obs, terminated) -> None:
        """Store one real transition."""
        self.real.add(obs, action, reward, next_obs, terminated)

    def add_model(self, obs, actions, rewards, next_obs, terminated) -> None:
        """Store a batch of model transitions: (m, n_obs), (m, nu), (m,), (m, n_obs), (m,)."""
        m, buf = len(rewards), self.model
        if m == 0:
            return
        if m > buf.capacity:  # keep the newest
            obs, actions, rewards, next_obs, terminated = (v[-buf.capacity:] for v in
                                                            (obs, actions, rewards, next_obs, terminated))
            m = buf.capacity
        idx = (buf.pos + torch.arange(m)) % buf.capacity
        buf.obs[idx] = torch.as_tensor(obs, dtype=torch.float32)
        buf.actions[idx] = torch.as_tensor(actions, dtype=torch.float32)
        buf.rewards[idx] = torch.as_tensor(rewards, dtype=torch.float32)
        buf.next_obs[idx] = torch.as_tensor(next_obs, dtype=torch.float32)
        buf.terminated[idx] = torch.as_tensor(np.asarray(terminated, dtype=np.float32))
        buf.pos = int((buf.pos + m) % buf.capacity)
        buf.size = min(buf.size + m, buf.capacity)

    def split(self, batch_size: int) -> tuple[int, int]:
        """``(n_real, n_model)`` of a minibatch of ``batch_size``."""
        if len(self.model) == 0:
            return batch_size, 0
        n_real = int(round(self.real_ratio * batch_size))
        return n_real, batch_size - n_real

    def sample(self, batch_size: int):
        """``obs, actions, rewards, next_obs, terminated`` with the real part first."""
        n_real, n_model = self.split(batch_size)
        parts = []
        if n_real:
            parts.append(self.real.sample(n_real))
        if n_model:
            parts.append(self.model.sample(n_model))
        if len(parts) == 1:
            return parts[0]
        return tuple(torch.cat(v) for v in zip(*parts))

    def __len__(self) -> int:
        return len(self.real)


@dataclasses.dataclass(frozen=True)
class MBPOConfig(SACConfig):
    """MBPO options: SAC's plus the model and the rollouts (flat, so ``config.json`` round-trips).

    Parameters
    ----------
    learning_starts : int
        Uniformly random real steps before the first model fit, rollouts and updates.
    gradient_steps : int
        SAC updates per real step (MBPO's G).
    real_ratio : float in [0, 1]
        Fraction of real transitions in each minibatch.
    model_train_freq : int
        Refit the ensemble every F real steps.
    rollout_freq : int
        Branch new model rollouts every this many real steps ...
    rollout_batch_size : int
        ... from this many buffer states.
    rollout_schedule : (k_min, k_max, step_min, step_max)
        Rollout length over training (:func:`rollout_length`).
    model_buffer_size : int
        Model transitions kept (the oldest are overwritten).
    model_members, model_elites, model_hidden
        The ensemble.
    model_epochs : int
        Upper bound on the epochs of one model fit. Each fit runs until the held-out loss stops
        improving (:class:`~planlab.dynamics.learned.TrainConfig`'s patience), as MBPO trains its
        model; the bound only guards against a fit that never settles. A bound that stops the fit
        first (e.g. the 50 epochs of earlier versions: 200 Adam steps on the first 250 transitions)
        leaves the first models under-fitted (held-out MSE about 10x that of the early-stopped fit
        on Pendulum-v1) and makes the run depend on the networks' initial scale.
    rollout_uncertainty : float > 0, optional
        Stop each model rollout before its first transition whose ensemble disagreement
        (:meth:`MBPO.disagreement`) exceeds this multiple of the ``uncertainty_quantile`` of the
        disagreement on the real transitions the model was fitted to (recomputed at each rollout
        batch): rollouts stop where they leave the data (:func:`branched_rollouts`). On a task
        whose states can run off without bound (a cart driven away), the model extrapolates there
        and its rewards are wrong. Default None (rollouts run their scheduled length).
    uncertainty_quantile : float in (0, 1]
        The quantile of the real transitions' disagreement that ``rollout_uncertainty`` multiplies.
    """

    lr: float = 1e-3
    learning_starts: int = 250
    gradient_steps: int = 10
    real_ratio: float = 0.05
    model_train_freq: int = 250
    rollout_freq: int = 50
    rollout_batch_size: int = 5000
    rollout_schedule: tuple = (1, 5, 250, 1000)
    model_buffer_size: int = 100_000
    model_members: int = 5
    model_elites: int | None = 3
    model_hidden: tuple = (64, 64, 64)
    model_epochs: int = 1000
    rollout_uncertainty: float | None = None
    uncertainty_quantile: float = 0.95

    def __post_init__(self):
        super().__post_init__()
        if self.rollout_uncertainty is not None:
            check_positive("rollout_uncertainty", self.rollout_uncertainty)
        check_probability("uncertainty_quantile", self.uncertainty_quantile)
        check_positive("uncertainty_quantile", self.uncertainty_quantile)
        check_probability("real_ratio", self.real_ratio)
        check_positive_int("model_train_freq", self.model_train_freq)
        check_positive_int("rollout_freq", self.rollout_freq)
        check_positive_int("rollout_batch_size", self.rollout_batch_size)
        check_positive_int("model_buffer_size", self.model_buffer_size)
        check_positive_int("model_epochs", self.model_epochs)
        s = tuple(self.rollout_schedule)
        if (len(s) != 4 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in s)
                or s[0] < 1 or s[1] < 1 or s[2] < 0 or s[3] < s[2]):
            raise ValueError("rollout_schedule: expected (k_min >= 1, k_max >= 1, step_min >= 0, step_max >= step_min) "
                             f"as ints, got {self.rollout_schedule!r}")
        object.__setattr__(self, "rollout_schedule", tuple(int(v) for v in s))
        ModelConfig(members=self.model_members, hidden=self.model_hidden, elites=self.model_elites)
        object.__setattr__(self, "model_hidden", tuple(int(h) for h in self.model_hidden))


class MBPO(SAC):
    """MBPO: SAC on a mix of real and short branched model rollouts (see the module docstring)."""

    name = "mbpo"
    config_class = MBPOConfig
    default_eval_every = 250

    def _build(self) -> None:
        super()._build()
        c = self.config
        try:
            self.dynamics, self.cost = model_for(self.env_id if self.env_id is not None else self.env_fn())
        except (ValueError, TypeError) as exc:
            raise ValueError(f"env: MBPO needs an env planlab has a model of; {exc}") from None
        d = self.dynamics
        if d.action_dim != self.nu:
            raise ValueError(f"env: expected {d.action_dim} action components (the model's), got {self.nu}")
        self.angles = tuple(d.angle_indices)
        mc = ModelConfig(members=c.model_members, hidden=c.model_hidden, elites=c.model_elites, particles=1,
                         propagation="ts1")
        self.learned = for_model(d, mc, seed=self.seed, threads=None)
        self.data = TransitionBuffer(d.state_dim, d.action_dim)
        self.buffer = MixedReplay(self.buffer, c.model_buffer_size, self.obs_dim, self.nu, c.real_ratio,
                                  generator=self.buffer.generator)
        self.fits = 0
        self.model_info: dict = {}
        self._env_actions: list = []

    def _state(self):
        return {**super()._state(), "model": ModelWeights(self.learned)}

    def _resume_state(self) -> tuple[dict, dict]:
        """Buffers and counters for :func:`planlab.mbrl.resume.save_checkpoint`."""
        tensors = {"real": replay_state(self.buffer.real), "model": replay_state(self.buffer.model),
                   "data": transitions_state(self.data), "buffer_gen": self.buffer.real.generator.get_state()}
        return tensors, {"fits": self.fits, "model_info": self.model_info, "updates": self._updates}

    def _restore_resume_state(self, tensors: dict, values: dict) -> None:
        restore_replay(self.buffer.real, tensors["real"])
        restore_replay(self.buffer.model, tensors["model"])
        restore_transitions(self.data, tensors["data"])
        self.buffer.real.generator.set_state(tensors["buffer_gen"])
        self.fits, self.model_info, self._updates = values["fits"], dict(values["model_info"]), values["updates"]

    def _iterate(self, max_steps: int):
        c = self.config
        d = self.dynamics
        if self.env is None:
            self.env = self.env_fn()
            self._obs, _ = self.env.reset(seed=self.seed)
            self._ep_ret = 0.0
        low, high = self.action_space.low, self.action_space.high
        obs = self._obs
        for i in range(max_steps):
            t = self.num_timesteps + i
            if t < c.learning_starts:
                a = self.rng.uniform(low, high).astype(np.float32)
            else:
                with torch.no_grad():
                    a = self.actor.sample(torch.as_tensor(np.asarray(obs, dtype=np.float32)))[0].numpy()
            nobs, r, term, trunc, _ = self.env.step(a)
            self._env_actions.append(a)
            self.buffer.add(obs, a, r, nobs, term)
            x = states_from_observations(d, obs)
            self.data.add(x, a, float(r), unwrap_next(x, states_from_observations(d, nobs), self.angles), bool(term))
            self._ep_ret += float(r)
            if term or trunc:
                self._episode_returns.append(float(self._ep_ret))
                self._ep_ret = 0.0
                nobs, _ = self.env.reset()
            obs = nobs
            done = t + 1
            if done >= c.learning_starts:
                since = done - c.learning_starts
                if since % c.model_train_freq == 0:
                    self.fit_model()
                if since % c.rollout_freq == 0:
                    self.generate_rollouts(done)
                if done % c.train_freq == 0:
                    for _ in range(c.gradient_steps):
                        self._last_info = self._update()
        self._obs = obs
        return max_steps, {**self._last_info, **self.model_info}

    def fit_model(self):
        """Refit the ensemble on every real transition until its held-out loss stops improving
        (at most ``model_epochs`` epochs; elites on held-out data)."""
        res = fit(self.learned, self.data, TrainConfig(epochs=self.config.model_epochs, progress=False, threads=None),
                  seed=int(self.rng.integers(2**31)))
        self.fits += 1
        self.model_info = {"model_val_mse": float(np.min(res.best_val)) if res.best_val is not None else float("nan"),
                           "model_fit_epochs": int(res.epochs)}
        return res

    def disagreement(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The elites' disagreement about ``(x (n, nx), u (n, nu))``: the largest, over state
        components, standard deviation of the members' mean next states divided by that
        component's standard deviation of one real step's change ``x' - x`` -> (n,).

        Members fitted on different bootstraps agree where they have data and part where they
        extrapolate (the epistemic part of :meth:`~planlab.dynamics.learned.LearnedDynamics.predict`).
        """
        pred = self.learned.predict(np.asarray(x, dtype=np.float64), np.asarray(u, dtype=np.float64))
        n = len(self.data)
        scale = np.std(self.data.next_states[:n] - self.data.states[:n], axis=0) if n > 1 else np.ones(pred.mean.shape[-1])
        return (np.sqrt(pred.epistemic_var) / np.maximum(scale, 1e-8)).max(-1)

    def generate_rollouts(self, step: int) -> dict:
        """Branch ``rollout_batch_size`` rollouts of the scheduled length from real buffer states."""
        c = self.config
        d = self.dynamics
        k = rollout_length(step, c.rollout_schedule)
        idx = self.rng.integers(0, len(self.data), size=c.rollout_batch_size)
        starts = self.data.states[idx]

        def policy(x):
            with torch.no_grad():
                o = torch.as_tensor(observations_from_states(d, x))
                return self.actor.sample(o)[0].double().numpy()

        term = d.terminated if has_terminal_states(d) else None
        gate = {}
        if c.rollout_uncertainty is not None:
            n = min(len(self.data), 2000)
            j = self.rng.choice(len(self.data), size=n, replace=False)
            real = self.disagreement(self.data.states[j], self.data.actions[j])
            limit = c.rollout_uncertainty * float(np.quantile(real, c.uncertainty_quantile))
            gate = dict(uncertainty=self.disagreement, max_uncertainty=max(limit, 1e-12))
            self.model_info["uncertainty_limit"] = limit
        out = branched_rollouts(lambda x, u: self.learned.step(x, u, self.rng), policy, self.cost, starts, k,
                                terminated=term, **gate)
        self.model_info["model_transitions"] = float(len(out["rewards"]))
        self.model_info["untrusted_transitions"] = float(out["untrusted"])
        self.buffer.add_model(observations_from_states(d, out["states"]), out["actions"], out["rewards"],
                              observations_from_states(d, out["next_states"]), out["terminated"])
        self.model_info["rollout_length"] = float(k)
        return out

