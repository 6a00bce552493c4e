"""MuJoCo benchmark: rollout throughput of planlab's MuJoCo path, and MPC episodes on gymnasium's MuJoCo envs.

Usage::

    python -m planlab.benchmarks.mujoco [--json PATH] [--quick] [--skip-throughput] [--skip-episodes] [--skip-solves]
        [--envs InvertedDoublePendulum-v5 Reacher-v5] [--planners mppi cem ilqr] [--seeds 10] [--steps N]
        [--ungrouped-jacobians]

Throughput (MuJoCo steps per second, median over repeats, one table): a batch of ``--batch`` action
sequences of ``--horizon`` actions rolled out from one state with the env's frame skip, through

* ``planlab``: :meth:`MujocoDynamics.rollout_cost` with the env's cost (states, sensors, termination
  and cost: what a sampling planner calls), 1 and 2 threads;
* ``mujoco.rollout``: MuJoCo's own batched rollout on the same batch (controls already expanded,
  nothing else), 1 and 2 threads: the overhead reference;
* ``python-loop``: a plain Python loop over ``env.step`` on copies of the gymnasium env (what users
  write today), fewer sequences, same horizon.

Episodes: MPC (CEM, MPPI, iLQR) on planlab's model acting in gymnasium's env, one row per seed with
the return, steps, median plan time and success (InvertedPendulum / InvertedDoublePendulum: the
whole episode without falling; Reacher: fingertip within 0.01 m of the target at the end;
HalfCheetah: return of at least 4,800, gymnasium's reward threshold).

Reach solves (``ilqr`` on ``Reacher-v5``): one iLQR solve with finite-difference derivatives per seed
from the env's reset state (:func:`reach_solves`), from zero controls and from a joint-space PD guess,
side by side; wall and CPU time per solve and whether the plan,
acted out in gymnasium's env, ends with the fingertip within 0.01 m of the target.

JSON rows: ``{kind: "throughput", env, backend, threads, batch, horizon, steps_per_s}``,
``{kind: "solve", env, planner, seed, horizon, initial_guess, iterations, status, final_distance, cost,
success, solve_ms_wall, solve_ms_cpu, load_1min, cpu_ms_parts, grouped_jacobians, reason}`` and
``{kind: "episode", env, planner, seed, return, steps, plan_ms_median, success, cpu_ms_per_step}``
(``cpu_ms_per_step``: CPU time of this process per env step, planning and env step together, which the
machine's load does not inflate as it does the wall-clock ``plan_ms_median``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

from ..dynamics.mujoco import require_mujoco
from ..envs.models import model_for
from ..episodes import mpc_for_env, run_episode
from ..planners import make_planner
from .common import write_row

#: planner settings per (env, planner): MPC options used by the episode rows
SETTINGS = {
    ("InvertedPendulum-v5", "mppi"): dict(horizon=10, population=32, noise_std=0.5),
    ("InvertedPendulum-v5", "cem"): dict(horizon=10, population=32, elites=4, iterations=2),
    # the env's reward is flat until the pendulum falls: plan on a balance cost with the LQR cost-to-go
    # as terminal cost (planlab.envs.mujoco_models.InvertedDoublePendulumBalanceCost), as `planlab run` does
    ("InvertedDoublePendulum-v5", "mppi"): dict(horizon=2, population=32, noise_std=0.3, temperature=1.0,
                                                planning_cost="InvertedDoublePendulumBalanceCost"),
    ("InvertedDoublePendulum-v5", "cem"): dict(horizon=10, population=32, elites=4, iterations=2),
    ("InvertedDoublePendulum-v5", "icem"): dict(horizon=15, population=32, elites=4, iterations=3),
    ("Reacher-v5", "mppi"): dict(horizon=15, population=64, noise_std=0.3, temperature=0.05),
    ("Reacher-v5", "cem"): dict(horizon=15, population=64, elites=8, iterations=3),
    # the env's cost pays little for stopping on the target: plan on ReacherReachCost, as `planlab run` does
    ("Reacher-v5", "icem"): dict(horizon=10, population=64, elites=8, iterations=3, planning_cost="ReacherReachCost"),
    # iLQR (finite differences through MuJoCo) on a smooth reach cost, warm-started by MPC
    ("Reacher-v5", "ilqr"): dict(horizon=10, max_iterations=2, tol=1e-3, derivatives="fd",
                                 planning_cost="ReacherTargetCost", centered_jacobians=False),
    ("HalfCheetah-v5", "mppi"): dict(horizon=15, population=64, noise_std=0.5, temperature=0.5),
    ("HalfCheetah-v5", "cem"): dict(horizon=15, population=64, elites=8, iterations=2),
}
QUICK = dict(horizon=3, population=4, elites=2, iterations=1, max_iterations=2)


def _median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def throughput(env_id, batch, horizon, loop_batch, repeats, on_row=None, seed=0):
    """Throughput rows of one env (see the module docstring)."""
    import gymnasium
    from mujoco import rollout as mj_rollout

    mj = require_mujoco()
    rng = np.random.default_rng(seed)
    rows = []
    dyn0, cost0 = model_for(env_id)
    env = gymnasium.make(env_id)
    env.reset(seed=seed)
    x0 = np.concatenate([env.unwrapped.data.qpos, env.unwrapped.data.qvel])
    U = rng.uniform(dyn0.action_low, dyn0.action_high, (batch, horizon, dyn0.action_dim))
    k = dyn0.frame_skip

    def add(backend, threads, n, seconds):
        row = dict(kind="throughput", env=env_id, backend=backend, threads=threads, batch=n, horizon=horizon,
                   steps_per_s=n * horizon * k / seconds)
        rows.append(row)
        if on_row:
            on_row(row)

    m = dyn0.model
    full = dyn0._full_states(x0[None])
    init = np.ascontiguousarray(np.repeat(full, batch, axis=0))
    ctrl = np.ascontiguousarray(np.repeat(U, k, axis=1))
    state = np.empty((batch, horizon * k, full.shape[1]))
    sens = np.empty((batch, horizon * k, m.nsensordata))
    envs = [gymnasium.make(env_id) for _ in range(loop_batch)]
    for e in envs:
        e.reset(seed=seed)

    def python_loop():
        for i, e in enumerate(envs):
            e.unwrapped.set_state(x0[:dyn0.nq], x0[dyn0.nq:])
            for t in range(horizon):
                e.step(U[i, t])

    fns, closers = {}, []
    for threads in (1, 2):
        dyn = type(dyn0)(nthread=threads)
        cost = type(cost0)(dyn)
        datas = [mj.MjData(m) for _ in range(threads)]
        pool = mj_rollout.Rollout(nthread=threads if threads > 1 else 0)
        closers += [dyn.close, pool.close]
        fns[("planlab", threads, batch)] = lambda dyn=dyn, cost=cost: dyn.rollout_cost(x0, U, cost)
        fns[("mujoco.rollout", threads, batch)] = lambda pool=pool, datas=datas: pool.rollout(
            [m] * batch, datas, init, ctrl, nstep=horizon * k, state=state, sensordata=sens, skip_checks=True)
    fns[("python-loop", 1, loop_batch)] = python_loop
    times = {key: [] for key in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeats):  # interleaved, so every backend sees the same machine load
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    for close in closers:
        close()
    for (backend, threads, n), ts in times.items():
        add(backend, threads, n, statistics.median(ts))
    for e in envs + [env]:
        e.close()
    return rows


#: iLQR single solves of a Reacher-v5 reach from the env's reset states ("solve" rows)
REACH_SOLVE = dict(horizon=20, max_iterations=40, tol=1e-3, derivatives="fd")


def _time_parts(model, parts):
    """Wrap the trajectory model's per-iteration calls to add their CPU seconds into ``parts``."""
    for name in ("derivatives", "backward_pass", "line_search", "rollout"):
        def timed(*args, _f=getattr(model, name), _name=name):
            c = time.process_time()
            try:
                return _f(*args)
            finally:
                parts[_name] = parts.get(_name, 0.0) + time.process_time() - c
        setattr(model, name, timed)


