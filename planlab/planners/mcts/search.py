"""The UCT simulation loop (Kocsis & Szepesvári 2006), written once for the compiled and the Python search.

One simulation runs the tree policy from the root — at each state node the child with the best UCT
score (:func:`.values.select_uct`), expanding a node's actions on its first visit (discrete) or
by progressive widening (continuous; Coulom 2007, Couëtoux et al. 2011) — until it adds one new
state node (the leaf), evaluates the leaf with a random rollout (or a leaf value), and backs the
return up the path (:func:`.values.backup`). Stochastic models sample an outcome per pass: closed
loop (outcomes are state nodes, at most ``max_outcomes`` per edge) or open loop (nodes are action
sequences). Deterministic models may share state nodes through a transposition table (Childs,
Brodeur & Kocsis 2008). See Browne et al. 2012 for the family of algorithms.

The loop (:func:`run`, :func:`simulate`, :func:`evaluate`) reaches the model only through the small
functions :func:`transition`, :func:`is_terminal`, :func:`terminal_value`, :func:`leaf_value`,
:func:`default_action` and :func:`legal_actions`. Here they run the model's single-source functions,
imported on the line marked ``# planlab: sources``; planlab compiles a copy of this module per
(system, cost) pair with that line importing their sources
(:func:`planlab.dynamics.compiled.specialise`). The Python search
(:func:`planlab.planners.mcts.python.python_search`) runs the same three loop functions, un-jitted,
with these six bound to Python adapters of any :class:`~planlab.core.Dynamics`. All random draws go
through :mod:`.rng` (numba's generator) in both.

Shapes: ``tree`` a :class:`~.tree.TreeArrays`, ``model`` a :class:`~.model.CompiledModel`,
``settings`` a :class:`~.settings.SearchSettings`, ``work`` a :class:`~.model.Scratch`.
"""

from __future__ import annotations

import math

from planlab.dynamics.compiled.jit import jit_inline
from planlab.dynamics.compiled.placeholder import dynamics as _dyn_py, terminated as _term_py, running as _run_py, terminal as _fin_py  # noqa: E501  # planlab: sources
from planlab.planners.mcts.hashing import insert, lookup
from planlab.planners.mcts.rng import random_index, random_uniform, random_unit
from planlab.planners.mcts.settings import OUTCOMES_CLOSED_LOOP, OUTCOMES_DETERMINISTIC
from planlab.planners.mcts.tree import (
    A_FIRST, A_NOUT, A_REWARD, NO_NODE, NUM_NONFINITE, S_FIRST, S_REWARD, S_TERM, add_action, add_state,
    expand_discrete, find_outcome, sample_outcome, widen,
)
from planlab.planners.mcts.values import backup, select_uct

__all__ = ["run", "simulate", "evaluate", "root_terminal", "LOOP_FUNCTIONS", "MODEL_FUNCTIONS"]

#: the loop, shared by the compiled and the Python search
LOOP_FUNCTIONS = ("run", "simulate", "evaluate")
#: the model-dependent steps the Python search replaces
MODEL_FUNCTIONS = ("transition", "is_terminal", "terminal_value", "leaf_value", "default_action", "legal_actions")

_dyn = jit_inline(_dyn_py)
_term = jit_inline(_term_py)
_run = jit_inline(_run_py)
_fin = jit_inline(_fin_py)


# ------------------------------------------------------------------------------- model-dependent steps
@jit_inline
def transition(model, x, u, xn):
    """Step ``x`` (nx,) with ``u`` (nu + noise_dim,) into ``xn``; draws the noise inputs.

    Returns ``(reward, terminal, ok)``; ``ok`` is False when the reward or a state component is not finite.
    """
    nu = u.shape[0] - model.noise_dim
    for k in range(model.noise_dim):
        u[nu + k] = random_unit()
    _dyn(x, u, model.params, xn)
    r = -_run(x, u, xn, model.cost_params)
    ok = math.isfinite(r)
    for k in range(xn.shape[0]):
        if not math.isfinite(xn[k]):
            ok = False
    return r, bool(_term(xn, model.params)), ok


@jit_inline
def is_terminal(model, x):
    """Is ``x`` (nx,) terminal?"""
    return bool(_term(x, model.params))


@jit_inline
def terminal_value(model, x):
    """Minus the terminal cost of ``x`` (nx,)."""
    return -_fin(x, model.cost_params)


@jit_inline
def leaf_value(model, x):
    """A leaf value instead of a rollout (only where ``model.has_leaf_value``; never here)."""
    return 0.0


@jit_inline
def default_action(model, settings, x, u):
    """Write a rollout action into ``u``: uniformly random among the legal ones (or in the box).
    Returns False when there is no legal action."""
    if settings.discrete:
        u[0] = float(model.legal_index[random_index(model.legal_index.shape[0])])
    else:
        for k in range(model.action_low.shape[0]):
            u[k] = random_uniform(model.action_low[k], model.action_high[k])
    return True


@jit_inline
def legal_actions(model, x):
    """The legal actions in ``x`` (n_actions,) bool: the static mask."""
    return model.legal


@jit_inline
def root_terminal(model, x):
    """Compiled :func:`is_terminal`, called from Python for the root (no numpy round trip)."""
    return is_terminal(model, x)


