"""Checkpoints that resume a model-based training run *inside* the run.

:meth:`Trainer.save <planlab.policies.trainer.Trainer.save>` keeps networks and optimisers, enough
to act or to fine-tune, but a run continued from it is not the run that was interrupted: the
replay buffers, the model's data, the random streams and the training env's episode are gone.
:func:`save_checkpoint` writes them next to the saved weights (``path/resume.pt``, loadable with
``weights_only=True``) and :func:`resume` rebuilds the trainer so that ``learn`` continues with
the same evaluation rows as a run that was never interrupted.

What is kept: the trainer's counters, curve and episode returns; numpy's and torch's random
states (the global one and the trainers' generators); the trainer's buffers (via its
``_resume_state`` / ``_restore_resume_state`` hooks); and every action sent to the training env.
The env's mid-episode state is restored by replaying those actions from ``reset(seed=seed)``
(gymnasium envs are deterministic given the seed) and checked against the saved observation.

>>> from planlab.mbrl import MBPO
>>> algo = MBPO("Pendulum-v1", seed=0)  # doctest: +SKIP
>>> algo.learn(500); save_checkpoint(algo, "runs/mbpo")  # doctest: +SKIP
>>> algo = resume(MBPO, "runs/mbpo"); algo.learn(1_000)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..core.files import atomic_write
from ..core.validation import check_positive_int
from ..dynamics.learned import TransitionBuffer
from ..policies.buffers import ReplayBuffer

__all__ = ["RESUME_FILE", "save_checkpoint", "checkpoint_callback", "resume", "replay_state", "restore_replay", "transitions_state",
           "restore_transitions"]

RESUME_FILE = "resume.pt"
_FORMAT = 1


def replay_state(buf: ReplayBuffer) -> dict:
    """A :class:`ReplayBuffer`'s filled rows and ring position as tensors."""
    n = len(buf)
    return {"obs": buf.obs[:n].clone(), "actions": buf.actions[:n].clone(), "rewards": buf.rewards[:n].clone(),
            "next_obs": buf.next_obs[:n].clone(), "terminated": buf.terminated[:n].clone(),
            "pos": torch.tensor(buf.pos), "size": torch.tensor(n)}


def restore_replay(buf: ReplayBuffer, state: dict) -> None:
    """Inverse of :func:`replay_state` (into a buffer of the same capacity and widths)."""
    n = int(state["size"])
    if n > buf.capacity or state["obs"].shape[1:] != buf.obs.shape[1:]:
        raise ValueError(f"checkpoint: replay rows of shape {tuple(state['obs'].shape)} do not fit a buffer of "
                         f"capacity {buf.capacity} and width {buf.obs.shape[1]}")
    for key in ("obs", "actions", "rewards", "next_obs", "terminated"):
        getattr(buf, key)[:n] = state[key]
    buf.size, buf.pos = n, int(state["pos"])


def transitions_state(buf: TransitionBuffer) -> dict:
    """A :class:`TransitionBuffer`'s rows in insertion order (refused once it has wrapped around)."""
    if len(buf) >= buf.capacity:
        raise ValueError(f"checkpoint: the model data buffer is full ({buf.capacity} transitions); its insertion "
                         "order is not recoverable, so the run cannot be resumed exactly")
    return {"states": torch.as_tensor(buf.states), "actions": torch.as_tensor(buf.actions),
            "rewards": torch.as_tensor(buf.rewards), "next_states": torch.as_tensor(buf.next_states),
            "terminated": torch.as_tensor(buf.terminated)}


def restore_transitions(buf: TransitionBuffer, state: dict) -> None:
    """Append the rows of :func:`transitions_state` to an empty ``buf``."""
    if len(buf):
        raise ValueError(f"checkpoint: expected an empty TransitionBuffer to restore into, got {len(buf)} rows")
    if len(state["states"]):
        buf.add_batch(state["states"].numpy(), state["actions"].numpy(), state["rewards"].numpy(),
                      state["next_states"].numpy(), state["terminated"].numpy())


