"""The UCT search tree in preallocated arrays, and the numba primitives that grow and score it.

The tree alternates *state nodes* (a state reached by a transition, with the reward of that
transition) and *action nodes* (an edge ``(s, a)`` with its visit count ``N(s, a)`` and the sum of
the returns ``r + gamma V(s')`` that passed through it). A deterministic model gives every action
node exactly one outcome; a stochastic model gives it a list of sampled outcomes. Nodes are rows of
a few arrays, not Python objects::

    SI  (Ms, 7) int64    state nodes: parent action, first child action, number of children,
                         next sibling outcome, visits, terminal flag, depth below the root
    SC  (Ms,)   int64    how often this outcome was sampled from its action node
    SF  (Ms, 4) float64  reward of the transition into the node, sum of returns through it, its
                         value V(s) (see node_value), sum of the leaf evaluations made at it
    SX  (Ms, nx) float64 the state
    AI  (Ma, 6) int64    action nodes: parent state, next sibling, first outcome, number of
                         outcomes, visits, discrete action index (-1 for continuous)
    AF  (Ma, 3) float64  sum and maximum of the returns ``r + gamma V(s')`` backed up through the
                         edge, and its reward ``r`` (deterministic models)
    AU  (Ma, nu) float64 the action vector
    meta (4,)   int64    number of state nodes, number of action nodes, non-finite transitions, spare
    mf   (2,)   float64  smallest and largest mean action value seen (for min-max normalisation)
    HT  (K,)    int64    transposition table (open addressing, K a power of two): state node
                         indices keyed by (state, depth); deterministic models share a node between
                         all action sequences that reach the same state at the same depth

Every function here is a module-level ``numba.njit(cache=True)`` function of an importable file, so
the generated search kernels (:mod:`planlab.planners.uct_kernels`) and the Python search path of
:class:`planlab.planners.mcts.UCT` share them, and both load from numba's disk cache.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["Tree", "S_PARENT", "S_FIRST", "S_NCHILD", "S_NEXT", "S_VISITS", "S_TERM", "A_PARENT", "A_NEXT",
           "A_FIRST", "A_NOUT", "A_VISITS", "A_INDEX", "NONE"]

#: Sentinel index: no node.
NONE = -1

S_PARENT, S_FIRST, S_NCHILD, S_NEXT, S_VISITS, S_TERM, S_DEPTH = range(7)
A_PARENT, A_NEXT, A_FIRST, A_NOUT, A_VISITS, A_INDEX = range(6)
M_NS, M_NA, M_NONFINITE = 0, 1, 2

_JIT = dict(cache=True, nogil=True, error_model="numpy")
# The per-simulation primitives are compiled without numba's reference counting (they allocate
# nothing): otherwise every call increments and decrements the count of each array argument with
# atomic instructions, which cost more than the tree operations themselves.
_HOT = dict(_JIT, _nrt=False, inline="always")


class Tree:
    """A search tree held in preallocated arrays (see the module docstring for the layout).

    Parameters
    ----------
    capacity_states, capacity_actions : int
        Rows allocated for state and action nodes; :meth:`ensure` grows them.
    nx, nu : int
        State and action dimensions.
    """

    def __init__(self, capacity_states: int, capacity_actions: int, nx: int, nu: int):
        self.nx, self.nu = nx, nu
        self.SI = np.full((capacity_states, 7), NONE, dtype=np.int64)
        self.SC = np.zeros(capacity_states, dtype=np.int64)
        self.SF = np.zeros((capacity_states, 4))
        self.SX = np.zeros((capacity_states, nx))
        self.AI = np.full((capacity_actions, 6), NONE, dtype=np.int64)
        self.AF = np.zeros((capacity_actions, 3))
        self.AU = np.zeros((capacity_actions, nu))
        self.meta = np.zeros(4, dtype=np.int64)
        self.mf = np.array([np.inf, -np.inf])
        self.HT = np.full(_pow2(2 * capacity_states), NONE, dtype=np.int64)

    @property
    def n_states(self) -> int:
        return int(self.meta[M_NS])

    @property
    def n_actions(self) -> int:
        return int(self.meta[M_NA])

    @property
    def arrays(self):
        """The arrays in the order the numba functions take them: SI, SC, SF, SX, AI, AF, AU, meta, mf, HT."""
        return self.SI, self.SC, self.SF, self.SX, self.AI, self.AF, self.AU, self.meta, self.mf, self.HT

    def ensure(self, more_states: int, more_actions: int) -> None:
        """Grow the arrays (doubling) so that ``more_states``/``more_actions`` new rows fit."""
        need_s = self.n_states + more_states
        if need_s > len(self.SI):
            cap = max(need_s, 2 * len(self.SI))
            self.SI = _grow(self.SI, cap, NONE)
            self.SC = _grow(self.SC, cap, 0)
            self.SF = _grow(self.SF, cap, 0.0)
            self.SX = _grow(self.SX, cap, 0.0)
            self.HT = np.full(_pow2(2 * cap), NONE, dtype=np.int64)
            rebuild_table(self.SI, self.SX, self.meta, self.HT)
        need_a = self.n_actions + more_actions
        if need_a > len(self.AI):
            cap = max(need_a, 2 * len(self.AI))
            self.AI = _grow(self.AI, cap, NONE)
            self.AF = _grow(self.AF, cap, 0.0)
            self.AU = _grow(self.AU, cap, 0.0)

    def new_root(self, x: np.ndarray, terminal: bool = False) -> int:
        """Clear the tree (keeping its arrays) and add the root state node for ``x`` (nx,); returns 0."""
        return clear_and_root(self.SI, self.SC, self.SF, self.SX, self.AI, self.meta, self.mf, self.HT,
                              np.asarray(x, np.float64), bool(terminal))

    def root_children(self, root: int = 0) -> np.ndarray:
        """Indices of the root's action nodes, in ascending order of creation."""
        out = []
        a = self.SI[root, S_FIRST]
        while a != NONE:
            out.append(a)
            a = self.AI[a, A_NEXT]
        return np.array(sorted(out), dtype=np.int64)

    def compact_into(self, new_root: int, other: "Tree") -> "Tree":
        """Copy the subtree below state node ``new_root`` into ``other`` (cleared; its arrays are
        reused and grown when too small), where it becomes node 0. Returns ``other``."""
        other.meta[:] = 0
        other.ensure(self.n_states, self.n_actions)
        compact(*self.arrays[:-1], new_root, *other.arrays[:-1])
        recompute_bounds(other.AI, other.AF, other.meta, other.mf)
        rebuild_table(other.SI, other.SX, other.meta, other.HT)
        return other

    def compacted(self, new_root: int) -> "Tree":
        """A new tree holding only the subtree below state node ``new_root`` (which becomes node 0)."""
        t = Tree(max(16, 2 * self.n_states), max(16, 2 * self.n_actions), self.nx, self.nu)
        return self.compact_into(new_root, t)


