"""Time-indexed parameter tables, tracking costs and constraint helpers on numpy."""

import numpy as np
import pytest

from planlab.core.constraints import circle_obstacles, state_box
from planlab.core.tracking import ParamTable, TrackingCost


def test_param_table_accepts_constant_per_step_and_per_step_with_terminal_rows():
    tab = ParamTable(3, [("a", 2), ("b", 1)])
    base = tab.empty()
    out = tab.fill(base, {"a": [1.0, 2.0], "b": 5.0})
    np.testing.assert_array_equal(out, np.tile([1.0, 2.0, 5.0], (4, 1)))
    out2 = tab.fill(out, {"a": np.arange(6.0).reshape(3, 2)})
    np.testing.assert_array_equal(tab.get(out2, "a"), [[0, 1], [2, 3], [4, 5], [1, 2]])  # terminal row kept
    assert tab.index.b == 2 and tab.size == 3
    with pytest.raises(ValueError, match=r"params\['a'\]: expected shape \(2,\), \(3, 2\) or \(4, 2\), got \(5, 2\)"):
        tab.fill(base, {"a": np.zeros((5, 2))})
    with pytest.raises(ValueError, match="unknown parameter 'c'"):
        tab.fill(base, {"c": 1.0})


def test_tracking_cost_equals_weighted_squared_error_per_step(rng):
    T = 4
    Q, R = rng.uniform(0.1, 2.0, (T + 1, 2)), rng.uniform(0.1, 1.0, (T, 1))
    xr, ur = rng.normal(size=(T + 1, 2)), rng.normal(size=(T, 1))
    c = TrackingCost(T, Q=Q, R=R, Qf=[3.0, 4.0], x_ref=xr, u_ref=ur)
    X, U = rng.normal(size=(T + 1, 2)), rng.normal(size=(T, 1))
    expected = sum(0.5 * Q[t] @ (X[t] - xr[t]) ** 2 + 0.5 * R[t] @ (U[t] - ur[t]) ** 2 for t in range(T))
    expected += 0.5 * np.array([3.0, 4.0]) @ (X[T] - xr[T]) ** 2
    assert float(c.trajectory_cost(X, U)) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="t: this cost varies with the time step"):
        c.running(X[0], U[0])  # no time index: refused, not evaluated at the wrong step
    with pytest.raises(ValueError, match="Q: expected non-negative weights"):
        TrackingCost(T, Q=[-1.0, 1.0], R=[1.0])


def test_constraint_helpers_measure_distance_and_limits():
    discs = circle_obstacles(2, 1, 2, [[1.0, 0.0]], [0.5])
    X = np.array([[0.0, 0.0], [1.0, 0.2], [3.0, 0.0]])
    U = np.zeros((2, 1))
    np.testing.assert_allclose(discs.stage_values(X, U)[:, 0], [0.25 - 1.0, 0.25 - 0.04])
    assert float(discs.violation(X, U)) == pytest.approx(0.21)
    box = state_box(2, 1, 2, [1], low=[-0.1], high=[0.1])
    assert float(box.violation(X, U)) == pytest.approx(0.1)
    discs.set_params(discs=[5.0, 5.0, 0.5])
    assert float(discs.violation(X, U)) == 0.0
