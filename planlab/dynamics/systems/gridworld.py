"""A slippery gridworld written once as a stochastic source system, and its exact values by value iteration.

The action ``u[0]`` in ``{0: up, 1: right, 2: down, 3: left}`` moves one cell with probability
``1 - slip`` and slips to either perpendicular direction with probability ``slip / 2`` each; moves
into walls or off the grid leave the agent in place. Entering a terminal cell pays its reward and
ends the episode; every step costs ``step_cost``. The source reads its randomness as uniform noise in
``u[1]`` (``noise_dim = 1``), so the same equations run in numpy (``step(x, u, rng)``) and inside
the compiled UCT search.

The default layout is the 4x3 world of Russell & Norvig (AIMA, Fig. 17.1): slip 0.2, step cost
0.04, +1 and -1 exits. :func:`value_iteration` computes its optimal values exactly (value
iteration, then an exact linear solve for the greedy policy) from an independent, tabular
transition model (:func:`transition_table`). The gymnasium env ``planlab/GridWorld-v0`` is
:class:`planlab.envs.gridworld.GridWorldEnv`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...core.contracts import Dynamics
from ...core.cost import SourceCost
from ...core.ops import logical_and, logical_or, where
from ...core.seeding import make_rng
from ...core.validation import check_nonnegative, check_probability
from ..analytic import AnalyticSystem

__all__ = ["GridWorld", "GridWorldCost", "GridValues", "value_iteration", "transition_table", "AIMA_4X3", "MOVES",
           "gridworld_dynamics", "gridworld_termination", "gridworld_cost"]

#: The 4x3 world of AIMA Fig. 17.1 (row 0 at the top): ``#`` wall, ``+``/``-`` exits, ``S`` start.
AIMA_4X3 = ("...+", ".#.-", "S...")

#: (d_row, d_col) of actions 0..3: up, right, down, left.
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))


# ------------------------------------------------------------------------------------------ sources
# Parameter layout: [n_rows, n_cols, slip, step_cost, n_walls, n_exits, (row, col) * n_walls,
#                    (row, col, reward) * n_exits]


def gridworld_dynamics(x, u, p, out):
    """One slippery move. ``x = (row, col)``, ``u = (action, noise)`` with noise uniform in [0, 1)."""
    row = x[0]
    col = x[1]
    a = u[0]
    z = u[1]
    slip = p[2]
    d = where(z < 1.0 - slip, a, where(z < 1.0 - 0.5 * slip, a + 1.0, a + 3.0)) % 4.0
    dr = where(d == 0.0, -1.0, where(d == 2.0, 1.0, 0.0))
    dc = where(d == 1.0, 1.0, where(d == 3.0, -1.0, 0.0))
    nr = row + dr
    nc = col + dc
    blocked = logical_or(logical_or(nr < 0.0, nr > p[0] - 1.0), logical_or(nc < 0.0, nc > p[1] - 1.0))
    for k in range(int(p[4])):
        blocked = logical_or(blocked, logical_and(nr == p[6 + 2 * k], nc == p[7 + 2 * k]))
    out[0] = where(blocked, row, nr)
    out[1] = where(blocked, col, nc)


def gridworld_termination(x, p):
    """In an exit cell."""
    o = 6 + 2 * int(p[4])
    t = x[0] < -1.0
    for k in range(int(p[5])):
        t = logical_or(t, logical_and(x[0] == p[o + 3 * k], x[1] == p[o + 3 * k + 1]))
    return t


def gridworld_cost(x, u, xn, p):
    """``step_cost`` minus the reward of the exit entered (if any)."""
    o = 6 + 2 * int(p[4])
    c = p[3] + 0.0 * xn[0]
    for k in range(int(p[5])):
        c = c - where(logical_and(xn[0] == p[o + 3 * k], xn[1] == p[o + 3 * k + 1]), p[o + 3 * k + 2], 0.0)
    return c


def _parse_layout(layout, exit_rewards):
    rows = tuple(str(r) for r in layout)
    if not rows or any(len(r) != len(rows[0]) for r in rows) or not rows[0]:
        raise ValueError(f"layout: expected equal-length non-empty strings, got {layout!r}")
    walls, exits, start = [], [], None
    for i, line in enumerate(rows):
        for j, ch in enumerate(line):
            if ch == "#":
                walls.append((i, j))
            elif ch in exit_rewards:
                exits.append((i, j, float(exit_rewards[ch])))
            elif ch == "S":
                start = (i, j)
            elif ch != ".":
                raise ValueError(f"layout: expected characters from '.#S' and {sorted(exit_rewards)}, got {ch!r}")
    if not exits:
        raise ValueError(f"layout: expected at least one exit cell ({sorted(exit_rewards)}), got none")
    return rows, walls, exits, start


class GridWorld(AnalyticSystem):
    """Slippery gridworld dynamics (see the module docstring). State ``(row, col)``, 4 discrete actions.

    Parameters
    ----------
    layout : sequence of str
        Rows from the top; ``#`` wall, ``S`` start, exit characters as in ``exit_rewards``.
    slip : float
        Probability of slipping to a perpendicular direction (half each way), in [0, 1].
    step_cost : float
        Cost of every step (>= 0).
    exit_rewards : mapping char -> float
        Reward paid on entering an exit cell (default ``{"+": 1, "-": -1}``).
    """

    dynamics_source = staticmethod(gridworld_dynamics)
    termination_source = staticmethod(gridworld_termination)
    has_torch = False
    #: the dynamics source reads one uniform noise component from ``u[1]``
    noise_dim = 1

    def __init__(self, layout=AIMA_4X3, slip: float = 0.2, step_cost: float = 0.04, exit_rewards=None):
        exit_rewards = {"+": 1.0, "-": -1.0} if exit_rewards is None else dict(exit_rewards)
        self.layout, self.walls, self.exits, self.start = _parse_layout(layout, exit_rewards)
        self.slip = check_probability("slip", slip)
        self.step_cost = check_nonnegative("step_cost", step_cost)
        self.n_rows, self.n_cols = len(self.layout), len(self.layout[0])
        vec = [self.n_rows, self.n_cols, self.slip, self.step_cost, len(self.walls), len(self.exits)]
        vec += [v for w in self.walls for v in w] + [v for e in self.exits for v in e]
        # The layout has variable length, so the parameter vector is built here rather than from a
        # Params dataclass; these are the attributes AnalyticSystem.__init__ would set.
        self.params = None
        self.param_vector = np.array(vec, dtype=np.float64)
        self.param_vector.setflags(write=False)
        self.threads = 1
        self._symbolic = {}
        Dynamics.__init__(self, 2, 1, 0.0, 3.0, 1.0, n_actions=4, stochastic=True,
                          state_names=("row", "col"), action_names=("move",))

    def step(self, x, u, rng=None):
        """Sample next states: ``x`` (..., 2), ``u`` (..., 1) -> (..., 2); ``rng`` seed or Generator."""
        x, u = self.check_step_inputs(x, u)
        u = np.clip(u, self.action_low, self.action_high)
        batch = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
        gen = make_rng(rng)
        ext = np.concatenate([np.broadcast_to(u[..., :1], batch + (1,)), gen.random(batch + (1,))], axis=-1)
        return self._eval_source(x, ext)

    # Stochastic: the fused (deterministic) rollout kernels do not apply; use the sampling path.
    def rollout(self, x0, actions, cost=None, *, rng=None):
        return Dynamics.rollout(self, x0, actions, cost, rng=rng)

    def rollout_cost(self, x0, actions, cost, *, rng=None, threads=None):
        return Dynamics.rollout_cost(self, x0, actions, cost, rng=rng)

    def free_cells(self):
        """Non-wall cells as a list of (row, col)."""
        w = set(self.walls)
        return [(i, j) for i in range(self.n_rows) for j in range(self.n_cols) if (i, j) not in w]

    def default_cost(self):
        return GridWorldCost(self)

    def __repr__(self) -> str:
        return f"GridWorld({self.n_rows}x{self.n_cols}, slip={self.slip}, step_cost={self.step_cost})"


class GridWorldCost(SourceCost):
    """The gridworld's cost: ``step_cost`` per step minus the exit reward on entering an exit."""

    def __init__(self, world: GridWorld):
        super().__init__(2, 1, gridworld_cost, world.param_vector, uses_next_state=True)


