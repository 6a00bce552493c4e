"""Model-based RL with latent states from pixels (Algorithm 26 of the reference notes; PlaNet's data
loop, Hafner et al. 2019): random-policy pixel data, fit the latent model, MPC from the filtered latent
of the current frame, append the episode, refit.

The model is a :class:`~planlab.dynamics.latent.LatentDynamics` (RSSM by default), the cost its
learned reward, so any sampling planner of the registry (CEM by default) plans in latent space
unchanged. Observations are uint8 frames from :class:`~planlab.envs.pixels.PixelObservation`; the
true state is read only to report nothing but the env's own return.

Checkpoints: with ``out_dir``, every episode writes the model (``torch.save`` state dict + JSON),
the optimiser's state (kept across refits, as PlaNet does), the episodes (npz), a PNG strip of true frames / reconstructions / open-loop predictions and then
``progress.json`` (config, rows, file names) atomically, the commit point. Rerunning with the same
directory and config resumes after the last finished episode; per-episode seeds (planner, exploration
noise, env reset, training) make a resumed run's rows equal to an uninterrupted run's (wall times
aside).
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

from ..core.files import atomic_write
from ..core.validation import check_nonnegative, check_positive_int
from ..dynamics import latent as lat  # a lazy package: torch loads when a model is built, not on import
from ..dynamics.latent.config import LatentConfig, LatentTrainConfig

__all__ = ["DEFAULT_PLANNER_OPTIONS", "LatentLoopConfig", "LatentLoopResult", "run_latent_loop", "prediction_errors",
           "save_strip"]


#: The loop's default CEM (with the default model: under 50 ms of CPU per MPC step, see docs/latent.md)
DEFAULT_PLANNER_OPTIONS = {"population": 100, "elites": 10, "iterations": 3}


@dataclass(frozen=True)
class LatentLoopConfig:
    """One run of the latent-model loop.

    Parameters
    ----------
    env_id : str
        A gymnasium id whose env renders ``rgb_array`` frames (planlab's envs do).
    image_size : {32, 64}
    grayscale : bool
    action_repeat : int
        Env steps per decision (PlaNet: 2 to 8; 4 here: 0.2 s decisions on the pendulum, so the default
        horizon of 12 decisions spans 2.4 s, a whole swing-up).
    frame_stack : int
    episodes : int
        MPC episodes after the random ones.
    random_episodes : int
        Uniform-random episodes first (the base policy of Algorithm 26).
    steps : int or None
        Env steps per episode before action repeat (None: the env's time limit).
    model : LatentConfig
        Architecture; its ``image_size``, ``channels`` and ``action_dim`` are set from the env.
    train : LatentTrainConfig
        Updates per refit (before every MPC episode).
    keep_optimizer : bool
        One Adam for the whole run, its moments kept from refit to refit and saved with every
        checkpoint (PlaNet); False: a fresh Adam per refit.
    planner, horizon, planner_options
        A registry name (``"cem"``), its horizon in decisions, its options.
    exploration_noise : float
        Std of Gaussian noise added to planned actions, relative to the action box half-width
        (PlaNet: 0.3); 0 for none.
    test_every : int
        0 (default): every MPC episode explores. k > 0: every k-th MPC episode is a test episode without
        exploration noise (PlaNet evaluates without it), its row marked ``test: True``; its data is
        appended like any other. What a test episode measures is the planner on the learned model: with
        noise 0.3 the same CEM on the true state returns about -720 to -900 on the pendulum swing-up
        instead of -381 (docs/latent.md), so noisy episodes cannot be compared with the true-state planner.
    prediction_steps : int
        k of the open-loop prediction error and picture.
    seed : int
    threads : int or None
        torch intra-op threads (set once).
    """

    env_id: str = "planlab/PendulumSwingup-v0"
    image_size: int = 32
    grayscale: bool = True
    action_repeat: int = 4
    frame_stack: int = 1
    episodes: int = 10
    random_episodes: int = 2
    steps: int | None = None
    model: LatentConfig = field(default_factory=LatentConfig)
    train: LatentTrainConfig = field(default_factory=lambda: LatentTrainConfig(steps=100, batch=16, length=16))
    keep_optimizer: bool = True
    planner: str = "cem"
    horizon: int = 12
    planner_options: dict = field(default_factory=lambda: dict(DEFAULT_PLANNER_OPTIONS))
    exploration_noise: float = 0.3
    test_every: int = 0
    prediction_steps: int = 8
    seed: int = 0
    threads: int | None = 1

    def __post_init__(self):
        if self.image_size not in (32, 64):
            raise ValueError(f"image_size: expected 32 or 64, got {self.image_size!r}")
        for name in ("action_repeat", "frame_stack", "episodes", "random_episodes", "horizon", "prediction_steps"):
            check_positive_int(name, getattr(self, name))
        if self.steps is not None:
            check_positive_int("steps", self.steps)
        if not isinstance(self.model, LatentConfig):
            raise TypeError(f"model: expected a LatentConfig, got {type(self.model).__name__}")
        if not isinstance(self.train, LatentTrainConfig):
            raise TypeError(f"train: expected a LatentTrainConfig, got {type(self.train).__name__}")
        check_nonnegative("exploration_noise", self.exploration_noise)
        check_positive_int("test_every", self.test_every, minimum=0)
        check_positive_int("seed", self.seed, minimum=0)

    def to_dict(self) -> dict:
        """JSON form (what ``progress.json`` stores and resumption compares)."""
        d = asdict(self)
        d["planner_options"] = dict(sorted(self.planner_options.items()))
        return json.loads(json.dumps(d))


@dataclass
class LatentLoopResult:
    """Rows (one dict per episode), the model and the episodes."""

    rows: list
    model: lat.LatentDynamics
    data: lat.EpisodeBuffer
    resumed_from: int = 0

    @property
    def returns(self) -> np.ndarray:
        return np.array([r["return"] for r in self.rows])


def _seed(*parts) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def make_pixel_env(config: LatentLoopConfig):
    """The env of ``config`` wrapped in :class:`~planlab.envs.pixels.PixelObservation`."""
    import gymnasium

    from ..envs.pixels import PixelObservation

    kw = {"max_episode_steps": config.steps} if config.steps is not None else {}
    env = gymnasium.make(config.env_id, render_mode="rgb_array", **kw)
    return PixelObservation(env, size=config.image_size, grayscale=config.grayscale,
                            action_repeat=config.action_repeat, frame_stack=config.frame_stack)


def prediction_errors(model: lat.LatentDynamics, frames, actions, k: int, start: int | None = None):
    """Reconstruction and k-step open-loop prediction errors of one episode (mean squared error of
    uint8 pixel values), and the frames behind them.

    Returns
    -------
    dict
        ``recon_mse``: filtered reconstructions of all frames; ``pred_mse``: the k frames after
        ``start`` predicted open loop from the filtered latent at ``start`` (default: mid-episode);
        ``copy_mse``: the same frames predicted by copying the frame at ``start``; and the arrays
        ``true``, ``recon``, ``pred`` (k, C, S, S) for pictures.
    """
    T = len(actions)
    k = min(k, T)
    start = max(0, (T - k) // 2) if start is None else start
    latents = model.filter_sequence(frames, actions)
    recon = model.decode(latents)
    pred = model.predict_frames(latents[start], actions[start:start + k])
    true = frames[start + 1:start + 1 + k]
    f = lambda a, b: float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))  # noqa: E731
    return {"recon_mse": f(recon, frames), "pred_mse": f(pred, true), "copy_mse": f(frames[start][None], true),
            "true": true, "recon": recon[start + 1:start + 1 + k], "pred": pred}


def save_strip(path, rows, labels) -> Path:
    """A PNG of image rows (each (k, C, S, S) uint8; C = 1 or 3), one labelled row each."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    k = max(len(r) for r in rows)
    fig = Figure(figsize=(1.0 * k + 1.2, 1.05 * len(rows)), dpi=80)
    for i, (r, lab) in enumerate(zip(rows, labels)):
        for j in range(k):
            ax = fig.add_subplot(len(rows), k, i * k + j + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(r):
                img = r[j]
                ax.imshow(img[0] if img.shape[0] == 1 else img[-3:].transpose(1, 2, 0), cmap="gray", vmin=0, vmax=255)
            if j == 0:
                ax.set_ylabel(lab, fontsize=8)
    fig.tight_layout()
    path = Path(path)
    atomic_write(path, lambda fh: fig.savefig(fh, format="png"))
    return path


def run_latent_loop(config: LatentLoopConfig, *, out_dir=None, progress: bool = True,
                    callback: Callable[[dict], None] | None = None,
                    stop_when: Callable[[list], bool] | None = None) -> LatentLoopResult:
    """Run the latent-model loop (Algorithm 26 with PlaNet's data collection).

    Parameters
    ----------
    config : LatentLoopConfig
    out_dir : path, optional
        Checkpoint directory; an existing checkpoint of the same config is resumed.
    progress : bool
        tqdm bars (quiet off a terminal).
    callback : callable(row), optional
        Called after every episode (after its checkpoint).
    stop_when : callable(rows) -> bool, optional
        Checked before every episode with the rows so far; True ends the run (e.g. a time budget).

    Returns
    -------
    LatentLoopResult
        Rows: ``episode``, ``phase``, ``test`` (no exploration noise, see ``test_every``), ``exploration_noise``
        (of an MPC episode), ``return``, ``steps`` (decisions), ``n_data`` (transitions),
        ``fit_status``, ``loss``/``recon``/``reward_loss``/``kl`` (means over the refit's last 10
        updates), ``train_s``, ``update_ms``, ``plan_ms_median``, ``recon_mse``, ``pred_mse``,
        ``copy_mse``, ``wall_s``, ``cpu_s`` (process CPU seconds of the episode, refit included), ``train_cpu_s``;
        with an episode of at least ``horizon`` decisions, ``reward_sum_err_open`` / ``reward_sum_bias_open`` /
        ``reward_sum_err_filtered``: median absolute error / mean error of the learned reward summed over
        ``horizon`` decisions of the episode's actions, open loop and filtered
        (:func:`~planlab.dynamics.latent.reward_sum_errors`; the model had not trained on this episode).
    """
    from ..planners import MPC, make_planner, planner_class

    if not isinstance(config, LatentLoopConfig):
        raise TypeError(f"config: expected a LatentLoopConfig, got {type(config).__name__}")
    planner_class(config.planner)
    env = make_pixel_env(config)
    space = env.action_space
    if space.shape is None or len(space.shape) != 1:
        raise ValueError(f"env_id: expected a Box action space, got {space}")
    lo, hi = np.asarray(space.low, dtype=np.float64), np.asarray(space.high, dtype=np.float64)
    C, S, nu = env.observation_space.shape[0], config.image_size, space.shape[0]
    mcfg = dataclasses.replace(config.model, image_size=S, channels=C, action_dim=nu)
    dt = getattr(env.unwrapped, "dt", None) or getattr(getattr(env.unwrapped, "dynamics", None), "dt", 0.05)
    out = Path(out_dir) if out_dir is not None else None
    cfg_dict = config.to_dict()
    rows, model, data, opt_state = [], None, None, None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        prog = out / "progress.json"
        if prog.exists():
            saved = json.loads(prog.read_text())
            if saved.get("config") != cfg_dict:
                raise ValueError(f"out_dir: {out} holds a run of another configuration; use a new directory")
            rows = saved["rows"]
            model = lat.LatentDynamics.load(out / saved["model"])
            data = lat.EpisodeBuffer.load(out / saved["data"])
            if saved.get("optimizer"):
                import torch

                opt_state = torch.load(out / saved["optimizer"], map_location="cpu", weights_only=True)
    resumed_from = len(rows)
    if model is None:
        model = lat.LatentDynamics(mcfg, lo, hi, float(dt) * config.action_repeat, seed=_seed(config.seed, 1),
                               threads=config.threads)
    if data is None:
        data = lat.EpisodeBuffer(C, S, nu)
    optimizer = lat.make_optimizer(model, config.train) if config.keep_optimizer else None
    if optimizer is not None and opt_state is not None:
        optimizer.load_state_dict(opt_state)
    total = config.random_episodes + config.episodes
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=len(rows), unit="episode", desc=f"latent {config.env_id}",
                   disable=not sys.stderr.isatty())
    try:
        for ep in range(len(rows), total):
            if stop_when is not None and rows and stop_when(rows):
                break
            t_ep, c_ep = time.perf_counter(), time.process_time()
            phase = "random" if ep < config.random_episodes else "mpc"
            test = phase == "mpc" and config.test_every > 0 and (ep - config.random_episodes + 1) % config.test_every == 0
            noise = 0.0 if test else config.exploration_noise
            fit_res, train_s, train_cpu_s = None, 0.0, 0.0
            if phase == "mpc":
                t0, c0 = time.perf_counter(), time.process_time()
                fit_res = lat.fit_latent(model, data, dataclasses.replace(config.train, progress=config.train.progress
                                                                      and progress), seed=_seed(config.seed, 3, ep),
                                         optimizer=optimizer)
                train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
            rng = np.random.default_rng(_seed(config.seed, 2, ep))
            mpc = None
            if phase == "mpc":
                planner = make_planner(config.planner, model, model.reward_cost(), horizon=config.horizon,
                                       seed=_seed(config.seed, 4, ep), **config.planner_options)
                mpc = MPC(planner)
            obs, _ = env.reset(seed=_seed(config.seed, 5, ep))
            model.reset_filter()
            frames, actions, rewards = [obs], [], []
            x = model.observe(obs) if mpc is not None else None
            while True:
                if mpc is None:
                    u = rng.uniform(lo, hi)
                else:
                    u = mpc.act(x)
                    if noise > 0:
                        u = np.clip(u + noise * 0.5 * (hi - lo) * rng.standard_normal(nu), lo, hi)
                obs, r, terminated, truncated, _ = env.step(u.astype(space.dtype))
                frames.append(obs)
                actions.append(u)
                rewards.append(float(r))
                if mpc is not None:
                    x = model.observe(obs, u)
                if terminated or truncated:
                    break
            F, A = np.stack(frames), np.array(actions)
            data.add_episode(F, A, np.array(rewards))
            row = {"episode": ep, "phase": phase, "test": test, "exploration_noise": noise if phase == "mpc" else None,
                   "return": float(np.sum(rewards)), "steps": len(actions),
                   "n_data": len(data), "fit_status": fit_res.status if fit_res else None, "train_s": train_s,
                   "train_cpu_s": train_cpu_s}
            if fit_res is not None and fit_res.history:
                for key, name in (("loss", "loss"), ("recon", "recon"), ("reward", "reward_loss"), ("kl", "kl")):
                    if key in fit_res.history[-1]:
                        row[name] = fit_res.mean(key, last=10)
                row["update_ms"] = 1e3 * train_s / len(fit_res.history)
            row["plan_ms_median"] = float(np.median(mpc.plan_times) * 1e3) if mpc is not None else None
            if phase == "mpc":
                errs = prediction_errors(model, F, A, config.prediction_steps)
                row.update({k: errs[k] for k in ("recon_mse", "pred_mse", "copy_mse")})
                if len(A) >= config.horizon:  # the planner's sums on this (new, unseen in training) episode
                    rs = lat.reward_sum_errors(model, F, A, np.array(rewards), config.horizon)
                    row.update({"reward_sum_err_open": rs["open_median_abs"], "reward_sum_bias_open": rs["open_bias"],
                                "reward_sum_err_filtered": rs["filtered_median_abs"]})
            row["wall_s"] = time.perf_counter() - t_ep
            row["cpu_s"] = time.process_time() - c_ep
            rows.append(row)
            if out is not None:
                if phase == "mpc":
                    save_strip(out / f"strip-ep{ep:04d}.png", [errs["true"], errs["recon"], errs["pred"]],
                               ["true", "reconstructed", f"open loop ({len(errs['pred'])})"])
                _checkpoint(out, ep, model, data, rows, cfg_dict, optimizer)
            if callback is not None:
                callback(row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(ret=f"{row['return']:.1f}")
    finally:
        if bar is not None:
            bar.close()
        env.close()
    return LatentLoopResult(rows, model, data, resumed_from)


def _checkpoint(out: Path, ep: int, model: lat.LatentDynamics, data: lat.EpisodeBuffer, rows, cfg_dict,
                optimizer=None) -> None:
    """This episode's model, optimiser state and data, then ``progress.json`` (the commit point), then
    drop older files."""
    model_name, data_name = f"model-ep{ep:04d}.pt", f"data-ep{ep:04d}.npz"
    model.save(out / model_name)
    data.save(out / data_name)
    progress = {"config": cfg_dict, "rows": rows, "model": model_name, "data": data_name}
    if optimizer is not None:
        import torch

        progress["optimizer"] = f"optim-ep{ep:04d}.pt"
        atomic_write(out / progress["optimizer"], lambda f: torch.save(optimizer.state_dict(), f))
    atomic_write(out / "progress.json", lambda f: json.dump(progress, f, indent=1), text=True)
    keep = (f"model-ep{ep:04d}.", f"data-ep{ep:04d}.", f"optim-ep{ep:04d}.")
    for p in out.iterdir():
        if p.name.startswith(("model-ep", "data-ep", "optim-ep")) and not p.name.startswith(keep):
            p.unlink(missing_ok=True)