def reach_solves(seeds, quick=False, on_row=None, initial_guesses=("zeros", "reach-pd"), grouped_jacobians=True):
    """One iLQR solve of a ``Reacher-v5`` reach per seed, from the env's reset state, acted out in the env.

    Finite-difference derivatives through MuJoCo (forward differences), the smooth
    :class:`~planlab.envs.mujoco_models.ReacherTargetCost`. Initial controls (``initial_guess`` of the
    row): ``"zeros"``, or ``"reach-pd"``: :func:`~planlab.envs.mujoco_reach.reacher_reach_controls`
    (joint-space PD control to the target's inverse-kinematics angles), computed inside the timed
    solve. A solve succeeds when the fingertip ends within 0.01 m of the target after the plan's
    actions run in gymnasium's env. Wall and CPU time of the guess and the ``plan`` call; ``load_1min``
    is the machine's load average at the time; ``cpu_ms_parts``: CPU ms of the solve's derivatives
    (Jacobians and cost derivatives), backward passes, line searches and initial rollout.
    ``grouped_jacobians``: :attr:`MujocoDynamics.grouped_jacobians` (False: one perturbation per rollout).
    """
    import gymnasium

    from ..envs.mujoco_models import GymReacher, ReacherTargetCost
    from ..envs.mujoco_reach import reacher_reach_controls

    opts = dict(REACH_SOLVE)
    if quick:
        opts.update(horizon=3, max_iterations=2)
    dyn = GymReacher(centered_jacobians=False)
    dyn.grouped_jacobians = bool(grouped_jacobians)
    planner = make_planner("ilqr", dyn, ReacherTargetCost(dyn), **opts)
    planner.final_gains = False  # only the plan's actions are acted out
    env = gymnasium.make("Reacher-v5")
    env.reset(seed=10 ** 6)
    planner.warmup()  # the compiled backward pass (not the interpreted one a cold cache serves at first)
    planner.plan(np.concatenate([env.unwrapped.data.qpos, env.unwrapped.data.qvel]))  # warm-up
    parts: dict = {}
    _time_parts(planner.model, parts)
    rows = []
    for guess in initial_guesses:
        if guess not in ("zeros", "reach-pd"):
            raise ValueError(f"initial_guesses: expected 'zeros' or 'reach-pd', got {guess!r}")
    for seed in range(seeds):
        for guess in initial_guesses:  # side by side, seed by seed
            env.reset(seed=seed)
            inner = env.unwrapped
            x0 = np.concatenate([inner.data.qpos, inner.data.qvel])
            load = os.getloadavg()[0]
            parts.clear()
            w0, c0 = time.perf_counter(), time.process_time()
            U0 = reacher_reach_controls(dyn, x0, opts["horizon"]) if guess == "reach-pd" else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an iteration limit is a row, not a warning
                plan = planner.plan(x0, U0)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            for u in plan.actions:
                env.step(u)
            dist = float(np.linalg.norm(inner.get_body_com("fingertip") - inner.get_body_com("target")))
            row = dict(kind="solve", env="Reacher-v5", planner="ilqr", seed=seed, horizon=opts["horizon"],
                       initial_guess=guess, iterations=plan.diagnostics["iterations"], status=plan.status,
                       final_distance=dist, cost=float(plan.cost), success=dist < 0.01, solve_ms_wall=1e3 * wall,
                       solve_ms_cpu=1e3 * cpu, load_1min=load, options=opts, grouped_jacobians=dyn.grouped_jacobians,
                       cpu_ms_parts={k: 1e3 * v for k, v in parts.items()}, reason=plan.diagnostics["reason"])
            rows.append(row)
            if on_row:
                on_row(row)
    env.close()
    dyn.close()
    return rows


