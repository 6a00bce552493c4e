"""The model-based RL loop in its three classic versions; PETS (Chua et al. 2018, "Deep reinforcement
learning in a handful of trials using probabilistic dynamics models") is v1.5 with a probabilistic
ensemble, TS∞ particles and CEM.

* ``"v0.5"``: collect data with a random policy, fit the model once, then plan through it (MPC)
  without adding data (system identification, then control).
* ``"v1.0"``: after each episode, add its transitions and refit (data aggregation, as in Ross &
  Bagnell 2012); plans are executed open loop (the whole planned sequence, then replan).
* ``"v1.5"``: MPC (replan after every executed action), data aggregated every step and the model
  retrained every ``retrain_every`` steps (default: after each episode; Nagabandi et al. 2018).

The learned model is a :class:`~planlab.dynamics.learned.LearnedDynamics`, so any planner of the
registry (``make_planner(name, ...)``; CEM for PETS) plans through it unchanged. The cost is the
env's known cost (planlab's model of the env, :func:`planlab.envs.models.model_for`).

Checkpoints: with ``out_dir``, every episode writes the model (``torch.save`` state dict + JSON
config), the data (npz) and ``progress.json`` (the config and the per-episode rows) atomically;
``progress.json`` is written last and names the files of its episode, so a crash at any point
leaves a consistent checkpoint. Rerunning with the same directory and config resumes after the
last finished episode; per-episode seeds make a resumed run identical to an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.planning import Policy
from ..core.files import atomic_write
from ..core.ops import wrap_angle
from ..core.validation import check_in, check_positive_int
from ..dynamics.learned import LearnedDynamics, ModelConfig, TrainConfig, TransitionBuffer, fit, for_model

__all__ = ["MBRLConfig", "MBRLResult", "run_mbrl_loop", "MODEL_KINDS", "model_config", "ALGORITHMS"]

ALGORITHMS = ("v0.5", "v1.0", "v1.5")

#: ``--model`` names -> ModelConfig overrides
MODEL_KINDS = {
    "ensemble": {"probabilistic": True},  # PE: probabilistic bootstrap ensemble (PETS)
    "deterministic-ensemble": {"probabilistic": False},  # DE
    "gaussian": {"probabilistic": True, "members": 1},  # one Gaussian MLP (P)
    "mlp": {"probabilistic": False, "members": 1, "particles": 1},  # one deterministic MLP (D)
}


def model_config(kind: str = "ensemble", **overrides) -> ModelConfig:
    """A :class:`ModelConfig` for a ``--model`` name, with overrides (e.g. ``hidden=(64, 64)``)."""
    check_in("model", kind, set(MODEL_KINDS))
    return ModelConfig(**{**MODEL_KINDS[kind], **overrides})


@dataclass(frozen=True)
class MBRLConfig:
    """One model-based RL run.

    Parameters
    ----------
    env_id : str
        A gymnasium id planlab has a model of (for the cost and the state map), e.g. ``"Pendulum-v1"``.
    algorithm : {"v0.5", "v1.0", "v1.5"}
    episodes : int
        Episodes after the random ones.
    random_episodes : int
        Episodes of the uniform-random base policy pi_0 (the first data of every version).
    steps : int or None
        Episode length (None: the env's time limit).
    model : ModelConfig
    train : TrainConfig
    planner : str
        A registry name (``"cem"`` for PETS).
    horizon : int
    planner_options : dict
        Passed to the planner (e.g. ``population``, ``iterations``).
    retrain_every : int or None
        v1.5 only: retrain after this many real steps within an episode (None: after each episode).
    seed : int
    threads : int or None
        torch intra-op threads for the model's planning and training (it replaces ``train.threads``),
        set once for the whole process (see :func:`planlab.dynamics.learned.torch_threads`). One is
        planlab's default; large models on an idle multi-core machine gain from more (the
        mbrl-lib-sized ensemble plans 1.6x faster with two threads than one here). None leaves
        torch's setting alone.
    """

    env_id: str = "Pendulum-v1"
    algorithm: str = "v1.5"
    episodes: int = 10
    random_episodes: int = 1
    steps: int | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    planner: str = "cem"
    horizon: int = 15
    planner_options: dict = field(default_factory=dict)
    retrain_every: int | None = None
    seed: int = 0
    threads: int | None = 1

    def __post_init__(self):
        check_in("algorithm", self.algorithm, set(ALGORITHMS))
        check_positive_int("episodes", self.episodes)
        check_positive_int("random_episodes", self.random_episodes)
        if self.steps is not None:
            check_positive_int("steps", self.steps)
        check_positive_int("horizon", self.horizon)
        if self.retrain_every is not None:
            check_positive_int("retrain_every", self.retrain_every)
        if not isinstance(self.model, ModelConfig):
            raise TypeError(f"model: expected a ModelConfig, got {type(self.model).__name__}")
        if not isinstance(self.train, TrainConfig):
            raise TypeError(f"train: expected a TrainConfig, got {type(self.train).__name__}")
        check_positive_int("seed", self.seed, minimum=0)
        if self.threads is not None:
            check_positive_int("threads", self.threads)

    def to_dict(self) -> dict:
        """JSON-friendly form (what ``progress.json`` stores and resumption compares)."""
        d = asdict(self)
        d["model"]["hidden"] = list(self.model.hidden)
        d["planner_options"] = dict(sorted(self.planner_options.items()))
        return json.loads(json.dumps(d))


@dataclass
class MBRLResult:
    """Rows (one dict per episode: ``episode``, ``phase``, ``return``, ``steps``, ``n_data``, fit and
    timing figures), the trained model and the data."""

    rows: list
    model: LearnedDynamics
    data: TransitionBuffer
    resumed_from: int = 0

    @property
    def returns(self) -> np.ndarray:
        """Return of every episode, in order (n_episodes,)."""
        return np.array([r["return"] for r in self.rows])


class _RandomPolicy(Policy):
    def __init__(self, dynamics, rng):
        self.dynamics, self.rng = dynamics, rng

    def act(self, obs):
        d = self.dynamics
        if d.is_discrete:
            return np.array([float(self.rng.integers(0, d.n_actions))])
        return self.rng.uniform(d.action_low, d.action_high)


def _seed(*parts) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def run_mbrl_loop(config: MBRLConfig, *, out_dir=None, progress: bool = True,
                  callback: Callable[[dict], None] | None = None,
                  stop_when: Callable[[list], bool] | None = None) -> MBRLResult:
    """Run the model-based RL loop (version v0.5, v1.0 or v1.5; PETS with the defaults).

    Parameters
    ----------
    config : MBRLConfig
    out_dir : path, optional
        Checkpoint directory; an existing checkpoint of the same config is resumed.
    progress : bool
        tqdm bars (quiet off a terminal).
    callback : callable(row), optional
        Called after every episode with its row.
    stop_when : callable(rows) -> bool, optional
        Called after every episode (after its checkpoint and ``callback``) with all rows so far;
        returning True ends the run early (e.g. once a target return is reached). A resumed run
        checks it before its first new episode.

    Returns
    -------
    MBRLResult

    Examples
    --------
    >>> from planlab.mbrl import MBRLConfig, run_mbrl_loop, model_config  # doctest: +SKIP
    >>> cfg = MBRLConfig("Pendulum-v1", episodes=5, planner="cem", model=model_config("ensemble"))
    >>> run_mbrl_loop(cfg, out_dir="runs/pets").returns  # doctest: +SKIP
    """
    import gymnasium

    from ..envs.models import model_for
    from ..planners import MPC, make_planner, planner_class

    if not isinstance(config, MBRLConfig):
        raise TypeError(f"config: expected an MBRLConfig, got {type(config).__name__}")
    planner_class(config.planner)  # clear error for an unknown planner before any work
    true_dyn, cost = model_for(config.env_id)
    make_kwargs = {"max_episode_steps": config.steps} if config.steps is not None else {}
    env = gymnasium.make(config.env_id, **make_kwargs)
    if env.action_space.shape is None or len(env.action_space.shape) != 1:
        if not hasattr(env.action_space, "n"):
            raise ValueError(f"env_id: expected a Box or Discrete action space, got {env.action_space}")

    rows: list = []
    model = data = None
    total_episodes = config.random_episodes + config.episodes
    out = Path(out_dir) if out_dir is not None else None
    cfg_dict = config.to_dict()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        prog = out / "progress.json"
        if prog.exists():
            saved = json.loads(prog.read_text())
            saved_cfg = dict(saved.get("config", {}))
            # a run may be extended with more episodes: every other setting must match
            if {k: v for k, v in saved_cfg.items() if k != "episodes"} != {k: v for k, v in cfg_dict.items()
                                                                             if k != "episodes"}:
                raise ValueError(f"out_dir: {out} holds a run of another configuration; use a new directory "
                                 f"(saved config differs in: {_diff_keys(saved_cfg, cfg_dict)})")
            rows = saved["rows"]
            if len(rows) > total_episodes:
                raise ValueError(f"episodes: {out} already holds {len(rows) - config.random_episodes} planned "
                                 f"episodes; expected episodes >= that to resume or extend it, got {config.episodes}")
            if saved.get("model"):
                model = LearnedDynamics.load(out / saved["model"])
            data = TransitionBuffer.load(out / saved["data"])
    resumed_from = len(rows)
    if model is None:
        model = for_model(true_dyn, config.model, seed=_seed(config.seed, 1), threads=config.threads)
    if data is None:
        data = TransitionBuffer(true_dyn.state_dim, true_dyn.action_dim)
    angles = list(true_dyn.angle_indices)
    # refuse a planner that cannot plan through this model before any episode is spent
    make_planner(config.planner, model, cost, horizon=config.horizon, seed=0, **config.planner_options)
    discrete = hasattr(env.action_space, "n")

    def to_state(obs):
        return true_dyn.state_from_observation(obs)

    def record(x, u, r, obs_next, terminated):
        xn = to_state(obs_next)
        if angles:  # unwrap: the model learns the continuous change of each angle
            xn = xn.copy()
            xn[angles] = x[angles] + wrap_angle(xn[angles] - x[angles])
        if config.algorithm != "v0.5" or phase == "random":
            data.add(x, u, r, xn, terminated)

    def train(ep, k):
        t0 = time.perf_counter()
        res = fit(model, data, dataclasses.replace(config.train, progress=config.train.progress and progress,
                                                   threads=config.threads),
                  seed=_seed(config.seed, 3, ep, k))
        return res, time.perf_counter() - t0

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_episodes, initial=len(rows), unit="episode", desc=config.env_id,
                   disable=not sys.stderr.isatty())
    try:
        for ep in range(len(rows), total_episodes):
            if stop_when is not None and rows and stop_when(rows):
                break
            t_ep = time.perf_counter()
            phase = "random" if ep < config.random_episodes else "mpc"
            fit_rows = []
            if phase == "mpc" and (config.algorithm != "v0.5" or ep == config.random_episodes):
                if config.algorithm != "v0.5" or not model.net.trained.item():
                    res, secs = train(ep, 0)
                    fit_rows.append((res, secs))
            if phase == "random":
                policy = _RandomPolicy(true_dyn, np.random.default_rng(_seed(config.seed, 2, ep)))
            else:
                planner = make_planner(config.planner, model, cost, horizon=config.horizon,
                                       seed=_seed(config.seed, 4, ep), **config.planner_options)
                policy = MPC(planner, replan_every=config.horizon if config.algorithm == "v1.0" else 1)
            policy.reset()
            obs, _ = env.reset(seed=_seed(config.seed, 5, ep))
            x = to_state(obs)
            ret, steps, plan_times = 0.0, 0, []
            while True:
                u = np.asarray(policy.act(x), dtype=np.float64).reshape(-1)
                a = int(np.rint(u[0])) if discrete else u.astype(env.action_space.dtype)
                obs, r, terminated, truncated, _ = env.step(a)
                record(x, u, float(r), obs, bool(terminated))
                ret += float(r)
                steps += 1
                x = to_state(obs)
                if (phase == "mpc" and config.algorithm == "v1.5" and config.retrain_every is not None
                        and steps % config.retrain_every == 0 and not (terminated or truncated)):
                    fit_rows.append(train(ep, steps))
                if terminated or truncated:
                    break
            if isinstance(policy, MPC):
                plan_times = policy.plan_times
            row = {
                "episode": ep, "phase": phase, "return": ret, "steps": steps, "n_data": len(data),
                "fit_status": fit_rows[-1][0].status if fit_rows else None,
                "fit_epochs": int(sum(f[0].epochs for f in fit_rows)),
                "fit_val_mse": (float(np.mean(fit_rows[-1][0].best_val[model.elites]))
                                if fit_rows and fit_rows[-1][0].n_val else None),
                "train_s": float(sum(f[1] for f in fit_rows)),
                "plan_ms_median": float(np.median(plan_times) * 1e3) if plan_times else None,
                "wall_s": time.perf_counter() - t_ep,
            }
            rows.append(row)
            if out is not None:
                _checkpoint(out, ep, model, data, rows, cfg_dict)
            if callback is not None:
                callback(row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(ret=f"{ret:.1f}")
    finally:
        if bar is not None:
            bar.close()
        env.close()
    return MBRLResult(rows, model, data, resumed_from)


def _checkpoint(out: Path, ep: int, model: LearnedDynamics, data: TransitionBuffer, rows, cfg_dict) -> None:
    """Write this episode's files, then ``progress.json`` (the commit point), then drop older files."""
    model_name = f"model-ep{ep:04d}.pt"
    data_name = f"data-ep{ep:04d}.npz"
    model.save(out / model_name)
    data.save(out / data_name)
    progress = {"config": cfg_dict, "rows": rows, "model": model_name, "data": data_name}
    atomic_write(out / "progress.json", lambda f: json.dump(progress, f, indent=1), text=True)
    for p in out.iterdir():
        if (p.name.startswith("model-ep") or p.name.startswith("data-ep")) and not p.name.startswith(
                (f"model-ep{ep:04d}.", f"data-ep{ep:04d}.")):
            p.unlink(missing_ok=True)


def _diff_keys(a: dict, b: dict) -> str:
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(keys) or "?"
