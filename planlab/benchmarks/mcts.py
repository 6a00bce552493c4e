"""UCT benchmark: simulations per second and returns on the chain, the gridworld and CartPole-v1.

``python -m planlab.benchmarks.mcts [--json PATH] [--quick] [--smoke]``

``--smoke`` runs every part once on a tiny budget (200 simulations, one seed, short episodes): it
checks that the benchmark runs, not how fast or how well UCT plans.

* **chain** — the deterministic 10-state chain (horizon 30, gamma 0.95, reward 1 on reaching the end,
  so an episode of ``t`` steps is worth ``gamma^t``; optimal: 9 steps). Compares planlab's UCT with
  a straightforward plain-Python UCT written here (node objects, dict of children, random rollouts)
  on the same problem, in the same run, with the same number of simulations; prints the speed ratio
  (see :func:`bench_speed` for how it is timed), and how often each picks the optimal root action
  with 200 simulations (:func:`bench_decisions`: the reference and planlab's UCT without
  transpositions run the same algorithm and agree within noise). Per seed: the root action of the
  default UCT with 200 simulations, and a closed-loop episode.
* **gridworld** — ``planlab/GridWorld-v0`` (AIMA 4x3, slip 0.2): root action at the start versus
  value iteration, and an episode in the env.
* **CartPole-v1** — gymnasium's real env stepping, planlab's model in the planner, 200 simulations.

JSON rows ``{task, seed, simulations, sims_per_s, root_action_optimal, return, steps}`` are appended
to ``PATH`` as each completes (plus a ``speed`` row per budget for the plain-Python comparison).
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import time

import numpy as np

from .common import write_row

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

    Same UCB1 score (Kocsis & Szepesvári 2006) with ``Q(s, a)`` the mean of ``r + gamma G`` over the simulations through
    the edge (the reward of the transition into the child included, as in planlab), the same
    random rollouts to the same horizon and the same discount as planlab's UCT (no normalisation —
    the chain's returns already lie in [0, 1] — and no transpositions). Returns the root's visit
    counts ``{action: N}``.
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
        for n in reversed(path):  # the edge into n earns r + gamma G, as in planlab's backup
            g = n.reward + GAMMA * g
            n.visits += 1
            n.value += g
        root.visits += 1
    return {a: ch.visits for a, ch in root.children.items()}


# ------------------------------------------------------------------------------- helpers
class _Writer:
    def __init__(self, path):
        self.fh = open(path, "a") if path else None

    def row(self, **kw):
        write_row(self.fh, kw)

    def close(self):
        if self.fh:
            self.fh.close()


def _fresh_plan(uct, seed, x0):
    """A search from scratch: ``reset`` drops the tree (keeping its arrays) and reseeds."""
    uct.reset(seed)
    return uct.plan(x0)


def _timed(make, seed, sims, warm):
    """``(make(seed)(), sims / seconds)``, timed in steady state: with ``warm``, an untimed call
    ``make(seed + 10**6)()`` of the same kind runs first (the contenders alternate, and each would
    otherwise start with the caches the other left behind). The cyclic garbage collector is paused
    during the timed call (as ``timeit`` does), so that a collection triggered by one contender's
    garbage is not charged to the other; pending collections run afterwards, untimed."""
    if warm:
        make(seed + 10**6)()
    fn = make(seed)
    gc.disable()
    try:
        t = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t
    finally:
        gc.enable()
    return result, sims / dt


def bench_speed(out, repeats, budgets=(200, 2000, 20000)):
    """Simulations per second on the chain: the plain-Python reference and planlab's UCT, run in
    alternation (same seed, same budget; each timed call preceded by an untimed one of its own kind,
    see :func:`_timed`) so that both see the same machine load; the ratio is the median of the
    paired ratios. ``UCT plan()`` times ``reset(seed)`` plus one ``plan()`` call (a fresh search, as
    the reference's; the planner is constructed once per budget, as in an MPC loop — the construction
    time is in the JSON row); ``UCT search`` is the search alone (``diagnostics["sims_per_s"]``);
    ``UCT tree`` is planlab's UCT with ``transpositions=False, normalize=False``, the reference's
    algorithm (a tree, no shared nodes, no normalisation). Also counts how often each picks the
    optimal root action (right)."""
    from ..dynamics.systems.chain import Chain
    from ..planners.mcts.uct import UCT

    ch = Chain(N_CHAIN)
    cost = ch.default_cost()
    x0 = np.zeros(1)
    for tp in (True, False):  # compile/load both configurations before timing
        UCT(ch, cost, horizon=HORIZON, simulations=10, discount=GAMMA, seed=0, transpositions=tp).plan(x0)
    rows = []
    m = statistics.median
    for sims in budgets:
        n_rep = {200: 5 * repeats, 2000: repeats}.get(sims, max(3, repeats // 2))
        py, plan, search, tree, r_plan, r_search, r_tree = [], [], [], [], [], [], []
        ok_py = ok_uct = ok_tree = 0
        t = time.perf_counter()
        uct = UCT(ch, cost, horizon=HORIZON, simulations=sims, discount=GAMMA, seed=0)
        construct_s = time.perf_counter() - t
        uct_tree = UCT(ch, cost, horizon=HORIZON, simulations=sims, discount=GAMMA, seed=0, transpositions=False,
                   normalize=False)
        for r in range(n_rep):
            warm = sims < 20000
            visits, rate_py = _timed(lambda k: lambda: plain_python_uct(0, sims, seed=k), r, sims, warm)
            p, rate_plan = _timed(lambda k: lambda: _fresh_plan(uct, k, x0), r, sims, warm)
            pt, rate_tree = _timed(lambda k: lambda: _fresh_plan(uct_tree, k, x0), r, sims, warm)
            py.append(rate_py)
            plan.append(rate_plan)
            search.append(p.diagnostics["sims_per_s"])
            tree.append(rate_tree)
            r_plan.append(rate_plan / rate_py)
            r_search.append(p.diagnostics["sims_per_s"] / rate_py)
            r_tree.append(rate_tree / rate_py)
            ok_py += int(max(visits, key=visits.get) == 1)
            ok_uct += int(p.actions[0, 0] == 1.0)
            ok_tree += int(pt.actions[0, 0] == 1.0)
        row = dict(task="chain", kind="speed", simulations=sims, repeats=n_rep, plain_python_sims_per_s=m(py),
                   uct_plan_sims_per_s=m(plan), uct_search_sims_per_s=m(search), uct_tree_plan_sims_per_s=m(tree),
                   ratio_plan=m(r_plan), ratio_search=m(r_search), ratio_tree_plan=m(r_tree),
                   root_optimal_plain_python=ok_py, root_optimal_uct=ok_uct, root_optimal_uct_tree=ok_tree,
                   uct_construct_s=construct_s)
        out.row(**row)
        rows.append(row)
    return rows


def bench_decisions(out, n_seeds, sims=200):
    """How often each contender of :func:`bench_speed` picks the optimal root action on the chain
    with ``sims`` simulations, over seeds ``0 .. n_seeds - 1``: the plain-Python reference and
    planlab's UCT without transpositions run the same algorithm and should agree within noise."""
    from ..dynamics.systems.chain import Chain
    from ..planners.mcts.uct import UCT

    ch = Chain(N_CHAIN)
    cost = ch.default_cost()
    x0 = np.zeros(1)
    ok = {"plain_python": 0, "uct_tree": 0, "uct": 0}
    uct = UCT(ch, cost, horizon=HORIZON, simulations=sims, discount=GAMMA)
    uct_tree = UCT(ch, cost, horizon=HORIZON, simulations=sims, discount=GAMMA, transpositions=False,
                   normalize=False)
    for seed in range(n_seeds):
        visits = plain_python_uct(0, sims, seed=seed)
        ok["plain_python"] += int(max(visits, key=visits.get) == 1)
        ok["uct_tree"] += int(_fresh_plan(uct_tree, seed, x0).actions[0, 0] == 1.0)
        ok["uct"] += int(_fresh_plan(uct, seed, x0).actions[0, 0] == 1.0)
    row = dict(task="chain", kind="decisions", simulations=sims, seeds=n_seeds,
               **{f"root_optimal_{k}": v for k, v in ok.items()})
    out.row(**row)
    return row


