"""Monte Carlo tree search: the UCT planner (Kocsis & Szepesvári 2006) and its search tree.

* :mod:`.uct` — :class:`UCT`, the planner;
* :mod:`.tree`, :mod:`.storage` — the search tree as named preallocated arrays and their growth;
* :mod:`.values`, :mod:`.hashing` — scores, backups and the transposition table;
* :mod:`.search` — the simulation loop, compiled per model; :mod:`.python` — the same loop in Python.
"""

from planlab.planners.mcts.settings import SearchSettings, UCTConfig
from planlab.planners.mcts.storage import Tree
from planlab.planners.mcts.tree import NO_NODE, TreeArrays
from planlab.planners.mcts.uct import UCT

__all__ = ["UCT", "UCTConfig", "SearchSettings", "Tree", "TreeArrays", "NO_NODE"]
