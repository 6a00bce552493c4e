r"""The UCT planner: Monte Carlo tree search with the UCT tree policy (Kocsis & Szepesvári 2006).

Every simulation runs the tree policy from the root — at each state node the action with the best
UCT score

.. math::

    \operatorname{score}(s, a) = \frac{Q(s, a)}{N(s, a)} + 2 C \sqrt{\frac{2 \ln N(s)}{N(s, a)}},

trying every legal action once first — until it adds one new state node (the leaf). The default
policy then evaluates the leaf (random rollouts by default, a :class:`~planlab.core.Policy`, or a
value function), and the return is backed up the path: every edge ``(s, a)`` accumulates
``r + gamma V(s')`` — the reward of the transition *into* the child plus its discounted value
(Browne et al. 2012, "A survey of Monte Carlo tree search methods"). Rewards are negated costs
(:class:`~planlab.core.Cost` is minimised; UCT maximises ``-cost``).

The tree lives in named preallocated arrays (:mod:`.tree`). For a model with compiled sources
(:meth:`~planlab.core.Dynamics.compiled_sources`) the whole search — selection, expansion,
rollouts and backups — runs in one numba kernel (:mod:`.search`, specialised per model); any other
model, policy or value function runs the same loop in Python (:mod:`.python`).

Models
------
* Deterministic: a state node per action sequence; each transition is computed once and cached.
  With ``transpositions`` equal states at equal depth share a node (Childs, Brodeur & Kocsis 2008).
* Stochastic, ``stochastic="closed_loop"`` (default): each pass through ``(s, a)`` samples a next
  state; equal states share a node (exact for discrete state spaces such as the gridworld), at most
  ``max_outcomes`` outcomes per edge, after which existing outcomes are re-drawn by their counts.
* Stochastic, ``stochastic="open_loop"``: nodes are action sequences, states are re-sampled along
  the path in every simulation.
* Continuous actions: progressive widening (Coulom 2007; Couëtoux et al. 2011) — a state node with
  ``N`` visits has at most ``ceil(k (N + 1)^alpha)`` children, new ones drawn uniformly from the box.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Callable

import numpy as np

from planlab.core.contracts import Cost, Dynamics
from planlab.core.planning import STATUS_FAILED, STATUS_OK, Plan, Planner, Policy
from planlab.core.seeding import SeedLike
from planlab.dynamics.compiled import numba_enabled, rollout_kernels
from planlab.planners.mcts import rng
from planlab.planners.mcts.checks import check_mask, check_widening, search_kernel
from planlab.planners.mcts.model import CompiledModel, make_scratch
from planlab.planners.mcts.python import PythonModel, python_search
from planlab.planners.mcts.settings import (
    OUTCOMES_CLOSED_LOOP, OUTCOMES_DETERMINISTIC, OUTCOMES_OPEN_LOOP, VALUE_BELLMAN, VALUE_DAG, VALUE_MEAN,
    SearchSettings, UCTConfig,
)
from planlab.planners.mcts.storage import Tree
from planlab.planners.mcts.tree import (
    A_BEST_RETURN, A_FIRST, A_VISITS, NO_NODE, S_NEXT, S_TERM, S_VISITS,
)
from planlab.planners.mcts.values import best_path, edge_value, root_stats

__all__ = ["UCT"]


class UCT(Planner):
    r"""UCT Monte Carlo tree search for discrete (or, with progressive widening, continuous) actions.

    Kocsis & Szepesvári 2006; transpositions and the UCT3 value update of Childs, Brodeur & Kocsis
    2008; progressive widening of Coulom 2007 / Couëtoux et al. 2011 (see the module docstring).

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
        ``C`` of the score, >= 0. With ``normalize`` the values are scaled to ``[0, 1]`` and
        ``C = 0.5`` gives UCB1.
    discount : float
        ``gamma`` in ``(0, 1]``.
    rollout_horizon : int, optional
        Maximum steps of a rollout (default: up to the horizon).
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
        Carlo tree search"; see :func:`planlab.planners.mcts.values.node_value`), so what a shared
        node learns through one parent reaches the others. On a tree this is the mean return.
    stochastic : {"closed_loop", "open_loop"}
        How stochastic models are searched (see the module docstring).
    max_outcomes : int
        Closed loop: most outcome nodes per edge.
    action_mask : array_like of bool (n_actions,) or callable ``x -> (n_actions,) bool``, optional
        Legal actions, applied at every node and in rollouts. A callable is evaluated per state
        (Python search).
    rollout_policy : Policy, optional
        Default policy for rollouts instead of uniformly random legal actions.
    leaf_value : callable ``x (nx,) -> float``, optional
        Leaf evaluator instead of rollouts: an estimate of the discounted return (``-cost-to-go``).
    progressive_widening : (k, alpha), optional
        Continuous actions: ``k > 0``, ``0 < alpha < 1``.
    reuse_tree : bool
        Keep the subtree below the executed action between calls (the first action of the
        previous plan; used when the new ``x0`` matches a stored outcome within
        ``reuse_rtol``/``reuse_atol``).
    backend : {"auto", "numba", "python"}
        ``auto`` compiles the whole search when the model has compiled sources for ``cost`` and
        no Python callables are involved.
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
        cfg = self.config = UCTConfig(
            simulations=simulations, time_budget=time_budget, exploration=exploration, discount=discount,
            rollout_horizon=rollout_horizon, max_depth=max_depth, normalize=normalize, value_backup=value_backup,
            transpositions=transpositions, stochastic=stochastic, max_outcomes=max_outcomes, reuse_tree=reuse_tree,
            reuse_rtol=reuse_rtol, reuse_atol=reuse_atol, backend=backend)
        d = dynamics
        self.simulations, self.time_budget = cfg.simulations, cfg.time_budget
        self.exploration, self.discount = float(cfg.exploration), float(cfg.discount)
        max_depth = self.horizon if cfg.max_depth is None else cfg.max_depth
        if max_depth > self.horizon:
            raise ValueError(f"max_depth: expected at most the horizon ({self.horizon}), got {max_depth}")
        if cfg.value_backup == "bellman" and d.stochastic:
            raise ValueError("value_backup: expected 'mean' for a stochastic model ('bellman' needs a deterministic "
                             "one), got 'bellman'")
        if rollout_policy is not None and not isinstance(rollout_policy, Policy):
            raise TypeError(f"rollout_policy: expected a planlab Policy, got {type(rollout_policy).__name__}")
        if leaf_value is not None and not callable(leaf_value):
            raise TypeError(f"leaf_value: expected a callable x -> float, got {type(leaf_value).__name__}")
        self.rollout_policy, self.leaf_value = rollout_policy, leaf_value
        widening = check_widening(d, progressive_widening, action_mask)
        self.n_act = d.n_actions if d.is_discrete else 0
        self._mask_fn = action_mask if callable(action_mask) else None
        self.action_mask = None if (action_mask is None or callable(action_mask)) else check_mask(action_mask, self.n_act)
        legal = self.action_mask if self.action_mask is not None else np.ones(max(self.n_act, 1), bool)

        trans = cfg.transpositions and not d.stochastic
        use_max = cfg.value_backup == "bellman"
        outcomes = OUTCOMES_DETERMINISTIC if not d.stochastic else (
            OUTCOMES_CLOSED_LOOP if cfg.stochastic == "closed_loop" else OUTCOMES_OPEN_LOOP)
        self.settings = SearchSettings(
            discount=self.discount, exploration=self.exploration, normalize=bool(cfg.normalize),
            horizon=int(self.horizon), max_depth=int(max_depth),
            rollout_horizon=int(self.horizon if cfg.rollout_horizon is None else cfg.rollout_horizon),
            outcomes=outcomes, max_outcomes=int(cfg.max_outcomes), discrete=bool(d.is_discrete),
            widening_k=widening[0], widening_alpha=widening[1],
            value_mode=VALUE_BELLMAN if use_max else (VALUE_DAG if trans else VALUE_MEAN),
            transpositions=bool(trans), child_values=bool(trans or use_max))
        self.reuse_tree = bool(cfg.reuse_tree)

        sources = d.compiled_sources(cost)
        self._kernel = None
        self._roll = None
        self.backend = self._choose_backend(cfg.backend, sources)
        low = np.ascontiguousarray(d.action_low, dtype=np.float64)
        high = np.ascontiguousarray(d.action_high, dtype=np.float64)
        if self.backend == "numba":
            self._model = CompiledModel(sources.params, sources.cost_params, legal,
                                        np.flatnonzero(legal).astype(np.int64), low, high, int(d.noise_dim), False)
            self._search = self._kernel.run
        else:
            self._model = PythonModel(d, cost, legal=legal, mask_fn=self._mask_fn, rollout_policy=rollout_policy,
                                      leaf_value_fn=leaf_value, sources=sources, rng=self.rng)
            self._search = python_search()
        self._legal_static = legal
        self._work = make_scratch(d.state_dim, d.action_dim, self._model.noise_dim, self.settings.max_depth)
        self._tree: Tree | None = None  # the last search (kept for reuse and inspection)
        self._pool: list[Tree] = []  # at most two preallocated trees, reused across calls
        self._executed: int = NO_NODE
        # preallocated, fixed-type buffers (so numba sees one signature)
        self._x0s = np.zeros((1, d.state_dim))
        self._U = np.zeros((1, self.horizon, d.action_dim))
        self._S = np.zeros((1, self.horizon + 1, d.state_dim))
        self._rcost = np.zeros(1)
        self._rterm = np.zeros(1, dtype=np.bool_)

    # ------------------------------------------------------------------ setup
    def _choose_backend(self, backend: str, sources) -> str:
        reasons = []
        d = self.dynamics
        if not numba_enabled():
            reasons.append("PLANLAB_DISABLE_NUMBA is set")
        elif sources is None:
            reasons.append("the model has no compiled sources for this cost")
        if self.rollout_policy is not None or self.leaf_value is not None or self._mask_fn is not None:
            reasons.append("a Python rollout_policy, leaf_value or action_mask callable is used")
        if d.stochastic and d.noise_dim < 1:
            reasons.append("the stochastic model declares no noise_dim for compiled sampling")
        if not reasons:
            try:
                self._kernel = search_kernel(sources)
                if not d.stochastic:  # the plan's states and cost: the fused rollout kernel, on fixed buffers
                    self._roll = rollout_kernels(sources.dynamics, sources.termination, sources.running,
                                                 sources.terminal).rollout_states
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
        if isinstance(self._model, PythonModel):
            self._model.rng = self.rng
        self._tree = None
        self._executed = NO_NODE

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

    # ------------------------------------------------------------------ planning
    def plan(self, x0, warm_start=None) -> Plan:
        """Search from ``x0`` (nx,) and return the most-visited path as a :class:`Plan` (H, nu).

        ``warm_start`` is accepted for the MPC loop and ignored: UCT reuses its tree instead.
        """
        t0 = time.perf_counter()
        x0 = self._check_x0(x0)
        if self._mask_fn is not None and not self._model.legal_actions(x0).any():  # static masks: checked before
            raise ValueError("action_mask: expected at least one legal action in x0, got none")
        self._x0s[0] = x0
        xb = self._x0s[0]  # always the same writable float64 C array: one numba signature
        tree, reused = self._reuse(xb)
        if tree is None:
            tree = self._buffer()
            if self.backend == "numba":
                term = self._kernel.root_terminal(self._model, xb)
            else:
                term = self._model.is_terminal(xb)
            tree.new_root(xb, term)
        rng.seed(int(self.rng.integers(2**31 - 1)))
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
        self._search(n, tree.arrays, self._model, self.settings, self._work)

    # ------------------------------------------------------------------ tree reuse
    def _reuse(self, x0):
        """The kept subtree whose root matches ``x0`` (and the visits it brings), or ``(None, 0)``."""
        old, a = self._tree, self._executed
        self._tree, self._executed = None, NO_NODE
        if not self.reuse_tree or old is None or a == NO_NODE:
            return None, 0
        t = old.arrays
        rtol, atol = self.config.reuse_rtol, self.config.reuse_atol
        s = t.action_info[a, A_FIRST]
        match = NO_NODE
        while s != NO_NODE:
            if self.settings.outcomes == OUTCOMES_OPEN_LOOP or np.all(np.abs(t.state_x[s] - x0) <= atol + rtol * np.abs(x0)):
                match = s
                break
            s = t.state_info[s, S_NEXT]
        if match == NO_NODE or t.state_info[match, S_TERM] or t.state_info[match, S_VISITS] == 0:
            return None, 0
        tree = old.compact_into(match, self._buffer(avoid=old))
        tree.arrays.state_x[0] = x0
        return tree, int(tree.arrays.action_info[tree.root_children(0), A_VISITS].sum())

    # ------------------------------------------------------------------ the plan
    def _make_plan(self, tree: Tree, x0, done: int, reused: int, search_s: float, t0: float) -> Plan:
        d = self.dynamics
        t = tree.arrays
        gamma, fc = self.discount, self.settings.child_values
        U = self._U  # (1, H, nu); Plan copies it
        A = U[0]
        k, first = best_path(t, gamma, fc, self.settings.value_mode == VALUE_BELLMAN, A)
        if k == 0:  # terminal root, or no simulation passed a child
            if d.is_discrete:
                A[:] = float(np.flatnonzero(self._legal_at(x0))[0])
            else:
                A[:] = d.clip_action(0.5 * (d.action_low + d.action_high))
        self._executed = first
        if self._roll is not None and self.backend == "numba":  # the fused rollout kernel, on preallocated buffers
            self._roll(self._x0s, U, self._model.params, self._model.cost_params, self._S, self._rcost, self._rterm)
            states, cost = self._S[0], float(self._rcost[0])
        else:
            roll = d.rollout(x0, U, self.cost, rng=self.rng)
            states, cost = roll.states[0], float(roll.costs[0])

        if d.is_discrete:
            rv = np.zeros(self.n_act, dtype=np.int64)
            rq = np.full(self.n_act, np.nan)
            rm = np.full(self.n_act, np.nan)
            total = root_stats(t, gamma, fc, rv, rq, rm)
        else:
            kids = tree.root_children(0)
            visits = t.action_info[kids, A_VISITS]
            total = int(visits.sum())
            rq = np.array([edge_value(t, a, gamma, fc) if t.action_info[a, A_VISITS] > 0 else np.nan for a in kids])
            rm = np.where(visits > 0, t.action_stats[kids, A_BEST_RETURN], np.nan)
            rv = visits.astype(np.int64)
        nonfinite = tree.nonfinite
        diag = {
            "simulations": done,
            "reused_visits": reused,
            "root_total_visits": int(total),
            "root_visits": rv,
            "root_q": rq,
            "root_best_return": rm,
            "tree_states": tree.n_states,
            "tree_actions": tree.n_actions,
            "backend": self.backend,
            "search_time_s": search_s,
            "sims_per_s": done / max(search_s, 1e-12),
            "nonfinite_transitions": nonfinite,
        }
        if not d.is_discrete:
            diag["root_actions"] = t.action_u[kids].copy()
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

    def _legal_at(self, x) -> np.ndarray:
        if isinstance(self._model, PythonModel):
            return self._model.legal_actions(x)
        return self._legal_static