def save_checkpoint(trainer, path) -> Path:
    """Write ``trainer.save(path)`` plus ``path/resume.pt`` (see the module docstring); returns ``path``.

    ``trainer`` must provide ``_resume_state() -> (tensors: dict, values: dict)`` (values JSON-able)
    and keep ``_env_actions`` (every action sent to its training env, in order).
    """
    if not hasattr(trainer, "_resume_state"):
        raise TypeError(f"trainer: expected a trainer with resumable state (BPTT, MBPO), got {type(trainer).__name__}")
    path = Path(path)
    trainer.save(path)
    tensors, values = trainer._resume_state()
    actions = trainer._env_actions
    nu = int(np.prod(trainer.action_space.shape))
    common = {
        "format": _FORMAT, "curve": trainer.curve, "episode_returns": [float(v) for v in trainer._episode_returns],
        "solved_at": trainer.solved_at, "solved_seconds": trainer.solved_seconds,
        "skipped_updates": trainer.skipped_updates, "total_steps": trainer._total_steps,
        "rng": trainer.rng.bit_generator.state, "ep_ret": float(getattr(trainer, "_ep_ret", 0.0)),
        "last_info": getattr(trainer, "_last_info", {}), "num_timesteps": trainer.num_timesteps,
    }
    state = {
        "json": json.dumps({"common": common, "trainer": values}),
        "torch_rng": torch.get_rng_state(),
        "env_actions": torch.as_tensor(np.asarray(actions, dtype=np.float64).reshape(len(actions), nu)),
        "obs": torch.as_tensor(np.asarray(trainer._obs, dtype=np.float64)) if trainer.env is not None else None,
        "tensors": tensors,
    }
    atomic_write(path / RESUME_FILE, lambda f: torch.save(state, f))
    return path


def checkpoint_callback(path, every: int = 1):
    """A ``learn`` callback writing :func:`save_checkpoint` to ``path`` after every ``every``-th iteration
    (iterations end at evaluations, and more often for BPTT); a killed run resumes from the last one."""
    every = check_positive_int("every", every)
    count = [0]

    def callback(trainer, info):
        count[0] += 1
        if count[0] % every == 0:
            save_checkpoint(trainer, path)

    return callback


def resume(cls, path, env=None, **kwargs):
    """Rebuild a trainer of class ``cls`` from :func:`save_checkpoint` output, ready to ``learn`` on.

    Parameters
    ----------
    cls : type
        :class:`~planlab.mbrl.MBPO` or :class:`~planlab.mbrl.BPTT`.
    path : str or Path
    env, **kwargs
        As for :meth:`Trainer.load <planlab.policies.trainer.Trainer.load>` (e.g. ``log_dir``).

    Raises
    ------
    FileNotFoundError
        ``path`` holds no ``resume.pt``.
    ValueError
        The replayed training env does not reach the saved observation (a non-deterministic env).
    """
    path = Path(path)
    if not (path / RESUME_FILE).is_file():
        raise FileNotFoundError(f"path: no resumable checkpoint in {path} (missing {RESUME_FILE})")
    obj = cls.load(path, env=env, **kwargs)
    state = torch.load(path / RESUME_FILE, weights_only=True)
    meta = json.loads(state["json"])
    common = meta["common"]
    if common.get("format") != _FORMAT:
        raise ValueError(f"path: expected checkpoint format {_FORMAT}, got {common.get('format')!r}")
    obj.curve = list(common["curve"])
    obj._episode_returns = list(common["episode_returns"])
    obj.solved_at, obj.solved_seconds = common["solved_at"], common["solved_seconds"]
    obj.skipped_updates, obj._total_steps = common["skipped_updates"], common["total_steps"]
    obj.num_timesteps = int(common["num_timesteps"])
    obj._last_info = dict(common["last_info"])
    obj._restore_resume_state(state["tensors"], meta["trainer"])
    actions = state["env_actions"].numpy()
    if state["obs"] is not None:
        e = obj.env_fn()
        obs, _ = e.reset(seed=obj.seed)
        for a in actions:
            obs, _, term, trunc, _ = e.step(a.astype(obj.action_space.dtype))
            if term or trunc:
                obs, _ = e.reset()
        want = state["obs"].numpy()
        if not np.array_equal(np.asarray(obs, dtype=np.float64), want):
            e.close()
            raise ValueError("env: replaying the saved actions did not reach the saved observation "
                             f"(expected {want}, got {obs}); the env is not deterministic given its seed")
        obj.env, obj._obs, obj._ep_ret = e, obs, common["ep_ret"]
    obj._env_actions = [a for a in actions]
    obj.rng.bit_generator.state = common["rng"]
    torch.set_rng_state(state["torch_rng"])
    return obj
