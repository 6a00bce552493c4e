"""The Python owner of a search tree's arrays: allocation, growth, clearing and compaction (tree reuse)."""

from __future__ import annotations

import numpy as np

from planlab.planners.mcts.hashing import rebuild_table
from planlab.planners.mcts.tree import (
    A_NEXT, ACTION_INFO_COLUMNS, ACTION_STATS_COLUMNS, NO_NODE, NUM_ACTIONS, NUM_COUNTERS, NUM_NONFINITE, NUM_STATES,
    S_FIRST, STATE_INFO_COLUMNS, STATE_STATS_COLUMNS, TreeArrays, clear_and_root, compact,
)
from planlab.planners.mcts.values import recompute_bounds

__all__ = ["Tree"]


class Tree:
    """A search tree held in preallocated arrays (:class:`~planlab.planners.mcts.tree.TreeArrays`).

    Parameters
    ----------
    capacity_states, capacity_actions : int
        Rows allocated for state and action nodes; :meth:`ensure` grows them.
    nx, nu : int
        State and action dimensions.

    Attributes
    ----------
    arrays : TreeArrays
        The current arrays (replaced when they grow): what the compiled functions take.
    """

    def __init__(self, capacity_states: int, capacity_actions: int, nx: int, nu: int):
        self.nx, self.nu = nx, nu
        self.arrays = TreeArrays(
            state_info=np.full((capacity_states, STATE_INFO_COLUMNS), NO_NODE, dtype=np.int64),
            state_samples=np.zeros(capacity_states, dtype=np.int64),
            state_stats=np.zeros((capacity_states, STATE_STATS_COLUMNS)),
            state_x=np.zeros((capacity_states, nx)),
            action_info=np.full((capacity_actions, ACTION_INFO_COLUMNS), NO_NODE, dtype=np.int64),
            action_stats=np.zeros((capacity_actions, ACTION_STATS_COLUMNS)),
            action_u=np.zeros((capacity_actions, nu)),
            counters=np.zeros(NUM_COUNTERS, dtype=np.int64),
            value_bounds=np.array([np.inf, -np.inf]),
            table=np.full(_pow2(2 * capacity_states), NO_NODE, dtype=np.int64),
        )

    @property
    def n_states(self) -> int:
        """State nodes in use."""
        return int(self.arrays.counters[NUM_STATES])

    @property
    def n_actions(self) -> int:
        """Action nodes in use."""
        return int(self.arrays.counters[NUM_ACTIONS])

    @property
    def nonfinite(self) -> int:
        """Model transitions (and leaf values) that were not finite."""
        return int(self.arrays.counters[NUM_NONFINITE])

    def ensure(self, more_states: int, more_actions: int) -> None:
        """Grow the arrays (doubling) so that ``more_states``/``more_actions`` new rows fit."""
        t = self.arrays
        need_s = self.n_states + more_states
        if need_s > len(t.state_info):
            cap = max(need_s, 2 * len(t.state_info))
            t = t._replace(state_info=_grow(t.state_info, cap, NO_NODE), state_samples=_grow(t.state_samples, cap, 0),
                           state_stats=_grow(t.state_stats, cap, 0.0), state_x=_grow(t.state_x, cap, 0.0),
                           table=np.full(_pow2(2 * cap), NO_NODE, dtype=np.int64))
            rebuild_table(t)
        need_a = self.n_actions + more_actions
        if need_a > len(t.action_info):
            cap = max(need_a, 2 * len(t.action_info))
            t = t._replace(action_info=_grow(t.action_info, cap, NO_NODE),
                           action_stats=_grow(t.action_stats, cap, 0.0), action_u=_grow(t.action_u, cap, 0.0))
        self.arrays = t

    def new_root(self, x: np.ndarray, terminal: bool = False) -> int:
        """Clear the tree (keeping its arrays) and add the root state node for ``x`` (nx,); returns 0."""
        return clear_and_root(self.arrays, np.asarray(x, np.float64), bool(terminal))

    def root_children(self, root: int = 0) -> np.ndarray:
        """Indices of the root's action nodes, in ascending order of creation."""
        t = self.arrays
        out = []
        a = t.state_info[root, S_FIRST]
        while a != NO_NODE:
            out.append(a)
            a = t.action_info[a, A_NEXT]
        return np.array(sorted(out), dtype=np.int64)

    def compact_into(self, new_root: int, other: "Tree") -> "Tree":
        """Copy the subtree below state node ``new_root`` into ``other`` (cleared; its arrays are
        reused and grown when too small), where it becomes node 0. Returns ``other``."""
        other.arrays.counters[:] = 0
        other.ensure(self.n_states, self.n_actions)
        compact(self.arrays, new_root, other.arrays)
        recompute_bounds(other.arrays)
        rebuild_table(other.arrays)
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
