"""The UCT search tree: named arrays, and the compiled functions that grow it.

The tree alternates *state nodes* (a state reached by a transition, with the reward of that
transition) and *action nodes* (an edge ``(s, a)`` with its visit count ``N(s, a)`` and the sum of
the returns ``r + gamma V(s')`` that passed through it). A deterministic model gives every action
node exactly one outcome; a stochastic model gives it a list of sampled outcomes (Browne et al.
2012, "A survey of Monte Carlo tree search methods", section 4). Nodes are rows of preallocated
arrays, not Python objects: :class:`TreeArrays` names every array, and the ``S_*``/``A_*``/... constants
name the columns of the packed ones, so no code here indexes a column by number.

The functions the search calls at every tree level are compiled with
:data:`planlab.dynamics.compiled.jit.jit_inline` (no allocation, no reference counting; numba copies
them into each model's search); those called at most once per simulation (:func:`add_state`,
:func:`expand_discrete`) with plain ``jit``: compiled once per process (and cached once on disk) for
every model, at a cost of one call per simulation. All are called both from the compiled search
(:mod:`.search`) and from Python.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from planlab.dynamics.compiled.jit import jit, jit_inline

__all__ = ["TreeArrays", "NO_NODE", "NONE", "add_state", "add_action", "expand_discrete", "widen", "clear_and_root",
           "find_outcome", "sample_outcome", "compact"]

#: Sentinel index: no node.
NO_NODE = -1
NONE = NO_NODE  # the name used before the package was split

# columns of ``TreeArrays.state_info`` (int64)
S_PARENT = 0  #: the action node whose outcome this is (NO_NODE for the root)
S_FIRST = 1  #: first child action node (NO_NODE: not expanded)
S_NCHILD = 2  #: number of child action nodes
S_NEXT = 3  #: next sibling outcome of the same action node
S_VISITS = 4  #: visits N(s)
S_TERM = 5  #: 1 if the state is terminal
S_DEPTH = 6  #: depth below the root
STATE_INFO_COLUMNS = 7

# columns of ``TreeArrays.state_stats`` (float64)
S_REWARD = 0  #: reward of the transition into the node
S_RETURN_SUM = 1  #: sum of the returns through the node
S_VALUE = 2  #: its value V(s) (see :func:`.values.node_value`)
S_LEAF_SUM = 3  #: sum of the leaf evaluations made at the node
STATE_STATS_COLUMNS = 4

# columns of ``TreeArrays.action_info`` (int64)
A_PARENT = 0  #: the state node this action is taken in
A_NEXT = 1  #: next sibling action node
A_FIRST = 2  #: first outcome state node (NO_NODE: never taken)
A_NOUT = 3  #: number of outcome state nodes
A_VISITS = 4  #: visits N(s, a)
A_INDEX = 5  #: discrete action index (-1 for a continuous action)
ACTION_INFO_COLUMNS = 6

# columns of ``TreeArrays.action_stats`` (float64)
A_RETURN_SUM = 0  #: sum of the returns r + gamma V(s') backed up through the edge
A_BEST_RETURN = 1  #: the largest of them
A_REWARD = 2  #: the reward r of the edge (deterministic models)
ACTION_STATS_COLUMNS = 3

# entries of ``TreeArrays.counters`` (int64)
NUM_STATES = 0  #: state nodes in use
NUM_ACTIONS = 1  #: action nodes in use
NUM_NONFINITE = 2  #: model transitions that gave non-finite states or costs
NUM_COUNTERS = 3

# entries of ``TreeArrays.value_bounds`` (float64)
VALUE_LOW = 0  #: smallest action value seen (min-max normalisation of the score)
VALUE_HIGH = 1  #: largest


class TreeArrays(NamedTuple):
    """The arrays of one search tree (``S`` state-node rows, ``A`` action-node rows, numba-passable).

    The packed arrays' columns are the module's ``S_*``, ``A_*``, ``NUM_*`` and ``VALUE_*`` constants.
    """

    state_info: np.ndarray  # [S, STATE_INFO_COLUMNS] int64: links, visits, terminal flag, depth
    state_samples: np.ndarray  # [S] int64: how often this outcome was sampled from its action node
    state_stats: np.ndarray  # [S, STATE_STATS_COLUMNS] float64: reward in, return sum, value, leaf sum
    state_x: np.ndarray  # [S, nx] float64: the state
    action_info: np.ndarray  # [A, ACTION_INFO_COLUMNS] int64: links, visits, discrete index
    action_stats: np.ndarray  # [A, ACTION_STATS_COLUMNS] float64: return sum, best return, reward
    action_u: np.ndarray  # [A, nu] float64: the action vector
    counters: np.ndarray  # [NUM_COUNTERS] int64
    value_bounds: np.ndarray  # [2] float64: VALUE_LOW, VALUE_HIGH
    table: np.ndarray  # [K] int64, K a power of two: transposition table of state nodes keyed by (state, depth)


@jit  # called once per simulation: compiled once, not copied into every model's search
def add_state(tree, x, reward, term, parent):
    """Append a state node for ``x`` (nx,) reached from action node ``parent`` with ``reward``; link it."""
    si, st, ai = tree.state_info, tree.state_stats, tree.action_info
    s = tree.counters[NUM_STATES]
    tree.counters[NUM_STATES] = s + 1
    si[s, S_PARENT] = parent
    si[s, S_DEPTH] = 0 if parent == NO_NODE else si[ai[parent, A_PARENT], S_DEPTH] + 1
    si[s, S_FIRST] = NO_NODE
    si[s, S_NCHILD] = 0
    si[s, S_VISITS] = 0
    si[s, S_TERM] = 1 if term else 0
    si[s, S_NEXT] = NO_NODE
    tree.state_samples[s] = 1
    st[s, S_REWARD] = reward
    st[s, S_RETURN_SUM] = 0.0
    st[s, S_VALUE] = 0.0
    st[s, S_LEAF_SUM] = 0.0
    for k in range(x.shape[0]):
        tree.state_x[s, k] = x[k]
    if parent != NO_NODE:
        si[s, S_NEXT] = ai[parent, A_FIRST]
        ai[parent, A_FIRST] = s
        ai[parent, A_NOUT] += 1
    return s


@jit
def clear_and_root(tree, x, term):
    """Empty the tree and add the root state node for ``x`` (index 0)."""
    tree.counters[:] = 0
    tree.value_bounds[VALUE_LOW] = np.inf
    tree.value_bounds[VALUE_HIGH] = -np.inf
    tree.table[:] = NO_NODE
    return add_state(tree, x, 0.0, term, NO_NODE)


@jit_inline
def _link_action(tree, s, index):
    """Prepend a new action node (discrete ``index``, -1 if continuous) to state node ``s``; its
    action vector is the caller's to fill."""
    ai, ast = tree.action_info, tree.action_stats
    a = tree.counters[NUM_ACTIONS]
    tree.counters[NUM_ACTIONS] = a + 1
    ai[a, A_PARENT] = s
    ai[a, A_NEXT] = tree.state_info[s, S_FIRST]
    ai[a, A_FIRST] = NO_NODE
    ai[a, A_NOUT] = 0
    ai[a, A_VISITS] = 0
    ai[a, A_INDEX] = index
    ast[a, A_RETURN_SUM] = 0.0
    ast[a, A_BEST_RETURN] = -np.inf
    ast[a, A_REWARD] = 0.0
    tree.state_info[s, S_FIRST] = a
    tree.state_info[s, S_NCHILD] += 1
    return a