def bench_chain(out, seeds, max_steps=HORIZON):
    from ..dynamics.systems.chain import Chain
    from ..planners.mcts.uct import UCT

    ch = Chain(N_CHAIN)
    cost = ch.default_cost()
    rows = []
    for seed in seeds:
        uct = UCT(ch, cost, horizon=HORIZON, simulations=200, discount=GAMMA, seed=seed)
        p = uct.plan(np.zeros(1))
        optimal = bool(p.actions[0, 0] == 1.0)
        uct.reset(seed)
        x, steps, rates = np.zeros(1), 0, []
        for steps in range(1, max_steps + 1):
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


def bench_gridworld(out, seeds, sims, max_steps=None):
    import gymnasium

    from ..dynamics.systems.gridworld import value_iteration
    from ..episodes import run_episode
    from ..planners import MPC
    from ..planners.mcts.uct import UCT

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
        res = run_episode(env, MPC(uct), seed=seed, steps=max_steps)
        rate = sims / np.median(res.plan_times)
        row = dict(task="gridworld", seed=seed, simulations=sims, sims_per_s=float(rate),
                   root_action_optimal=optimal, steps=res.steps, **{"return": res.total_return})
        out.row(**row)
        rows.append(row)
    rows_vi = float(vi.V[tuple(world.start)])
    return rows, rows_vi