class GridValues(NamedTuple):
    """Optimal values of a gridworld (``value_iteration``).

    Attributes
    ----------
    V : ndarray (n_rows, n_cols)
        Optimal state values (reward units; exits 0, walls NaN).
    Q : ndarray (n_rows, n_cols, 4)
        Optimal action values ``sum_s' P (r + gamma V(s'))`` (NaN at walls and exits).
    policy : ndarray of int (n_rows, n_cols)
        A greedy optimal action (-1 at walls and exits).
    iterations : int
        Value-iteration sweeps before the exact policy evaluation.
    """

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    iterations: int


def transition_table(world: GridWorld):
    """The gridworld's tabular model, written independently of its source.

    Returns
    -------
    cells : list of (row, col)
        Non-wall cells; index ``i`` of the tables.
    P : ndarray (S, 4, S)
        ``P[s, a, s']``; exits are absorbing with zero reward.
    R : ndarray (S, 4, S)
        Reward of the transition (``-step_cost`` plus the exit reward of ``s'``).
    terminal : ndarray of bool (S,)
    """
    cells = world.free_cells()
    index = {c: i for i, c in enumerate(cells)}
    exit_reward = {(r, c): v for r, c, v in world.exits}
    walls = set(world.walls)
    S = len(cells)
    P = np.zeros((S, 4, S))
    R = np.zeros((S, 4, S))
    terminal = np.array([c in exit_reward for c in cells])

    def land(cell, d):
        r, c = cell[0] + MOVES[d][0], cell[1] + MOVES[d][1]
        if not (0 <= r < world.n_rows and 0 <= c < world.n_cols) or (r, c) in walls:
            return cell
        return (r, c)

    for cell, i in index.items():
        if terminal[i]:
            P[i, :, i] = 1.0
            continue
        for a in range(4):
            for d, prob in ((a, 1.0 - world.slip), ((a + 1) % 4, world.slip / 2), ((a + 3) % 4, world.slip / 2)):
                if prob == 0.0:
                    continue
                j = index[land(cell, d)]
                P[i, a, j] += prob
                R[i, a, j] = -world.step_cost + exit_reward.get(cells[j], 0.0)
    return cells, P, R, terminal