@jit_inline
def add_action(tree, s, u, index):
    """Prepend an action node with action vector ``u`` (nu,) (and discrete ``index``) to state node ``s``."""
    a = _link_action(tree, s, index)
    for k in range(tree.action_u.shape[1]):
        tree.action_u[a, k] = u[k]
    return a


@jit  # called once per simulation: compiled once, not copied into every model's search
def expand_discrete(tree, s, legal):
    """Give state node ``s`` one action node per legal action (``legal`` (n_actions,) bool); returns
    how many were added."""
    n = 0
    for i in range(legal.shape[0] - 1, -1, -1):  # prepend in reverse so the list runs 0, 1, ...
        if legal[i]:
            a = _link_action(tree, s, i)
            tree.action_u[a, 0] = float(i)
            for k in range(1, tree.action_u.shape[1]):
                tree.action_u[a, k] = 0.0
            n += 1
    return n


@jit_inline
def widen(tree, s, k, alpha):
    """Progressive widening (Coulom 2007; Couëtoux et al. 2011): may state node ``s`` get another
    action child? A node with ``N`` visits has at most ``ceil(k (N + 1)^alpha)`` children."""
    allowed = math.ceil(k * (tree.state_info[s, S_VISITS] + 1.0) ** alpha)
    return tree.state_info[s, S_NCHILD] < allowed


@jit_inline
def find_outcome(tree, a, xn):
    """The outcome of action node ``a`` whose state equals ``xn`` (nx,) exactly, or ``NO_NODE``."""
    s = tree.action_info[a, A_FIRST]
    nx = xn.shape[0]
    while s != NO_NODE:
        same = True
        for k in range(nx):
            if tree.state_x[s, k] != xn[k]:
                same = False
                break
        if same:
            return s
        s = tree.state_info[s, S_NEXT]
    return NO_NODE


