"""What the search loop needs of a model besides its sources, and its scratch space (both numba-passable)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["CompiledModel", "Scratch", "make_scratch"]


class CompiledModel(NamedTuple):
    """The model data of the compiled search (its functions are the sources the search module imports).

    :class:`~planlab.planners.mcts.python.PythonModel` has the same attributes, so the one search loop
    reads either.
    """

    params: np.ndarray  # [n_p] the system's parameter vector
    cost_params: np.ndarray  # [n_cp] the cost's parameter vector
    legal: np.ndarray  # [n_actions] bool: the static action mask ([1] True for continuous actions)
    legal_index: np.ndarray  # [n_legal] int64: indices of the legal actions
    action_low: np.ndarray  # [nu]
    action_high: np.ndarray  # [nu]
    noise_dim: int  # uniform noise inputs the dynamics source reads after the action
    has_leaf_value: bool  # always False here: leaves are evaluated by random rollouts


class Scratch(NamedTuple):
    """Preallocated buffers of the search loop (it allocates nothing)."""

    x: np.ndarray  # [nx] the state of the current node
    xn: np.ndarray  # [nx] the next state
    xa: np.ndarray  # [nx] rollout state
    xb: np.ndarray  # [nx] rollout next state
    u: np.ndarray  # [nu + noise_dim] the action taken in the tree (and its noise)
    ru: np.ndarray  # [nu + noise_dim] the rollout action (and its noise)
    rewards: np.ndarray  # [max_depth + 1] rewards along the path
    path_a: np.ndarray  # [max_depth + 1] int64 action nodes along the path
    path_s: np.ndarray  # [max_depth + 1] int64 state nodes along the path


def make_scratch(nx: int, nu: int, noise_dim: int, max_depth: int) -> Scratch:
    """Zeroed :class:`Scratch` buffers."""
    nw = nu + noise_dim
    return Scratch(np.zeros(nx), np.zeros(nx), np.zeros(nx), np.zeros(nx), np.zeros(nw), np.zeros(nw),
                   np.zeros(max_depth + 1), np.zeros(max_depth + 1, dtype=np.int64),
                   np.zeros(max_depth + 1, dtype=np.int64))