def value_iteration(world: GridWorld, gamma: float = 1.0, *, tol: float = 1e-12, max_iterations: int = 100_000):
    r"""Exact optimal values of a gridworld: value iteration, then an exact solve for its greedy policy.

    Bellman optimality ``V(s) = max_a sum_s' P(s'|s,a) (r(s,a,s') + gamma V(s'))`` with ``V = 0`` at
    exits. After value iteration converges to ``tol``, the greedy policy is evaluated exactly by
    solving ``(I - gamma P_pi) V = r_pi`` on the non-exit states (numpy's LU solve), so the values
    are exact to round-off.

    Parameters
    ----------
    world : GridWorld
    gamma : float
        Discount in (0, 1]; 1 needs every state to be able to reach an exit (true for the layouts here).

    Returns
    -------
    GridValues

    Examples
    --------
    >>> v = value_iteration(GridWorld(), 1.0)
    >>> round(float(v.V[2, 0]), 3)  # AIMA Fig. 17.3: U(1, 1) = 0.705
    0.705
    """
    if not (0.0 < gamma <= 1.0):
        raise ValueError(f"gamma: expected a number in (0, 1], got {gamma!r}")
    cells, P, R, terminal = transition_table(world)
    S = len(cells)
    exp_r = np.einsum("sat,sat->sa", P, R)
    V = np.zeros(S)
    it = 0
    for it in range(1, max_iterations + 1):
        Q = exp_r + gamma * P @ V
        Vn = np.where(terminal, 0.0, Q.max(axis=1))
        delta = np.max(np.abs(Vn - V))
        V = Vn
        if delta < tol:
            break
    pi = np.argmax(exp_r + gamma * P @ V, axis=1)
    live = ~terminal
    Ppi = P[np.arange(S), pi][np.ix_(live, live)]
    rpi = exp_r[np.arange(S), pi][live]
    V = np.zeros(S)
    V[live] = np.linalg.solve(np.eye(live.sum()) - gamma * Ppi, rpi)
    Q = exp_r + gamma * P @ V
    Vg = np.full((world.n_rows, world.n_cols), np.nan)
    Qg = np.full((world.n_rows, world.n_cols, 4), np.nan)
    pg = np.full((world.n_rows, world.n_cols), -1, dtype=np.int64)
    for i, (r, c) in enumerate(cells):
        Vg[r, c] = V[i]
        if not terminal[i]:
            Qg[r, c] = Q[i]
            pg[r, c] = int(np.argmax(Q[i]))
    return GridValues(Vg, Qg, pg, it)
