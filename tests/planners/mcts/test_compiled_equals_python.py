"""The compiled search and the Python search build the same tree, simulation for simulation.

Both run the one loop of :mod:`planlab.planners.mcts.search` (compiled per model, or un-jitted with
Python adapters) and draw every random number from numba's generator, so from the same seed they
must agree exactly: every named array of the tree after every simulation, and the plan.
"""

from __future__ import annotations

import numpy as np
import pytest

from planlab.dynamics.systems.cartpole import CartPoleCentredGymCost
from planlab.dynamics.systems.chain import Chain
from planlab.dynamics.systems.gridworld import GridWorld
from planlab.envs.models import model_for
from planlab.planners.mcts import UCT, rng
from planlab.planners.mcts.tree import NUM_ACTIONS, NUM_STATES


def _models():
    chain = Chain(10)
    grid = GridWorld()
    cart = model_for("CartPole-v1")
    return {
        "chain": (chain, chain.default_cost(), np.array([0.0]), {"discount": 0.95}),
        "gridworld": (grid, grid.default_cost(), np.array([2.0, 0.0]), {"discount": 0.95}),
        "gridworld-open-loop": (grid, grid.default_cost(), np.array([2.0, 0.0]), {"stochastic": "open_loop"}),
        "CartPole-v1": (cart[0], cart[1], np.array([0.02, -0.1, 0.04, 0.1]), {}),
        "CartPole-v1-bellman": (cart[0], cart[1], np.array([0.02, -0.1, 0.04, 0.1]),
                                {"value_backup": "bellman", "transpositions": False}),
        # a cost whose source reads the state and its parameters (the cart's distance to the track's end)
        "CartPole-v1-centred": (cart[0], CartPoleCentredGymCost(0.5), np.array([1.9, 0.5, 0.04, 0.1]), {}),
    }


MODELS = _models()


def _used(tree):
    """The tree's arrays, cut to the rows in use."""
    t = tree.arrays
    ns, na = int(t.counters[NUM_STATES]), int(t.counters[NUM_ACTIONS])
    out = {}
    for name, arr in t._asdict().items():
        if name.startswith("state_"):
            arr = arr[:ns]
        elif name.startswith("action_"):
            arr = arr[:na]
        out[name] = arr.copy()
    return out


def _snapshots(uct, x0, n, seed):
    """The tree after each of ``n`` single simulations from ``x0``, numba's generator seeded with ``seed``."""
    tree = uct._buffer()
    tree.new_root(x0, False)
    rng.seed(seed)
    out = []
    for _ in range(n):
        uct._simulate(tree, 1)
        out.append(_used(tree))
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_compiled_and_python_search_build_the_same_tree_step_for_step(name):
    dyn, cost, x0, options = MODELS[name]
    compiled = UCT(dyn, cost, horizon=20, simulations=120, seed=0, backend="numba", **options)
    python = UCT(dyn, cost, horizon=20, simulations=120, seed=0, backend="python", **options)
    assert (compiled.backend, python.backend) == ("numba", "python")
    for step, (a, b) in enumerate(zip(_snapshots(compiled, x0, 120, 7), _snapshots(python, x0, 120, 7))):
        for field in a:
            np.testing.assert_array_equal(a[field], b[field], err_msg=f"{name}: {field} after simulation {step + 1}")


@pytest.mark.parametrize("name", ["chain", "gridworld", "CartPole-v1"])
def test_compiled_and_python_plans_are_equal(name):
    dyn, cost, x0, options = MODELS[name]
    a = UCT(dyn, cost, horizon=20, simulations=150, seed=3, backend="numba", **options).plan(x0)
    b = UCT(dyn, cost, horizon=20, simulations=150, seed=3, backend="python", **options).plan(x0)
    np.testing.assert_array_equal(a.actions, b.actions)
    for key in ("root_visits", "root_q", "root_best_return", "tree_states", "tree_actions"):
        np.testing.assert_array_equal(a.diagnostics[key], b.diagnostics[key])
