r"""Scores and values of the UCT tree: selection, backups, and the plan read off the tree.

The tree policy takes, at every state node, the child with the best UCT score (Kocsis &
Szepesvári 2006, "Bandit based Monte-Carlo planning"; UCB1 of Auer et al. 2002 per node),

.. math::

    \operatorname{score}(s, a) = \frac{Q(s, a)}{N(s, a)} + 2 C \sqrt{\frac{2 \ln N(s)}{N(s, a)}},

trying every child once first. A simulation's return is backed up its path, ``G <- r + gamma G``
at every edge (Browne et al. 2012, "A survey of Monte Carlo tree search methods"). On a DAG
(transpositions) a node's value is refreshed from its children's *current* values, the "UCT3"
update of Childs, Brodeur & Kocsis 2008.
"""

from __future__ import annotations

import math

import numpy as np

from planlab.dynamics.compiled.jit import jit, jit_inline
from planlab.planners.mcts.settings import VALUE_BELLMAN, VALUE_DAG, VALUE_MEAN
from planlab.planners.mcts.tree import (
    A_BEST_RETURN, A_FIRST, A_INDEX, A_NEXT, A_REWARD, A_RETURN_SUM, A_VISITS, NO_NODE, NUM_ACTIONS, S_FIRST,
    S_LEAF_SUM, S_NEXT, S_RETURN_SUM, S_VALUE, S_VISITS, VALUE_HIGH, VALUE_LOW,
)

__all__ = ["edge_value", "select_uct", "backup", "node_value", "best_child", "best_path", "root_stats",
           "recompute_bounds"]


@jit_inline
def edge_value(tree, a, gamma, from_child):
    """Value of action node ``a``: its own mean return, or with ``from_child`` (deterministic models)
    ``r + gamma V(s')`` from the (possibly shared) child node's value."""
    ai = tree.action_info
    if from_child:
        s2 = ai[a, A_FIRST]
        if s2 != NO_NODE and tree.state_info[s2, S_VISITS] > 0:
            return tree.action_stats[a, A_REWARD] + gamma * tree.state_stats[s2, S_VALUE]
    return tree.action_stats[a, A_RETURN_SUM] / ai[a, A_VISITS]


@jit_inline
def select_uct(tree, s, settings):
    r"""The child of state node ``s`` with the best UCT score (module docstring); unvisited first.

    ``Q/N`` is min-max normalised to ``[0, 1]`` over the tree when ``settings.normalize``; with
    ``settings.child_values`` (deterministic models) ``Q`` is ``r + gamma V(s')`` from the child
    node (see :func:`edge_value`). Ties are broken uniformly at random (numba's generator).
    """
    lo = tree.value_bounds[VALUE_LOW]
    span = tree.value_bounds[VALUE_HIGH] - lo
    scale = settings.normalize and span > 0.0
    c = settings.exploration
    logn = math.log(max(tree.state_info[s, S_VISITS], 1))
    best = NO_NODE
    best_score = -np.inf
    ties = 0
    a = tree.state_info[s, S_FIRST]
    while a != NO_NODE:
        n = tree.action_info[a, A_VISITS]
        if n == 0:
            score = np.inf
        else:
            q = edge_value(tree, a, settings.discount, settings.child_values)
            if scale:
                q = (q - lo) / span
            score = q + 2.0 * c * math.sqrt(2.0 * logn / n)
        if score > best_score:
            best_score = score
            best = a
            ties = 1
        elif score == best_score:
            ties += 1
            if np.random.randint(ties) == 0:  # reservoir sampling among the tied
                best = a
        a = tree.action_info[a, A_NEXT]
    return best


@jit  # called once per simulation: compiled once, not copied into every model's search
def backup(tree, root, path_a, path_s, rewards, k, leaf_value, settings):
    """Back a simulation's return up its path: ``G <- r + gamma G`` at every edge (leaf first).

    ``path_a[i]`` is the action node taken at step ``i``, ``path_s[i]`` the state node reached and
    ``rewards[i]`` the reward of that transition in this simulation (``k`` steps). The leaf
    evaluation is credited to the last state node of the path; ``settings.value_mode`` selects how
    the nodes' values are refreshed (see :func:`node_value`).
    """
    gamma = settings.discount
    vmode = settings.value_mode
    si, st, ai, ast, bounds = tree.state_info, tree.state_stats, tree.action_info, tree.action_stats, \
        tree.value_bounds
    g = leaf_value
    st[path_s[k - 1] if k > 0 else root, S_LEAF_SUM] += leaf_value
    for i in range(k - 1, -1, -1):
        s = path_s[i]
        si[s, S_VISITS] += 1
        st[s, S_RETURN_SUM] += g
        node_value(tree, s, gamma, vmode)
        g = rewards[i] + gamma * g
        a = path_a[i]
        ai[a, A_VISITS] += 1
        ast[a, A_RETURN_SUM] += g
        if g > ast[a, A_BEST_RETURN]:
            ast[a, A_BEST_RETURN] = g
        q = ast[a, A_RETURN_SUM] / ai[a, A_VISITS]
        lo = min(q, ast[a, A_BEST_RETURN])
        hi = max(q, ast[a, A_BEST_RETURN])
        if vmode != VALUE_MEAN:  # the score uses r + gamma V(s'); keep it inside the bounds too
            qc = ast[a, A_REWARD] + gamma * st[s, S_VALUE]
            lo = min(lo, qc)
            hi = max(hi, qc)
        if lo < bounds[VALUE_LOW]:
            bounds[VALUE_LOW] = lo
        if hi > bounds[VALUE_HIGH]:
            bounds[VALUE_HIGH] = hi
    si[root, S_VISITS] += 1
    st[root, S_RETURN_SUM] += g
    node_value(tree, root, gamma, vmode)


