"""Fitting learned dynamics: Adam on minibatches, bootstrap per member, early stopping, elites.

The model-learning step of the model-based RL loop ("learn f(s, a) to minimise
sum_i ||f(s_i, a_i) - s'_i||^2"), with the uncertainty-aware extensions of PETS (Chua et al. 2018):
Gaussian members minimise the negative log-likelihood, and each member of a bootstrap ensemble
trains on its own resample of the data (Lakshminarayanan, Pritzel & Blundell 2017). All members
train together in one batched forward/backward pass.
"""

from __future__ import annotations

import copy
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from ...core.seeding import SeedLike, make_rng
from ...core.validation import check_nonnegative, check_positive, check_positive_int, check_probability
from .data import TransitionBuffer
from .model import LearnedDynamics
from .threads import torch_threads

__all__ = ["TrainConfig", "FitResult", "fit", "FIT_OK", "FIT_EARLY_STOPPED", "FIT_NAN_LOSS"]

#: fit status: ran all epochs
FIT_OK = "ok"
#: fit status: stopped because the held-out loss stopped improving (best weights restored)
FIT_EARLY_STOPPED = "early_stopped"
#: fit status: the loss became NaN/inf; training stopped and the last good weights were kept
FIT_NAN_LOSS = "nan_loss"


