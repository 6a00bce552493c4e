"""UCT (Kocsis & Szepesvári 2006): properties against exhaustive search, value iteration and gymnasium."""

from __future__ import annotations

import itertools
import json

import gymnasium
import numpy as np
import pytest

from planlab.cli import main as cli_main
from planlab.core.planning import Policy
from planlab.dynamics import DoubleIntegrator
from planlab.dynamics.systems.chain import Chain
from planlab.dynamics.systems.gridworld import GridWorld, value_iteration
from planlab.envs.models import model_for
from planlab.episodes import run_episode
from planlab.planners import MPC, make_planner
from planlab.planners.mcts import UCT

BACKENDS = ["numba", "python"]


@pytest.fixture(scope="module")
def cartpole():
    return model_for("CartPole-v1")


@pytest.fixture(scope="module")
def chain():
    c = Chain(10)
    return c, c.default_cost()


@pytest.fixture(scope="module")
def grid():
    w = GridWorld()
    return w, w.default_cost()


def run_chain_episode(planner, dyn, max_steps=30):
    x = np.array([0.0])
    for t in range(max_steps):
        x = dyn.step(x, planner.plan(x).actions[0])
        if x[0] >= 9:
            return t + 1
    return max_steps


# ----------------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("backend", BACKENDS)
def test_root_visit_counts_sum_to_the_number_of_simulations(cartpole, grid, backend):
    for (dyn, cost), x0 in ((cartpole, [0.0, 0.0, 0.05, 0.0]), (grid, [2.0, 0.0])):
        plan = UCT(dyn, cost, horizon=20, simulations=150, seed=1, backend=backend).plan(np.array(x0))
        d = plan.diagnostics
        assert d["backend"] == backend
        assert int(d["root_visits"].sum()) == 150 == d["simulations"] == d["root_total_visits"]
        assert plan.actions.shape == (20, 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_gives_the_same_search_on_a_stochastic_model(grid, backend):
    w, c = grid
    a = UCT(w, c, horizon=30, simulations=300, seed=7, backend=backend).plan(np.array([2.0, 0.0]))
    b = UCT(w, c, horizon=30, simulations=300, seed=7, backend=backend).plan(np.array([2.0, 0.0]))
    np.testing.assert_array_equal(a.diagnostics["root_visits"], b.diagnostics["root_visits"])
    np.testing.assert_array_equal(a.actions, b.actions)


@pytest.mark.parametrize("backend", BACKENDS)
def test_plan_states_and_cost_are_the_models_rollout_of_its_actions(cartpole, chain, backend):
    for (dyn, cost), x0 in ((cartpole, [0.0, 0.1, 0.05, 0.0]), (chain, [3.0])):
        plan = UCT(dyn, cost, horizon=25, simulations=120, seed=2, backend=backend).plan(np.array(x0))
        roll = dyn.rollout(np.array(x0), plan.actions[None], cost)
        np.testing.assert_array_equal(plan.states, roll.states[0])
        assert plan.cost == roll.costs[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_stochastic_plan_states_are_a_sampled_rollout_through_free_cells(grid, backend):
    w, c = grid
    plan = UCT(w, c, horizon=25, simulations=200, seed=3, backend=backend).plan(np.array([2.0, 0.0]))
    free = set(w.free_cells())
    assert tuple(plan.states[0]) == (2.0, 0.0)
    for r, col in plan.states:
        assert r == int(r) and col == int(col) and (int(r), int(col)) in free
    steps = np.abs(np.diff(plan.states, axis=0)).sum(axis=1)
    assert np.all(steps <= 1.0)  # one move (or none) per step
    assert np.isfinite(plan.cost)
    if backend == "numba":  # the compiled search draws from numba's generator: the planner's rng
        rng = np.random.default_rng(3)  # drew one seed for it, then sampled the plan's rollout
        rng.integers(2**31 - 1)
        roll = w.rollout(np.array([2.0, 0.0]), plan.actions[None], c, rng=rng)
        np.testing.assert_array_equal(plan.states, roll.states[0])
        assert plan.cost == roll.costs[0]


def test_earlier_plans_are_not_changed_by_later_searches_on_the_reused_arrays(cartpole):
    dyn, cost = cartpole
    uct = UCT(dyn, cost, horizon=20, simulations=100, seed=0, reuse_tree=False)
    first = uct.plan(np.array([0.0, 0.0, 0.05, 0.0]))
    kept = (first.actions.copy(), first.states.copy(), first.diagnostics["root_visits"].copy(),
            first.diagnostics["root_q"].copy())
    for x in ([0.1, 0.0, -0.05, 0.0], [0.0, 0.3, 0.1, -0.2]):
        uct.plan(np.array(x))
    for a, b in zip(kept, (first.actions, first.states, first.diagnostics["root_visits"], first.diagnostics["root_q"])):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_search_on_reused_arrays_equals_a_search_on_new_ones(grid, backend):
    w, c = grid
    uct = UCT(w, c, horizon=30, simulations=300, seed=5, backend=backend)
    uct.plan(np.array([0.0, 0.0]))  # leaves its nodes in the preallocated arrays
    uct.reset(11)
    again = uct.plan(np.array([2.0, 0.0]))
    fresh = UCT(w, c, horizon=30, simulations=300, seed=11, backend=backend).plan(np.array([2.0, 0.0]))
    np.testing.assert_array_equal(again.actions, fresh.actions)
    np.testing.assert_array_equal(again.diagnostics["root_visits"], fresh.diagnostics["root_visits"])
    np.testing.assert_array_equal(again.diagnostics["root_q"], fresh.diagnostics["root_q"])


def test_x0_of_any_array_type_reuses_the_one_compiled_signature(cartpole):
    """Lists, int arrays, read-only and strided arrays reach the kernels as the same types, so no
    call compiles (or dispatches to) a new specialisation."""
    from planlab.planners.mcts import rng, tree, values

    dyn, cost = cartpole
    uct = UCT(dyn, cost, horizon=20, simulations=50, seed=0)
    ro = np.array([0.0, 0.0, 0.05, 0.0])
    ro.setflags(write=False)
    strided = np.zeros(8)[::2]
    for x0 in ([0.0, 0.1, 0.02, 0.0], np.array([0, 0, 0, 0]), ro, strided):
        uct.plan(x0)
    fns = (uct._kernel.run, uct._kernel.root_terminal, tree.clear_and_root, values.best_path, values.root_stats, rng.seed)
    assert [len(f.signatures) for f in fns] == [1] * len(fns)


# ----------------------------------------------------------------------------------- exhaustive search
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value_backup", ["mean", "bellman"])
def test_uct_choice_equals_exhaustive_search_when_the_tree_is_fully_expanded(cartpole, backend, value_backup):
    """Horizon 5, 2 actions: 32 sequences. The reference ranks all of them with the fused rollout kernel."""
    from planlab.dynamics.systems.cartpole import CartPole

    dyn = model_for("CartPole-v1")[0]
    cost = CartPole().default_cost()  # quadratic: a unique optimum (the -1/step cost ties everything)
    x0 = np.array([0.1, -0.2, 0.08, 0.3])
    H = 5
    seqs = np.array(list(itertools.product([0.0, 1.0], repeat=H)))[:, :, None]
    returns = -dyn.rollout_cost(x0, seqs, cost)
    best_first = {a: returns[seqs[:, 0, 0] == a].max() for a in (0.0, 1.0)}
    expected = max(best_first, key=best_first.get)
    assert abs(best_first[0.0] - best_first[1.0]) > 1e-3  # the optimum is unique
    uct = UCT(dyn, cost, horizon=H, simulations=3000, discount=1.0, seed=0, backend=backend,
              value_backup=value_backup)
    plan = uct.plan(x0)
    assert plan.actions[0, 0] == expected
    if value_backup == "bellman":  # every leaf sits at the horizon: the backed-up values are exact
        np.testing.assert_allclose(plan.diagnostics["root_q"], [best_first[0.0], best_first[1.0]], rtol=1e-9)
        np.testing.assert_allclose(plan.cost, -returns.max(), rtol=1e-9)


# ----------------------------------------------------------------------------------- chain
def test_chain_optimal_root_action_with_200_simulations_in_5_of_5_seeds(chain):
    dyn, cost = chain
    for seed in range(5):
        plan = UCT(dyn, cost, horizon=30, simulations=200, discount=0.95, seed=seed).plan(np.array([0.0]))
        assert plan.actions[0, 0] == 1.0, (seed, plan.diagnostics["root_visits"])


def test_chain_optimal_root_action_with_200_simulations_in_at_least_38_of_40_seeds(chain):
    """The chain's two root actions lead to states whose subtrees share most nodes (transpositions);
    the DAG value update carries what a shared node learns to all its parents (UCT3). Seeds 0-39,
    and as a rate over 200 seeds (measured 182/200; 170 is three binomial standard deviations below)."""
    dyn, cost = chain
    uct = UCT(dyn, cost, horizon=30, simulations=200, discount=0.95)
    right = []
    for seed in range(200):
        uct.reset(seed)
        right.append(uct.plan(np.array([0.0])).actions[0, 0] == 1.0)
    assert sum(right[:40]) >= 38
    assert sum(right) >= 170


def test_dag_value_update_equals_the_mean_return_when_no_state_repeats(cartpole):
    """On a tree (CartPole's continuous states never coincide) the UCT3 value of a node, its leaf
    evaluations plus its edges' visit-weighted r + gamma V(s'), is the mean return through it:
    the search with transpositions takes the same decisions as the plain mean backup."""
    dyn, cost = cartpole
    x0 = np.array([0.02, -0.1, 0.04, 0.1])
    dag = UCT(dyn, cost, horizon=30, simulations=300, seed=4, transpositions=True).plan(x0)
    tree = UCT(dyn, cost, horizon=30, simulations=300, seed=4, transpositions=False).plan(x0)
    np.testing.assert_array_equal(dag.diagnostics["root_visits"], tree.diagnostics["root_visits"])
    np.testing.assert_allclose(dag.diagnostics["root_q"], tree.diagnostics["root_q"], rtol=1e-9)
    np.testing.assert_array_equal(dag.actions, tree.actions)


def test_dag_nodes_hold_the_uct3_value_after_the_search(chain):
    """Every node of the chain's DAG that a simulation passed last holds the UCT3 value computed
    from its children's current values (checked on the root, refreshed by every simulation)."""
    from planlab.planners.mcts import tree as T

    dyn, cost = chain
    uct = UCT(dyn, cost, horizon=30, simulations=400, discount=0.95, seed=1)
    uct.plan(np.array([0.0]))
    t = uct._tree
    a_info, a_stats, s_info, s_stats = (t.arrays.action_info, t.arrays.action_stats, t.arrays.state_info,
                                        t.arrays.state_stats)
    total, a = s_stats[0, T.S_LEAF_SUM], s_info[0, T.S_FIRST]
    while a != T.NO_NODE:
        total += a_info[a, T.A_VISITS] * (a_stats[a, T.A_REWARD] + 0.95 * s_stats[a_info[a, T.A_FIRST], T.S_VALUE])
        a = a_info[a, T.A_NEXT]
    assert s_info[0, T.S_VISITS] == 400
    np.testing.assert_allclose(s_stats[0, T.S_VALUE], total / 400, rtol=1e-12)
    assert t.n_states < 400  # shared nodes: fewer nodes than simulations


def test_chain_episode_takes_the_optimal_9_steps(chain):
    dyn, cost = chain
    assert run_chain_episode(UCT(dyn, cost, horizon=30, simulations=200, discount=0.95, seed=0), dyn) == 9


# ----------------------------------------------------------------------------------- gridworld vs VI
def test_gridworld_root_action_equals_value_iteration_where_the_best_action_is_unique(grid):
    w, c = grid
    gamma = 0.95
    v = value_iteration(w, gamma)
    checked = 0
    for r, col in w.free_cells():
        q = v.Q[r, col]
        if np.isnan(q).all():
            continue
        top = np.sort(q)[::-1]
        if top[0] - top[1] < 0.02:  # best action not clearly unique
            continue
        plan = UCT(w, c, horizon=60, simulations=10_000, discount=gamma, seed=0).plan(np.array([r, col], float))
        assert int(plan.actions[0, 0]) == v.policy[r, col], ((r, col), q, plan.diagnostics["root_visits"])
        checked += 1
    assert checked >= 6


# ----------------------------------------------------------------------------------- masking
@pytest.mark.parametrize("backend", BACKENDS)
def test_masked_actions_are_never_chosen(grid, backend):
    w, c = grid
    mask = np.array([False, True, True, True])  # "up" is optimal from the start; forbid it
    plan = UCT(w, c, horizon=30, simulations=400, seed=0, action_mask=mask, backend=backend).plan(np.array([2.0, 0.0]))
    assert plan.diagnostics["root_visits"][0] == 0
    assert np.all(plan.actions[:, 0] != 0.0)


def test_state_dependent_mask_applies_at_every_node(chain):
    dyn, cost = chain
    seen = []

    def no_left_in_odd_states(x):
        seen.append(float(x[0]))
        return np.array([x[0] % 2 == 0, True])

    uct = UCT(dyn, cost, horizon=12, simulations=300, discount=0.95, seed=0, action_mask=no_left_in_odd_states)
    assert uct.backend == "python"
    plan = uct.plan(np.array([1.0]))
    assert plan.diagnostics["root_visits"][0] == 0
    x = 1.0
    for a in plan.actions[:, 0]:  # the whole planned path respects the mask
        assert not (x % 2 == 1 and a == 0.0)
        x = min(max(x + 2 * a - 1, 0), 9)
    assert len(set(seen)) > 2


# ----------------------------------------------------------------------------------- tree reuse
def test_tree_reuse_decides_like_a_fresh_tree_with_the_same_total_budget(cartpole):
    dyn, cost = cartpole
    x0 = np.array([0.0, 0.1, 0.06, 0.2])
    agree = 0
    for seed in range(8):
        uct = UCT(dyn, cost, horizon=40, simulations=150, seed=seed)
        p0 = uct.plan(x0)
        x1 = dyn.step(x0, p0.actions[0])
        p1 = uct.plan(x1)
        d = p1.diagnostics
        assert d["reused_visits"] > 0
        assert d["root_total_visits"] == d["reused_visits"] + 150 == int(d["root_visits"].sum())
        fresh = UCT(dyn, cost, horizon=40, simulations=d["root_total_visits"], seed=100 + seed, reuse_tree=False)
        agree += int(fresh.plan(x1).actions[0, 0] == p1.actions[0, 0])
    assert agree >= 6


def test_tree_is_not_reused_when_the_state_does_not_match(cartpole):
    dyn, cost = cartpole
    uct = UCT(dyn, cost, horizon=20, simulations=50, seed=0)
    uct.plan(np.array([0.0, 0.0, 0.05, 0.0]))
    assert uct.plan(np.array([0.3, 0.0, -0.05, 0.0])).diagnostics["reused_visits"] == 0


# ----------------------------------------------------------------------------------- default policies
def test_leaf_value_function_replaces_rollouts(chain):
    dyn, cost = chain
    calls = []

    def optimal_value(x):  # V*(i) = gamma^(8 - i) for i < 9 (reward 1 arrives on the last move)
        calls.append(1)
        return 0.95 ** (8 - x[0])

    uct = UCT(dyn, cost, horizon=30, simulations=20, discount=0.95, seed=0, leaf_value=optimal_value)
    assert uct.plan(np.array([0.0])).actions[0, 0] == 1.0 and calls


class AlwaysRight(Policy):
    def act(self, obs):
        return np.ones(np.shape(obs)[:-1] + (1,))


def test_rollout_policy_is_the_default_policy(chain):
    dyn, cost = chain
    # two simulations: each root action is tried once and evaluated by one rollout of the policy
    plan = UCT(dyn, cost, horizon=30, simulations=2, discount=0.95, seed=0, rollout_policy=AlwaysRight()).plan(
        np.array([0.0]))
    q = plan.diagnostics["root_q"]
    assert plan.actions[0, 0] == 1.0
    # the policy walks straight to the goal: exact values 0.95^8 (right first) and 0.95^9 (left first)
    np.testing.assert_allclose(q, [0.95 ** 9, 0.95 ** 8], rtol=1e-12)


# ----------------------------------------------------------------------------------- stochastic / continuous
@pytest.mark.parametrize("backend", BACKENDS)
def test_open_loop_mode_has_one_node_per_action_sequence_closed_loop_one_per_outcome(grid, backend):
    from planlab.planners.mcts.tree import A_NOUT

    w, c = grid
    n_out = {}
    for mode in ("open_loop", "closed_loop"):
        uct = UCT(w, c, horizon=30, simulations=500, seed=0, stochastic=mode, backend=backend)
        plan = uct.plan(np.array([2.0, 0.0]))
        assert int(plan.diagnostics["root_visits"].sum()) == 500
        n_out[mode] = uct._tree.arrays.action_info[: uct._tree.n_actions, A_NOUT]
    assert n_out["open_loop"].max() == 1  # a tree over action sequences
    assert n_out["closed_loop"].max() == 3  # the slippery move has three outcomes from (2, 0)... at most


@pytest.mark.parametrize("backend", BACKENDS)
def test_progressive_widening_limits_children_and_respects_the_box(backend):
    d = DoubleIntegrator(n=1)
    k, alpha = 1.0, 0.5
    plan = UCT(d, d.default_cost(), horizon=20, simulations=400, discount=1.0, progressive_widening=(k, alpha),
               seed=0, backend=backend).plan(np.array([1.0, 0.0]))
    acts = plan.diagnostics["root_actions"]
    assert len(acts) <= np.ceil(k * 401 ** alpha)
    assert np.all(np.abs(acts) <= 1.0) and np.all(np.abs(plan.actions) <= 1.0)
    assert plan.actions[0, 0] < 0  # brake towards the origin


# ----------------------------------------------------------------------------------- bad input
def test_bad_input_raises_clear_errors(cartpole, grid):
    dyn, cost = cartpole
    with pytest.raises(ValueError, match="exploration"):
        UCT(dyn, cost, exploration=-0.1)
    with pytest.raises(ValueError, match="action_mask: expected at least one legal action"):
        UCT(dyn, cost, action_mask=np.array([False, False]))
    with pytest.raises(ValueError, match="action_mask"):
        UCT(dyn, cost, action_mask=np.array([True]))
    uct = UCT(dyn, cost, action_mask=lambda x: np.zeros(2, bool))
    with pytest.raises(ValueError, match="legal action in x0"):
        uct.plan(np.zeros(4))
    d = DoubleIntegrator(n=1)
    with pytest.raises(ValueError, match="discrete action space"):
        UCT(d, d.default_cost())
    w, c = grid
    with pytest.raises(ValueError, match="value_backup"):
        UCT(w, c, value_backup="bellman")
    with pytest.raises(ValueError, match="backend"):
        UCT(dyn, cost, backend="numba", leaf_value=lambda x: 0.0)
    with pytest.raises(ValueError, match="discount"):
        UCT(dyn, cost, discount=1.5)
    with pytest.raises(ValueError, match="x0"):
        UCT(dyn, cost).plan(np.zeros(3))


def test_time_budget_runs_at_least_one_simulation(cartpole):
    dyn, cost = cartpole
    plan = UCT(dyn, cost, horizon=20, time_budget=0.02, seed=0).plan(np.array([0.0, 0.0, 0.05, 0.0]))
    assert plan.diagnostics["simulations"] >= 1
    assert int(plan.diagnostics["root_visits"].sum()) == plan.diagnostics["simulations"]


# ----------------------------------------------------------------------------------- real envs
def test_cartpole_v1_reaches_return_500_with_200_simulations(cartpole):
    dyn, cost = cartpole
    for seed in range(2):
        env = gymnasium.make("CartPole-v1")
        result = run_episode(env, MPC(UCT(dyn, cost, horizon=50, simulations=200, seed=seed)), seed=seed)
        assert result.total_return == 500.0


@pytest.mark.slow
def test_cartpole_v1_reaches_return_500_in_10_of_10_seeds(cartpole):
    dyn, cost = cartpole
    for seed in range(10):
        env = gymnasium.make("CartPole-v1")
        result = run_episode(env, MPC(UCT(dyn, cost, horizon=50, simulations=200, seed=seed)), seed=seed)
        assert result.total_return == 500.0, seed


def test_make_planner_and_cli_run_uct(capsys):
    dyn, cost = model_for("Acrobot-v1")
    assert isinstance(make_planner("uct", dyn, cost, horizon=10, simulations=20, seed=0), UCT)
    rc = cli_main(["run", "--env", "CartPole-v1", "--planner", "uct", "--simulations", "50", "--horizon", "30",
                   "--steps", "20", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["planner"] == "uct" and out["simulations"] == 50 and out["return"] == 20.0
