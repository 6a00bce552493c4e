"""Learned dynamics: MLPs, Gaussian MLPs and bootstrap ensembles of them, behind the Dynamics contract.

A network ``f_theta(s, a)`` fitted to transitions, made uncertainty-aware by predicting a Gaussian
``N(mu, sigma^2)`` (aleatoric uncertainty) and by a bootstrap ensemble of E networks
(Lakshminarayanan, Pritzel & Blundell 2017; epistemic uncertainty), as in PETS (Chua et al. 2018).
One class, :class:`LearnedDynamics`, covers three models:

* a deterministic MLP: ``members=1, probabilistic=False``;
* a Gaussian MLP: ``members=1, probabilistic=True``;
* a bootstrap ensemble: ``members=E`` (probabilistic or not).

Where each part lives: the settings in :mod:`~planlab.dynamics.learned.config`, the batched
ensemble network in :mod:`~planlab.dynamics.learned.network`, input features and normalisation in
:mod:`~planlab.dynamics.learned.normalization`, the particle rollouts (TS1, TS∞, expectation) in
:mod:`~planlab.dynamics.learned.propagation`, files in :mod:`~planlab.dynamics.learned.io`. The
torch computations are float32; the :class:`~planlab.core.Dynamics` boundary is float64 numpy.
"""

from __future__ import annotations

import numpy as np
import torch

from ...core.contracts import Cost, Dynamics, Rollout
from ...core.seeding import SeedLike, make_rng
from ...core.validation import as_float_array, check_positive_int
from .config import ModelConfig, Prediction
from .io import load_model, model_config_dict, save_model
from .network import EnsembleNet
from .normalization import delta_targets, denormalized_forward, fit_normalization, input_features
from .propagation import member_assignment, propagate
from .threads import torch_threads

__all__ = ["LearnedDynamics"]


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
        """Number of ensemble members ``E``."""
        return self.config.members

    @property
    def elites(self) -> np.ndarray:
        """Indices of the members used for prediction."""
        return self.net.elite_idx.numpy().copy()

    def set_elites(self, idx) -> None:
        """Use only members ``idx`` (distinct indices in ``[0, E)``) when predicting and planning."""
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
        return input_features(x, u, self._plain_t if self._plain_idx else None,
                              self._angle_t if self._angle_idx else None)

    def targets(self, x: torch.Tensor, u: torch.Tensor, xn: torch.Tensor, r: torch.Tensor | None) -> torch.Tensor:
        """Raw network targets (..., n_out): ``s' - s`` (and the reward)."""
        return delta_targets(x, xn, r if self.config.learn_reward else None)

    def set_normalization(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Fit the input/output normalisers to raw ``inputs`` (n, n_in) and ``targets`` (n, n_out)."""
        fit_normalization(self.net, inputs, targets)
        self.invalidate()

    # ------------------------------------------------------------------ prediction (torch)
    def _forward_raw(self, z: torch.Tensor, weights=None, biases=None):
        """Raw features (E', B, n_in) -> raw-unit mean (E', B, n_out) and variance (or None)."""
        return denormalized_forward(self.net, z, weights, biases)

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

        ``x`` (..., nx), ``u`` (..., nu) -> (..., nx) float64. Actions outside the box are clipped to
        it, as every planlab model does (the network never sees actions it cannot have been trained on).
        """
        x2, u2, batch = self._check_xu(x, u)
        u2 = np.clip(u2, self.action_low, self.action_high)
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
        """Mean next state over the elite members on torch tensors (..., nx), (..., nu) (differentiable).

        Actions outside the box are clipped to it, as in :meth:`step` (zero gradient for a clipped
        component)."""
        shape = x.shape[:-1]
        lo = torch.tensor(self.action_low, dtype=u.dtype, device=u.device)
        hi = torch.tensor(self.action_high, dtype=u.dtype, device=u.device)
        u = torch.maximum(torch.minimum(u, hi), lo)
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
        return member_assignment(self._prop_params()[0][0].shape[0], n_particles, horizon, self.config.propagation, rng)

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
            Clipped to the action box (the clipped actions are executed and costed).
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
        U = np.clip(self.check_actions(actions), self.action_low, self.action_high)
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
            return propagate(self, x0, U, cost, gens, keep_states, mode)

    # ------------------------------------------------------------------ files
    def config_dict(self) -> dict:
        """JSON-serialisable constructor arguments."""
        return model_config_dict(self)

    def save(self, path):
        """Save to ``path`` (``.pt``: the state dict via ``torch.save``) and ``path.json`` (the config).

        Both files are written to temporaries first and moved into place with ``os.replace``.
        Returns the ``.pt`` path.
        """
        return save_model(self, path)

    @classmethod
    def load(cls, path) -> "LearnedDynamics":
        """Load a model written by :meth:`save`; ``torch.load(weights_only=True)`` (no code is run)."""
        return load_model(cls, path)

    def __repr__(self) -> str:
        c = self.config
        kind = "gaussian" if c.probabilistic else "deterministic"
        return (f"LearnedDynamics(nx={self.state_dim}, nu={self.action_dim}, members={c.members}, {kind}, "
                f"hidden={c.hidden}, propagation={c.propagation!r}, particles={c.particles})")