# ------------------------------------------------------------------------------- the loop
@jit_inline
def evaluate(tree, model, settings, x, steps, work):
    """The leaf's value: minus its terminal cost if terminal, else the leaf value or the discounted
    return of a rollout of ``steps`` default actions minus the discounted terminal cost.

    Each model function appears once here (numba copies the inlined ones into every call site).
    """
    xa, xb, u = work.xa, work.xb, work.ru
    for k in range(x.shape[0]):
        xa[k] = x[k]
    g = 0.0
    disc = 1.0
    if is_terminal(model, xa):
        steps = 0
    elif model.has_leaf_value:
        v = leaf_value(model, xa)
        if not math.isfinite(v):
            tree.counters[NUM_NONFINITE] += 1
            return 0.0
        return v
    for _ in range(steps):
        if not default_action(model, settings, xa, u):
            break
        r, term, ok = transition(model, xa, u, xb)
        if not ok:
            tree.counters[NUM_NONFINITE] += 1
            return g
        g += disc * r
        disc *= settings.discount
        for k in range(xa.shape[0]):  # copy rather than swap: swapping arrays costs reference counting
            xa[k] = xb[k]
        if term:
            break
    return g + disc * terminal_value(model, xa)


@jit_inline
def simulate(tree, model, settings, work):
    """One simulation from the root (state node 0): tree policy, expansion, evaluation, backup.

    Written so that :func:`evaluate`, :func:`transition` and :func:`.tree.add_state` each appear
    once: numba copies an inlined function into every call site, and compile time grows with the copies.
    """
    si, ai = tree.state_info, tree.action_info
    x, xn, u = work.x, work.xn, work.u
    nx = x.shape[0]
    nu = tree.action_u.shape[1]
    deterministic = settings.outcomes == OUTCOMES_DETERMINISTIC
    root = 0
    node = root
    for j in range(nx):
        x[j] = tree.state_x[root, j]
    term = si[root, S_TERM] != 0
    depth = 0
    k = 0
    leaf = 0.0
    evaluate_leaf = True
    while True:
        if term or depth >= settings.max_depth:
            break
        if settings.discrete:
            if si[node, S_FIRST] == NO_NODE:
                expand_discrete(tree, node, legal_actions(model, x))
        elif widen(tree, node, settings.widening_k, settings.widening_alpha):
            for j in range(nu):
                u[j] = random_uniform(model.action_low[j], model.action_high[j])
            add_action(tree, node, u, -1)
        if si[node, S_FIRST] == NO_NODE:  # no legal action here: a dead end
            leaf = terminal_value(model, x)
            evaluate_leaf = False
            break
        a = select_uct(tree, node, settings)
        for j in range(nu):
            u[j] = tree.action_u[a, j]
        s2 = ai[a, A_FIRST] if deterministic else NO_NODE  # deterministic: the one outcome is cached
        add = False
        if s2 == NO_NODE:
            r, term, ok = transition(model, x, u, xn)
            if not ok:
                tree.counters[NUM_NONFINITE] += 1
                r = 0.0
                term = True
                for j in range(nx):
                    xn[j] = x[j]
            if deterministic:
                tree.action_stats[a, A_REWARD] = r
                if settings.transpositions and ok:
                    s2 = lookup(tree, xn, depth + 1)
                if s2 == NO_NODE:
                    add = True
                else:  # transposition: another action sequence reached this state at this depth
                    ai[a, A_FIRST] = s2
                    ai[a, A_NOUT] = 1
                    term = si[s2, S_TERM] != 0
            elif settings.outcomes == OUTCOMES_CLOSED_LOOP:  # sampled outcomes are state nodes
                s2 = find_outcome(tree, a, xn)
                if s2 != NO_NODE:
                    tree.state_samples[s2] += 1
                elif ai[a, A_NOUT] < settings.max_outcomes:
                    add = True
                else:
                    s2 = sample_outcome(tree, a)
                    r = tree.state_stats[s2, S_REWARD]
                    term = si[s2, S_TERM] != 0
                    for j in range(nx):
                        xn[j] = tree.state_x[s2, j]
            else:  # open loop: nodes are action sequences; the state is re-sampled every time
                s2 = ai[a, A_FIRST]
                add = s2 == NO_NODE
        else:
            r = tree.action_stats[a, A_REWARD]
            term = si[s2, S_TERM] != 0
            for j in range(nx):
                xn[j] = tree.state_x[s2, j]
        if add:
            s2 = add_state(tree, xn, r, term, a)
            if deterministic and settings.transpositions:
                insert(tree, s2)
        work.path_a[k] = a
        work.path_s[k] = s2
        work.rewards[k] = r
        k += 1
        depth += 1
        for j in range(nx):
            x[j] = xn[j]
        node = s2
        if add:
            break
    if evaluate_leaf:
        leaf = evaluate(tree, model, settings, x, min(settings.rollout_horizon, settings.horizon - depth), work)
    backup(tree, root, work.path_a, work.path_s, work.rewards, k, leaf, settings)


@jit_inline
def run(n_sims, tree, model, settings, work):
    """Run ``n_sims`` simulations on ``tree`` from its root."""
    for _ in range(n_sims):
        simulate(tree, model, settings, work)
