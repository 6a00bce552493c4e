r"""Policy distillation: one student network from one or several teachers (Rusu et al. 2016).

Teachers are any planlab :class:`~planlab.core.Policy` — a trained network, a GPS policy, or a planner in
an :class:`~planlab.planners.MPC` loop (UCT, iLQR, CEM...). The student sees the states the teacher
(or, with DAgger, the student itself) visits and is trained towards the teacher's targets:

* discrete actions — the teacher's softened distribution ``softmax(z / τ)`` from its logits, or from
  UCT's root visit counts ``N^{1/τ}``, matched by ``KL(target ‖ student)``; as ``τ → 0`` the target is
  the teacher's argmax and the loss is the cross-entropy on it; a teacher that only acts gives that
  one-hot target;
* continuous actions — the teacher's action (its mean) by regression weighted by the teacher's precision
  ``Σ⁻¹`` when it has one (a Gaussian KL with the covariance fixed, as in guided policy search), else
  unweighted;
* several tasks — one student, the task's one-hot code appended to the observation;
* DAgger (Ross, Gordon & Bagnell 2011) — after the first round on teacher trajectories, the student
  drives and the teacher relabels the states it visits; the data are aggregated.

References: A. A. Rusu et al., "Policy distillation", ICLR 2016. S. Ross, G. Gordon & D. Bagnell,
"A reduction of imitation learning and structured prediction to no-regret online learning", AISTATS 2011.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from tqdm.auto import tqdm

from ..core.planning import Policy
from ..core.validation import as_float_array, check_positive, check_positive_int
from .fast_mlp import FastMLP
from .gps.global_policy import GaussianMLPPolicy, GlobalPolicyConfig
from .networks import load_blob, mlp, save_blob

__all__ = ["PlannerTeacher", "DistillConfig", "soft_targets_from_logits", "soft_targets_from_visits", "distillation_loss",
           "gaussian_kl", "CategoricalStudent", "Distiller", "teacher_targets"]


@dataclass(frozen=True)
class DistillConfig:
    """Settings of :class:`Distiller`.

    Attributes
    ----------
    temperature : float
        ``τ`` of the softened discrete targets (small = sharp).
    dagger_iterations : int
        Rounds after the first in which the student drives and the teacher relabels (0 = plain distillation).
    episodes : int
        Episodes collected per task per round.
    max_steps : int
        Step limit of a collected episode.
    hidden, activation, epochs, batch_size, lr : student network and training
    seed : int
    """

    temperature: float = 1.0
    dagger_iterations: int = 0
    episodes: int = 4
    max_steps: int = 500
    hidden: tuple = (64, 64)
    activation: str = "tanh"
    epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0

    def __post_init__(self):
        check_positive("temperature", self.temperature)
        check_positive_int("episodes", self.episodes)
        check_positive_int("max_steps", self.max_steps)
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive("lr", self.lr)
        if self.dagger_iterations < 0:
            raise ValueError(f"dagger_iterations: expected an integer >= 0, got {self.dagger_iterations}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))


class PlannerTeacher(Policy):
    """A planner in an MPC loop as a teacher that reads env observations.

    Maps each observation to the model's state (``dynamics.state_from_observation``), runs the MPC
    step and exposes the last :class:`~planlab.core.Plan` (UCT's ``root_visits`` become soft targets).
    """

    def __init__(self, mpc: Policy):
        if not hasattr(mpc, "planner"):
            raise TypeError(f"mpc: expected an MPC loop around a planner, got {type(mpc).__name__}")
        self.mpc = mpc
        self.dynamics = mpc.planner.dynamics

    @property
    def last_plan(self):
        return self.mpc.last_plan

    def act(self, obs):
        return self.mpc.act(self.dynamics.state_from_observation(np.asarray(obs)))

    def reset(self) -> None:
        self.mpc.reset()


# ---------------------------------------------------------------------------------- targets and losses
def soft_targets_from_logits(logits, temperature: float) -> np.ndarray:
    """``softmax(logits / τ)``: (..., A) -> (..., A)."""
    z = as_float_array("logits", logits) / check_positive("temperature", temperature)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def soft_targets_from_visits(visits, temperature: float) -> np.ndarray:
    """UCT root visit counts ``N`` (..., A) -> ``N^{1/τ} / Σ N^{1/τ}`` (unvisited actions get 0)."""
    N = as_float_array("visits", visits)
    if np.any(N < 0) or np.any(N.sum(axis=-1) <= 0):
        raise ValueError("visits: expected non-negative counts with a positive total per row")
    tau = check_positive("temperature", temperature)
    pos = N > 0
    z = np.where(pos, np.log(np.where(pos, N, 1.0)) / tau, -np.inf)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.where(pos, np.exp(z), 0.0)
    return p / p.sum(axis=-1, keepdims=True)


def distillation_loss(student_logits: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    """``mean_i KL(target_i ‖ softmax(student_i))`` (Rusu et al. 2016, the KL form); (N, A), (N, A) -> scalar."""
    logq = F.log_softmax(student_logits, dim=-1)
    p = target_probs
    plogp = torch.where(p > 0, p * torch.log(torch.clamp(p, min=1e-300)), torch.zeros_like(p))
    return (plogp - p * logq).sum(dim=-1).mean()


def gaussian_kl(mu_p, cov_p, mu_q, cov_q) -> np.ndarray:
    """``KL(N(mu_p, cov_p) ‖ N(mu_q, cov_q))`` for batches: mu (..., n), cov (..., n, n) -> (...)."""
    mu_p, mu_q = as_float_array("mu_p", mu_p), as_float_array("mu_q", mu_q)
    cov_p, cov_q = as_float_array("cov_p", cov_p), as_float_array("cov_q", cov_q)
    n = mu_p.shape[-1]
    Pq = np.linalg.inv(cov_q)
    d = mu_q - mu_p
    _, ldq = np.linalg.slogdet(cov_q)
    _, ldp = np.linalg.slogdet(cov_p)
    return 0.5 * (np.einsum("...ij,...ji->...", Pq, cov_p) - n + ldq - ldp + np.einsum("...i,...ij,...j->...", d, Pq, d))


def teacher_targets(teacher: Policy, obs: np.ndarray, n_actions: int | None, temperature: float):
    """Ask ``teacher`` about one observation; returns ``(action, target)``.

    Discrete (``n_actions`` given): the target is a distribution (A,) — from ``teacher.logits(obs)`` if
    it has that method, else from the root visits of an MPC loop's last plan (``root_visits``), else the
    one-hot of the action. Continuous: the target is ``(mean (nu,), precision (nu, nu))`` — the precision
    is ``inv(teacher.cov)`` when the teacher has a covariance, else the identity.
    """
    action = np.asarray(teacher.act(obs))
    if n_actions is None:
        u = action.astype(np.float64).reshape(-1)
        cov = getattr(teacher, "cov", None)
        prec = np.eye(len(u)) if cov is None or np.ndim(cov) != 2 else np.linalg.inv(cov)
        return u, (u, prec)
    a = int(np.asarray(action).reshape(-1)[0])
    if hasattr(teacher, "logits"):
        return a, soft_targets_from_logits(teacher.logits(obs), temperature)
    plan = getattr(teacher, "last_plan", None)
    visits = None if plan is None else plan.diagnostics.get("root_visits")
    if visits is not None and np.sum(visits) > 0 and len(visits) == n_actions:
        return a, soft_targets_from_visits(visits, temperature)
    onehot = np.zeros(n_actions)
    onehot[a] = 1.0
    return a, onehot


# ---------------------------------------------------------------------------------- students
class CategoricalStudent(Policy):
    """A discrete-action MLP student: torch for training, :class:`~planlab.policies.fast_mlp.FastMLP` to act.

    ``act(obs)`` returns the argmax action (int for one observation, (N,) ints for a batch).
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden=(64, 64), activation: str = "tanh", seed: int = 0):
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.n_actions = check_positive_int("n_actions", n_actions)
        self.hidden, self.activation = tuple(hidden), activation
        torch.manual_seed(seed)
        self.net = mlp(obs_dim, n_actions, self.hidden, activation).double()
        self.obs_mean, self.obs_std = np.zeros(obs_dim), np.ones(obs_dim)
        self.fitted = False
        self._export()

    def _export(self):
        lin = [m for m in self.net if isinstance(m, torch.nn.Linear)]
        Ws = [m.weight.detach().numpy().astype(np.float64).copy() for m in lin]
        bs = [m.bias.detach().numpy().astype(np.float64).copy() for m in lin]
        bs[0] = bs[0] - Ws[0] @ (self.obs_mean / self.obs_std)
        Ws[0] = Ws[0] / self.obs_std
        self.fast = FastMLP(Ws, bs, self.activation, self.obs_dim)

    def logits(self, obs) -> np.ndarray:
        """(..., obs_dim) -> (..., A), numpy."""
        return self.fast.forward(as_float_array("obs", obs))

    def act(self, obs):
        x = as_float_array("obs", obs)
        if x.shape[-1] != self.obs_dim:
            raise ValueError(f"obs: expected shape (..., {self.obs_dim}), got {x.shape}")
        if x.ndim == 1:
            return int(np.argmax(self.fast(x)))
        return np.argmax(self.logits(x), axis=-1)

    def fit(self, obs, targets, *, epochs: int, lr: float, batch_size: int, seed: int) -> list[float]:
        """Minimise :func:`distillation_loss` on ``obs`` (N, obs_dim) and target distributions (N, A)."""
        X = as_float_array("obs", obs, ndim=2)
        P = as_float_array("targets", targets, shape=(len(X), self.n_actions))
        if not self.fitted:
            self.obs_mean, self.obs_std = X.mean(0), np.maximum(X.std(0), 1e-6)
        Xt = torch.as_tensor((X - self.obs_mean) / self.obs_std)
        Pt = torch.as_tensor(P)
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        losses = []
        for _ in range(epochs):
            perm = torch.randperm(len(X), generator=gen)
            tot = 0.0
            for s in range(0, len(X), batch_size):
                idx = perm[s:s + batch_size]
                loss = distillation_loss(self.net(Xt[idx]), Pt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                tot += float(loss.detach()) * len(idx)
            losses.append(tot / len(X))
        self.fitted = True
        self._export()
        return losses

    def save(self, path) -> Path:
        """Write the weights, input normalisation and architecture to ``path`` (a ``.pt`` file)."""
        blob = {"format": _STUDENT_FORMAT,
                "config": json.dumps({"obs_dim": self.obs_dim, "n_actions": self.n_actions, "hidden": list(self.hidden),
                                      "activation": self.activation, "fitted": self.fitted}),
                "state_dict": self.net.state_dict(), "obs_mean": torch.as_tensor(self.obs_mean),
                "obs_std": torch.as_tensor(self.obs_std)}
        return save_blob(path, blob)

    @classmethod
    def load(cls, path) -> "CategoricalStudent":
        """Read a student written by :meth:`save` (``torch.load(weights_only=True)``: nothing is executed)."""
        blob = load_blob(Path(path), _STUDENT_FORMAT, "CategoricalStudent")
        cfg = json.loads(blob["config"])
        st = cls(cfg["obs_dim"], cfg["n_actions"], cfg["hidden"], cfg["activation"])
        st.net.load_state_dict(blob["state_dict"])
        st.obs_mean, st.obs_std = blob["obs_mean"].numpy().copy(), blob["obs_std"].numpy().copy()
        st.fitted = bool(cfg["fitted"])
        st._export()
        return st


_STUDENT_FORMAT = "planlab.distill.CategoricalStudent/1"


# ---------------------------------------------------------------------------------- the distiller
class Distiller:
    """Distil one or several teachers into one student.

    Parameters
    ----------
    tasks : sequence of (env, teacher)
        gymnasium envs (all with the same observation shape and action space) and the teacher that acts
        in each. The teacher receives the env's observation (wrap an MPC teacher so that it maps
        observations to model states if they differ).
    config : DistillConfig
    task_code : bool, optional
        Append the task's one-hot code to the observation (default: when there is more than one task).

    Raises
    ------
    TypeError
        Envs with different action spaces, or a discrete teacher (categorical targets) paired with a
        continuous student action space.
    """

    def __init__(self, tasks: Sequence, config: DistillConfig = DistillConfig(), *, task_code: bool | None = None):
        if not tasks:
            raise ValueError("tasks: expected at least one (env, teacher) pair, got none")
        self.envs = [e for e, _ in tasks]
        self.teachers = [t for _, t in tasks]
        space = self.envs[0].action_space
        obs_shape = self.envs[0].observation_space.shape
        for j, e in enumerate(self.envs):
            if type(e.action_space) is not type(space) or e.action_space.shape != space.shape or \
                    getattr(e.action_space, "n", None) != getattr(space, "n", None):
                raise TypeError(f"tasks[{j}]: expected the action space {space}, got {e.action_space}")
            if e.observation_space.shape != obs_shape:
                raise TypeError(f"tasks[{j}]: expected observations of shape {obs_shape}, got {e.observation_space.shape}")
        self.discrete = isinstance(space, spaces.Discrete)
        for j, t in enumerate(self.teachers):
            if not isinstance(t, Policy) and not callable(getattr(t, "act", None)):
                raise TypeError(f"tasks[{j}]: expected a teacher with act(obs), got {type(t).__name__}")
            if not self.discrete and hasattr(t, "logits"):
                raise TypeError(f"tasks[{j}]: a discrete teacher (with logits) cannot teach a continuous-action student")
        self.config = config
        self.code = (len(tasks) > 1) if task_code is None else bool(task_code)
        obs_dim = int(np.prod(obs_shape)) + (len(tasks) if self.code else 0)
        if self.discrete:
            self.student = CategoricalStudent(obs_dim, int(space.n), config.hidden, config.activation, config.seed)
        else:
            pcfg = GlobalPolicyConfig(hidden=config.hidden, activation=config.activation, epochs=config.epochs,
                                      batch_size=config.batch_size, lr=config.lr, seed=config.seed)
            self.student = GaussianMLPPolicy(obs_dim, int(np.prod(space.shape)), pcfg, action_low=space.low,
                                             action_high=space.high)
        self.obs, self.targets, self.precisions = [], [], []
        self.history: list[dict] = []

    def _student_obs(self, obs, j):
        o = np.asarray(obs, dtype=np.float64).reshape(-1)
        if not self.code:
            return o
        code = np.zeros(len(self.envs))
        code[j] = 1.0
        return np.concatenate([o, code])

    def _collect(self, j: int, student_drives: bool, seed: int) -> tuple[list[float], list[np.ndarray]]:
        env, teacher, cfg = self.envs[j], self.teachers[j], self.config
        n = None if not self.discrete else env.action_space.n
        returns, finals = [], []
        for e in range(cfg.episodes):
            obs, _ = env.reset(seed=seed + e)
            if hasattr(teacher, "reset"):
                teacher.reset()
            ret = 0.0
            for _ in range(cfg.max_steps):
                a_t, target = teacher_targets(teacher, obs, n, cfg.temperature)
                so = self._student_obs(obs, j)
                self.obs.append(so)
                if self.discrete:
                    self.targets.append(target)
                else:
                    self.targets.append(target[0])
                    self.precisions.append(target[1])
                a = self.student.act(so) if student_drives else a_t
                obs, r, term, trunc, _ = env.step(a)
                ret += float(r)
                if term or trunc:
                    break
            returns.append(ret)
            finals.append(np.asarray(obs, dtype=np.float64).copy())
        return returns, finals

    def _fit(self, round_: int):
        cfg = self.config
        X = np.stack(self.obs)
        if self.discrete:
            return self.student.fit(X, np.stack(self.targets), epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size,
                                    seed=cfg.seed * 1009 + round_)
        return self.student.fit(X, np.stack(self.targets), np.stack(self.precisions), seed=cfg.seed * 1009 + round_)

    def run(self, *, progress: bool | None = None) -> list[dict]:
        """Collect, fit, and (with DAgger) repeat; returns one row per round: ``returns`` and ``final_obs`` (the
        last observation of each episode, to tell how it ended) per task, the data set's size and the fit's loss."""
        import sys

        show = sys.stderr.isatty() if progress is None else bool(progress)
        rounds = 1 + self.config.dagger_iterations
        for r in tqdm(range(rounds), disable=not show, desc="distill"):
            t0 = time.perf_counter()
            got = [self._collect(j, r > 0, self.config.seed * 100_003 + 1000 * r) for j in range(len(self.envs))]
            rets, finals = [g[0] for g in got], [g[1] for g in got]
            losses = self._fit(r)
            self.history.append({"round": r, "driver": "student" if r else "teacher", "returns": rets, "final_obs": finals,
                                 "samples": len(self.obs), "loss": losses[-1], "wall_s": time.perf_counter() - t0})
        return self.history

    def evaluate(self, j: int, seeds: Sequence[int], max_steps: int | None = None, *, final_obs: bool = False):
        """Returns of the student alone (no teacher, no search) in task ``j`` for each reset seed: (len(seeds),);
        with ``final_obs`` also the last observation of each episode (len(seeds), obs_dim), to tell how it ended."""
        env = self.envs[j]
        out, ends = [], []
        for s in seeds:
            obs, _ = env.reset(seed=int(s))
            ret = 0.0
            for _ in range(max_steps or self.config.max_steps):
                obs, rew, term, trunc, _ = env.step(self.student.act(self._student_obs(obs, j)))
                ret += float(rew)
                if term or trunc:
                    break
            out.append(ret)
            ends.append(np.asarray(obs, dtype=np.float64).reshape(-1))
        return (np.array(out), np.stack(ends)) if final_obs else np.array(out)
