"""The slippery gridworld system: exact values against AIMA's published numbers, source vs tabular model."""

from __future__ import annotations

import numpy as np
import pytest

from planlab.dynamics.systems.gridworld import GridWorld, transition_table, value_iteration


def test_value_iteration_reproduces_aima_figure_17_3():
    """Russell & Norvig, AIMA Fig. 17.3: utilities of the 4x3 world (gamma 1, R = -0.04), 3 decimals."""
    v = value_iteration(GridWorld(), 1.0)
    aima = np.array([[0.812, 0.868, 0.918, 0.0],
                     [0.762, np.nan, 0.660, 0.0],
                     [0.705, 0.655, 0.611, 0.388]])
    np.testing.assert_allclose(v.V, aima, atol=5e-4)
    # AIMA Fig. 17.2 (R = -0.04): right along the top, up the left column, left along the bottom
    np.testing.assert_array_equal(v.policy, [[1, 1, 1, -1], [0, -1, 0, -1], [0, 3, 3, 3]])


@pytest.mark.parametrize("gamma", [0.9, 0.95, 1.0])
def test_value_iteration_satisfies_the_bellman_optimality_equation(gamma):
    w = GridWorld()
    cells, P, R, terminal = transition_table(w)
    v = value_iteration(w, gamma)
    V = np.array([0.0 if terminal[i] else v.V[r, c] for i, (r, c) in enumerate(cells)])
    backup = np.einsum("sat,sat->sa", P, R + gamma * V[None, None, :]).max(axis=1)
    np.testing.assert_allclose(np.where(terminal, 0.0, backup), V, atol=1e-10)


def test_source_transitions_match_the_tabular_model():
    """Sampled moves of the single-source dynamics have the tabular probabilities (5 sigma)."""
    w = GridWorld()
    cells, P, _, terminal = transition_table(w)
    index = {c: i for i, c in enumerate(cells)}
    rng = np.random.default_rng(0)
    n = 4000
    for i, cell in enumerate(cells):
        if terminal[i]:
            continue
        for a in range(4):
            xn = w.step(np.tile(np.array(cell, float), (n, 1)), np.full((n, 1), float(a)), rng)
            freq = np.bincount([index[(int(r), int(c))] for r, c in xn], minlength=len(cells)) / n
            sigma = np.sqrt(P[i, a] * (1 - P[i, a]) / n)
            assert np.all(np.abs(freq - P[i, a]) <= 5 * sigma + 1e-12), (cell, a)


def test_cost_and_termination_match_the_exits():
    w = GridWorld()
    c = w.default_cost()
    x, u = np.array([0.0, 2.0]), np.array([1.0])
    assert c.running(x, u, np.array([0.0, 3.0])) == pytest.approx(0.04 - 1.0)
    assert c.running(x, u, np.array([1.0, 3.0])) == pytest.approx(0.04 + 1.0)
    assert c.running(x, u, np.array([0.0, 2.0])) == pytest.approx(0.04)
    np.testing.assert_array_equal(w.terminated(np.array([[0.0, 3.0], [1.0, 3.0], [2.0, 0.0]])), [True, True, False])


def test_bad_layouts_raise():
    with pytest.raises(ValueError, match="layout"):
        GridWorld(layout=("...", ".."))
    with pytest.raises(ValueError, match="exit"):
        GridWorld(layout=("S..",))
    with pytest.raises(ValueError, match="slip"):
        GridWorld(slip=1.5)
