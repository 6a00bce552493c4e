"""Transposition table of the UCT tree: state nodes keyed by (state, depth).

Deterministic models share one state node between all action sequences that reach the same state
at the same depth, turning the tree into a DAG (Childs, Brodeur & Kocsis 2008, "Transpositions and
move groups in Monte Carlo tree search"). ``TreeArrays.table`` is an open-addressing hash table
(linear probing, size a power of two) of state-node indices.
"""

from __future__ import annotations

import math

from planlab.dynamics.compiled.jit import jit, jit_inline
from planlab.planners.mcts.tree import NO_NODE, NUM_STATES, S_DEPTH

__all__ = ["lookup", "insert", "rebuild_table"]

_DEPTH_SALT = -7046029254386353131  # 0x9E3779B97F4A7C15 as int64; int64 arithmetic wraps


@jit_inline
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


@jit_inline
def _float_bits(v):
    """An int64 determined by the finite float ``v`` (equal values, including 0.0 and -0.0, give
    equal results): its exact 53-bit mantissa and its exponent."""
    if v == 0.0:
        return 0
    m, e = math.frexp(v)
    return int(m * 9007199254740992.0) ^ (e * 0x100000001B3)


@jit_inline
def _key(x, depth, mask):
    """Table slot of the finite state ``x`` (nx,) at ``depth``."""
    h = _mix((depth + 1) * _DEPTH_SALT)
    for k in range(x.shape[0]):
        h = _mix(h ^ _float_bits(x[k]))
    return h & mask


@jit_inline
def _key_row(X, s, depth, mask):
    """:func:`_key` of row ``X[s]`` without making a view of it."""
    h = _mix((depth + 1) * _DEPTH_SALT)
    for k in range(X.shape[1]):
        h = _mix(h ^ _float_bits(X[s, k]))
    return h & mask


@jit  # called once per simulation: compiled once, not copied into every model's search
def lookup(tree, x, depth):
    """The state node holding ``x`` (contiguous (nx,)) at ``depth``, or ``NO_NODE``."""
    table = tree.table
    mask = table.shape[0] - 1
    i = _key(x, depth, mask)
    nx = x.shape[0]
    while table[i] != NO_NODE:
        s = table[i]
        if tree.state_info[s, S_DEPTH] == depth:
            same = True
            for k in range(nx):
                if tree.state_x[s, k] != x[k]:
                    same = False
                    break
            if same:
                return s
        i = (i + 1) & mask
    return NO_NODE


@jit  # called once per simulation: compiled once, not copied into every model's search
def insert(tree, s):
    """Enter state node ``s`` into the transposition table."""
    table = tree.table
    mask = table.shape[0] - 1
    i = _key_row(tree.state_x, s, tree.state_info[s, S_DEPTH], mask)
    while table[i] != NO_NODE:
        i = (i + 1) & mask
    table[i] = s


@jit
def rebuild_table(tree):
    """Refill the transposition table with all state nodes (after growing or compacting)."""
    tree.table[:] = NO_NODE
    for s in range(tree.counters[NUM_STATES]):
        insert(tree, s)
