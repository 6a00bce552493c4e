"""Learned dynamics: MLPs, Gaussian MLPs and bootstrap ensembles of them, batched over members.

Section 5.3 of the reference notes: a network ``f_theta(s, a)`` fitted to transitions (Algorithms
23-25), made uncertainty-aware (5.3.3) by predicting a Gaussian ``N(mu, sigma^2)`` (aleatoric
uncertainty) and by a bootstrap ensemble of E networks ``p(theta | D) ~ 1/E sum_i delta(theta_i)``
(eq. 5.3.3; epistemic uncertainty).

One class, :class:`LearnedDynamics`, covers the three models of the issue:

* a deterministic MLP: ``members=1, probabilistic=False``;
* a Gaussian MLP: ``members=1, probabilistic=True``;
* a bootstrap ensemble: ``members=E`` (probabilistic or not).

All E members live in one module whose layer weights are shaped ``(E, in, out)``: one
``torch.baddbmm`` per layer evaluates every member on its own batch of inputs ``(E, B, in)``, so
there is never a Python loop over members (nor over particles or samples; the only loop in a
rollout is over the horizon).

Network inputs are the state (angles listed in ``angle_indices`` replaced by their cos and sin)
and the action, normalised with the training data's mean and standard deviation; the outputs are
the normalised state change ``Delta s = s' - s`` (and the reward, when ``learn_reward``). Gaussian
heads predict a log-variance soft-bounded between learned limits,
``logvar = max - softplus(max - raw); logvar = min + softplus(logvar - min)`` (PETS).

Uncertainty propagation through a rollout of P particles per action sequence (PETS):

``"ts1"``
    At every step each particle is assigned a member by a fresh random permutation of all
    particles split into E equal groups (so each member sees B/E particles per step).
``"tsinf"``
    One random permutation at the start of a rollout fixes every particle's member for the whole
    horizon (particle ``perm[k * M + j]`` uses member ``k``, M = B/E).
``"expectation"``
    Every state goes through all members and moves to the mean of their predicted means (no
    sampling; a single particle per sequence suffices).

With ``probabilistic=True`` the TS modes also sample the member's Gaussian (aleatoric noise).
The torch computations are float32; the :class:`~planlab.core.Dynamics` boundary is float64 numpy.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from ...core.contracts import Cost, Dynamics, Rollout
from ...core.files import atomic_write
from ...core.seeding import SeedLike, make_rng
from ...core.validation import as_float_array, check_in, check_positive_int

__all__ = ["LearnedDynamics", "ModelConfig", "Prediction", "PROPAGATIONS", "torch_threads"]

PROPAGATIONS = ("ts1", "tsinf", "expectation")
_ACTIVATIONS = ("silu", "relu", "tanh")


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Use ``n`` torch intra-op threads from here on (None: leave torch's setting alone).

    torch has one process-wide setting, and switching it back and forth around every call was
    measured to be ruinous here: after a switch, OpenMP/MKL worker threads of the other pool size
    keep spinning and a 17 ms rollout took 200-1400 ms of CPU inside a CEM loop. So the setting is
    applied once and *not* restored -- ideally before the process's first torch operation
    (``LearnedDynamics`` applies its ``threads`` in its constructor): even a single switch from
    two threads to one after torch had run left a spinning worker (an MPC episode used 10x the
    CPU time). On this 2-core, shared machine two threads also made
    small-batch training ~10x slower than one, so planlab's learned models default to one thread;
    measure before choosing two (``python -m planlab.benchmarks.mbrl --threads 1 2``).
    """
    if n is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    yield


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and propagation of a learned model (a small frozen config; see module docstring).

    Parameters
    ----------
    members : int
        Ensemble size E (1 = a single network).
    hidden : tuple of int
        Hidden layer widths.
    probabilistic : bool
        Gaussian heads (mean and soft-bounded log-variance, NLL loss) or deterministic (MSE).
    activation : {"silu", "relu", "tanh"}
    propagation : {"ts1", "tsinf", "expectation"}
    particles : int
        Particles P per action sequence in :meth:`LearnedDynamics.rollout_cost` (forced to 1 for
        ``"expectation"`` and for a deterministic single network, where particles coincide).
    elites : int or None
        Members used for prediction after training (the best on held-out data); None = all.
    learn_reward : bool
        Also predict the reward (then :meth:`LearnedDynamics.rollout_cost` can plan without a cost).
    init_min_logvar, init_max_logvar : float
        Initial soft bounds of the log-variance (normalised units); both are learned.
    """

    members: int = 5
    hidden: tuple = (200, 200, 200, 200)
    probabilistic: bool = True
    activation: str = "silu"
    propagation: str = "tsinf"
    particles: int = 20
    elites: int | None = None
    learn_reward: bool = False
    init_min_logvar: float = -10.0
    init_max_logvar: float = 0.5

    def __post_init__(self):
        check_positive_int("members", self.members)
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for h in self.hidden:
            check_positive_int("hidden", h)
        check_in("activation", self.activation, set(_ACTIVATIONS))
        check_in("propagation", self.propagation, set(PROPAGATIONS))
        check_positive_int("particles", self.particles)
        if self.elites is not None:
            check_positive_int("elites", self.elites)
            if self.elites > self.members:
                raise ValueError(f"elites: expected at most members ({self.members}), got {self.elites}")
        if not self.init_min_logvar < self.init_max_logvar:
            raise ValueError(f"init_min_logvar: expected < init_max_logvar ({self.init_max_logvar}), "
                             f"got {self.init_min_logvar}")


class Prediction(NamedTuple):
    """One-step predictive distribution of an ensemble (float64 numpy).

    Attributes
    ----------
    mean : (..., nx)
        Mean next state, averaged over members.
    epistemic_var : (..., nx)
        Variance of the members' means (model uncertainty).
    aleatoric_var : (..., nx)
        Mean of the members' predicted variances (noise; zero for deterministic members).
    member_means : (E, ..., nx)
        Each member's mean next state.
    reward : (...) or None
        Mean predicted reward when the model learns rewards.
    """

    mean: np.ndarray
    epistemic_var: np.ndarray
    aleatoric_var: np.ndarray
    member_means: np.ndarray
    reward: np.ndarray | None

    @property
    def variance(self) -> np.ndarray:
        """Total predictive variance = epistemic + aleatoric (law of total variance)."""
        return self.epistemic_var + self.aleatoric_var


class EnsembleNet(torch.nn.Module):
    """E MLPs with weights ``(E, in, out)``, evaluated with one ``baddbmm`` per layer.

    ``forward(z)`` takes normalised inputs ``(E, B, n_in)`` and returns the normalised mean
    ``(E, B, n_out)`` and log-variance (or None).
    """

    def __init__(self, members: int, n_in: int, n_out: int, hidden, probabilistic: bool, activation: str,
                 init_min_logvar: float, init_max_logvar: float, generator: torch.Generator | None = None):
        super().__init__()
        self.members, self.n_in, self.n_out = members, n_in, n_out
        self.probabilistic = probabilistic
        sizes = [n_in, *hidden, n_out * (2 if probabilistic else 1)]
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            # truncated-normal init with std 1/(2 sqrt(fan_in)) as in PETS, independent per member
            w = torch.empty(members, a, b)
            torch.nn.init.trunc_normal_(w, std=1.0 / (2.0 * math.sqrt(a)), a=-2.0 / (2.0 * math.sqrt(a)) * 2,
                                        b=2.0 / (2.0 * math.sqrt(a)) * 2, generator=generator)
            self.weights.append(torch.nn.Parameter(w))
            self.biases.append(torch.nn.Parameter(torch.zeros(members, 1, b)))
        self.activation = activation
        if probabilistic:
            self.max_logvar = torch.nn.Parameter(torch.full((n_out,), float(init_max_logvar)))
            self.min_logvar = torch.nn.Parameter(torch.full((n_out,), float(init_min_logvar)))
        self.register_buffer("in_mean", torch.zeros(n_in))
        self.register_buffer("in_std", torch.ones(n_in))
        self.register_buffer("out_mean", torch.zeros(n_out))
        self.register_buffer("out_std", torch.ones(n_out))

    def _act(self, h: torch.Tensor) -> torch.Tensor:
        inplace = not torch.is_grad_enabled()
        if self.activation == "silu":
            return F.silu(h, inplace=inplace)
        if self.activation == "relu":
            return h.relu_() if inplace else torch.relu(h)
        return h.tanh_() if inplace else torch.tanh(h)

    #: rows per member per chunk when evaluating without gradients: keeps a chunk's activations
    #: (E x rows x width floats) inside the L2 cache; measured ~17% less CPU time than one pass
    #: over 1400 rows per member (5 x 4 x 200 network, 1 thread)
    chunk_rows = 256

    def forward(self, z: torch.Tensor, weights=None, biases=None):
        """Normalised ``z`` (E', B, n_in) -> (mean (E', B, n_out), logvar or None)."""
        weights = self.weights if weights is None else weights
        biases = self.biases if biases is None else biases
        if torch.is_grad_enabled() or z.shape[1] <= 2 * self.chunk_rows:
            h = self._mlp(z, weights, biases)
        else:
            h = torch.cat([self._mlp(c, weights, biases) for c in z.split(self.chunk_rows, dim=1)], dim=1)
        if not self.probabilistic:
            return h, None
        mean, raw = h[..., : self.n_out], h[..., self.n_out:]
        logvar = self.max_logvar - F.softplus(self.max_logvar - raw)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar

    def _mlp(self, z, weights, biases):
        h = z
        last = len(weights) - 1
        for i, (w, b) in enumerate(zip(weights, biases)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = self._act(h)
        return h


class LearnedDynamics(Dynamics):
    """A learned dynamics model (MLP, Gaussian MLP or bootstrap ensemble) behind the Dynamics contract.

    Parameters
    ----------
    state_dim, action_dim : int
    action_low, action_high : float or array_like (nu,)
    dt : float
    config : ModelConfig, optional
    angle_indices : sequence of int
        Angle components of the state; the network sees their cos and sin.
    seed : int or None
        Seeds the weight initialisation.
    threads : int or None
        torch intra-op threads, set process-wide when the model is built (default 1; None leaves
        torch's setting alone). See :func:`torch_threads`.

    Notes
    -----
    Train with :func:`planlab.dynamics.learned.fit`. Until trained, the model predicts
    ``s' = s`` plus the network's random output.

    Examples
    --------
    >>> m = LearnedDynamics(2, 1, -2.0, 2.0, 0.05, config=ModelConfig(members=3, hidden=(32, 32)), seed=0)
    >>> m.step(np.zeros((4, 2)), np.zeros((4, 1)), np.random.default_rng(0)).shape
    (4, 2)
    """

    has_torch = True

    def __init__(self, state_dim: int, action_dim: int, action_low, action_high, dt: float, *,
                 config: ModelConfig | None = None, angle_indices=(), seed: int | None = None,
                 threads: int | None = 1, state_names=None, action_names=None):
        config = config or ModelConfig()
        if not isinstance(config, ModelConfig):
            raise TypeError(f"config: expected a ModelConfig, got {type(config).__name__}")
        if threads is not None:
            check_positive_int("threads", threads)
            with torch_threads(threads):  # before this model's first torch op (see torch_threads)
                pass
        stochastic = config.probabilistic or config.members > 1
        super().__init__(state_dim, action_dim, action_low, action_high, dt, stochastic=stochastic,
                         angle_indices=angle_indices, state_names=state_names, action_names=action_names)
        self.config = config
        self.seed = seed
        self.threads = threads
        ang = set(self.angle_indices)
        self._plain_idx = [i for i in range(state_dim) if i not in ang]
        self._angle_idx = sorted(ang)
        self.n_in = len(self._plain_idx) + 2 * len(self._angle_idx) + action_dim
        self.n_out = state_dim + (1 if config.learn_reward else 0)
        gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        self.net = EnsembleNet(config.members, self.n_in, self.n_out, config.hidden, config.probabilistic,
                               config.activation, config.init_min_logvar, config.init_max_logvar, gen)
        self.net.register_buffer("elite_idx", torch.arange(config.members))
        self.net.register_buffer("trained", torch.zeros((), dtype=torch.bool))
        self._prop_cache = None
        self._plain_t = torch.tensor(self._plain_idx, dtype=torch.long)
        self._angle_t = torch.tensor(self._angle_idx, dtype=torch.long)

    #: optional Dynamics whose observation maps this model uses (set by ``for_model``; not saved)
    observation_model = None

    def state_from_observation(self, obs) -> np.ndarray:
        """The state of an env observation: the ``observation_model``'s map, else the identity."""
        if self.observation_model is not None:
            return self.observation_model.state_from_observation(obs)
        return super().state_from_observation(obs)

    # ------------------------------------------------------------------ bookkeeping
    @property
    def members(self) -> int:
        return self.config.members

    @property
    def elites(self) -> np.ndarray:
        """Indices of the members used for prediction."""
        return self.net.elite_idx.numpy().copy()

    def set_elites(self, idx) -> None:
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= self.members or len(set(idx.tolist())) != idx.size:
            raise ValueError(f"elites: expected distinct member indices in [0, {self.members}), got {idx.tolist()}")
        self.net.elite_idx = torch.as_tensor(np.sort(idx))
        self.invalidate()

    def invalidate(self) -> None:
        """Forget cached propagation weights (call after changing the network's parameters)."""
        self._prop_cache = None

    def _prop_params(self):
        """Weights/biases of the elite members (views when all members are elite; sliced once otherwise)."""
        if self._prop_cache is None:
            e = self.net.elite_idx
            if e.numel() == self.members:
                ws, bs = list(self.net.weights), list(self.net.biases)
            else:
                with torch.no_grad():
                    ws = [w.detach()[e].contiguous() for w in self.net.weights]
                    bs = [b.detach()[e].contiguous() for b in self.net.biases]
            self._prop_cache = (ws, bs)
        return self._prop_cache

    # ------------------------------------------------------------------ features and normalisation
    def features(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Raw network inputs (..., n_in): plain state components, cos/sin of angles, action."""
        parts = []
        if self._plain_idx:
            parts.append(x[..., self._plain_t] if self._angle_idx else x)
        if self._angle_idx:
            ang = x[..., self._angle_t]
            parts += [torch.cos(ang), torch.sin(ang)]
        parts.append(u)
        return torch.cat(parts, dim=-1)

    def targets(self, x: torch.Tensor, u: torch.Tensor, xn: torch.Tensor, r: torch.Tensor | None) -> torch.Tensor:
        """Raw network targets (..., n_out): ``s' - s`` (and the reward)."""
        d = xn - x
        if self.config.learn_reward:
            d = torch.cat([d, r[..., None]], dim=-1)
        return d

    def set_normalization(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Fit the input/output normalisers to raw ``inputs`` (n, n_in) and ``targets`` (n, n_out)."""
        with torch.no_grad():
            for name, data in (("in", inputs), ("out", targets)):
                mean = data.mean(0)
                std = data.std(0, unbiased=False) if data.shape[0] > 1 else torch.ones_like(mean)
                std = torch.where(std < 1e-6, torch.ones_like(std), std)
                getattr(self.net, f"{name}_mean").copy_(mean)
                getattr(self.net, f"{name}_std").copy_(std)
        self.invalidate()

    # ------------------------------------------------------------------ prediction (torch)
    def _forward_raw(self, z: torch.Tensor, weights=None, biases=None):
        """Raw features (E', B, n_in) -> raw-unit mean (E', B, n_out) and variance (or None)."""
        net = self.net
        zn = (z - net.in_mean) / net.in_std
        mean, logvar = net(zn, weights, biases)
        mean = torch.addcmul(net.out_mean, mean, net.out_std)
        var = None if logvar is None else torch.exp(logvar) * net.out_std.square()
        return mean, var

    def predict_torch(self, x: torch.Tensor, u: torch.Tensor, *, members: str = "elites"):
        """Every member's prediction for the same inputs.

        Parameters
        ----------
        x : tensor (B, nx), u : tensor (B, nu), float32
        members : {"elites", "all"}

        Returns
        -------
        mean : tensor (E', B, n_out)
            Predicted next state (and reward) of each member (raw units; ``s + Delta s``).
        var : tensor (E', B, n_out) or None
        """
        if members == "all":
            ws, bs = list(self.net.weights), list(self.net.biases)
            E = self.members
        else:
            ws, bs = self._prop_params()
            E = ws[0].shape[0]
        z = self.features(x, u)
        mean, var = self._forward_raw(z.unsqueeze(0).expand(E, *z.shape), ws, bs)
        nx = self.state_dim
        mean = torch.cat([mean[..., :nx] + x, mean[..., nx:]], dim=-1)
        return mean, var

    # ------------------------------------------------------------------ Dynamics boundary (numpy float64)
    def _check_xu(self, x, u):
        x = self.check_state(x, "x")
        u = as_float_array("u", u)
        if u.ndim == 0 or u.shape[-1] != self.action_dim:
            raise ValueError(f"u: expected shape (..., {self.action_dim}), got {u.shape}")
        batch = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        x = np.broadcast_to(x, batch + (self.state_dim,)).reshape(-1, self.state_dim)
        u = np.broadcast_to(u, batch + (self.action_dim,)).reshape(-1, self.action_dim)
        return x, u, batch

    def predict(self, x, u) -> Prediction:
        """Predictive distribution of ``s'`` for ``x`` (..., nx), ``u`` (..., nu); see :class:`Prediction`.

        The split follows the law of total variance over the (elite) members:
        ``Var[s'] = Var_i[mu_i] (epistemic) + E_i[sigma_i^2] (aleatoric)``.
        """
        x, u, batch = self._check_xu(x, u)
        with torch_threads(self.threads), torch.inference_mode():
            mean, var = self.predict_torch(torch.tensor(x, dtype=torch.float32),
                                           torch.tensor(u, dtype=torch.float32))
        mean = mean.double().numpy()
        nx = self.state_dim
        means = mean[..., :nx]
        ale = var[..., :nx].double().numpy().mean(0) if var is not None else np.zeros(means.shape[1:])
        epi = means.var(0) if means.shape[0] > 1 else np.zeros(means.shape[1:])
        reward = mean[..., nx].mean(0).reshape(batch) if self.config.learn_reward else None
        E = means.shape[0]
        return Prediction(means.mean(0).reshape(batch + (nx,)), epi.reshape(batch + (nx,)),
                          ale.reshape(batch + (nx,)), means.reshape((E,) + batch + (nx,)), reward)

    def step(self, x, u, rng=None):
        """Sample next states: each element uses a uniformly random elite member (TS1 for one step)
        and, for Gaussian members, its noise. ``expectation`` propagation returns the mean instead.

        ``x`` (..., nx), ``u`` (..., nu) -> (..., nx) float64.
        """
        x2, u2, batch = self._check_xu(x, u)
        gen = make_rng(rng)
        with torch_threads(self.threads), torch.inference_mode():
            mean, var = self.predict_torch(torch.tensor(x2, dtype=torch.float32),
                                           torch.tensor(u2, dtype=torch.float32))
        nx = self.state_dim
        mean = mean[..., :nx].double().numpy()
        if self.config.propagation == "expectation":
            out = mean.mean(0)
        else:
            k = gen.integers(0, mean.shape[0], size=mean.shape[1])
            rows = np.arange(mean.shape[1])
            out = mean[k, rows]
            if var is not None:
                sd = np.sqrt(var[..., :nx].double().numpy()[k, rows])
                out = out + sd * gen.standard_normal(out.shape)
        return out.reshape(batch + (nx,))

    def step_torch(self, x, u):
        """Mean next state over the elite members on torch tensors (..., nx), (..., nu) (differentiable)."""
        shape = x.shape[:-1]
        mean, _ = self.predict_torch(x.reshape(-1, self.state_dim).float(), u.reshape(-1, self.action_dim).float())
        return mean[..., : self.state_dim].mean(0).reshape(*shape, self.state_dim).to(x.dtype)

    # ------------------------------------------------------------------ batched particle rollouts
    def particles_for(self, n_sequences: int) -> int:
        """Particles per sequence actually used (1 when particles would coincide)."""
        c = self.config
        if c.propagation == "expectation" or (not c.probabilistic and self._prop_params()[0][0].shape[0] == 1):
            return 1
        return c.particles

    def member_assignment(self, n_particles: int, horizon: int, rng: SeedLike = None) -> np.ndarray:
        """Members used by each particle at each step, (horizon, n_particles) int (documentation/tests).

        Reproduces the assignment :meth:`rollout` makes for ``n_particles = N * P`` particles with
        the same ``rng`` (positions in the elite list): TS∞ repeats one random permutation; TS1
        draws a new one every step; expectation returns -1 (all members).
        """
        gen = torch.Generator().manual_seed(int(make_rng(rng).integers(0, 2**62, size=2)[0]))
        K = self._prop_params()[0][0].shape[0]
        M = -(-n_particles // K)
        out = torch.empty(horizon, n_particles, dtype=torch.long)
        prop = self.config.propagation
        if prop == "expectation":
            return out.fill_(-1)
        perm = None
        for t in range(horizon):
            if perm is None or prop == "ts1":
                perm = torch.randperm(K * M, generator=gen)
                slot_member = torch.arange(K * M) // M
                member = torch.empty(K * M, dtype=torch.long)
                member[perm] = slot_member
            out[t] = member[:n_particles]
        return out.numpy()

    def rollout_particles(self, x0, actions, cost: Cost | None = None, *, rng: SeedLike = None):
        """Like :meth:`rollout` but every particle's trajectory: states (N, P, H + 1, nx), costs (N,).

        Particle ``p`` of sequence ``n`` is particle ``b = n * P + p`` of :meth:`member_assignment`.
        """
        return self._rollout(x0, actions, cost, rng, keep_states="particles")

    def rollout(self, x0, actions, cost: Cost | None = None, *, rng: SeedLike = None):
        """Roll N sequences out with P particles each (see the module docstring for the propagation).

        Parameters
        ----------
        x0 : array_like (nx,) or (N, nx)
        actions : array_like (N, H, nu)
        cost : Cost, optional
            Known cost; with ``learn_reward`` and no cost, the learned reward is used (cost = -reward).
        rng : seed or Generator
            Drives the member assignment and the Gaussian noise.

        Returns
        -------
        Rollout
            ``states`` (N, H + 1, nx) averaged over particles, ``costs`` (N,) averaged over
            particles (NaN costs propagate; planners treat them as failures), ``terminated`` (N,)
            all False (learned models have no terminal states).
        """
        states, costs = self._rollout(x0, actions, cost, rng, keep_states=True)
        N = states.shape[0]
        return Rollout(states, costs, np.zeros(N, dtype=bool))

    def rollout_cost(self, x0, actions, cost: Cost, *, rng: SeedLike = None) -> np.ndarray:
        """Mean cost over particles of each of N sequences, (N,). N x P particles in batched torch."""
        return self._rollout(x0, actions, cost, rng, keep_states=False)[1]

    def _rollout(self, x0, actions, cost, rng, keep_states):
        U = self.check_actions(actions)
        N, H, nu = U.shape
        x0 = self._start_states(x0, N)
        if cost is not None and not isinstance(cost, Cost):
            raise TypeError(f"cost: expected a planlab Cost or None, got {type(cost).__name__}")
        if cost is None and not self.config.learn_reward and not keep_states:
            raise ValueError("cost: expected a Cost (this model does not learn rewards), got None")
        if cost is None:
            mode = "reward" if self.config.learn_reward else "none"
        else:
            mode = "torch" if hasattr(cost, "running_torch") and hasattr(cost, "terminal_torch") else "numpy"
        gen = make_rng(rng)
        seeds = gen.integers(0, 2**62, size=2)
        gens = (torch.Generator().manual_seed(int(seeds[0])), torch.Generator().manual_seed(int(seeds[1])))
        with torch_threads(self.threads), torch.inference_mode():
            return self._rollout_torch(x0, U, cost, gens, keep_states, mode)

    def _rollout_torch(self, x0, U, cost, gens, keep_states, mode):
        """``keep_states``: False, True (particle means) or "particles" (N, P, H + 1, nx)."""
        N, H, nu = U.shape
        tgen, noise_gen = gens
        use_reward = mode == "reward"
        nx = self.state_dim
        ws, bs = self._prop_params()
        K = ws[0].shape[0]
        P = self.particles_for(N)
        prop = self.config.propagation
        sample = self.config.probabilistic and prop != "expectation"
        B = N * P
        M = -(-B // K) if prop != "expectation" else B  # particles per member slot
        S = K * M if prop != "expectation" else B  # slots (B rounded up to a multiple of K)
        # particle b = n * P + p belongs to sequence n; slot layout (K, M) for TS.
        x0_t = torch.as_tensor(x0, dtype=torch.float32)
        U_t = torch.as_tensor(U, dtype=torch.float32)
        seq_of_particle = torch.arange(B) // P
        if S > B:  # padding slots simulate copies of particle 0; their costs are dropped
            seq_of_particle = torch.cat([seq_of_particle, torch.zeros(S - B, dtype=torch.long)])
        perm = None
        if prop == "tsinf":
            perm = torch.randperm(S, generator=tgen)  # slot s holds particle perm[s]
            seq_slot = seq_of_particle[perm]
        else:
            seq_slot = seq_of_particle
        x = x0_t[seq_slot]  # (S, nx)
        U_slot = U_t[seq_slot]  # (S, H, nu) gathered once
        total = torch.zeros(S, dtype=torch.float32)
        traj = torch.empty(S, H + 1, nx, dtype=torch.float32) if keep_states else None
        if traj is not None:
            traj[:, 0] = x
        for t in range(H):
            u = U_slot[:, t]
            if prop == "ts1":
                perm = torch.randperm(S, generator=tgen)
                xin, uin = x[perm], u[perm]
            else:
                xin, uin = x, u
            if prop == "expectation":
                z = self.features(xin, uin)
                mean, var = self._forward_raw(z.unsqueeze(0).expand(K, *z.shape), ws, bs)
                mean = mean.mean(0)
            else:
                if t == 0 and P > 1:
                    # all particles of a sequence start from the same (x0, u0): evaluate each member
                    # once per sequence (N rows instead of N * P / K) and gather -- no recomputation
                    seq_in = (seq_slot if perm is None or prop == "tsinf" else seq_slot[perm]).view(K, M, 1)
                    z0 = self.features(x0_t, U_t[:, 0])
                    mean0, var0 = self._forward_raw(z0.unsqueeze(0).expand(K, *z0.shape), ws, bs)
                    idx = seq_in.expand(K, M, mean0.shape[-1])
                    mean = mean0.gather(1, idx)
                    var = var0.gather(1, idx) if var0 is not None else None
                else:
                    z = self.features(xin, uin)
                    mean, var = self._forward_raw(z.view(K, M, -1), ws, bs)
                mean = mean.reshape(S, -1)
                if sample:
                    noise = torch.randn(mean.shape, generator=noise_gen)
                    mean = torch.addcmul(mean, noise, var.reshape(S, -1).sqrt_())
            xn_in = xin + mean[:, :nx]
            if prop == "ts1":
                xn = torch.empty_like(xn_in)
                xn[perm] = xn_in
                rew = None
                if use_reward:
                    rew = torch.empty(S)
                    rew[perm] = mean[:, nx]
            else:
                xn = xn_in
                rew = mean[:, nx] if use_reward else None
            if use_reward:
                total -= rew
            elif mode == "torch":
                total += cost.running_torch(x, u, xn)
            elif mode == "numpy":
                c = cost.running(x.double().numpy(), u.double().numpy(), xn.double().numpy())
                total += torch.as_tensor(c, dtype=torch.float32)
            x = xn
            if traj is not None:
                traj[:, t + 1] = x
        if mode == "torch":
            total += cost.terminal_torch(x)
        elif mode == "numpy":
            total += torch.as_tensor(cost.terminal(x.double().numpy()), dtype=torch.float32)
        # back to particle order, drop padding, average over particles
        if prop == "tsinf":
            ordered = torch.empty_like(total)
            ordered[perm] = total
            total = ordered
            if traj is not None:
                tr = torch.empty_like(traj)
                tr[perm] = traj
                traj = tr
        costs = None if mode == "none" else total[:B].double().view(N, P).mean(1).numpy()
        states = None
        if traj is not None:
            states = traj[:B].double().view(N, P, H + 1, nx)
            states = (states if keep_states == "particles" else states.mean(1)).numpy()
        return states, costs

    # ------------------------------------------------------------------ files
    def config_dict(self) -> dict:
        """JSON-serialisable constructor arguments."""
        return {
            "state_dim": self.state_dim, "action_dim": self.action_dim,
            "action_low": self.action_low.tolist(), "action_high": self.action_high.tolist(), "dt": self.dt,
            "angle_indices": list(self.angle_indices), "seed": self.seed, "threads": self.threads,
            "state_names": list(self.state_names), "action_names": list(self.action_names),
            "config": {**asdict(self.config), "hidden": list(self.config.hidden)},
        }

    def save(self, path) -> Path:
        """Save to ``path`` (``.pt``: the state dict via ``torch.save``) and ``path.json`` (the config).

        Both files are written to temporaries first and moved into place with ``os.replace``.
        Returns the ``.pt`` path.
        """
        path = Path(path).with_suffix(".pt")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: torch.save(self.net.state_dict(), f))
        text = json.dumps(self.config_dict(), indent=1).encode()
        atomic_write(path.with_suffix(".json"), lambda f: f.write(text))
        return path

    @classmethod
    def load(cls, path) -> "LearnedDynamics":
        """Load a model written by :meth:`save`; ``torch.load(weights_only=True)`` (no code is run)."""
        path = Path(path).with_suffix(".pt")
        cfg = json.loads(path.with_suffix(".json").read_text())
        mc = dict(cfg.pop("config"))
        mc["hidden"] = tuple(mc["hidden"])
        model = cls(cfg["state_dim"], cfg["action_dim"], cfg["action_low"], cfg["action_high"], cfg["dt"],
                    config=ModelConfig(**mc), angle_indices=cfg["angle_indices"], seed=cfg["seed"],
                    threads=cfg["threads"], state_names=cfg["state_names"], action_names=cfg["action_names"])
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.net.load_state_dict(state)
        model.invalidate()
        return model

    def __repr__(self) -> str:
        c = self.config
        kind = "gaussian" if c.probabilistic else "deterministic"
        return (f"LearnedDynamics(nx={self.state_dim}, nu={self.action_dim}, members={c.members}, {kind}, "
                f"hidden={c.hidden}, propagation={c.propagation!r}, particles={c.particles})")
