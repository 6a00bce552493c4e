import gymnasium
import numpy as np
import pytest

import planlab.envs  # noqa: F401  (registers planlab/GridWorld-v0)
from planlab.dynamics.systems.gridworld import transition_table, value_iteration
from planlab.mbrl.dyna import DynaQ, QLearning, gym_toy_text_tables, policy_value, run_tabular, tabular_spaces


def _frozenlake_q_star(gamma):
    """Optimal Q of FrozenLake-v1 by value iteration on gymnasium's own P table."""
    env = gymnasium.make("FrozenLake-v1")
    P, R, terminal = gym_toy_text_tables(env)
    Q = np.zeros(P.shape[:2])
    for _ in range(5000):
        V = np.where(terminal, 0.0, Q.max(1))
        Q = np.einsum("sat,sat->sa", P, R + gamma * V[None, None, :])
    return env, P, R, terminal, Q


def test_expected_updates_on_an_exact_model_converge_to_value_iteration():
    gamma = 0.95
    env, P, R, terminal, q_star = _frozenlake_q_star(gamma)
    S, A = P.shape[:2]
    agent = DynaQ(S, A, planning_steps=0, alpha=1.0, gamma=gamma, seed=0)
    # feed the model gymnasium's exact transition probabilities as counts (1000 per unit of probability)
    for s in range(S):
        for a in range(A):
            for prob, s2, r, done in env.unwrapped.P[s][a]:
                for _ in range(int(round(prob * 3000))):
                    agent.model.update(s, a, r, s2, done)
    live = ~terminal
    for _ in range(400):  # sweeps of expected updates = value iteration on the (exact) model
        for s in np.flatnonzero(live):
            for a in range(A):
                agent._expected_update(int(s), a)
    np.testing.assert_allclose(agent.Q[live], q_star[live], atol=1e-6)


def test_policy_value_matches_value_iteration_for_the_optimal_gridworld_policy():
    world = gymnasium.make("planlab/GridWorld-v0").unwrapped.dynamics
    cells, P, R, terminal = transition_table(world)
    for gamma in (0.9, 1.0):
        vi = value_iteration(world, gamma)
        pi = np.array([max(vi.policy[c], 0) for c in cells])
        v = policy_value(P, R, terminal, pi, gamma)
        np.testing.assert_allclose(v, [0.0 if t else vi.V[c] for c, t in zip(cells, terminal)], atol=1e-9)


def test_policy_value_marks_never_terminating_policies_minus_infinity_at_gamma_one():
    world = gymnasium.make("planlab/GridWorld-v0").unwrapped.dynamics
    cells, P, R, terminal = transition_table(world)
    # always "left" with slip 0: the agent bumps into the left wall forever from (2, 0)
    P0 = P.copy()
    pi = np.full(len(cells), 3)
    v = policy_value(P0, R, terminal, pi, 1.0)
    assert np.isneginf(v[cells.index((2, 0))]) or v[cells.index((2, 0))] < -1.0
    assert np.isfinite(policy_value(P0, R, terminal, pi, 0.9)).all()


def _steps_to_optimal(make_agent, seeds, steps=6000):
    env = gymnasium.make("planlab/GridWorld-v0")
    world = env.unwrapped.dynamics
    cells, P, R, terminal = transition_table(world)
    gamma = 0.99
    v_star = value_iteration(world, gamma).V[world.start]
    s0 = cells.index(world.start)
    out = []
    for seed in seeds:
        agent = make_agent(len(cells), seed)
        run = run_tabular(agent, env, steps, seed=seed, eval_every=20, target=v_star - 0.01,
                          eval_fn=lambda ag: policy_value(P, R, terminal, ag.greedy_policy(), gamma)[s0])
        out.append(run.steps_to_target if run.steps_to_target is not None else steps)
    return np.array(out)


def test_dyna_q_reaches_the_optimal_value_with_several_times_fewer_real_steps_than_q_learning():
    seeds = range(8)
    q = _steps_to_optimal(lambda n, s: QLearning(n, 4, alpha=0.1, gamma=0.99, epsilon=0.1, seed=s), seeds)
    dyna = _steps_to_optimal(lambda n, s: DynaQ(n, 4, planning_steps=10, alpha=0.1, gamma=0.99, epsilon=0.1,
                                                 seed=s), seeds)
    # steps until the greedy policy's exact value at the start is within 0.01 of optimal (capped at 6000)
    assert np.median(dyna) * 3 <= np.median(q), (dyna, q)


def test_tabular_spaces_of_discrete_and_gridworld_envs():
    n, a, idx = tabular_spaces(gymnasium.make("FrozenLake-v1"))
    assert (n, a, idx(np.int64(5))) == (16, 4, 5)
    n, a, idx = tabular_spaces(gymnasium.make("planlab/GridWorld-v0"))
    assert (n, a) == (11, 4) and idx(np.array([2.0, 0.0])) == 7
    with pytest.raises(ValueError, match="expected a Discrete action space"):
        tabular_spaces(gymnasium.make("Pendulum-v1"))


def test_agent_arguments_are_validated():
    with pytest.raises(ValueError, match="alpha"):
        QLearning(3, 2, alpha=0.0)
    with pytest.raises(ValueError, match="planning_steps"):
        DynaQ(3, 2, planning_steps=-1)
    with pytest.raises(ValueError, match="epsilon"):
        DynaQ(3, 2, epsilon=1.5)
