"""UCT benchmark: simulations per second and returns on the chain, the gridworld and CartPole-v1.

``python -m planlab.benchmarks.mcts [--json PATH] [--quick]``

* **chain** — the deterministic 10-state chain (horizon 30, gamma 0.95, reward 1 on reaching the end,
  so an episode of ``t`` steps is worth ``gamma^t``; optimal: 9 steps). Compares planlab's UCT with
  a straightforward plain-Python UCT written here (node objects, dict of children, random rollouts)
  on the same problem, in the same run, with the same number of simulations; prints the speed ratio.
  Per seed: the root action with 200 simulations, and a closed-loop episode.
* **gridworld** — ``planlab/GridWorld-v0`` (AIMA 4x3, slip 0.2): root action at the start versus
  value iteration, and an episode in the env.
* **CartPole-v1** — gymnasium's real env stepping, planlab's model in the planner, 200 simulations.

JSON rows ``{task, seed, simulations, sims_per_s, root_action_optimal, return, steps}`` are appended
to ``PATH`` as each completes (plus a ``speed`` row per budget for the plain-Python comparison).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time

import numpy as np

GAMMA = 0.95
HORIZON = 30
N_CHAIN = 10


# ------------------------------------------------------------------------------- plain-Python reference
class _Node:
    __slots__ = ("state", "children", "visits", "value", "reward", "terminal")

    def __init__(self, state, reward=0.0, terminal=False):
        self.state = state
        self.children = {}
        self.visits = 0
        self.value = 0.0
        self.reward = reward
        self.terminal = terminal


def _chain_step(i, a):
    j = min(max(i + (1 if a == 1 else -1), 0), N_CHAIN - 1)
    done = j == N_CHAIN - 1
    return j, (1.0 if done else 0.0), done


def plain_python_uct(root_state, simulations, c=0.5, seed=0):
    """A straightforward UCT on the chain: node objects, dict children, random rollouts (the reference).

    Same score (5.2.7), same r + gamma V backup and the same horizon as planlab's UCT (no
    normalisation, no transpositions). Returns the root's visit counts ``{action: N}``.
    """
    rnd = random.Random(seed)
    root = _Node(root_state)
    for _ in range(simulations):
        node, depth, path = root, 0, []
        while not node.terminal and depth < HORIZON:
            untried = [a for a in (0, 1) if a not in node.children]
            if untried:
                a = rnd.choice(untried)
                s, r, done = _chain_step(node.state, a)
                child = _Node(s, r, done)
                node.children[a] = child
                path.append(child)
                node = child
                depth += 1
                break
            log_n = math.log(node.visits)
            a = max(node.children, key=lambda b: node.children[b].value / node.children[b].visits
                    + 2 * c * math.sqrt(2 * log_n / node.children[b].visits))
            node = node.children[a]
            path.append(node)
            depth += 1
        # random rollout from the leaf
        g, disc, s = 0.0, 1.0, node.state
        if not node.terminal:
            for _ in range(HORIZON - depth):
                s, r, done = _chain_step(s, rnd.randrange(2))
                g += disc * r
                disc *= GAMMA
                if done:
                    break
        for n in reversed(path):
            n.visits += 1
            n.value += g
            g = n.reward + GAMMA * g
        root.visits += 1
    return {a: ch.visits for a, ch in root.children.items()}


# ------------------------------------------------------------------------------- helpers
class _Writer:
    def __init__(self, path):
        self.fh = open(path, "a") if path else None

    def row(self, **kw):
        if self.fh:
            self.fh.write(json.dumps(kw) + "\n")
            self.fh.flush()

    def close(self):
        if self.fh:
            self.fh.close()


def _median_rate(fn, sims, repeats):
    rates = []
    for r in range(repeats):
        t = time.perf_counter()
        fn(r)
        rates.append(sims / (time.perf_counter() - t))
    return statistics.median(rates)


def bench_speed(out, repeats):
    from ..envs.gridworld import Chain
    from ..planners.mcts import UCT

    ch = Chain(N_CHAIN)
    cost = ch.default_cost()
    UCT(ch, cost, horizon=HORIZON, simulations=10, discount=GAMMA, seed=0).plan(np.zeros(1))  # compile/load
    rows = []
    for sims in (200, 2000, 20000):
        py = _median_rate(lambda r: plain_python_uct(0, sims, seed=r), sims, repeats if sims < 20000 else 1)
        search = []

        def compiled(r):
            p = UCT(ch, cost, horizon=HORIZON, simulations=sims, discount=GAMMA, seed=r).plan(np.zeros(1))
            search.append(p.diagnostics["sims_per_s"])

        whole = _median_rate(compiled, sims, repeats)
        row = dict(task="chain", kind="speed", simulations=sims, plain_python_sims_per_s=py,
                   uct_plan_sims_per_s=whole, uct_search_sims_per_s=statistics.median(search),
                   ratio_plan=whole / py, ratio_search=statistics.median(search) / py)
        out.row(**row)
        rows.append(row)
    return rows


def bench_chain(out, seeds):
    from ..envs.gridworld import Chain
    from ..planners.mcts import UCT

    ch = Chain(N_CHAIN)
    cost = ch.default_cost()
    rows = []
    for seed in seeds:
        uct = UCT(ch, cost, horizon=HORIZON, simulations=200, discount=GAMMA, seed=seed)
        p = uct.plan(np.zeros(1))
        optimal = bool(p.actions[0, 0] == 1.0)
        uct.reset(seed)
        x, steps, rates = np.zeros(1), 0, []
        for steps in range(1, HORIZON + 1):
            p = uct.plan(x)
            rates.append(p.diagnostics["sims_per_s"])
            x = ch.step(x, p.actions[0])
            if x[0] >= N_CHAIN - 1:
                break
        ret = GAMMA ** steps if x[0] >= N_CHAIN - 1 else 0.0
        row = dict(task="chain", seed=seed, simulations=200, sims_per_s=statistics.median(rates),
                   root_action_optimal=optimal, steps=steps, **{"return": ret})
        out.row(**row)
        rows.append(row)
    return rows


def bench_gridworld(out, seeds, sims):
    import gymnasium

    from ..envs.gridworld import value_iteration
    from ..planners import MPC, run_episode
    from ..planners.mcts import UCT

    env = gymnasium.make("planlab/GridWorld-v0")
    world, cost = env.unwrapped.dynamics, env.unwrapped.cost
    vi = value_iteration(world, GAMMA)
    start = np.array(world.start, dtype=np.float64)
    rows = []
    for seed in seeds:
        uct = UCT(world, cost, horizon=60, simulations=sims, discount=GAMMA, seed=seed)
        p = uct.plan(start)
        optimal = bool(int(p.actions[0, 0]) == vi.policy[tuple(world.start)])
        uct.reset(seed)
        res = run_episode(env, MPC(uct), seed=seed)
        rate = sims / np.median(res.plan_times)
        row = dict(task="gridworld", seed=seed, simulations=sims, sims_per_s=float(rate),
                   root_action_optimal=optimal, steps=res.steps, **{"return": res.total_return})
        out.row(**row)
        rows.append(row)
    rows_vi = float(vi.V[tuple(world.start)])
    return rows, rows_vi


def bench_cartpole(out, seeds):
    import gymnasium

    from ..envs.models import model_for
    from ..planners import MPC, run_episode
    from ..planners.mcts import UCT

    dyn, cost = model_for("CartPole-v1")
    rows = []
    for seed in seeds:
        env = gymnasium.make("CartPole-v1")
        res = run_episode(env, MPC(UCT(dyn, cost, horizon=50, simulations=200, seed=seed)), seed=seed)
        row = dict(task="CartPole-v1", seed=seed, simulations=200, sims_per_s=float(200 / np.median(res.plan_times)),
                   root_action_optimal=None, steps=res.steps, **{"return": res.total_return})
        out.row(**row)
        rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planlab.benchmarks.mcts", description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None, help="append JSON rows to this file")
    parser.add_argument("--quick", action="store_true", help="fewer seeds and repeats")
    args = parser.parse_args(argv)
    out = _Writer(args.json)
    repeats = 3 if args.quick else 7
    try:
        speed = bench_speed(out, repeats)
        print("chain speed (median sims/s; same run, same simulations per plan)")
        print(f"{'sims/plan':>9} {'plain Python':>13} {'UCT plan()':>12} {'UCT search':>12} {'ratio plan':>11} "
              f"{'ratio search':>13}")
        for r in speed:
            print(f"{r['simulations']:>9} {r['plain_python_sims_per_s']:>13,.0f} {r['uct_plan_sims_per_s']:>12,.0f} "
                  f"{r['uct_search_sims_per_s']:>12,.0f} {r['ratio_plan']:>10.1f}x {r['ratio_search']:>12.1f}x")
        chain = bench_chain(out, range(5))
        grid, v_start = bench_gridworld(out, range(3 if args.quick else 5), 10_000)
        cart = bench_cartpole(out, range(3 if args.quick else 10))
        print()
        print(f"{'task':<12} {'seed':>4} {'sims':>6} {'sims/s':>11} {'root opt':>8} {'steps':>5} {'return':>8}")
        for r in chain + grid + cart:
            ro = "-" if r["root_action_optimal"] is None else str(r["root_action_optimal"])
            print(f"{r['task']:<12} {r['seed']:>4} {r['simulations']:>6} {r['sims_per_s']:>11,.0f} {ro:>8} "
                  f"{r['steps']:>5} {r['return']:>8.3f}")
        print()
        print(f"chain: root action optimal {sum(r['root_action_optimal'] for r in chain)}/{len(chain)}, "
              f"9-step episodes {sum(r['steps'] == 9 for r in chain)}/{len(chain)} (optimal return {GAMMA ** 9:.3f})")
        print(f"gridworld: root action = value iteration's {sum(r['root_action_optimal'] for r in grid)}/{len(grid)}, "
              f"mean undiscounted return {np.mean([r['return'] for r in grid]):.3f} "
              f"(discounted optimum V*(start) at gamma {GAMMA}: {v_start:.3f})")
        print(f"CartPole-v1: return 500 in {sum(r['return'] == 500.0 for r in cart)}/{len(cart)} seeds")
    finally:
        out.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