def bench_cartpole(out, seeds, max_steps=None):
    import gymnasium

    from ..envs.models import model_for
    from ..episodes import run_episode
    from ..planners import MPC
    from ..planners.mcts.uct import UCT

    dyn, cost = model_for("CartPole-v1")
    rows = []
    for seed in seeds:
        env = gymnasium.make("CartPole-v1")
        res = run_episode(env, MPC(UCT(dyn, cost, horizon=50, simulations=200, seed=seed)), seed=seed,
                          steps=max_steps)
        row = dict(task="CartPole-v1", seed=seed, simulations=200, sims_per_s=float(200 / np.median(res.plan_times)),
                   root_action_optimal=None, steps=res.steps, **{"return": res.total_return})
        out.row(**row)
        rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planlab.benchmarks.mcts", description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None, help="append JSON rows to this file")
    parser.add_argument("--quick", action="store_true", help="fewer seeds and repeats")
    parser.add_argument("--smoke", action="store_true",
                        help="a smoke run: 200 simulations, 1 repeat, 1 seed, episodes of at most 10 steps")
    args = parser.parse_args(argv)
    out = _Writer(args.json)
    repeats = 1 if args.smoke else 3 if args.quick else 7
    smoke_steps = 10 if args.smoke else None
    try:
        speed = bench_speed(out, repeats, (200,) if args.smoke else (200, 2000, 20000))
        print("chain speed (median sims/s; reference and UCT alternate, same seeds and simulations per plan;")
        print("ratios are medians of the paired ratios; 'opt' = root action optimal in how many repeats)")
        print(f"{'sims/plan':>9} {'plain Python':>13} {'UCT plan()':>12} {'UCT search':>12} {'UCT tree':>10} "
              f"{'ratio plan':>11} {'ratio search':>13} {'ratio tree':>11} {'opt py/uct/tree':>16}")
        for r in speed:
            opt = f"{r['root_optimal_plain_python']}/{r['root_optimal_uct']}/{r['root_optimal_uct_tree']} of {r['repeats']}"
            print(f"{r['simulations']:>9} {r['plain_python_sims_per_s']:>13,.0f} {r['uct_plan_sims_per_s']:>12,.0f} "
                  f"{r['uct_search_sims_per_s']:>12,.0f} {r['uct_tree_plan_sims_per_s']:>10,.0f} "
                  f"{r['ratio_plan']:>10.1f}x {r['ratio_search']:>12.1f}x {r['ratio_tree_plan']:>10.1f}x {opt:>16}")
        dec = bench_decisions(out, 2 if args.smoke else 50 if args.quick else 200)
        print(f"chain, {dec['simulations']} simulations, root action optimal over {dec['seeds']} seeds: "
              f"plain Python {dec['root_optimal_plain_python']}, UCT without transpositions (same algorithm) "
              f"{dec['root_optimal_uct_tree']}, UCT (DAG, default) {dec['root_optimal_uct']}")
        chain = bench_chain(out, range(1 if args.smoke else 5), smoke_steps or HORIZON)
        grid, v_start = bench_gridworld(out, range(1 if args.smoke else 3 if args.quick else 5),
                                        200 if args.smoke else 10_000, smoke_steps)
        cart = bench_cartpole(out, range(1 if args.smoke else 3 if args.quick else 10), smoke_steps)
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