@jit_inline
def node_value(tree, s, gamma, vmode):
    r"""Refresh the value of state node ``s`` after its visit count changed.

    ``VALUE_MEAN`` (trees): the mean return through the node. ``VALUE_BELLMAN`` (deterministic
    models): ``max_a r + gamma V(s')`` over its children once every child has been tried (before
    that a max over the tried ones would ignore the untried, possibly better, actions), else the
    mean. ``VALUE_DAG`` (deterministic models with transpositions; the "UCT3" update of Childs,
    Brodeur & Kocsis 2008): the visit-weighted mean of the node's own leaf evaluations and of its
    edges' *current* values,

    .. math:: V(s) = \frac{\sum \text{leaf evaluations at } s + \sum_a N(s, a)\,(r_a + \gamma V(s'_a))}{N(s)},

    so that what a shared child learned through another parent reaches this node the next time a
    simulation passes it. On a tree (every child has one parent) this equals the mean return.
    """
    si, st, ai, ast = tree.state_info, tree.state_stats, tree.action_info, tree.action_stats
    if vmode == VALUE_DAG:
        tot = st[s, S_LEAF_SUM]
        a = si[s, S_FIRST]
        while a != NO_NODE:
            n = ai[a, A_VISITS]
            if n > 0:
                tot += n * (ast[a, A_REWARD] + gamma * st[ai[a, A_FIRST], S_VALUE])
            a = ai[a, A_NEXT]
        st[s, S_VALUE] = tot / si[s, S_VISITS]
        return
    best = -np.inf
    if vmode == VALUE_BELLMAN:
        a = si[s, S_FIRST]
        while a != NO_NODE:
            s2 = ai[a, A_FIRST]
            if ai[a, A_VISITS] == 0 or s2 == NO_NODE or si[s2, S_VISITS] == 0:
                best = -np.inf
                break
            v = ast[a, A_REWARD] + gamma * st[s2, S_VALUE]
            if v > best:
                best = v
            a = ai[a, A_NEXT]
    st[s, S_VALUE] = best if best > -np.inf else st[s, S_RETURN_SUM] / si[s, S_VISITS]


@jit
def best_child(tree, s, gamma, from_child, by_value):
    """The child of state node ``s`` a plan follows, or ``NO_NODE`` if none was visited: the most
    visited (ties: the higher value, then the older node), or with ``by_value`` the one of highest
    value (ties: more visits, then the older node)."""
    best = NO_NODE
    bn = -1
    bq = -np.inf
    a = tree.state_info[s, S_FIRST]
    while a != NO_NODE:
        n = tree.action_info[a, A_VISITS]
        if n > 0:
            q = edge_value(tree, a, gamma, from_child)
            if best == NO_NODE:
                better = True
            elif by_value:
                better = q > bq or (q == bq and (n > bn or (n == bn and a < best)))
            else:
                better = n > bn or (n == bn and (q > bq or (q == bq and a < best)))
            if better:
                best, bn, bq = a, n, q
        a = tree.action_info[a, A_NEXT]
    return best


@jit
def best_path(tree, gamma, from_child, by_value, A):
    """Write the plan's actions into ``A`` (H, nu): from the root follow :func:`best_child` and, at
    each action node, its most-sampled outcome; pad with the last action.

    Returns ``(k, first)``: how many actions came from the tree (0: none, ``A`` untouched) and the
    root's chosen action node (``NO_NODE`` if ``k == 0``).
    """
    H = A.shape[0]
    nu = A.shape[1]
    k = 0
    first = NO_NODE
    s = 0
    while s != NO_NODE and k < H:
        a = best_child(tree, s, gamma, from_child, by_value)
        if a == NO_NODE:
            break
        if k == 0:
            first = a
        for j in range(nu):
            A[k, j] = tree.action_u[a, j]
        k += 1
        nxt = NO_NODE
        most = -1
        o = tree.action_info[a, A_FIRST]
        while o != NO_NODE:
            if tree.state_samples[o] > most:
                nxt = o
                most = tree.state_samples[o]
            o = tree.state_info[o, S_NEXT]
        s = nxt
    if k > 0:
        for t in range(k, H):
            for j in range(nu):
                A[t, j] = A[k - 1, j]
    return k, first


@jit
def root_stats(tree, gamma, from_child, visits, q, best_return):
    """Discrete actions: the root's visit counts, values (NaN where unvisited) and best returns seen,
    indexed by action (arrays (n_actions,) pre-filled with 0, NaN, NaN). Returns the visit total."""
    total = 0
    a = tree.state_info[0, S_FIRST]
    while a != NO_NODE:
        i = tree.action_info[a, A_INDEX]
        n = tree.action_info[a, A_VISITS]
        visits[i] = n
        total += n
        if n > 0:
            q[i] = edge_value(tree, a, gamma, from_child)
            best_return[i] = tree.action_stats[a, A_BEST_RETURN]
        a = tree.action_info[a, A_NEXT]
    return total


@jit
def recompute_bounds(tree):
    """Recompute the min/max mean action value over the tree (after compaction)."""
    bounds = tree.value_bounds
    bounds[VALUE_LOW] = np.inf
    bounds[VALUE_HIGH] = -np.inf
    for a in range(tree.counters[NUM_ACTIONS]):
        n = tree.action_info[a, A_VISITS]
        if n > 0:
            q = tree.action_stats[a, A_RETURN_SUM] / n
            best = tree.action_stats[a, A_BEST_RETURN]
            bounds[VALUE_LOW] = min(bounds[VALUE_LOW], q, best)
            bounds[VALUE_HIGH] = max(bounds[VALUE_HIGH], q, best)
