r"""The global policy of guided policy search: a neural Gaussian policy fitted by precision-weighted regression.

:class:`GaussianMLPPolicy` is ``π_θ(u|x) = N(μ_θ(x), Σ_π)`` with ``μ_θ`` an MLP (torch for training) and
a state-independent covariance. :meth:`GaussianMLPPolicy.fit` minimises

.. math::

    \frac{1}{N}\sum_i \tfrac12 (\mu_\theta(x_i) - \mu_i)^\top P_i (\mu_\theta(x_i) - \mu_i),

where ``μ_i`` and ``P_i = Σ_i⁻¹ = Q_uu`` are the mean and precision of the local controller that
produced sample ``i`` (Levine & Abbeel 2014, eq. 4), and sets ``Σ_π`` to the inverse of the mean
precision. Inference needs no torch: the weights are exported to float64 numpy arrays (input
normalisation folded into the first layer) and :meth:`act` runs a numpy forward pass.

Inputs may be featurised: state components listed in ``angle_indices`` enter as ``(sin, cos)``, extra
inputs (a goal, a task code) are appended by the caller to the state.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import torch

from ...core.planning import Policy
from ...core.validation import as_float_array, check_bounds, check_positive_int
from ..fast_mlp import FastMLP
from ..networks import load_blob, mlp, save_blob
from .features import MappedMLP, feature_map
from .global_policy_config import GlobalPolicyConfig
from .linear_gaussian import LinearGaussianController

#: Format tag of a saved :class:`GaussianMLPPolicy` (checked on load).
_FORMAT = "planlab.gps.GaussianMLPPolicy/1"

__all__ = ["GlobalPolicyConfig", "GaussianMLPPolicy", "weighted_regression_loss"]


def weighted_regression_loss(pred: torch.Tensor, target: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """``mean_i ½ (pred_i - target_i)' P_i (pred_i - target_i)``; pred, target (N, nu), precision (N, nu, nu)."""
    d = pred - target
    return 0.5 * torch.einsum("ni,nij,nj->n", d, precision, d).mean()


