"""Hypothesis strategies for planner tests: random linear systems, quadratic costs, boxes, start states.

Matrices are built with numpy from a drawn seed (hypothesis shrinks the seed and the sizes, which
keeps failing examples small and reproducible). Every strategy here needs ``hypothesis``.

Examples
--------
>>> from hypothesis import given
>>> @given(lq_problems(max_state_dim=3))
... def test_my_planner(problem):
...     ...
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from ..core.cost import QuadraticCost
from .lqr import feedback_rollout, riccati_reference
from .systems import LinearSystem

__all__ = ["linear_systems", "quadratic_costs", "action_boxes", "start_states", "lq_problems", "LQProblem",
           "discrete_linear_problems"]

_seeds = st.integers(min_value=0, max_value=2**32 - 1)


def _matrix_with_radius(rng, n, radius):
    M = rng.standard_normal((n, n))
    rho = float(np.max(np.abs(np.linalg.eigvals(M))))
    if rho < 1e-8:
        M = np.eye(n)
        rho = 1.0
    return M * (radius / rho)


@st.composite
def linear_systems(draw, state_dim=st.integers(1, 4), action_dim=st.integers(1, 2), stable=None):
    """``(A, B)`` with ``A`` (nx, nx) of spectral radius in [0.3, 0.95] (stable) or [1.05, 1.3] (unstable).

    Parameters
    ----------
    state_dim, action_dim : strategy of int
    stable : bool or None
        None draws both kinds.
    """
    nx = draw(state_dim)
    nu = draw(action_dim)
    if stable is None:
        stable = draw(st.booleans())
    radius = draw(st.floats(0.3, 0.95) if stable else st.floats(1.05, 1.3))
    rng = np.random.default_rng(draw(_seeds))
    A = _matrix_with_radius(rng, nx, radius)
    B = rng.standard_normal((nx, nu))
    return A, B


@st.composite
def quadratic_costs(draw, state_dim: int, action_dim: int):
    """A :class:`~planlab.core.cost.QuadraticCost` with diagonal ``Q`` in [0.1, 10], ``R`` in [0.01, 1], ``Qf = Q``."""
    q = draw(st.lists(st.floats(0.1, 10.0), min_size=state_dim, max_size=state_dim))
    r = draw(st.lists(st.floats(0.01, 1.0), min_size=action_dim, max_size=action_dim))
    return QuadraticCost(Q=np.array(q), R=np.array(r), Qf=np.array(q))


@st.composite
def action_boxes(draw, action_dim: int, max_width: float = 10.0):
    """``(low, high)`` arrays (nu,) with ``low < high``, widths in [0.1, max_width]."""
    lo = np.array(draw(st.lists(st.floats(-max_width, max_width - 0.1), min_size=action_dim, max_size=action_dim)))
    w = np.array(draw(st.lists(st.floats(0.1, max_width), min_size=action_dim, max_size=action_dim)))
    return lo, lo + w


def start_states(state_dim: int, scale: float = 1.0):
    """Start states (nx,) with components in ``[-scale, scale]``, not all near zero."""
    return (st.lists(st.floats(-scale, scale), min_size=state_dim, max_size=state_dim)
            .map(np.array)
            .filter(lambda x: float(np.linalg.norm(x)) > 0.1 * scale))


@dataclass(frozen=True)
class LQProblem:
    """A linear-quadratic planning problem with its LQR solution.

    Attributes
    ----------
    dynamics : LinearSystem
        Its action box contains the LQR actions, so the box-constrained optimum is the LQR one.
    cost : QuadraticCost
    x0 : ndarray (nx,)
    horizon : int
    lqr_actions : ndarray (H, nu)
        Optimal open-loop actions (finite-horizon Riccati recursion).
    lqr_cost : float
        Optimal cost ``0.5 x0^T P_0 x0``.
    """

    dynamics: LinearSystem
    cost: QuadraticCost
    x0: np.ndarray
    horizon: int
    lqr_actions: np.ndarray
    lqr_cost: float


@st.composite
def lq_problems(draw, horizon=st.integers(5, 15), max_state_dim: int = 4, max_action_dim: int = 2, stable=None,
                box_margin: float = 2.0):
    """:class:`LQProblem` instances: a random linear system, quadratic cost and start state.

    The action box is symmetric with half-width ``box_margin * max |u*_t|`` per input (at least
    0.1), so it contains the unconstrained LQR actions ``u*``.
    """
    A, B = draw(linear_systems(st.integers(1, max_state_dim), st.integers(1, max_action_dim), stable=stable))
    nx, nu = B.shape
    cost = draw(quadratic_costs(nx, nu))
    x0 = draw(start_states(nx))
    H = draw(horizon)
    K, P = riccati_reference(A, B, cost.Q, cost.R, cost.Qf, H)
    _, u = feedback_rollout(A, B, K, x0)
    half = np.maximum(box_margin * np.abs(u).max(axis=0), 0.1)
    dyn = LinearSystem(A, B, -half, half)
    return LQProblem(dyn, cost, x0, H, u, float(0.5 * x0 @ P[0] @ x0))


@st.composite
def discrete_linear_problems(draw, horizon=st.integers(3, 10), max_state_dim: int = 3, n_actions=st.integers(2, 5)):
    """``(dynamics, cost, x0, horizon)`` with a one-input discrete-action :class:`LinearSystem`."""
    A, B = draw(linear_systems(st.integers(1, max_state_dim), st.just(1)))
    nx = A.shape[0]
    k = draw(n_actions)
    dyn = LinearSystem(A, B, -1.0, 1.0, n_actions=k)
    cost = draw(quadratic_costs(nx, 1))
    return dyn, cost, draw(start_states(nx)), draw(horizon)