def _success(env_id, dyn, env, result):
    if env_id in ("InvertedPendulum-v5", "InvertedDoublePendulum-v5"):
        return bool(not result.terminated and result.steps >= (env.spec.max_episode_steps or 1000))
    if env_id == "Reacher-v5":
        d = env.unwrapped.data
        x = np.concatenate([d.qpos, d.qvel])
        return bool(np.linalg.norm(dyn.fingertip_to_target(dyn.sensors(x))) < 0.01)
    return bool(result.total_return >= 4800.0)


def episode(env_id, planner, seed, steps=None, quick=False):
    """One MPC episode row (see the module docstring)."""
    import gymnasium

    opts = dict(SETTINGS[(env_id, planner)])
    if quick:
        opts.update({k: v for k, v in QUICK.items() if k in opts})
    env = gymnasium.make(env_id)
    kwargs = dict(opts)
    cost_name = kwargs.pop("planning_cost", None)
    if cost_name is not None:  # a planning cost of planlab.envs.mujoco_models; the return is the env's reward
        from ..envs import mujoco_models

        dyn, _ = model_for(env_id)
        if "centered_jacobians" in kwargs:
            dyn.centered_jacobians = bool(kwargs.pop("centered_jacobians"))
        mpc = mpc_for_env(env, make_planner(planner, dyn, getattr(mujoco_models, cost_name)(dyn), seed=seed,
                                            **kwargs))
    else:
        mpc = mpc_for_env(env, planner, seed=seed, **kwargs)
    cpu0 = time.process_time()
    result = run_episode(env, mpc, seed=seed, steps=steps)
    cpu = time.process_time() - cpu0
    row = dict(kind="episode", env=env_id, planner=planner, seed=seed, **{"return": result.total_return},
               steps=result.steps, plan_ms_median=result.plan_ms(50), success=_success(env_id, mpc.dynamics, env,
                                                                                        result), options=opts,
               cpu_ms_per_step=1e3 * cpu / max(result.steps, 1))
    env.close()
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m planlab.benchmarks.mujoco", description=__doc__.split("\n")[0])
    p.add_argument("--json", default=None, help="write JSON lines here as rows complete")
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test; the numbers mean nothing)")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-episodes", action="store_true")
    p.add_argument("--skip-solves", action="store_true", help="no iLQR Reacher-v5 reach solves")
    p.add_argument("--ungrouped-jacobians", action="store_true",
                   help="reach solves: perturb one state/control entry per finite-difference rollout")
    p.add_argument("--envs", nargs="+", default=None, help="gymnasium ids (default: all four)")
    p.add_argument("--planners", nargs="+", default=["mppi", "cem", "icem", "ilqr"])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--steps", type=int, default=None, help="cut episodes to this many steps")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--horizon", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    require_mujoco()
    envs = args.envs or ["InvertedPendulum-v5", "InvertedDoublePendulum-v5", "Reacher-v5", "HalfCheetah-v5"]
    batch, horizon, loop, reps = args.batch, args.horizon, 16, args.repeats
    seeds, steps = args.seeds, args.steps
    if args.quick:
        batch, horizon, loop, reps, seeds, steps = 8, 3, 2, 1, 1, 3
    fh = open(args.json, "a") if args.json else None
    try:
        if not args.skip_throughput:
            print(f"{'env':<26} {'backend':<15} {'threads':>7} {'batch':>6} {'MuJoCo steps/s':>15}")
            for env_id in envs:
                rows = throughput(env_id, batch, horizon, loop, reps,
                                  on_row=lambda r: (write_row(fh, r), print(
                                      f"{r['env']:<26} {r['backend']:<15} {r['threads']:>7} {r['batch']:>6} "
                                      f"{r['steps_per_s']:>15.0f}", flush=True)))
                by = {(r["backend"], r["threads"]): r["steps_per_s"] for r in rows}
                print(f"  planlab / mujoco.rollout: 1 thread {by[('planlab', 1)] / by[('mujoco.rollout', 1)]:.2f}x,"
                      f" 2 threads {by[('planlab', 2)] / by[('mujoco.rollout', 2)]:.2f}x; planlab 2 threads / python"
                      f" loop {by[('planlab', 2)] / by[('python-loop', 1)]:.1f}x; planlab 2 / 1 threads "
                      f"{by[('planlab', 2)] / by[('planlab', 1)]:.2f}x", flush=True)
        if not args.skip_solves and "Reacher-v5" in envs and "ilqr" in args.planners:
            print(f"\n{'iLQR reach solve':<17} {'guess':<9} {'seed':>4} {'it':>3} {'status':<15} {'dist m':>7} "
                  f"{'cost':>7} {'wall ms':>8} {'cpu ms':>7} {'load':>5} success")
            rows = reach_solves(seeds, quick=args.quick, grouped_jacobians=not args.ungrouped_jacobians, on_row=lambda r: (write_row(fh, r), print(
                f"{'Reacher-v5 H=' + str(r['horizon']):<17} {r['initial_guess']:<9} {r['seed']:>4} "
                f"{r['iterations']:>3} {r['status']:<15} {r['final_distance']:>7.4f} {r['cost']:>7.4f} "
                f"{r['solve_ms_wall']:>8.1f} {r['solve_ms_cpu']:>7.1f} {r['load_1min']:>5.1f} {r['success']}",
                flush=True)))
            for guess in sorted({r["initial_guess"] for r in rows}):
                sel = [r for r in rows if r["initial_guess"] == guess]
                print(f"  {guess}: {sum(r['success'] for r in sel)}/{len(sel)} within 0.01 m; median wall "
                      f"{statistics.median(r['solve_ms_wall'] for r in sel):.1f} ms, CPU "
                      f"{statistics.median(r['solve_ms_cpu'] for r in sel):.1f} ms per solve; median "
                      f"{statistics.median(r['iterations'] for r in sel)} iterations; CPU ms per iteration: " + ", ".join(
                          f"{k} {sum(r['cpu_ms_parts'].get(k, 0.0) for r in sel) / sum(r['iterations'] for r in sel):.2f}"
                          for k in ("derivatives", "backward_pass", "line_search")), flush=True)
        if not args.skip_episodes:
            print(f"\n{'env':<26} {'planner':<8} {'seed':>4} {'return':>9} {'steps':>6} {'plan ms':>8} {'cpu ms':>7} "
                  "success")
            for env_id in envs:
                for planner in args.planners:
                    if (env_id, planner) not in SETTINGS:
                        continue
                    for seed in range(seeds):
                        r = episode(env_id, planner, seed, steps=steps, quick=args.quick)
                        write_row(fh, r)
                        print(f"{env_id:<26} {planner:<8} {seed:>4} {r['return']:>9.1f} {r['steps']:>6} "
                              f"{r['plan_ms_median']:>8.1f} {r['cpu_ms_per_step']:>7.1f} {r['success']}", flush=True)
    finally:
        if fh is not None:
            fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