@dataclass(frozen=True)
class TrainConfig:
    """Training options.

    Parameters
    ----------
    epochs : int
        Maximum passes over the (bootstrapped) training data.
    batch_size : int
    lr : float
        Adam learning rate.
    weight_decay : float
        L2 penalty (Adam's ``weight_decay``).
    val_fraction : float in [0, 1)
        Held-out fraction for early stopping and elite selection (0: no early stopping; all
        members are elites).
    max_val : int
        Cap on the held-out set size.
    min_updates : int
        Never stop early before this many Adam steps (small data sets give few steps per epoch).
    patience : int
        Stop after this many epochs without a relative improvement of ``min_improvement`` in any
        member's held-out loss; the best weights of each member are restored.
    min_improvement : float
    bootstrap : bool
        Each member trains on a resample (with replacement) of the training indices.
    logvar_bound_weight : float
        Weight of ``sum(max_logvar) - sum(min_logvar)`` in the Gaussian loss (keeps the soft bounds tight).
    progress : bool
        Show a tqdm bar (only on a terminal).
    threads : int or None
        torch intra-op threads while training (default 1: measured faster on 2 shared cores;
        None leaves torch's setting alone).
    """

    epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 5e-5
    val_fraction: float = 0.1
    max_val: int = 5000
    min_updates: int = 500
    patience: int = 5
    min_improvement: float = 0.01
    bootstrap: bool = True
    logvar_bound_weight: float = 0.01
    progress: bool = True
    threads: int | None = 1

    def __post_init__(self):
        if self.threads is not None:
            check_positive_int("threads", self.threads)
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive("lr", self.lr)
        check_nonnegative("weight_decay", self.weight_decay)
        if check_probability("val_fraction", self.val_fraction) >= 1.0:
            raise ValueError(f"val_fraction: expected a number in [0, 1), got {self.val_fraction}")
        check_positive_int("max_val", self.max_val)
        check_positive_int("patience", self.patience)
        check_positive_int("min_updates", self.min_updates, minimum=0)
        check_nonnegative("min_improvement", self.min_improvement)
        check_nonnegative("logvar_bound_weight", self.logvar_bound_weight)


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    status : str
        ``"ok"``, ``"early_stopped"`` or ``"nan_loss"``.
    epochs : int
        Epochs run.
    train_loss : list of float
        Mean training loss per epoch (NLL for Gaussian members, MSE otherwise; normalised units).
    val_loss : list of ndarray (E,)
        Held-out MSE (normalised units) of each member after every epoch.
    best_val : ndarray (E,)
        Each member's best held-out MSE (whose weights were kept).
    best_epoch : ndarray (E,) of int
        The epoch each member's kept weights come from (0 = before training).
    elites : ndarray of int
    n_train, n_val : int
    val_idx : ndarray of int
        Indices (into the buffer) of the held-out transitions.
    """

    status: str
    epochs: int
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    best_val: np.ndarray | None = None
    best_epoch: np.ndarray | None = None
    elites: np.ndarray | None = None
    n_train: int = 0
    n_val: int = 0
    val_idx: np.ndarray | None = None

    def history(self) -> dict:
        """Losses as plain lists (JSON-friendly)."""
        return {"train_loss": [float(v) for v in self.train_loss],
                "val_loss": [[float(x) for x in v] for v in self.val_loss]}


def _tensors(model: LearnedDynamics, data: TransitionBuffer):
    if not isinstance(data, TransitionBuffer):
        raise TypeError(f"data: expected a TransitionBuffer, got {type(data).__name__}")
    data.require_nonempty("data")
    if data.state_dim != model.state_dim or data.action_dim != model.action_dim:
        raise ValueError(f"data: expected transitions with state_dim={model.state_dim}, action_dim={model.action_dim} "
                         f"(the model's), got state_dim={data.state_dim}, action_dim={data.action_dim}")
    arrays = {"states": data.states, "actions": data.actions, "next_states": data.next_states,
              "rewards": data.rewards}
    for name, arr in arrays.items():
        if not np.all(np.isfinite(arr)):
            bad = int(np.argwhere(~np.isfinite(arr))[0][0])
            raise ValueError(f"data: expected finite {name}, got a non-finite value in transition {bad}")
    f32 = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in arrays.items()}
    x, u, xn, r = f32["states"], f32["actions"], f32["next_states"], f32["rewards"]
    return model.features(x, u), model.targets(x, u, xn, r)


def _member_losses(model: LearnedDynamics, zn: torch.Tensor, yn: torch.Tensor, nll: bool):
    """Per-member loss (E,) on normalised inputs (E, B, n_in) and targets (E, B, n_out)."""
    mean, logvar = model.net(zn)
    if nll:
        inv = torch.exp(-logvar)
        return (((mean - yn) ** 2) * inv + logvar).mean(dim=(1, 2))
    return ((mean - yn) ** 2).mean(dim=(1, 2))


def _val_mse(model: LearnedDynamics, zn: torch.Tensor, yn: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        mean, _ = model.net(zn.unsqueeze(0).expand(model.members, *zn.shape))
        return ((mean - yn) ** 2).mean(dim=(1, 2)).double().numpy()


def fit(model: LearnedDynamics, data: TransitionBuffer, config: TrainConfig | None = None, *,
        seed: SeedLike = None) -> FitResult:
    """Fit ``model`` to ``data`` (all members at once) and select elites.

    Parameters
    ----------
    model : LearnedDynamics
    data : TransitionBuffer
        Must match the model's state/action dimensions, be non-empty and finite.
    config : TrainConfig, optional
    seed : int or Generator
        Drives the split, the bootstrap resamples and the minibatch order.

    Returns
    -------
    FitResult
        The status, loss history, each member's best held-out loss and the elites. On a NaN/inf
        loss the fit stops with status ``"nan_loss"`` (and a ``RuntimeWarning``), keeping the
        weights from the end of the last finite epoch.

    Notes
    -----
    The loss of a Gaussian member is the NLL (up to constants)
    ``mean((mu - y)^2 exp(-logvar) + logvar)`` plus ``w (sum max_logvar - sum min_logvar)``;
    a deterministic member minimises the MSE. Inputs and targets are normalised with the training
    split's statistics (stored in the model).

    Examples
    --------
    >>> from planlab.dynamics.learned import LearnedDynamics, ModelConfig, TransitionBuffer
    >>> import numpy as np
    >>> m = LearnedDynamics(1, 1, -1.0, 1.0, 0.1, config=ModelConfig(members=2, hidden=(16,)), seed=0)
    >>> buf = TransitionBuffer(1, 1)
    >>> x = np.random.default_rng(0).uniform(-1, 1, (64, 1))
    >>> buf.add_batch(x, x, np.zeros(64), 1.1 * x)
    >>> fit(m, buf, TrainConfig(epochs=3, progress=False), seed=0).status
    'ok'
    """
    config = config or TrainConfig()
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig, got {type(config).__name__}")
    with torch_threads(config.threads):
        return _fit(model, data, config, seed)


def _fit(model, data, config, seed):
    if not isinstance(model, LearnedDynamics):
        raise TypeError(f"model: expected a LearnedDynamics, got {type(model).__name__}")
    rng = make_rng(seed)
    Z, Y = _tensors(model, data)
    n = Z.shape[0]
    if config.val_fraction > 0 and n >= 2:
        train_idx, val_idx = data.split(config.val_fraction, seed=rng, max_val=config.max_val)
    else:
        train_idx, val_idx = np.arange(n), np.zeros(0, dtype=np.int64)
    model.set_normalization(Z[train_idx], Y[train_idx])
    net = model.net
    Zn = (Z - net.in_mean) / net.in_std
    Yn = (Y - net.out_mean) / net.out_std
    E = model.members
    nll = model.config.probabilistic
    has_val = val_idx.size > 0
    if has_val:
        Zv, Yv = Zn[val_idx], Yn[val_idx]
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
    if config.bootstrap and E > 1:
        member_idx = torch.as_tensor(TransitionBuffer.bootstrap_indices(train_idx, E, seed=rng))
    else:
        member_idx = torch.as_tensor(np.tile(train_idx, (E, 1)))
    n_tr = member_idx.shape[1]
    params = [p for name, p in net.named_parameters()]
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)

    result = FitResult(FIT_OK, 0, n_train=int(train_idx.size), n_val=int(val_idx.size), val_idx=val_idx)
    best_val = _val_mse(model, Zv, Yv) if has_val else np.full(E, np.inf)
    best_epoch = np.zeros(E, dtype=np.int64)
    best_state = copy.deepcopy(net.state_dict()) if has_val else None
    last_good = copy.deepcopy(net.state_dict())
    stall = 0
    updates = 0
    bar = None
    if config.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs, unit="epoch", desc="fit", leave=False, disable=not sys.stderr.isatty())
    net.train()
    try:
        for epoch in range(1, config.epochs + 1):
            order = torch.argsort(torch.rand(E, n_tr, generator=gen), dim=1)
            shuffled = torch.gather(member_idx, 1, order)
            total, count, failed = 0.0, 0, False
            for start in range(0, n_tr, config.batch_size):
                idx = shuffled[:, start:start + config.batch_size]  # (E, b)
                zb, yb = Zn[idx], Yn[idx]
                losses = _member_losses(model, zb, yb, nll)
                loss = losses.sum()
                if nll and config.logvar_bound_weight > 0:
                    loss = loss + config.logvar_bound_weight * (net.max_logvar.sum() - net.min_logvar.sum())
                if not torch.isfinite(loss):
                    failed = True
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(losses.detach().mean()) * idx.shape[1]
                count += idx.shape[1]
            if not failed and any(not torch.isfinite(p).all() for p in params):
                failed = True
            if failed:
                net.load_state_dict(last_good)
                result.status = FIT_NAN_LOSS
                warnings.warn(f"fit: non-finite loss in epoch {epoch}; stopped and kept the weights of epoch "
                              f"{epoch - 1}", RuntimeWarning, stacklevel=2)
                break
            result.epochs = epoch
            result.train_loss.append(total / max(count, 1))
            last_good = copy.deepcopy(net.state_dict())
            if has_val:
                v = _val_mse(model, Zv, Yv)
                result.val_loss.append(v)
                improved = np.isfinite(v) & (v < best_val * (1.0 - config.min_improvement))
                better = np.isfinite(v) & (v < best_val)
                if better.any():
                    # keep each member's own best weights (slices of the batched tensors)
                    state = net.state_dict()
                    for key, val in state.items():
                        if val.dim() >= 1 and val.shape[0] == E and key.startswith(("weights.", "biases.")):
                            m = torch.as_tensor(better)
                            best_state[key][m] = val[m]
                        elif not key.startswith(("weights.", "biases.")) and key != "elite_idx":
                            best_state[key] = val.clone()
                    best_val = np.where(better, v, best_val)
                    best_epoch = np.where(better, epoch, best_epoch)
                stall = 0 if improved.any() else stall + 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{result.train_loss[-1]:.4g}",
                                val=f"{float(np.min(best_val)):.4g}" if has_val else "-")
            updates += -(-n_tr // config.batch_size)
            if has_val and stall >= config.patience and updates >= config.min_updates:
                result.status = FIT_EARLY_STOPPED
                break
    finally:
        if bar is not None:
            bar.close()
        net.eval()
    if has_val and result.status != FIT_NAN_LOSS:
        net.load_state_dict(best_state)
    k = model.config.elites or E
    if has_val and np.all(np.isfinite(best_val)):
        elites = np.sort(np.argsort(best_val, kind="stable")[:k])
    else:
        elites = np.arange(k)
    model.set_elites(elites)
    net.trained.fill_(True)
    model.invalidate()
    result.best_val = best_val
    result.best_epoch = best_epoch
    result.elites = elites
    return result
