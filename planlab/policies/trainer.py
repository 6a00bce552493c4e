"""The trainer interface shared by every model-free algorithm.

Follows Stable-Baselines3's conventions where they are good::

    algo = PPO("CartPole-v1", seed=0, eval_every=2000, target_return=475, log_dir="runs/ppo")
    algo.learn(50_000)                     # stops early once the evaluation reaches 475
    action, _ = algo.predict(obs)          # deterministic by default
    algo.save("runs/ppo/model")            # state dicts + JSON config
    same = PPO.load("runs/ppo/model")      # loaded with torch.load(weights_only=True)

What ``learn`` does besides training: evaluates the deterministic policy every ``eval_every``
environment steps on ``eval_episodes`` fixed-seed episodes, writes one JSON line per evaluation
(flushed at once) to ``log_dir/progress.jsonl``, shows a tqdm bar (quiet when stderr is not a
terminal), stops early when the evaluation reaches ``target_return`` or a callback returns
``False``, and draws ``log_dir/learning_curve.png`` at the end.

``load`` finds the saved algorithm through :data:`planlab.policies.registry.ALGORITHMS` (a
name -> ``"module:Class"`` table resolved on use); this module imports none of its subclasses.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from ..core.files import atomic_write
from ..core.seeding import make_rng
from ..core.validation import check_positive_int
from .config import TrainerConfig
from .envs import evaluate_policy, make_env_fn
from .plotting import plot_learning_curve
from .registry import algorithm_class

__all__ = ["Trainer", "linear_schedule"]

_FORMAT_VERSION = 1


class Trainer:
    """Base class of the model-free algorithms.

    Subclasses set ``name``, ``config_class`` and the supported action spaces, and implement
    :meth:`_build` (networks, optimisers), :meth:`_iterate` (collect data and update; returns the
    number of environment steps taken), :meth:`_act` (batched numpy observations to actions) and
    :meth:`_state` (the modules and optimisers to save). For :meth:`load` to find a subclass, its
    ``name`` must be a key of :data:`planlab.policies.registry.ALGORITHMS`.

    Parameters
    ----------
    env : str, gymnasium.Env or callable
        A gymnasium id, an env made by ``gym.make`` (its spec is used to make copies) or a
        zero-argument factory.
    config : TrainerConfig subclass, optional
        The algorithm's frozen config; keyword ``overrides`` replace single fields.
    seed : int
        Seeds torch (network initialisation, sampling), numpy and the environments.
    eval_every : int, optional
        Evaluate every this many environment steps (default: the algorithm's own).
    eval_episodes : int
        Deterministic evaluation episodes per evaluation (fixed reset seeds).
    target_return : float, optional
        Stop ``learn`` as soon as an evaluation's mean return reaches this.
    log_dir : str or Path, optional
        Where ``progress.jsonl`` and ``learning_curve.png`` go.
    progress : bool, optional
        Show a tqdm bar; default: only when stderr is a terminal.
    num_threads : int, optional
        Calls ``torch.set_num_threads`` (1 is usually fastest for these small networks).
    """

    name: ClassVar[str] = "base"
    config_class: ClassVar[type] = TrainerConfig
    supports_discrete: ClassVar[bool] = True
    supports_continuous: ClassVar[bool] = True
    default_eval_every: ClassVar[int] = 5000

    def __init__(self, env, config=None, *, seed: int = 0, eval_every: int | None = None, eval_episodes: int = 10,
                 target_return: float | None = None, log_dir=None, progress: bool | None = None,
                 num_threads: int | None = None, **overrides):
        fields = {f.name for f in dataclasses.fields(self.config_class)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise TypeError(f"{unknown[0]}: expected a {self.config_class.__name__} field or a trainer option, "
                            f"got an unknown keyword (fields: {sorted(fields)})")
        if config is None:
            config = self.config_class(**overrides)
        else:
            if not isinstance(config, self.config_class):
                raise TypeError(f"config: expected a {self.config_class.__name__}, got {type(config).__name__}")
            if overrides:
                config = dataclasses.replace(config, **overrides)
        self.config = config
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
        self.seed = int(seed)
        self.eval_every = check_positive_int("eval_every", eval_every if eval_every is not None else self.default_eval_every)
        self.eval_episodes = check_positive_int("eval_episodes", eval_episodes)
        self.target_return = None if target_return is None else float(target_return)
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.progress = progress
        if num_threads is not None:
            torch.set_num_threads(check_positive_int("num_threads", num_threads))

        self.env_fn, self.env_id = make_env_fn(env)
        probe = self.env_fn()
        self.observation_space, self.action_space = probe.observation_space, probe.action_space
        probe.close()
        self._check_spaces()
        self.obs_dim = int(np.prod(self.observation_space.shape))
        self.discrete = isinstance(self.action_space, spaces.Discrete)

        torch.manual_seed(self.seed)
        self.rng = make_rng(self.seed)
        self.num_timesteps = 0
        self.curve: list[dict] = []
        self.solved_at: int | None = None
        self.solved_seconds: float | None = None
        self._episode_returns: list[float] = []
        self._eval_envs: list[gym.Env] | None = None
        self._total_steps = 0
        self.skipped_updates = 0
        self._build()

    # ------------------------------------------------------------------ subclass hooks
    def _build(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _iterate(self, max_steps: int) -> tuple[int, dict]:  # pragma: no cover - abstract
        """Collect at most ``max_steps`` env steps (on-policy trainers may exceed it by one batch) and update."""
        raise NotImplementedError

    def _act(self, obs: np.ndarray, deterministic: bool) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def policy(self):
        """The trained policy (a planlab ``Policy`` and ``torch.nn.Module``)."""
        raise NotImplementedError

    def _optimize(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, params=None,
                  max_grad_norm: float | None = None) -> bool:
        """One optimiser step on ``loss``; a non-finite loss skips the step (counted, warned once).

        A long run must not die (or silently fill its networks with NaN) because of one bad batch.
        """
        if not bool(torch.isfinite(loss)):
            self.skipped_updates += 1
            if self.skipped_updates == 1:
                warnings.warn(f"{self.name}: non-finite loss at step {self.num_timesteps}; update skipped "
                              "(see trainer.skipped_updates)", RuntimeWarning, stacklevel=3)
            return False
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        optimizer.step()
        return True

    # ------------------------------------------------------------------ checks
    def _check_spaces(self) -> None:
        a, o = self.action_space, self.observation_space
        if not isinstance(o, spaces.Box) or len(o.shape) != 1:
            raise TypeError(f"env: expected a flat Box observation space, got {o}")
        if isinstance(a, spaces.Discrete):
            if not self.supports_discrete:
                raise TypeError(f"env: {self.name} expects a continuous (Box) action space, got {a}")
        elif isinstance(a, spaces.Box) and len(a.shape) == 1:
            if not self.supports_continuous:
                raise TypeError(f"env: {self.name} expects a discrete action space, got {a}")
            if not (np.all(np.isfinite(a.low)) and np.all(np.isfinite(a.high))):
                raise ValueError(f"env: expected a bounded Box action space, got {a}")
        else:
            raise TypeError(f"env: expected a Discrete or a flat Box action space, got {a}")

    # ------------------------------------------------------------------ public API
    def predict(self, obs, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """Actions for ``obs`` (n_obs,) or (n, n_obs), as in SB3: returns ``(actions, None)``.

        Continuous actions are clipped to the action box.
        """
        o = np.asarray(obs, dtype=np.float32)
        single = o.ndim == 1
        if o.shape[-1] != self.obs_dim:
            raise ValueError(f"obs: expected shape ({self.obs_dim},) or (n, {self.obs_dim}), got {o.shape}")
        a = self._act(o[None] if single else o, deterministic)
        if not self.discrete:
            a = np.clip(a, self.action_space.low, self.action_space.high)
        return (a[0] if single else a), None

    def evaluate(self, n_episodes: int | None = None, deterministic: bool = True) -> tuple[float, float]:
        """Mean and standard deviation of the return over ``n_episodes`` fixed-seed episodes."""
        n = check_positive_int("n_episodes", n_episodes if n_episodes is not None else self.eval_episodes)
        if self._eval_envs is None or len(self._eval_envs) < n:
            self._eval_envs = [self.env_fn() for _ in range(n)]
        seeds = [10_000_019 + 1_000 * self.seed + i for i in range(n)]
        with torch.no_grad():
            rets = evaluate_policy(lambda o: self._act(o, deterministic), self._eval_envs[:n], seeds, self.action_space)
        return float(rets.mean()), float(rets.std())

    def learn(self, total_steps: int, callback: Callable[["Trainer", dict], bool | None] | None = None) -> "Trainer":
        """Train for ``total_steps`` more environment steps.

        Parameters
        ----------
        total_steps : int
        callback : callable, optional
            ``callback(trainer, info) -> bool | None`` after every iteration; returning ``False``
            stops training. ``info`` has ``step`` and the iteration's losses.

        Returns
        -------
        self
        """
        total_steps = check_positive_int("total_steps", total_steps)
        from tqdm.auto import tqdm

        end = self.num_timesteps + total_steps
        self._total_steps = end
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        bar = tqdm(total=total_steps, disable=not show, desc=self.name, unit="step", dynamic_ncols=True)
        log = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.log_dir / "progress.jsonl", "a")
        t0 = time.perf_counter()
        next_eval = (self.num_timesteps // self.eval_every + 1) * self.eval_every
        try:
            while self.num_timesteps < end:
                limit = min(end, next_eval) - self.num_timesteps
                n, info = self._iterate(max(limit, 1))
                self.num_timesteps += n
                bar.update(n)
                stop = False
                if self.num_timesteps >= next_eval or self.num_timesteps >= end:
                    while next_eval <= self.num_timesteps:
                        next_eval += self.eval_every
                    row = self._log_eval(t0, info, log)
                    bar.set_postfix(eval=f"{row['eval_mean']:.1f}")
                    if self.target_return is not None and row["eval_mean"] >= self.target_return:
                        if self.solved_at is None:
                            self.solved_at, self.solved_seconds = self.num_timesteps, row["wall_time"]
                        stop = True
                if callback is not None:
                    if callback(self, {"step": self.num_timesteps, **info}) is False:
                        stop = True
                if stop:
                    break
        finally:
            bar.close()
            if log is not None:
                log.close()
                if self.curve:
                    try:
                        plot_learning_curve(self.curve, self.log_dir / "learning_curve.png",
                                            f"{self.name} on {self.env_id or 'env'}")
                    except Exception as exc:  # a broken plot must not lose a finished run
                        print(f"warning: learning-curve plot failed: {exc}", file=sys.stderr)
        return self

    def _log_eval(self, t0: float, info: dict, log) -> dict:
        mean, std = self.evaluate()
        recent = self._episode_returns[-20:]
        row = {
            "step": self.num_timesteps,
            "wall_time": round(time.perf_counter() - t0, 4),
            "eval_mean": mean,
            "eval_std": std,
            "train_mean": float(np.mean(recent)) if recent else None,
            "episodes": len(self._episode_returns),
            **{k: float(v) for k, v in info.items() if isinstance(v, (int, float, np.floating))},
        }
        self.curve.append(row)
        if log is not None:
            log.write(json.dumps(row) + "\n")
            log.flush()
        return row

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> Path:
        """Write ``path/model.pt`` (state dicts) and ``path/config.json``, each atomically (a crash
        mid-save keeps the previous files); returns ``path``."""
        path = Path(path)
        state = {k: (v.state_dict() if hasattr(v, "state_dict") else v) for k, v in self._state().items()}
        atomic_write(path / "model.pt", lambda f: torch.save(state, f))
        meta = {"format": _FORMAT_VERSION, "algo": self.name, "env_id": self.env_id, "seed": self.seed,
                "num_timesteps": self.num_timesteps, "config": self.config.to_dict()}
        atomic_write(path / "config.json", lambda f: json.dump(meta, f, indent=2), text=True)
        return path

    @classmethod
    def load(cls, path, env=None, **kwargs) -> "Trainer":
        """Rebuild a trainer saved by :meth:`save` (tensors loaded with ``weights_only=True``).

        Parameters
        ----------
        path : str or Path
        env : optional
            Defaults to the saved gymnasium id.
        **kwargs
            Trainer options (``eval_every``, ``log_dir``, ...).
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a str or path, got {type(path).__name__}")
        path = Path(path)
        for name in ("config.json", "model.pt"):
            if not (path / name).is_file():
                raise FileNotFoundError(f"path: no saved planlab trainer in {path} (missing {name})")
        try:
            meta = json.loads((path / "config.json").read_text())
            if not isinstance(meta, dict):
                raise ValueError(f"expected a JSON object, got {type(meta).__name__}")
        except ValueError as exc:
            raise ValueError(f"path: {path / 'config.json'} is not a saved trainer's config ({exc})") from None
        try:
            algo = algorithm_class(meta.get("algo"))
        except ValueError:
            raise ValueError(f"path: expected a saved planlab trainer, got algo {meta.get('algo')!r}") from None
        if cls is not Trainer and not issubclass(algo, cls):
            raise TypeError(f"path: holds a {algo.__name__}, not a {cls.__name__}")
        if env is None:
            if meta.get("env_id") is None:
                raise ValueError("env: the saved trainer has no gymnasium id; pass env=")
            env = meta["env_id"]
        try:
            config = algo.config_class.from_dict(meta["config"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"path: {path / 'config.json'} holds no valid {algo.__name__} config ({exc!r})") from None
        kwargs.setdefault("seed", meta.get("seed", 0))
        obj = algo(env, config, **kwargs)
        try:
            state = torch.load(path / "model.pt", weights_only=True)
            for k, v in obj._state().items():
                if hasattr(v, "load_state_dict"):
                    v.load_state_dict(state[k])
                elif isinstance(v, torch.Tensor):
                    with torch.no_grad():
                        v.copy_(state[k])
        except Exception as exc:  # torch.load of a foreign file raises many kinds (struct.error, ...)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ValueError(f"path: {path / 'model.pt'} does not hold this trainer's weights "
                             f"({type(exc).__name__}: {first})") from None
        obj.num_timesteps = int(meta.get("num_timesteps", 0))
        return obj

    def close(self) -> None:
        """Close the training and evaluation environments (they are re-made on the next ``learn``)."""
        for attr in ("venv", "env"):
            e = getattr(self, attr, None)
            if e is not None:
                e.close()
                setattr(self, attr, None)
        for e in self._eval_envs or []:
            e.close()
        self._eval_envs = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(env={self.env_id!r}, seed={self.seed}, steps={self.num_timesteps})"


def linear_schedule(initial: float, progress_remaining: float) -> float:
    """``initial * progress_remaining`` (SB3's linear schedule)."""
    return initial * max(progress_remaining, 0.0)


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for g in optimizer.param_groups:
        g["lr"] = lr