class GaussianMLPPolicy(Policy):
    """``π(u|x) = N(μ_θ(x), Σ_π)``; trained in torch, run in numpy.

    Parameters
    ----------
    obs_dim : int
        Length of the policy input (the state, plus any goal or task code).
    action_dim : int
    config : GlobalPolicyConfig
    action_low, action_high : float or array_like (nu,), optional
        :meth:`act` clips to this box.

    Examples
    --------
    >>> import numpy as np
    >>> pi = GaussianMLPPolicy(3, 1, GlobalPolicyConfig(hidden=(8,), epochs=5))
    >>> X = np.random.default_rng(0).standard_normal((64, 3))
    >>> _ = pi.fit(X, X[:, :1], np.ones((64, 1, 1)))
    >>> pi.act(X[0]).shape
    (1,)
    """

    def __init__(self, obs_dim: int, action_dim: int, config: GlobalPolicyConfig = GlobalPolicyConfig(), *,
                 action_low=None, action_high=None):
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.action_dim = check_positive_int("action_dim", action_dim)
        if not isinstance(config, GlobalPolicyConfig):
            raise TypeError(f"config: expected a GlobalPolicyConfig, got {type(config).__name__}")
        if config.box_loss and (action_low is None or action_high is None):
            raise ValueError("config.box_loss: expected action_low and action_high (the box), got None")
        if any(not 0 <= i < obs_dim for i in config.angle_indices):
            raise ValueError(f"config.angle_indices: expected indices in [0, {obs_dim}), got {config.angle_indices}")
        self.config = config
        self.low = self.high = None
        if action_low is not None or action_high is not None:
            lo = -np.inf if action_low is None else action_low
            hi = np.inf if action_high is None else action_high
            self.low, self.high = check_bounds("action_low", lo, "action_high", hi, action_dim)
        self._angles = np.array(config.angle_indices, dtype=np.int64)
        self._plain = np.array([i for i in range(obs_dim) if i not in set(config.angle_indices)], dtype=np.int64)
        self.feature_dim = obs_dim + len(config.angle_indices)
        self._fmap = None if config.feature_map is None else feature_map(config.feature_map, obs_dim)
        if self._fmap is not None:
            self.feature_dim = self._fmap.dim
        torch.manual_seed(config.seed)
        self.net = mlp(self.feature_dim, action_dim, config.hidden, config.activation).double()
        self.feat_mean = np.zeros(self.feature_dim)
        self.feat_std = np.ones(self.feature_dim)
        self.cov = np.eye(action_dim)
        self.fitted = False
        self._export()

    # ------------------------------------------------------------------ features
    def features(self, obs: np.ndarray) -> np.ndarray:
        """``(..., obs_dim) -> (..., feature_dim)``: plain components, then sin and cos of the angles (or the
        config's ``feature_map``)."""
        if self._fmap is not None:
            return self._fmap(obs)
        if len(self._angles) == 0:
            return obs
        a = obs[..., self._angles]
        return np.concatenate([obs[..., self._plain], np.sin(a), np.cos(a)], axis=-1)

    def _check_obs(self, obs) -> np.ndarray:
        x = as_float_array("obs", obs)
        if x.ndim == 0 or x.shape[-1] != self.obs_dim:
            raise ValueError(f"obs: expected shape (..., {self.obs_dim}), got {x.shape}")
        return x

    # ------------------------------------------------------------------ training
    def fit(self, obs, target_mean, precision, *, weights=None, epochs: int | None = None,
            seed: int | None = None) -> list[float]:
        """Precision-weighted regression of the mean onto ``target_mean``; sets ``Σ_π = (mean P)⁻¹``.

        Parameters
        ----------
        obs : array_like (N, obs_dim)
        target_mean : array_like (N, nu)
        precision : array_like (N, nu, nu)
            Symmetric positive semidefinite weights (the local controllers' ``Σ⁻¹``).
        weights : array_like (N,), optional
            Non-negative scalar factors on each sample's loss term (e.g. ``nu / tr P_i``, which gives
            every time step the same total weight); ``Σ_π`` is still the inverse of the mean of ``P``.
        epochs : int, optional
            Overrides ``config.epochs``.
        seed : int, optional
            Minibatch order (default ``config.seed``).

        Returns
        -------
        list of float
            Mean loss of each epoch.
        """
        X = as_float_array("obs", obs, ndim=2)
        N = X.shape[0]
        if X.shape[1] != self.obs_dim or N < 1:
            raise ValueError(f"obs: expected shape (N >= 1, {self.obs_dim}), got {X.shape}")
        Y = as_float_array("target_mean", target_mean, shape=(N, self.action_dim))
        P = as_float_array("precision", precision, shape=(N, self.action_dim, self.action_dim))
        if weights is not None:
            w = as_float_array("weights", weights, shape=(N,))
            if np.any(w < 0):
                raise ValueError(f"weights: expected values >= 0, got minimum {w.min()}")
            Pfit = P * w[:, None, None]
        else:
            Pfit = P
        F = self.features(X)
        if not self.fitted:
            self.feat_mean = F.mean(axis=0)
            self.feat_std = np.maximum(F.std(axis=0), 1e-6)
        elif self.config.normalization == "refit":
            rows = F if weights is None else F[w > 0]
            if len(rows):
                self.renormalize(rows.mean(axis=0), np.maximum(rows.std(axis=0), 1e-6))
        Fn = torch.as_tensor((F - self.feat_mean) / self.feat_std)
        Yt, Pt = torch.as_tensor(Y), torch.as_tensor(Pfit)
        if self.config.optimizer == "lbfgs":
            losses = self._fit_lbfgs(Fn, Yt, Pt, epochs or self.config.epochs)
        else:
            losses = self._fit_adam(Fn, Yt, Pt, epochs or self.config.epochs, seed)
        Pm = 0.5 * (P.mean(axis=0) + P.mean(axis=0).T)
        try:
            self.cov = np.linalg.inv(Pm + 1e-12 * np.eye(self.action_dim))
            np.linalg.cholesky(self.cov)
        except np.linalg.LinAlgError:
            raise ValueError("precision: the mean precision is singular; expected positive definite weights") from None
        self.fitted = True
        self._export()
        return losses

    def _boxed(self, pred, target):
        """``config.box_loss``: predictions past the bound a label sits on are taken as that bound."""
        if not self.config.box_loss:
            return pred
        hi, lo = torch.as_tensor(self.high), torch.as_tensor(self.low)
        pred = torch.where(target >= hi, torch.minimum(pred, hi), pred)
        return torch.where(target <= lo, torch.maximum(pred, lo), pred)

    def _fit_lbfgs(self, Fn, Yt, Pt, iterations):
        opt = torch.optim.LBFGS(self.net.parameters(), lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-12, tolerance_change=1e-15, history_size=50)
        losses = []

        def closure():
            opt.zero_grad()
            loss = weighted_regression_loss(self._boxed(self.net(Fn), Yt), Yt, Pt)
            if self.config.weight_decay:
                loss = loss + 0.5 * self.config.weight_decay * sum((p ** 2).sum() for p in self.net.parameters())
            loss.backward()
            losses.append(float(loss.detach()))
            return loss

        opt.step(closure)
        return losses

    def _fit_adam(self, Fn, Yt, Pt, epochs, seed):
        N = len(Fn)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)
        gen = torch.Generator().manual_seed(self.config.seed if seed is None else int(seed))
        bs = min(self.config.batch_size, N)
        losses = []
        for _ in range(epochs):
            perm = torch.randperm(N, generator=gen)
            total = 0.0
            for s in range(0, N, bs):
                idx = perm[s:s + bs]
                loss = weighted_regression_loss(self._boxed(self.net(Fn[idx]), Yt[idx]), Yt[idx], Pt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            losses.append(total / N)
        return losses

    def reinitialize(self, seed: int) -> None:
        """Fresh network weights (drawn with ``seed``) and no normalisation: the next :meth:`fit` starts from
        scratch, as if the policy had never been fitted (``Σ_π`` is kept until then)."""
        torch.manual_seed(int(seed))
        self.net = mlp(self.feature_dim, self.action_dim, self.config.hidden, self.config.activation).double()
        self.feat_mean = np.zeros(self.feature_dim)
        self.feat_std = np.ones(self.feature_dim)
        self.fitted = False
        self._export()

    def renormalize(self, mean, std) -> None:
        """Use the feature normalisation ``(f - mean) / std`` from now on without changing the network's function:
        with first layer ``W, b`` on ``(f - m) / s``, the new one is ``W diag(std / s)`` and ``b + W (mean - m) / s``."""
        mean = as_float_array("mean", mean, shape=(self.feature_dim,))
        std = as_float_array("std", std, shape=(self.feature_dim,))
        if not np.all(std > 0):
            raise ValueError(f"std: expected positive values, got minimum {std.min()}")
        first = next(m for m in self.net if isinstance(m, torch.nn.Linear))
        with torch.no_grad():
            W = first.weight.detach().clone()
            first.bias += W @ torch.as_tensor((mean - self.feat_mean) / self.feat_std, dtype=W.dtype)
            first.weight.copy_(W * torch.as_tensor(std / self.feat_std, dtype=W.dtype))
        self.feat_mean, self.feat_std = mean.copy(), std.copy()
        self._export()

    def snapshot(self) -> tuple:
        """The fitted state (weights, normalisation, covariance), for :meth:`restore` after a failed fit."""
        return ({k: v.detach().clone() for k, v in self.net.state_dict().items()}, self.feat_mean.copy(),
                self.feat_std.copy(), self.cov.copy(), self.fitted)

    def restore(self, state: tuple) -> None:
        """Go back to a state taken by :meth:`snapshot`."""
        sd, self.feat_mean, self.feat_std, self.cov, self.fitted = state
        self.net.load_state_dict(sd)
        self._export()

    # ------------------------------------------------------------------ numpy inference
    def _export(self) -> None:
        """Copy the torch weights to numpy (float64), folding the input normalisation into layer 1."""
        lin = [m for m in self.net if isinstance(m, torch.nn.Linear)]
        Ws = [m.weight.detach().cpu().numpy().astype(np.float64).copy() for m in lin]
        bs = [m.bias.detach().cpu().numpy().astype(np.float64).copy() for m in lin]
        bs[0] = bs[0] - Ws[0] @ (self.feat_mean / self.feat_std)
        Ws[0] = Ws[0] / self.feat_std
        self._Wt = [np.ascontiguousarray(W.T) for W in Ws]
        self._b = bs
        self._act = np.tanh if self.config.activation == "tanh" else (lambda h: np.maximum(h, 0.0))
        if self._fmap is not None:
            self.fast = MappedMLP(self._fmap, Ws, bs, self.config.activation, low=self.low, high=self.high)
        else:
            self.fast = FastMLP(Ws, bs, self.config.activation, self.obs_dim, self.config.angle_indices,
                                low=self.low, high=self.high)

    def mean(self, obs) -> np.ndarray:
        """``μ_θ(obs)``: (..., obs_dim) -> (..., nu), numpy only (no clipping)."""
        h = self.features(self._check_obs(obs))
        last = len(self._Wt) - 1
        for i, (Wt, b) in enumerate(zip(self._Wt, self._b)):
            h = h @ Wt + b
            if i < last:
                h = self._act(h)
        return h

    def act(self, obs) -> np.ndarray:
        """Deterministic action ``μ_θ(obs)`` clipped to the action box; (..., obs_dim) -> (..., nu)."""
        u = self.mean(obs)
        return np.clip(u, self.low, self.high) if self.low is not None else u

    def act_fast(self, x: np.ndarray) -> np.ndarray:
        """One float64 state (obs_dim,) -> clipped action (nu,) by the compiled kernel, without validation
        (the inner loop of a controller; :class:`~planlab.policies.fast_mlp.FastMLP`)."""
        return self.fast(x)

    def log_prob(self, obs, u) -> np.ndarray:
        """``log π(u|obs)``: obs (..., obs_dim), u (..., nu) -> (...)."""
        d = as_float_array("u", u) - self.mean(obs)
        P = np.linalg.inv(self.cov)
        _, logdet = np.linalg.slogdet(self.cov)
        return -0.5 * (np.einsum("...i,ij,...j->...", d, P, d) + logdet + self.action_dim * math.log(2 * math.pi))

    def linearize(self, X, *, step: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
        """Affine approximation ``μ_θ(x) ≈ K_t x + c_t`` at states ``X`` (T, obs_dim) (central differences).

        Returns
        -------
        K : ndarray (T, nu, obs_dim)
        c : ndarray (T, nu)
        """
        X = self._check_obs(X)
        if X.ndim != 2:
            raise ValueError(f"X: expected shape (T, {self.obs_dim}), got {X.shape}")
        T, n = X.shape
        E = step * np.eye(n)
        up = self.mean(X[:, None, :] + E).reshape(T, n, -1)
        dn = self.mean(X[:, None, :] - E).reshape(T, n, -1)
        K = np.swapaxes((up - dn) / (2 * step), 1, 2)
        c = self.mean(X) - np.einsum("tux,tx->tu", K, X)
        return K, c

    def as_controller(self, X) -> LinearGaussianController:
        """The policy linearised along states ``X`` (T, nx) as a linear-Gaussian controller with ``Σ_π``."""
        K, c = self.linearize(X)
        return LinearGaussianController.from_affine(K, c, self.cov)

    # ------------------------------------------------------------------ files
    def save(self, path) -> Path:
        """Write the weights, normalisation, covariance and config to ``path`` (a ``.pt`` file)."""
        blob = {
            "format": _FORMAT,
            "config": json.dumps({**dataclasses.asdict(self.config), "obs_dim": self.obs_dim,
                                  "action_dim": self.action_dim, "fitted": self.fitted,
                                  "action_low": None if self.low is None else self.low.tolist(),
                                  "action_high": None if self.high is None else self.high.tolist()}),
            "state_dict": self.net.state_dict(),
            "feat_mean": torch.as_tensor(self.feat_mean), "feat_std": torch.as_tensor(self.feat_std),
            "cov": torch.as_tensor(self.cov),
        }
        return save_blob(path, blob)

    @classmethod
    def load(cls, path) -> "GaussianMLPPolicy":
        """Read a policy written by :meth:`save` (``torch.load(weights_only=True)``: nothing is executed)."""
        blob = load_blob(Path(path), _FORMAT, "GaussianMLPPolicy")
        cfg = json.loads(blob["config"])
        obs_dim, action_dim, fitted = cfg.pop("obs_dim"), cfg.pop("action_dim"), cfg.pop("fitted")
        low, high = cfg.pop("action_low"), cfg.pop("action_high")
        pi = cls(obs_dim, action_dim, GlobalPolicyConfig(**cfg), action_low=low, action_high=high)
        pi.net.load_state_dict(blob["state_dict"])
        pi.feat_mean, pi.feat_std = blob["feat_mean"].numpy().copy(), blob["feat_std"].numpy().copy()
        pi.cov = blob["cov"].numpy().copy()
        pi.fitted = bool(fitted)
        pi._export()
        return pi

    def __repr__(self) -> str:
        return f"GaussianMLPPolicy(obs_dim={self.obs_dim}, action_dim={self.action_dim}, hidden={self.config.hidden})"
