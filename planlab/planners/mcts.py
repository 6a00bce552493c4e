r"""UCT Monte Carlo tree search (reference notes, section "Monte Carlo tree search", Algorithm 22).

Every simulation runs the TreePolicy from the root: at each state node it takes the action with the
best UCT score (5.2.7),

.. math::

    \operatorname{Score}(s_{t+1}) = \frac{Q(s_t, a)}{N(s_t, a)}
        + 2 C \sqrt{\frac{2 \ln N(s_t)}{N(s_t, a)}},

trying every legal action once first, until it adds one new state node (the leaf). The
DefaultPolicy then evaluates the leaf (random rollouts by default, a :class:`~planlab.core.Policy`,
or a value function), and the return is backed up the path: every edge ``(s, a)`` accumulates
``r + gamma V(s')`` — the reward of the transition *into* the child plus its discounted value.
Rewards are negated costs (:class:`~planlab.core.Cost` is minimised; UCT maximises ``-cost``).

The tree lives in preallocated arrays (:mod:`planlab.planners.uct_tree`). For an analytic system
with a source cost the whole search — selection, expansion, rollouts and backups — runs in one
generated numba kernel (:mod:`planlab.planners.uct_kernels`); any other model, policy or value
function runs the same tree code driven from Python.

Models
------
* Deterministic: a state node per action sequence; each transition is computed once and cached.
* Stochastic, ``stochastic="closed_loop"`` (default): each pass through ``(s, a)`` samples a next
  state; equal states share a node (exact for discrete state spaces such as the gridworld), at most
  ``max_outcomes`` outcomes per edge, after which existing outcomes are re-drawn by their counts.
* Stochastic, ``stochastic="open_loop"``: nodes are action sequences, states are re-sampled along
  the path in every simulation.
* Continuous actions: progressive widening — a state node with ``N`` visits has at most
  ``ceil(k (N + 1)^alpha)`` children, new ones drawn uniformly from the action box.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Callable

import numpy as np

from ..core.contracts import STATUS_FAILED, STATUS_OK, Cost, Dynamics, Plan, Planner, Policy
from ..core.cost import SourceCost
from ..core.seeding import SeedLike
from ..core.validation import check_in, check_nonnegative, check_positive, check_positive_int
from . import uct_tree as T
from .uct_tree import NONE, Tree

__all__ = ["UCT"]

_MODES = {"deterministic": 0, "closed_loop": 1, "open_loop": 2}


class UCT(Planner):
    r"""UCT Monte Carlo tree search for discrete (or, with progressive widening, continuous) actions.

    Algorithm 22 of the reference notes with the UCT TreePolicy (5.2.7).

    Parameters
    ----------
    dynamics : Dynamics
        Discrete-action model (``n_actions`` set), or continuous with ``progressive_widening``.
    cost : Cost
        Minimised; the search maximises the reward ``-cost``.
    horizon : int
        Every simulation covers at most ``horizon`` steps from the root (tree part plus rollout);
        the returned plan has ``horizon`` actions.
    simulations : int
        Simulation budget per :meth:`plan` call (ignored when ``time_budget`` is given).
    time_budget : float, optional
        Seconds of search per call instead of a simulation count (not reproducible across runs).
    exploration : float
        ``C`` in (5.2.7), >= 0. With ``normalize`` the values are scaled to ``[0, 1]`` and
        ``C = 0.5`` gives UCB1.
    discount : float
        ``gamma`` in ``(0, 1]``.
    rollout_horizon : int, optional
        Maximum steps of a DefaultPolicy rollout (default: up to the horizon).
    max_depth : int, optional
        Depth limit of the tree (default: the horizon).
    normalize : bool
        Min-max normalise the action values over the tree inside the score.
    value_backup : {"mean", "bellman"}
        A node's value: the mean return through it (classic UCT; the plan follows the most-visited
        children), or — deterministic models only — the Bellman backup ``max_a r + gamma V(s')``
        over its visited children (leaves: the mean of their rollouts; the plan follows the
        children of highest value).
    transpositions : bool
        Deterministic models: action sequences that reach the same state (exactly) at the same
        depth share one state node (a DAG instead of a tree; decisive on discrete state spaces such
        as the chain). An edge's value is ``r + gamma V(s')`` from the shared node, and a node's
        value is refreshed on every backup through it from its children's *current* values (the
        UCT3 update of Childs, Brodeur & Kocsis 2008, "Transpositions and move groups in Monte
        Carlo tree search"; see :func:`planlab.planners.uct_tree.node_value`), so what a shared
        node learns through one parent reaches the others. On a tree this is the mean return.
    stochastic : {"closed_loop", "open_loop"}
        How stochastic models are searched (see the module docstring).
    max_outcomes : int
        Closed loop: most outcome nodes per edge.
    action_mask : array_like of bool (n_actions,) or callable ``x -> (n_actions,) bool``, optional
        Legal actions, applied at every node and in rollouts. A callable is evaluated per state
        (Python search path).
    rollout_policy : Policy, optional
        DefaultPolicy for rollouts instead of uniformly random legal actions.
    leaf_value : callable ``x (nx,) -> float``, optional
        Leaf evaluator instead of rollouts: an estimate of the discounted return (``-cost-to-go``).
    progressive_widening : (k, alpha), optional
        Continuous actions: ``k > 0``, ``0 < alpha < 1``.
    reuse_tree : bool
        Keep the subtree below the executed action between calls (the first action of the
        previous plan; used when the new ``x0`` matches a stored outcome within
        ``reuse_rtol``/``reuse_atol``).
    backend : {"auto", "numba", "python"}
        ``auto`` compiles the whole search when the model is an analytic system with a source cost
        and no Python callables are involved.
    seed : int, Generator or None

    Notes
    -----
    ``plan`` returns the most-visited path (padded with its last action) and, in ``diagnostics``,
    the root's visit counts ``root_visits`` and mean values ``root_q`` (NaN where unvisited) — the
    targets for training a policy.

    Examples
    --------
    >>> import numpy as np
    >>> from planlab.envs.models import model_for
    >>> dyn, cost = model_for("CartPole-v1")
    >>> uct = UCT(dyn, cost, horizon=50, simulations=100, seed=0)
    >>> plan = uct.plan(np.array([0.0, 0.0, 0.05, 0.0]))
    >>> int(plan.diagnostics["root_visits"].sum())
    100
    """

    name = "uct"
    cli_options = ("simulations", "exploration", "discount")

    def __init__(self, dynamics: Dynamics, cost: Cost, horizon: int = 50, *, simulations: int = 200,
                 time_budget: float | None = None, exploration: float = 0.5, discount: float = 0.99,
                 rollout_horizon: int | None = None, max_depth: int | None = None, normalize: bool = True,
                 value_backup: str = "mean", transpositions: bool = True,
                 stochastic: str = "closed_loop", max_outcomes: int = 32, action_mask=None,
                 rollout_policy: Policy | None = None, leaf_value: Callable | None = None,
                 progressive_widening: tuple[float, float] | None = None, reuse_tree: bool = True,
                 reuse_rtol: float = 1e-6, reuse_atol: float = 1e-8, backend: str = "auto",
                 seed: SeedLike = None):
        super().__init__(dynamics, cost, horizon, seed=seed)
        self.simulations = check_positive_int("simulations", simulations)
        self.time_budget = None if time_budget is None else check_positive("time_budget", time_budget)
        self.exploration = check_nonnegative("exploration", exploration)
        self.discount = check_positive("discount", discount)
        if self.discount > 1.0:
            raise ValueError(f"discount: expected a number in (0, 1], got {discount!r}")
        self.rollout_horizon = horizon if rollout_horizon is None else check_positive_int(
            "rollout_horizon", rollout_horizon, minimum=0)
        self.max_depth = self.horizon if max_depth is None else check_positive_int("max_depth", max_depth)
        if self.max_depth > self.horizon:
            raise ValueError(f"max_depth: expected at most the horizon ({self.horizon}), got {max_depth}")
        self.normalize = bool(normalize)
        check_in("value_backup", value_backup, {"mean", "bellman"})
        if value_backup == "bellman" and dynamics.stochastic:
            raise ValueError("value_backup: expected 'mean' for a stochastic model ('bellman' needs a deterministic "
                             "one), got 'bellman'")
        self.value_backup = value_backup
        self._use_max = value_backup == "bellman"
        self.transpositions = bool(transpositions)
        self._trans = self.transpositions and not dynamics.stochastic
        self._from_child = self._trans or self._use_max
        self._vmode = 1 if self._use_max else (2 if self._trans else 0)
        check_in("stochastic", stochastic, {"closed_loop", "open_loop"})
        self.stochastic = stochastic
        self.max_outcomes = check_positive_int("max_outcomes", max_outcomes)
        check_in("backend", backend, {"auto", "numba", "python"})
        if rollout_policy is not None and not isinstance(rollout_policy, Policy):
            raise TypeError(f"rollout_policy: expected a planlab Policy, got {type(rollout_policy).__name__}")
        if leaf_value is not None and not callable(leaf_value):
            raise TypeError(f"leaf_value: expected a callable x -> float, got {type(leaf_value).__name__}")
        self.rollout_policy = rollout_policy
        self.leaf_value = leaf_value
        self.reuse_tree = bool(reuse_tree)
        self.reuse_rtol = check_nonnegative("reuse_rtol", reuse_rtol)
        self.reuse_atol = check_nonnegative("reuse_atol", reuse_atol)

        d = dynamics
        if d.is_discrete:
            if progressive_widening is not None:
                raise ValueError("progressive_widening: expected None for a discrete-action model "
                                 f"(n_actions={d.n_actions}), got {progressive_widening!r}")
            self.pw = (0.0, 0.0)
        else:
            if progressive_widening is None:
                raise ValueError(
                    f"dynamics: plain UCT needs a discrete action space (n_actions set), got a continuous box "
                    f"of dimension {d.action_dim}; pass progressive_widening=(k, alpha) for continuous actions")
            try:
                k, alpha = (float(v) for v in progressive_widening)
            except (TypeError, ValueError):
                raise ValueError(f"progressive_widening: expected a pair (k, alpha), got {progressive_widening!r}") from None
            if not (k > 0 and 0 < alpha < 1):
                raise ValueError(f"progressive_widening: expected k > 0 and 0 < alpha < 1, got ({k}, {alpha})")
            if action_mask is not None:
                raise ValueError("action_mask: expected None for continuous actions (masks index discrete actions)")
            self.pw = (k, alpha)
        self.n_act = d.n_actions if d.is_discrete else 0

        self._mask_fn = None
        self.action_mask = None
        if callable(action_mask):
            self._mask_fn = action_mask
        elif action_mask is not None:
            m = np.asarray(action_mask)
            if m.shape != (self.n_act,) or m.dtype != np.bool_:
                raise ValueError(f"action_mask: expected a bool array of shape ({self.n_act},) or a callable, "
                                 f"got {m.dtype} array of shape {m.shape}")
            if not m.any():
                raise ValueError("action_mask: expected at least one legal action, got none")
            self.action_mask = m.copy()
        self._static_legal = self.action_mask if self.action_mask is not None else np.ones(max(self.n_act, 1), bool)

        self.mode = _MODES["deterministic"] if not d.stochastic else _MODES[stochastic]
        self.noise_dim = int(getattr(d, "noise_dim", 0))
        self._kernel = None
        self._roll = None
        self.backend = self._choose_backend(backend)
        self._tree: Tree | None = None  # the last search (kept for reuse and inspection)
        self._pool: list[Tree] = []  # at most two preallocated trees, reused across calls
        self._executed: int = NONE
        # preallocated, fixed-type buffers for the compiled path (so numba sees one signature)
        self._x0s = np.zeros((1, d.state_dim))
        self._U = np.zeros((1, self.horizon, d.action_dim))
        self._S = np.zeros((1, self.horizon + 1, d.state_dim))
        self._rcost = np.zeros(1)
        self._rterm = np.zeros(1, dtype=np.bool_)
        nw = d.action_dim + self.noise_dim
        self._wf = np.zeros(4 * d.state_dim + 2 * nw + self.max_depth + 1)  # search kernel scratch
        self._wi = np.zeros(2 * (self.max_depth + 1) + len(self._static_legal), dtype=np.int64)

    # ------------------------------------------------------------------ setup
    def _choose_backend(self, backend: str) -> str:
        from ..dynamics.analytic import AnalyticSystem
        from ..dynamics.kernels import numba_enabled

        reasons = []
        d, c = self.dynamics, self.cost
        if not numba_enabled():
            reasons.append("PLANLAB_DISABLE_NUMBA is set")
        if not isinstance(d, AnalyticSystem):
            reasons.append("the dynamics are not an AnalyticSystem")
        if not (isinstance(c, SourceCost) and c.state_dim == d.state_dim and c.action_dim == d.action_dim):
            reasons.append("the cost is not a SourceCost of matching dimensions")
        if self.rollout_policy is not None or self.leaf_value is not None or self._mask_fn is not None:
            reasons.append("a Python rollout_policy, leaf_value or action_mask callable is used")
        if d.stochastic and self.noise_dim < 1:
            reasons.append("the stochastic model declares no noise_dim for compiled sampling")
        kernels = d.kernels(c) if not reasons else None
        if not reasons and kernels is None:
            reasons.append("numba cannot compile the system's or the cost's sources")
        if not reasons:
            from .uct_kernels import get_search_kernel

            try:
                self._kernel = get_search_kernel(type(d).dynamics_source, type(d).termination_source,
                                                 c.running_source, c.terminal_source)
                # the plan's states and cost: the fused kernel d.rollout itself runs, called on fixed
                # buffers without its re-validation -- only where d.rollout is that kernel
                # (deterministic, not overridden; e.g. the gridworld samples its rollouts instead)
                if not d.stochastic and type(d).rollout is AnalyticSystem.rollout:
                    self._roll = kernels.rollout_states
            except ValueError as exc:
                reasons.append(str(exc))
        if reasons:
            if backend == "numba":
                raise ValueError(f"backend: 'numba' is not possible here ({'; '.join(reasons)})")
            return "python"
        return "python" if backend == "python" else "numba"

    def reset(self, seed: SeedLike = None) -> None:
        """Drop the search tree (its arrays are kept for the next search); reseed when ``seed`` is given."""
        super().reset(seed)
        self._tree = None
        self._executed = NONE

    def _buffer(self, avoid: Tree | None = None) -> Tree:
        """A preallocated tree other than ``avoid`` (allocated on first use, grown on demand)."""
        for t in self._pool:
            if t is not avoid:
                return t
        d = self.dynamics
        cap = self.simulations + 2 if self.time_budget is None else 1024
        t = Tree(cap, cap * max(self.n_act, 1), d.state_dim, d.action_dim)
        self._pool.append(t)
        return t

    def _legal(self, x: np.ndarray) -> np.ndarray:
        if self._mask_fn is None:
            return self._static_legal
        m = np.asarray(self._mask_fn(x))
        if m.shape != (self.n_act,) or m.dtype != np.bool_:
            raise ValueError(f"action_mask: expected the callable to return a bool array of shape ({self.n_act},), "
                             f"got {m.dtype} array of shape {m.shape}")
        return m

    # ------------------------------------------------------------------ planning
    def plan(self, x0, warm_start=None) -> Plan:
        """Search from ``x0`` (nx,) and return the most-visited path as a :class:`Plan` (H, nu).

        ``warm_start`` is accepted for the MPC loop and ignored: UCT reuses its tree instead.
        """
        t0 = time.perf_counter()
        x0 = self._check_x0(x0)
        d = self.dynamics
        if self._mask_fn is not None and not self._legal(x0).any():  # a static mask was checked in __init__
            raise ValueError("action_mask: expected at least one legal action in x0, got none")
        self._x0s[0] = x0
        xb = self._x0s[0]  # always the same writable float64 C array: one numba signature
        tree, reused = self._reuse(xb)
        if tree is None:
            tree = self._buffer()
            if self._kernel is not None:
                term = self._kernel.terminal(xb, d.param_vector)
            else:
                term = bool(d.terminated(x0[None])[0])
            tree.new_root(xb, term)
        T.seed(int(self.rng.integers(2**31 - 1)))
        t_search = time.perf_counter()
        done = self._run(tree, t_search)
        search_s = time.perf_counter() - t_search
        self._tree = tree
        return self._make_plan(tree, x0, done, reused, search_s, t0)

    def _run(self, tree: Tree, t_start: float) -> int:
        if self.time_budget is None:
            self._simulate(tree, self.simulations)
            return self.simulations
        done = 0
        chunk = 8
        while True:
            elapsed = time.perf_counter() - t_start
            if elapsed >= self.time_budget and done > 0:
                return done
            self._simulate(tree, chunk)
            done += chunk
            rate = done / max(time.perf_counter() - t_start, 1e-9)
            remaining = self.time_budget - (time.perf_counter() - t_start)
            chunk = int(min(max(1, 0.5 * remaining * rate), 4 * chunk + 8))

    def _simulate(self, tree: Tree, n: int) -> None:
        tree.ensure(n, n * max(self.n_act, 1))
        if self.backend == "numba":
            d = self.dynamics
            fcfg = np.array([self.discount, self.exploration, self.pw[0], self.pw[1]])
            icfg = np.array([self.horizon, self.max_depth, self.rollout_horizon, self.mode, self.max_outcomes,
                             self.noise_dim, int(self.normalize), int(d.is_discrete), self._vmode,
                             int(self._trans)],
                            dtype=np.int64)
            self._kernel.search(n, 0, *tree.arrays, d.param_vector, self.cost.params, fcfg, icfg,
                                self._static_legal, d.action_low, d.action_high, self._wf, self._wi)
        else:
            for _ in range(n):
                self._simulate_python(tree)

    # ------------------------------------------------------------------ the Python search path
    def _step(self, x, u):
        d = self.dynamics
        if d.stochastic:
            xn = np.asarray(d.step(x[None], u[None], self.rng), dtype=np.float64)[0]
        else:
            xn = np.asarray(d.step(x[None], u[None]), dtype=np.float64)[0]
        r = -float(self.cost.running(x[None], u[None], xn[None])[0])
        term = bool(d.terminated(xn[None])[0])
        ok = math.isfinite(r) and bool(np.all(np.isfinite(xn)))
        return xn, r, term, ok

    def _default_action(self, x) -> np.ndarray:
        d = self.dynamics
        if self.rollout_policy is not None:
            u = np.asarray(self.rollout_policy.act(x), dtype=np.float64).reshape(d.action_dim)
            return d.clip_action(u)
        if d.is_discrete:
            idx = np.flatnonzero(self._legal(x))
            if len(idx) == 0:
                return None
            return np.array([float(idx[self.rng.integers(len(idx))])])
        return self.rng.uniform(d.action_low, d.action_high)

    def _evaluate(self, tree: Tree, x, steps: int) -> float:
        """DefaultPolicy: the leaf value (rollout return minus the discounted terminal cost)."""
        term_cost = lambda z: float(self.cost.terminal(z[None])[0])  # noqa: E731
        if bool(self.dynamics.terminated(x[None])[0]):
            return -term_cost(x)
        if self.leaf_value is not None:
            v = float(self.leaf_value(x))
            if not math.isfinite(v):
                tree.meta[T.M_NONFINITE] += 1
                return 0.0
            return v
        g, disc = 0.0, 1.0
        for _ in range(steps):
            u = self._default_action(x)
            if u is None:
                break
            xn, r, term, ok = self._step(x, u)
            if not ok:
                tree.meta[T.M_NONFINITE] += 1
                return g
            g += disc * r
            disc *= self.discount
            x = xn
            if term:
                break
        return g - disc * term_cost(x)

    def _simulate_python(self, tree: Tree) -> None:
        SI, SC, SF, SX, AI, AF, AU, meta, mf, HT = tree.arrays
        d = self.dynamics
        root = 0
        node = root
        x = SX[root].copy()
        term = SI[root, T.S_TERM] != 0
        depth = 0
        path_a, path_s, rewards = [], [], []
        while True:
            remaining = min(self.rollout_horizon, self.horizon - depth)
            if term or depth >= self.max_depth:
                leaf = self._evaluate(tree, x, remaining)
                break
            if d.is_discrete:
                if SI[node, T.S_FIRST] == NONE:
                    T.expand_discrete(SI, AI, AF, AU, meta, node, self._legal(x))
            elif T.widen(SI, node, self.pw[0], self.pw[1]):
                T.add_action(SI, AI, AF, AU, meta, node, self.rng.uniform(d.action_low, d.action_high), -1)
            if SI[node, T.S_FIRST] == NONE:
                leaf = -float(self.cost.terminal(x[None])[0])
                break
            a = T.select_uct(SI, SF, AI, AF, mf, node, self.exploration, self.normalize, self.discount,
                             self._from_child)
            u = AU[a].copy()
            new = False
            if self.mode == 0:
                s2 = AI[a, T.A_FIRST]
                if s2 == NONE:
                    xn, r, term, ok = self._step(x, u)
                    if not ok:
                        meta[T.M_NONFINITE] += 1
                        xn, r, term = x.copy(), 0.0, True
                    AF[a, 2] = r
                    if self._trans and ok:
                        s2 = T.lookup(SI, SX, HT, np.ascontiguousarray(xn), depth + 1)
                    if s2 == NONE:
                        s2 = T.add_state(SI, SC, SF, SX, AI, meta, xn, r, term, a)
                        if self._trans:
                            T.insert(SI, SX, HT, s2)
                        new = True
                    else:
                        AI[a, T.A_FIRST], AI[a, T.A_NOUT] = s2, 1
                        term = SI[s2, T.S_TERM] != 0
                else:
                    xn, r, term = SX[s2].copy(), AF[a, 2], SI[s2, T.S_TERM] != 0
            else:
                xn, r, term, ok = self._step(x, u)
                if not ok:
                    meta[T.M_NONFINITE] += 1
                    xn, r, term = x.copy(), 0.0, True
                if self.mode == 1:
                    s2 = T.find_outcome(SI, SX, AI, a, xn)
                    if s2 != NONE:
                        SC[s2] += 1
                    elif AI[a, T.A_NOUT] < self.max_outcomes:
                        s2 = T.add_state(SI, SC, SF, SX, AI, meta, xn, r, term, a)
                        new = True
                    else:
                        s2 = T.sample_outcome(SI, SC, AI, a)
                        xn, r, term = SX[s2].copy(), SF[s2, 0], SI[s2, T.S_TERM] != 0
                else:
                    s2 = AI[a, T.A_FIRST]
                    if s2 == NONE:
                        s2 = T.add_state(SI, SC, SF, SX, AI, meta, xn, r, term, a)
                        new = True
            path_a.append(a)
            path_s.append(s2)
            rewards.append(r)
            depth += 1
            x = xn
            node = s2
            if new:
                leaf = self._evaluate(tree, x, min(self.rollout_horizon, self.horizon - depth))
                break
        T.backup(SI, SF, AI, AF, mf, root, np.array(path_a, dtype=np.int64), np.array(path_s, dtype=np.int64),
                 np.array(rewards, dtype=np.float64), len(path_a), float(leaf), self.discount, self._vmode)

    # ------------------------------------------------------------------ tree reuse
    def _reuse(self, x0):
        """The kept subtree whose root matches ``x0`` (and the visits it brings), or ``(None, 0)``."""
        old, a = self._tree, self._executed
        self._tree, self._executed = None, NONE
        if not self.reuse_tree or old is None or a == NONE:
            return None, 0
        SI, SX, AI = old.SI, old.SX, old.AI
        s = AI[a, T.A_FIRST]
        match = NONE
        while s != NONE:
            if self.mode == 2 or np.all(np.abs(SX[s] - x0) <= self.reuse_atol + self.reuse_rtol * np.abs(x0)):
                match = s
                break
            s = SI[s, T.S_NEXT]
        if match == NONE or SI[match, T.S_TERM] or SI[match, T.S_VISITS] == 0:
            return None, 0
        tree = old.compact_into(match, self._buffer(avoid=old))
        tree.SX[0] = x0
        return tree, int(tree.AI[tree.root_children(0), T.A_VISITS].sum())

    # ------------------------------------------------------------------ the plan
    def _make_plan(self, tree: Tree, x0, done: int, reused: int, search_s: float, t0: float) -> Plan:
        d = self.dynamics
        SI, SF, AI, AF, AU = tree.SI, tree.SF, tree.AI, tree.AF, tree.AU
        gamma, fc = self.discount, self._from_child
        U = self._U  # (1, H, nu); Plan copies it
        A = U[0]
        k, first = T.best_path(SI, tree.SC, SF, AI, AF, AU, gamma, fc, self._use_max, A)
        if k == 0:  # terminal root, or no simulation passed a child
            if d.is_discrete:
                A[:] = float(np.flatnonzero(self._legal(x0))[0])
            else:
                A[:] = d.clip_action(0.5 * (d.action_low + d.action_high))
        self._executed = first
        if self._roll is not None:  # the kernel d.rollout runs, on preallocated buffers
            self._roll(self._x0s, U, d.param_vector, self.cost.params, self._S, self._rcost, self._rterm)
            states, cost = self._S[0], float(self._rcost[0])
        else:
            roll = d.rollout(x0, U, self.cost, rng=self.rng)
            states, cost = roll.states[0], float(roll.costs[0])

        if d.is_discrete:
            rv = np.zeros(self.n_act, dtype=np.int64)
            rq = np.full(self.n_act, np.nan)
            rm = np.full(self.n_act, np.nan)
            total = T.root_stats(SI, SF, AI, AF, gamma, fc, rv, rq, rm)
        else:
            kids = tree.root_children(0)
            visits = AI[kids, T.A_VISITS]
            total = int(visits.sum())
            rq = np.array([T.edge_value(SI, SF, AI, AF, a, gamma, fc) if AI[a, T.A_VISITS] > 0 else np.nan
                           for a in kids])
            rm = np.where(visits > 0, AF[kids, 1], np.nan)
            rv = visits.astype(np.int64)
        nonfinite = int(tree.meta[T.M_NONFINITE])
        diag = {
            "simulations": done,
            "reused_visits": reused,
            "root_total_visits": int(total),
            "root_visits": rv,
            "root_q": rq,
            "root_best_return": rm,
            "tree_states": int(tree.meta[T.M_NS]),
            "tree_actions": int(tree.meta[T.M_NA]),
            "backend": self.backend,
            "search_time_s": search_s,
            "sims_per_s": done / max(search_s, 1e-12),
            "nonfinite_transitions": nonfinite,
        }
        if not d.is_discrete:
            diag["root_actions"] = AU[kids].copy()
        status = STATUS_OK
        if nonfinite:
            warnings.warn(f"UCT: {nonfinite} model transitions gave non-finite states or costs; they were treated "
                          "as terminal", RuntimeWarning, stacklevel=3)
            if not np.any(np.isfinite(rq)):
                status = STATUS_FAILED
        if not math.isfinite(cost):
            status = STATUS_FAILED
            cost = math.inf
        diag["plan_time_s"] = time.perf_counter() - t0
        return Plan(A, states, cost, status, diag)
