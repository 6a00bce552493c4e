"""Settings of a UCT search: the user's options (:class:`UCTConfig`) and what the search loop reads
(:class:`SearchSettings`, a NamedTuple of scalars that numba passes to the compiled search)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from planlab.core.validation import check_in, check_nonnegative, check_positive, check_positive_int

__all__ = ["UCTConfig", "SearchSettings", "OUTCOMES_DETERMINISTIC", "OUTCOMES_CLOSED_LOOP", "OUTCOMES_OPEN_LOOP",
           "VALUE_MEAN", "VALUE_BELLMAN", "VALUE_DAG"]

# how a search treats the outcomes of an action (SearchSettings.outcomes)
OUTCOMES_DETERMINISTIC = 0  #: one outcome per action node, computed once and cached
OUTCOMES_CLOSED_LOOP = 1  #: sampled outcomes are state nodes (equal states share one)
OUTCOMES_OPEN_LOOP = 2  #: nodes are action sequences; states are re-sampled in every simulation

# how a state node's value is refreshed (SearchSettings.value_mode; see values.node_value)
VALUE_MEAN = 0  #: the mean return through the node (classic UCT)
VALUE_BELLMAN = 1  #: max over the children of r + gamma V(s') (deterministic models)
VALUE_DAG = 2  #: the UCT3 update of Childs, Brodeur & Kocsis 2008 (deterministic, transpositions)


class SearchSettings(NamedTuple):
    """What the search loop reads, as scalars of fixed types (one compiled signature)."""

    discount: float  # gamma in (0, 1]
    exploration: float  # C of the UCT score, >= 0
    normalize: bool  # min-max normalise the action values inside the score
    horizon: int  # steps a simulation covers from the root (tree part plus rollout)
    max_depth: int  # depth limit of the tree
    rollout_horizon: int  # most steps of one rollout
    outcomes: int  # OUTCOMES_DETERMINISTIC, OUTCOMES_CLOSED_LOOP or OUTCOMES_OPEN_LOOP
    max_outcomes: int  # closed loop: most outcome nodes per action node
    discrete: bool  # discrete actions (else progressive widening)
    widening_k: float  # progressive widening: at most ceil(k (N + 1)^alpha) children
    widening_alpha: float
    value_mode: int  # VALUE_MEAN, VALUE_BELLMAN or VALUE_DAG
    transpositions: bool  # share state nodes between sequences reaching the same state and depth
    child_values: bool  # an edge's value is r + gamma V(s') from its child (DAG or Bellman values)


@dataclass(frozen=True)
class UCTConfig:
    """The options of :class:`~planlab.planners.mcts.UCT` that do not depend on the model (validated here).

    See :class:`~planlab.planners.mcts.UCT` for their meaning.
    """

    simulations: int = 200
    time_budget: float | None = None
    exploration: float = 0.5
    discount: float = 0.99
    rollout_horizon: int | None = None
    max_depth: int | None = None
    normalize: bool = True
    value_backup: str = "mean"
    transpositions: bool = True
    stochastic: str = "closed_loop"
    max_outcomes: int = 32
    reuse_tree: bool = True
    reuse_rtol: float = 1e-6
    reuse_atol: float = 1e-8
    backend: str = "auto"

    def __post_init__(self):
        check_positive_int("simulations", self.simulations)
        if self.time_budget is not None:
            check_positive("time_budget", self.time_budget)
        check_nonnegative("exploration", self.exploration)
        check_positive("discount", self.discount)
        if self.discount > 1.0:
            raise ValueError(f"discount: expected a number in (0, 1], got {self.discount!r}")
        if self.rollout_horizon is not None:
            check_positive_int("rollout_horizon", self.rollout_horizon, minimum=0)
        if self.max_depth is not None:
            check_positive_int("max_depth", self.max_depth)
        check_in("value_backup", self.value_backup, {"mean", "bellman"})
        check_in("stochastic", self.stochastic, {"closed_loop", "open_loop"})
        check_positive_int("max_outcomes", self.max_outcomes)
        check_nonnegative("reuse_rtol", self.reuse_rtol)
        check_nonnegative("reuse_atol", self.reuse_atol)
        check_in("backend", self.backend, {"auto", "numba", "python"})