def _pow2(n):
    k = 16
    while k < n:
        k *= 2
    return k


def _grow(arr, cap, fill):
    out = np.full((cap,) + arr.shape[1:], fill, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


@nb.njit(**_JIT)
def seed(s):
    """Seed numba's internal generator (used for tie-breaks, rollouts and sampled noise)."""
    np.random.seed(s)


@nb.njit(**_HOT)
def add_state(SI, SC, SF, SX, AI, meta, x, reward, term, parent):
    """Append a state node for ``x`` reached from action node ``parent`` with ``reward``; link it."""
    s = meta[M_NS]
    meta[M_NS] = s + 1
    SI[s, S_PARENT] = parent
    SI[s, S_DEPTH] = 0 if parent == NONE else SI[AI[parent, A_PARENT], S_DEPTH] + 1
    SI[s, S_FIRST] = NONE
    SI[s, S_NCHILD] = 0
    SI[s, S_VISITS] = 0
    SI[s, S_TERM] = 1 if term else 0
    SI[s, S_NEXT] = NONE
    SC[s] = 1
    SF[s, 0] = reward
    SF[s, 1] = 0.0
    SF[s, 2] = 0.0
    SF[s, 3] = 0.0
    for k in range(x.shape[0]):
        SX[s, k] = x[k]
    if parent != NONE:
        SI[s, S_NEXT] = AI[parent, A_FIRST]
        AI[parent, A_FIRST] = s
        AI[parent, A_NOUT] += 1
    return s


@nb.njit(**_JIT)
def clear_and_root(SI, SC, SF, SX, AI, meta, mf, HT, x, term):
    """Empty the tree and add the root state node for ``x`` (index 0)."""
    meta[:] = 0
    mf[0] = np.inf
    mf[1] = -np.inf
    HT[:] = NONE
    return add_state(SI, SC, SF, SX, AI, meta, x, 0.0, term, NONE)


@nb.njit(**_HOT)
def _link_action(SI, AI, AF, meta, s, index):
    """Prepend a new action node (discrete ``index``, -1 if continuous) to state node ``s``; its
    action vector is the caller's to fill."""
    a = meta[M_NA]
    meta[M_NA] = a + 1
    AI[a, A_PARENT] = s
    AI[a, A_NEXT] = SI[s, S_FIRST]
    AI[a, A_FIRST] = NONE
    AI[a, A_NOUT] = 0
    AI[a, A_VISITS] = 0
    AI[a, A_INDEX] = index
    AF[a, 0] = 0.0
    AF[a, 1] = -np.inf
    AF[a, 2] = 0.0
    SI[s, S_FIRST] = a
    SI[s, S_NCHILD] += 1
    return a


@nb.njit(**_HOT)
def add_action(SI, AI, AF, AU, meta, s, u, index):
    """Prepend an action node with action vector ``u`` (and discrete ``index``) to state node ``s``."""
    a = _link_action(SI, AI, AF, meta, s, index)
    for k in range(AU.shape[1]):
        AU[a, k] = u[k]
    return a


@nb.njit(**_HOT)
def expand_discrete(SI, AI, AF, AU, meta, s, legal):
    """Give state node ``s`` one action node per legal action index; returns how many were added."""
    n = 0
    for i in range(legal.shape[0] - 1, -1, -1):  # prepend in reverse so the list runs 0, 1, ...
        if legal[i]:
            a = _link_action(SI, AI, AF, meta, s, i)
            AU[a, 0] = float(i)
            for k in range(1, AU.shape[1]):
                AU[a, k] = 0.0
            n += 1
    return n


@nb.njit(**_HOT)
def widen(SI, s, pw_k, pw_alpha):
    """Progressive widening: may state node ``s`` get another action child (``n < k (N + 1)^alpha``)?"""
    allowed = math.ceil(pw_k * (SI[s, S_VISITS] + 1.0) ** pw_alpha)
    return SI[s, S_NCHILD] < allowed


@nb.njit(**_HOT)
def _mix(h):
    """The 64-bit finaliser of MurmurHash3 (logical shifts emulated on int64): every input bit
    affects every output bit, so the low bits used as the table index are well spread even for
    states whose float bits differ only in their high (exponent/upper mantissa) bits, such as small
    integers."""
    h ^= (h >> 33) & 0x7FFFFFFF
    h *= -49064778989728563  # 0xff51afd7ed558ccd
    h ^= (h >> 33) & 0x7FFFFFFF
    h *= -4265267296055464877  # 0xc4ceb9fe1a85ec53
    h ^= (h >> 33) & 0x7FFFFFFF
    return h


@nb.njit(**_HOT)
def _float_bits(v):
    """An int64 determined by the finite float ``v`` (equal values, including 0.0 and -0.0, give
    equal results): its exact 53-bit mantissa and its exponent."""
    if v == 0.0:
        return 0
    m, e = math.frexp(v)
    return int(m * 9007199254740992.0) ^ (e * 0x100000001B3)


@nb.njit(**_HOT)
def _key(x, depth, mask):
    """Table slot of the finite state ``x`` (nx,) at ``depth``."""
    h = _mix((depth + 1) * -7046029254386353131)  # 0x9E3779B97F4A7C15 as int64; int64 arithmetic wraps
    for k in range(x.shape[0]):
        h = _mix(h ^ _float_bits(x[k]))
    return h & mask


@nb.njit(**_HOT)
def _key_row(X, s, depth, mask):
    """:func:`_key` of row ``X[s]`` without making a view of it."""
    h = _mix((depth + 1) * -7046029254386353131)
    for k in range(X.shape[1]):
        h = _mix(h ^ _float_bits(X[s, k]))
    return h & mask


@nb.njit(**_HOT)
def lookup(SI, SX, HT, x, depth):
    """The state node holding ``x`` (contiguous (nx,)) at ``depth``, or ``NONE``."""
    mask = HT.shape[0] - 1
    i = _key(x, depth, mask)
    nx = x.shape[0]
    while HT[i] != NONE:
        s = HT[i]
        if SI[s, S_DEPTH] == depth:
            same = True
            for k in range(nx):
                if SX[s, k] != x[k]:
                    same = False
                    break
            if same:
                return s
        i = (i + 1) & mask
    return NONE


@nb.njit(**_HOT)
def insert(SI, SX, HT, s):
    """Enter state node ``s`` into the transposition table."""
    mask = HT.shape[0] - 1
    i = _key_row(SX, s, SI[s, S_DEPTH], mask)
    while HT[i] != NONE:
        i = (i + 1) & mask
    HT[i] = s


@nb.njit(**_JIT)
def rebuild_table(SI, SX, meta, HT):
    """Refill the transposition table with all state nodes (after growing or compacting)."""
    HT[:] = NONE
    for s in range(meta[M_NS]):
        insert(SI, SX, HT, s)


@nb.njit(**_HOT)
def edge_value(SI, SF, AI, AF, a, gamma, from_child):
    """Value of action node ``a``: its own mean return, or with ``from_child`` (deterministic models)
    ``r + gamma V(s')`` from the (possibly shared) child node's value ``SF[s', 2]``."""
    if from_child:
        s2 = AI[a, A_FIRST]
        if s2 != NONE and SI[s2, S_VISITS] > 0:
            return AF[a, 2] + gamma * SF[s2, 2]
    return AF[a, 0] / AI[a, A_VISITS]


@nb.njit(**_JIT)
def best_child(SI, SF, AI, AF, s, gamma, from_child, by_value):
    """The child of state node ``s`` a plan follows, or ``NONE`` if none was visited: the most
    visited (ties: the higher value, then the older node), or with ``by_value`` the one of highest
    value (ties: more visits, then the older node)."""
    best = NONE
    bn = -1
    bq = -np.inf
    a = SI[s, S_FIRST]
    while a != NONE:
        n = AI[a, A_VISITS]
        if n > 0:
            q = edge_value(SI, SF, AI, AF, a, gamma, from_child)
            if best == NONE:
                better = True
            elif by_value:
                better = q > bq or (q == bq and (n > bn or (n == bn and a < best)))
            else:
                better = n > bn or (n == bn and (q > bq or (q == bq and a < best)))
            if better:
                best, bn, bq = a, n, q
        a = AI[a, A_NEXT]
    return best


@nb.njit(**_JIT)
def best_path(SI, SC, SF, AI, AF, AU, gamma, from_child, by_value, A):
    """Write the plan's actions into ``A`` (H, nu): from the root follow :func:`best_child` and, at
    each action node, its most-sampled outcome; pad with the last action.

    Returns ``(k, first)``: how many actions came from the tree (0: none, ``A`` untouched) and the
    root's chosen action node (``NONE`` if ``k == 0``).
    """
    H = A.shape[0]
    nu = A.shape[1]
    k = 0
    first = NONE
    s = 0
    while s != NONE and k < H:
        a = best_child(SI, SF, AI, AF, s, gamma, from_child, by_value)
        if a == NONE:
            break
        if k == 0:
            first = a
        for j in range(nu):
            A[k, j] = AU[a, j]
        k += 1
        nxt = NONE
        most = -1
        o = AI[a, A_FIRST]
        while o != NONE:
            if SC[o] > most:
                nxt = o
                most = SC[o]
            o = SI[o, S_NEXT]
        s = nxt
    if k > 0:
        for t in range(k, H):
            for j in range(nu):
                A[t, j] = A[k - 1, j]
    return k, first


@nb.njit(**_JIT)
def root_stats(SI, SF, AI, AF, gamma, from_child, visits, q, best_return):
    """Discrete actions: the root's visit counts, values (NaN where unvisited) and best returns seen,
    indexed by action (arrays (n_actions,) pre-filled with 0, NaN, NaN). Returns the visit total."""
    total = 0
    a = SI[0, S_FIRST]
    while a != NONE:
        i = AI[a, A_INDEX]
        n = AI[a, A_VISITS]
        visits[i] = n
        total += n
        if n > 0:
            q[i] = edge_value(SI, SF, AI, AF, a, gamma, from_child)
            best_return[i] = AF[a, 1]
        a = AI[a, A_NEXT]
    return total


@nb.njit(**_HOT)
def select_uct(SI, SF, AI, AF, mf, s, c, normalize, gamma, from_child):
    r"""The child of state node ``s`` with the best UCT score (5.2.7); unvisited children first.

    ``score = Q/N + 2 c sqrt(2 ln N_parent / N)``, with ``Q/N`` min-max normalised to ``[0, 1]`` over
    the tree when ``normalize``. With ``from_child`` (deterministic models) ``Q`` is
    ``r + gamma V(s')`` from the child node (see :func:`edge_value`). Ties are broken uniformly at
    random.
    """
    lo = mf[0]
    span = mf[1] - mf[0]
    scale = normalize and span > 0.0
    logn = math.log(max(SI[s, S_VISITS], 1))
    best = NONE
    best_score = -np.inf
    ties = 0
    a = SI[s, S_FIRST]
    while a != NONE:
        n = AI[a, A_VISITS]
        if n == 0:
            score = np.inf
        else:
            q = edge_value(SI, SF, AI, AF, a, gamma, from_child)
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
        a = AI[a, A_NEXT]
    return best


@nb.njit(**_HOT)
def find_outcome(SI, SX, AI, a, xn):
    """The outcome of action node ``a`` whose state equals ``xn`` exactly, or ``NONE``."""
    s = AI[a, A_FIRST]
    nx = xn.shape[0]
    while s != NONE:
        same = True
        for k in range(nx):
            if SX[s, k] != xn[k]:
                same = False
                break
        if same:
            return s
        s = SI[s, S_NEXT]
    return NONE


@nb.njit(**_HOT)
def sample_outcome(SI, SC, AI, a):
    """An existing outcome of action node ``a`` drawn in proportion to how often it was sampled."""
    total = 0
    s = AI[a, A_FIRST]
    while s != NONE:
        total += SC[s]
        s = SI[s, S_NEXT]
    pick = np.random.randint(total)
    s = AI[a, A_FIRST]
    while s != NONE:
        pick -= SC[s]
        if pick < 0:
            return s
        s = SI[s, S_NEXT]
    return AI[a, A_FIRST]


@nb.njit(**_HOT)
def backup(SI, SF, AI, AF, mf, root, path_a, path_s, rewards, k, leaf_value, gamma, vmode):
    """Back a simulation's return up its path: ``G <- r + gamma G`` at every edge (leaf first).

    ``path_a[i]`` is the action node taken at step ``i``, ``path_s[i]`` the state node reached and
    ``rewards[i]`` the reward of that transition in this simulation. The leaf evaluation is
    credited to the last state node of the path (``SF[., 3]``); ``vmode`` selects how the nodes'
    values ``SF[., 2]`` are refreshed (see :func:`node_value`).
    """
    g = leaf_value
    SF[path_s[k - 1] if k > 0 else root, 3] += leaf_value
    for i in range(k - 1, -1, -1):
        SI[path_s[i], S_VISITS] += 1
        SF[path_s[i], 1] += g
        node_value(SI, SF, AI, AF, path_s[i], gamma, vmode)
        g = rewards[i] + gamma * g
        a = path_a[i]
        AI[a, A_VISITS] += 1
        AF[a, 0] += g
        if g > AF[a, 1]:
            AF[a, 1] = g
        q = AF[a, 0] / AI[a, A_VISITS]
        lo = min(q, AF[a, 1])
        hi = max(q, AF[a, 1])
        if vmode != 0:  # the score uses r + gamma V(s'); keep it inside the bounds too
            qc = AF[a, 2] + gamma * SF[path_s[i], 2]
            lo = min(lo, qc)
            hi = max(hi, qc)
        if lo < mf[0]:
            mf[0] = lo
        if hi > mf[1]:
            mf[1] = hi
    SI[root, S_VISITS] += 1
    SF[root, 1] += g
    node_value(SI, SF, AI, AF, root, gamma, vmode)


@nb.njit(**_HOT)
def node_value(SI, SF, AI, AF, s, gamma, vmode):
    r"""Refresh ``SF[s, 2]``, the value of state node ``s`` after its visit count changed.

    ``vmode`` 0 (trees): the mean return through the node. 1 (``bellman``, deterministic models):
    ``max_a r + gamma V(s')`` over its children once every child has been tried (before that a max
    over the tried ones would ignore the untried, possibly better, actions), else the mean. 2
    (deterministic models with transpositions, a DAG; the "UCT3" update of Childs, Brodeur &
    Kocsis 2008): the visit-weighted mean of the node's own leaf evaluations and of its edges'
    *current* values,

    .. math:: V(s) = \frac{\sum \text{leaf evaluations at } s + \sum_a N(s, a)\,(r_a + \gamma V(s'_a))}{N(s)},

    so that what a shared child learned through another parent reaches this node the next time a
    simulation passes it. On a tree (every child has one parent) this equals the mean return.
    """
    if vmode == 2:
        tot = SF[s, 3]
        a = SI[s, S_FIRST]
        while a != NONE:
            n = AI[a, A_VISITS]
            if n > 0:
                tot += n * (AF[a, 2] + gamma * SF[AI[a, A_FIRST], 2])
            a = AI[a, A_NEXT]
        SF[s, 2] = tot / SI[s, S_VISITS]
        return
    best = -np.inf
    if vmode == 1:
        a = SI[s, S_FIRST]
        while a != NONE:
            s2 = AI[a, A_FIRST]
            if AI[a, A_VISITS] == 0 or s2 == NONE or SI[s2, S_VISITS] == 0:
                best = -np.inf
                break
            v = AF[a, 2] + gamma * SF[s2, 2]
            if v > best:
                best = v
            a = AI[a, A_NEXT]
    SF[s, 2] = best if best > -np.inf else SF[s, 1] / SI[s, S_VISITS]


@nb.njit(**_JIT)
def recompute_bounds(AI, AF, meta, mf):
    """Recompute the min/max mean action value over the tree (after compaction)."""
    mf[0] = np.inf
    mf[1] = -np.inf
    for a in range(meta[M_NA]):
        if AI[a, A_VISITS] > 0:
            q = AF[a, 0] / AI[a, A_VISITS]
            mf[0] = min(mf[0], q, AF[a, 1])
            mf[1] = max(mf[1], q, AF[a, 1])


@nb.njit(**_JIT)
def compact(SI, SC, SF, SX, AI, AF, AU, meta, mf, root, SI2, SC2, SF2, SX2, AI2, AF2, AU2, meta2, mf2):
    """Copy the subtree below state node ``root`` into the empty tree ``*2`` (root becomes node 0).

    Children lists keep their order. The new tree's arrays must be large enough (the old counts).
    """
    nmap = np.full(meta[M_NS], NONE, dtype=np.int64)
    seen = np.zeros(meta[M_NS], dtype=np.bool_)
    queue = np.empty(meta[M_NS], dtype=np.int64)
    queue[0] = root
    seen[root] = True
    d0 = SI[root, S_DEPTH]
    head = 0
    tail = 1
    ns = 0
    na = 0
    # state nodes in BFS order; the new root has no parent
    while head < tail:
        s = queue[head]
        head += 1
        nmap[s] = ns
        SI2[ns, S_VISITS] = SI[s, S_VISITS]
        SI2[ns, S_TERM] = SI[s, S_TERM]
        SI2[ns, S_DEPTH] = SI[s, S_DEPTH] - d0
        SC2[ns] = SC[s]
        SF2[ns, 0] = SF[s, 0]
        SF2[ns, 1] = SF[s, 1]
        SF2[ns, 2] = SF[s, 2]
        SF2[ns, 3] = SF[s, 3]
        for k in range(SX.shape[1]):
            SX2[ns, k] = SX[s, k]
        ns += 1
        a = SI[s, S_FIRST]
        while a != NONE:
            o = AI[a, A_FIRST]
            while o != NONE:
                if not seen[o]:  # transpositions: a node may have several parents
                    seen[o] = True
                    queue[tail] = o
                    tail += 1
                o = SI[o, S_NEXT]
            a = AI[a, A_NEXT]
    meta2[M_NS] = ns
    # action nodes, and all links, in a second pass over the copied state nodes
    for i in range(ns):
        s = queue[i]
        s2 = nmap[s]
        SI2[s2, S_PARENT] = NONE
        SI2[s2, S_NEXT] = NONE
        SI2[s2, S_FIRST] = NONE
        SI2[s2, S_NCHILD] = 0
    for i in range(ns):
        s = queue[i]
        s2 = nmap[s]
        # walk the children, copying them in reverse so prepending restores the order
        nch = SI[s, S_NCHILD]
        kids = np.empty(nch, dtype=np.int64)
        a = SI[s, S_FIRST]
        j = 0
        while a != NONE:
            kids[j] = a
            j += 1
            a = AI[a, A_NEXT]
        for j in range(nch - 1, -1, -1):
            a = kids[j]
            a2 = na
            na += 1
            AI2[a2, A_PARENT] = s2
            AI2[a2, A_NEXT] = SI2[s2, S_FIRST]
            AI2[a2, A_VISITS] = AI[a, A_VISITS]
            AI2[a2, A_INDEX] = AI[a, A_INDEX]
            AF2[a2, 0] = AF[a, 0]
            AF2[a2, 1] = AF[a, 1]
            AF2[a2, 2] = AF[a, 2]
            for k in range(AU.shape[1]):
                AU2[a2, k] = AU[a, k]
            SI2[s2, S_FIRST] = a2
            SI2[s2, S_NCHILD] += 1
            # outcomes, again in reverse
            nout = AI[a, A_NOUT]
            outs = np.empty(nout, dtype=np.int64)
            o = AI[a, A_FIRST]
            m = 0
            while o != NONE:
                outs[m] = o
                m += 1
                o = SI[o, S_NEXT]
            AI2[a2, A_FIRST] = NONE
            AI2[a2, A_NOUT] = 0
            for m in range(nout - 1, -1, -1):
                o2 = nmap[outs[m]]
                SI2[o2, S_PARENT] = a2
                SI2[o2, S_NEXT] = AI2[a2, A_FIRST]
                AI2[a2, A_FIRST] = o2
                AI2[a2, A_NOUT] += 1
    meta2[M_NA] = na
    meta2[M_NONFINITE] = 0
