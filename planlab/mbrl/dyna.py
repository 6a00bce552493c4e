"""Tabular Dyna-Q (Sutton 1991, "Dyna, an integrated architecture for learning, planning, and reacting";
Sutton & Barto 2018, section 8.2) and plain Q-learning (Watkins & Dayan 1992), over any env with
finitely many states and actions.

Dyna-Q keeps a tabular model ``p_hat(s' | s, a)`` and ``r_hat(s, a, s')`` (transition counts and
mean rewards). After every real step it updates the model, makes an *expected* Q-update with it
(``Q(s,a) += alpha (E_{s',r}[r + gamma max_a' Q(s',a')] - Q(s,a))``) and then ``K`` more
such updates on state-action pairs sampled from the buffer of pairs seen so far.
Q-learning is the model-free baseline: one sampled update per real step.

States are indices ``0 .. n_states - 1``: :func:`tabular_spaces` maps an env's observations to them
(gymnasium ``Discrete`` observation spaces such as ``FrozenLake-v1``, and planlab's
``GridWorld-v0`` whose observation is the cell ``(row, col)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..core.seeding import SeedLike, make_rng
from ..core.validation import check_positive_int, check_probability
from ..dynamics.systems.gridworld import GridWorld

__all__ = ["DynaQ", "QLearning", "TabularModel", "tabular_spaces", "run_tabular", "TabularRun",
           "policy_value", "gym_toy_text_tables"]


class TabularModel:
    """Empirical model: counts ``N[s, a, s']``, mean rewards and termination of observed transitions.

    ``p_hat[s, a]`` (S,) and ``r_hat[s, a]`` (S,) are kept normalised, so an expected update costs
    one max over Q and one dot product.
    """

    def __init__(self, n_states: int, n_actions: int):
        self.counts = np.zeros((n_states, n_actions, n_states))
        self.reward_sum = np.zeros((n_states, n_actions, n_states))
        self.done = np.zeros((n_states, n_actions, n_states), dtype=bool)
        self.p_hat = np.zeros((n_states, n_actions, n_states))
        self.r_hat = np.zeros((n_states, n_actions, n_states))
        self.live = np.ones((n_states, n_actions, n_states))

    def update(self, s: int, a: int, r: float, s_next: int, done: bool) -> None:
        """Count the transition ``(s, a) -> s_next`` with reward ``r`` (and whether it ended the episode)."""
        self.counts[s, a, s_next] += 1.0
        self.reward_sum[s, a, s_next] += r
        self.done[s, a, s_next] |= bool(done)
        n = self.counts[s, a]
        self.p_hat[s, a] = n / n.sum()
        self.r_hat[s, a, s_next] = self.reward_sum[s, a, s_next] / n[s_next]
        self.live[s, a, s_next] = 0.0 if self.done[s, a, s_next] else 1.0

    def expected_target(self, s: int, a: int, Q: np.ndarray, gamma: float) -> float:
        """``E_{s', r ~ model}[r + gamma (1 - done) max_a' Q(s', a')]`` for an observed pair."""
        return float(self.p_hat[s, a] @ (self.r_hat[s, a] + gamma * self.live[s, a] * Q.max(axis=1)))


class QLearning:
    """Tabular Q-learning with epsilon-greedy exploration (the model-free baseline of Dyna-Q).

    Parameters
    ----------
    n_states, n_actions : int
    alpha : float
        Step size in (0, 1].
    gamma : float
        Discount in [0, 1].
    epsilon : float
        Exploration probability.
    seed : int or Generator
    """

    def __init__(self, n_states: int, n_actions: int, *, alpha: float = 0.1, gamma: float = 0.99,
                 epsilon: float = 0.1, seed: SeedLike = None):
        self.n_states = check_positive_int("n_states", n_states)
        self.n_actions = check_positive_int("n_actions", n_actions)
        self.alpha = check_probability("alpha", alpha)
        if self.alpha == 0.0:
            raise ValueError(f"alpha: expected a number in (0, 1], got {alpha!r}")
        self.gamma = check_probability("gamma", gamma)
        self.epsilon = check_probability("epsilon", epsilon)
        self.rng = make_rng(seed)
        self.Q = np.zeros((self.n_states, self.n_actions))

    def act(self, s: int) -> int:
        """Epsilon-greedy action (ties broken at random)."""
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        q = self.Q[s]
        best = np.flatnonzero(q == q.max())
        return int(best[self.rng.integers(best.size)])

    def greedy_policy(self) -> np.ndarray:
        """Greedy action of every state, (n_states,) int."""
        return self.Q.argmax(axis=1)

    def update(self, s: int, a: int, r: float, s_next: int, done: bool) -> None:
        """One sampled update ``Q(s,a) += alpha (r + gamma max Q(s') - Q(s,a))``."""
        target = r + (0.0 if done else self.gamma * self.Q[s_next].max())
        self.Q[s, a] += self.alpha * (target - self.Q[s, a])


class DynaQ(QLearning):
    """Dyna-Q (Sutton 1991): a tabular model plus ``planning_steps`` expected updates per real step.

    Parameters
    ----------
    planning_steps : int
        K, the simulated updates per real step (0 gives a model-based expected update only).
    alpha, gamma, epsilon, seed
        As :class:`QLearning`.

    Examples
    --------
    >>> agent = DynaQ(5, 2, planning_steps=10, seed=0)
    >>> agent.update(0, 1, 1.0, 4, True)
    >>> float(agent.Q[0, 1]) > 0
    True
    """

    def __init__(self, n_states: int, n_actions: int, *, planning_steps: int = 10, alpha: float = 0.1,
                 gamma: float = 0.99, epsilon: float = 0.1, seed: SeedLike = None):
        super().__init__(n_states, n_actions, alpha=alpha, gamma=gamma, epsilon=epsilon, seed=seed)
        self.planning_steps = check_positive_int("planning_steps", planning_steps, minimum=0)
        self.model = TabularModel(self.n_states, self.n_actions)
        self._seen = np.zeros((self.n_states, self.n_actions), dtype=bool)
        self._pairs: list[tuple[int, int]] = []

    def _expected_update(self, s: int, a: int) -> None:
        target = self.model.expected_target(s, a, self.Q, self.gamma)
        self.Q[s, a] += self.alpha * (target - self.Q[s, a])

    def update(self, s: int, a: int, r: float, s_next: int, done: bool) -> None:
        """Model update, direct update and ``K`` planning updates for the real transition ``(s, a, r, s')``."""
        self.model.update(s, a, r, s_next, done)  # step 3
        if not self._seen[s, a]:
            self._seen[s, a] = True
            self._pairs.append((s, a))
        self._expected_update(s, a)  # the expected update of the real pair
        if self.planning_steps:
            picks = self.rng.integers(len(self._pairs), size=self.planning_steps)  # planning: pairs seen so far
            for i in picks:
                self._expected_update(*self._pairs[i])


def tabular_spaces(env) -> tuple[int, int, Callable]:
    """``(n_states, n_actions, index)`` of an env with finitely many states and ``Discrete`` actions.

    ``index(obs) -> int`` maps an observation to a state index: the observation itself for a
    ``Discrete`` observation space, the cell's position in ``free_cells()`` for planlab's gridworld.
    """
    from gymnasium import spaces

    if not isinstance(env.action_space, spaces.Discrete):
        raise ValueError(f"env: expected a Discrete action space, got {env.action_space}")
    n_actions = int(env.action_space.n)
    if isinstance(env.observation_space, spaces.Discrete):
        return int(env.observation_space.n), n_actions, lambda obs: int(obs)
    world = getattr(env.unwrapped, "dynamics", None)
    if isinstance(world, GridWorld):
        cells = world.free_cells()
        lookup = {c: i for i, c in enumerate(cells)}
        return len(cells), n_actions, lambda obs: lookup[(int(round(obs[0])), int(round(obs[1])))]
    raise ValueError(f"env: expected a Discrete observation space or planlab's gridworld, got {env.observation_space}")


def gym_toy_text_tables(env):
    """``(P, R, terminal)`` arrays (S, A, S) from a gymnasium toy-text env's ``P`` dictionary."""
    Pd = env.unwrapped.P
    S, A = len(Pd), len(Pd[0])
    P = np.zeros((S, A, S))
    R = np.zeros((S, A, S))
    terminal = np.zeros(S, dtype=bool)
    for s in range(S):
        for a in range(A):
            for prob, s2, r, done in Pd[s][a]:
                P[s, a, s2] += prob
                R[s, a, s2] = r
                if done:
                    terminal[s2] = True
    for s in np.flatnonzero(terminal):  # absorbing, zero reward
        P[s] = 0.0
        P[s, :, s] = 1.0
        R[s] = 0.0
    return P, R, terminal


def policy_value(P: np.ndarray, R: np.ndarray, terminal: np.ndarray, policy: np.ndarray, gamma: float) -> np.ndarray:
    """Exact value (S,) of a deterministic policy: solve ``(I - gamma P_pi) V = r_pi`` on live states.

    With ``gamma = 1`` a policy that never reaches a terminal state from some state gets ``-inf`` there.
    """
    S = P.shape[0]
    live = ~terminal
    Ppi = P[np.arange(S), policy][np.ix_(live, live)]
    rpi = np.einsum("st,st->s", P[np.arange(S), policy], R[np.arange(S), policy])[live]
    V = np.zeros(S)
    A = np.eye(int(live.sum())) - gamma * Ppi
    if gamma >= 1.0:
        # states from which the policy never terminates make A singular: mark them -inf
        reach = Ppi.sum(axis=1) < 1.0 - 1e-12
        ok = reach.copy()
        for _ in range(len(ok)):
            new = ok | (Ppi[:, ok].sum(axis=1) > 0)
            if np.array_equal(new, ok):
                break
            ok = new
        sub = np.flatnonzero(ok)
        vals = np.full(int(live.sum()), -np.inf)
        if sub.size:
            vals[sub] = np.linalg.solve(A[np.ix_(sub, sub)], rpi[sub])
        V[live] = vals
        return V
    V[live] = np.linalg.solve(A, rpi)
    return V


@dataclass
class TabularRun:
    """Learning curve of a tabular agent.

    Attributes
    ----------
    steps : ndarray (n_evals,)
        Real environment steps at each evaluation.
    values : ndarray (n_evals,)
        ``eval_fn(agent)`` at those steps (e.g. the greedy policy's exact value at the start state).
    episodes : int
    steps_to_target : int or None
        First evaluated step with ``values >= target`` (None if never).
    final_value : float or None
        The last evaluation.
    """

    steps: np.ndarray
    values: np.ndarray
    episodes: int
    steps_to_target: int | None = None
    final_value: float | None = None
    returns: list = field(default_factory=list)


def run_tabular(agent: QLearning, env, total_steps: int, *, eval_fn: Callable[[QLearning], float] | None = None,
                eval_every: int = 50, target: float | None = None, seed: int = 0) -> TabularRun:
    """Run ``agent`` in ``env`` for ``total_steps`` real steps (episodes restart automatically).

    Parameters
    ----------
    agent : QLearning or DynaQ
    env : gymnasium.Env
        Finite states (see :func:`tabular_spaces`) and ``Discrete`` actions.
    eval_fn : callable(agent) -> float, optional
        Evaluated every ``eval_every`` steps (and at step 0).
    target : float, optional
        ``steps_to_target`` is the first evaluation step with ``eval_fn(agent) >= target``.
    seed : int
        Seeds the first ``env.reset``.
    """
    total_steps = check_positive_int("total_steps", total_steps)
    eval_every = check_positive_int("eval_every", eval_every)
    _, _, index = tabular_spaces(env)
    obs, _ = env.reset(seed=seed)
    s = index(obs)
    steps, values, returns = [], [], []
    ret, episodes = 0.0, 0
    if eval_fn is not None:
        steps.append(0)
        values.append(float(eval_fn(agent)))
    for t in range(1, total_steps + 1):
        a = agent.act(s)
        obs, r, terminated, truncated, _ = env.step(a)
        s2 = index(obs)
        agent.update(s, a, float(r), s2, bool(terminated))
        ret += float(r)
        s = s2
        if terminated or truncated:
            episodes += 1
            returns.append(ret)
            ret = 0.0
            obs, _ = env.reset()
            s = index(obs)
        if eval_fn is not None and t % eval_every == 0:
            steps.append(t)
            values.append(float(eval_fn(agent)))
    steps_arr, values_arr = np.array(steps), np.array(values)
    hit = None
    if target is not None and values_arr.size:
        ok = np.flatnonzero(values_arr >= target)
        hit = int(steps_arr[ok[0]]) if ok.size else None
    final = float(values_arr[-1]) if values_arr.size else None
    return TabularRun(steps_arr, values_arr, episodes, hit, final, returns)