@jit_inline
def sample_outcome(tree, a):
    """An existing outcome of action node ``a`` drawn in proportion to how often it was sampled."""
    total = 0
    s = tree.action_info[a, A_FIRST]
    while s != NO_NODE:
        total += tree.state_samples[s]
        s = tree.state_info[s, S_NEXT]
    pick = np.random.randint(total)
    s = tree.action_info[a, A_FIRST]
    while s != NO_NODE:
        pick -= tree.state_samples[s]
        if pick < 0:
            return s
        s = tree.state_info[s, S_NEXT]
    return tree.action_info[a, A_FIRST]


@jit
def compact(tree, root, out):
    """Copy the subtree below state node ``root`` into the empty tree ``out`` (root becomes node 0).

    Children lists keep their order. ``out``'s arrays must be large enough (``tree``'s counts);
    its transposition table and value bounds are left to the caller.
    """
    si, ai, si2, ai2 = tree.state_info, tree.action_info, out.state_info, out.action_info
    n_states = tree.counters[NUM_STATES]
    nmap = np.full(n_states, NO_NODE, dtype=np.int64)
    seen = np.zeros(n_states, dtype=np.bool_)
    queue = np.empty(n_states, dtype=np.int64)
    queue[0] = root
    seen[root] = True
    d0 = si[root, S_DEPTH]
    head = 0
    tail = 1
    ns = 0
    na = 0
    # state nodes in BFS order; the new root has no parent
    while head < tail:
        s = queue[head]
        head += 1
        nmap[s] = ns
        si2[ns, S_VISITS] = si[s, S_VISITS]
        si2[ns, S_TERM] = si[s, S_TERM]
        si2[ns, S_DEPTH] = si[s, S_DEPTH] - d0
        out.state_samples[ns] = tree.state_samples[s]
        for j in range(STATE_STATS_COLUMNS):
            out.state_stats[ns, j] = tree.state_stats[s, j]
        for k in range(tree.state_x.shape[1]):
            out.state_x[ns, k] = tree.state_x[s, k]
        ns += 1
        a = si[s, S_FIRST]
        while a != NO_NODE:
            o = ai[a, A_FIRST]
            while o != NO_NODE:
                if not seen[o]:  # transpositions: a node may have several parents
                    seen[o] = True
                    queue[tail] = o
                    tail += 1
                o = si[o, S_NEXT]
            a = ai[a, A_NEXT]
    out.counters[NUM_STATES] = ns
    # action nodes, and all links, in a second pass over the copied state nodes
    for i in range(ns):
        s2 = nmap[queue[i]]
        si2[s2, S_PARENT] = NO_NODE
        si2[s2, S_NEXT] = NO_NODE
        si2[s2, S_FIRST] = NO_NODE
        si2[s2, S_NCHILD] = 0
    for i in range(ns):
        s = queue[i]
        s2 = nmap[s]
        # walk the children, copying them in reverse so prepending restores the order
        nch = si[s, S_NCHILD]
        kids = np.empty(nch, dtype=np.int64)
        a = si[s, S_FIRST]
        j = 0
        while a != NO_NODE:
            kids[j] = a
            j += 1
            a = ai[a, A_NEXT]
        for j in range(nch - 1, -1, -1):
            a = kids[j]
            a2 = na
            na += 1
            ai2[a2, A_PARENT] = s2
            ai2[a2, A_NEXT] = si2[s2, S_FIRST]
            ai2[a2, A_VISITS] = ai[a, A_VISITS]
            ai2[a2, A_INDEX] = ai[a, A_INDEX]
            for c in range(ACTION_STATS_COLUMNS):
                out.action_stats[a2, c] = tree.action_stats[a, c]
            for k in range(tree.action_u.shape[1]):
                out.action_u[a2, k] = tree.action_u[a, k]
            si2[s2, S_FIRST] = a2
            si2[s2, S_NCHILD] += 1
            # outcomes, again in reverse
            nout = ai[a, A_NOUT]
            outs = np.empty(nout, dtype=np.int64)
            o = ai[a, A_FIRST]
            m = 0
            while o != NO_NODE:
                outs[m] = o
                m += 1
                o = si[o, S_NEXT]
            ai2[a2, A_FIRST] = NO_NODE
            ai2[a2, A_NOUT] = 0
            for m in range(nout - 1, -1, -1):
                o2 = nmap[outs[m]]
                si2[o2, S_PARENT] = a2
                si2[o2, S_NEXT] = ai2[a2, A_FIRST]
                ai2[a2, A_FIRST] = o2
                ai2[a2, A_NOUT] += 1
    out.counters[NUM_ACTIONS] = na
    out.counters[NUM_NONFINITE] = 0
