"""Every benchmark module runs end to end in a fresh process on a tiny configuration.

A fresh ``python -m planlab.benchmarks.<name>`` process is what a user runs, so this catches what
in-process tests cannot (a registry filled only by an import that happens elsewhere in the test
session, a renamed import inside a benchmark). Each run writes JSON lines to a temporary file;
the test checks the exit code, that every line parses, and that the rows carry the benchmark's keys.
The sizes are smoke sizes: the numbers they print mean nothing.
"""

import json
import subprocess
import sys

import pytest

#: benchmark module -> (tiny-run arguments, keys every row of one kind must have: (selector key, keys))
CASES = {
    "rollout": (["--quick"], [(None, {"system", "backend", "threads", "n", "horizon", "steps_per_s"})]),
    "planners": (["--quick", "--episode-steps", "5", "--planners", "cem,mppi", "--repeats", "3"],
                 [("kind", {"kind", "planner", "env", "plan_ms_median", "plan_ms_p90"}),
                  ("seed", {"planner", "env", "seed", "start", "return", "success", "steps"})]),
    "trajopt": (["--quick"], [(None, {"solver", "problem", "time_ms", "iterations", "cost"})]),
    "mcts": (["--smoke"], [("kind", {"task", "simulations"}),
                           ("seed", {"task", "seed", "simulations", "sims_per_s", "root_action_optimal", "return",
                                     "steps"})]),
    "modelfree": (["--seeds", "1", "--algos", "a2c", "--budget", "200"],
                  [(None, {"algo", "env", "seed", "solved", "steps_to_solve", "seconds_to_solve", "final_return"})]),
    # --- policies learned from a model (planlab.benchmarks.modelpolicy) ---
    "modelpolicy": (["--quick", "--algos", "bptt", "mbpo"],
                    [("algo", {"algo", "env", "seed", "solved", "steps_to_solve", "seconds_to_solve", "final_return",
                               "act_ms"}),
                     ("kind", {"env", "pets_plan_ms", "act_ms", "speedup"})]),
    # time to the first plan (fresh processes, temporary kernel cache)
    "startup": (["--quick"], [(None, {"case", "mode", "total_s", "cpu_s", "first_plan_s", "numba_compiles"})]),
    "mbrl": (["--quick"], [("network_ms", {"config", "threads", "plan_ms_median", "network_ms"}),
                           ("algorithm", {"algorithm", "seed", "steps_to_optimal"}),
                           ("phase", {"env", "seed", "episode", "phase", "return", "elapsed_s"}),
                           ("summary", {"env", "seed", "reached_at_episode", "met"})]),
    # MuJoCo (optional extra): skipped without mujoco
    "mujoco": (["--quick", "--envs", "InvertedDoublePendulum-v5", "--planners", "mppi"],
               [("steps_per_s", {"kind", "env", "backend", "threads", "batch", "steps_per_s"}),
                ("seed", {"env", "planner", "seed", "return", "steps", "plan_ms_median", "success"})]),
    "sweeps": (["--quick"], [("rows", {"part", "rows", "wall_s", "cpu_s"}),
                             ("executor", {"part", "executor", "workers", "jobs", "wall_s", "jobs_per_s"})]),
    # latent: pixels -> latent model -> planning in latent space
    "latent": (["--quick", "--seeds", "0"], [("observation", {"env", "seed", "episode", "observation", "return", "wall_s",
                                                             "plan_ms_median"}),
                                            ("config", {"kind", "config", "plan_ms_median"}),
                                            ("learned_reward", {"theta", "reward", "learned_reward", "episodes"})]),
    # --- guided policy search and distillation ---
    "gps": (["--quick"], [("iteration", {"algo", "task", "seed", "iteration", "success_rate", "heldout", "wall_s",
                                         "policy_us_per_action", "mpc_ms_per_step"}),
                          ("teacher_return", {"algo", "task", "seed", "teacher_return", "student_return"})]),
    "gps_reach": (["--quick", "--teacher", "--parts", "gps,dagger"],
                  [("round", {"algo", "seed", "round", "heldout_success", "heldout_final_dist_median", "cpu_s", "wall_s"}),
                   ("iteration", {"algo", "seed", "iteration", "success_rate", "heldout_final_dist_median", "status",
                                  "cpu_s", "wall_s", "loadavg_1min"})]),
}

#: the ``--json`` rows of each benchmark's expected kinds, e.g. trajopt's solvers
EXPECTED = {
    "rollout": lambda rows: ({"numba", "numpy", "torch"} <= {r["backend"] for r in rows}
                             <= {"numba", "numpy", "torch", "c", "numba-vs-c"}),  # C rows when gcc is present
    "planners": lambda rows: ({r["planner"] for r in rows} == {"cem", "mppi"}
                              and {r["kind"] for r in rows} == {"speed", "episode"}),
    "trajopt": lambda rows: {r["solver"] for r in rows} == {"ilqr", "ddp", "boxddp", "ipopt", "dlqr", "scipy-dare",
                                                            "al-ilqr", "al-ilqr-mpc", "cem-filter"},
    "mcts": lambda rows: {r["task"] for r in rows} == {"chain", "gridworld", "CartPole-v1"},
    "modelfree": lambda rows: [(r["algo"], r["seed"]) for r in rows] == [("a2c", 0)],
    "modelpolicy": lambda rows: ({r["algo"] for r in rows if "algo" in r} == {"bptt", "mbpo"}
                                 and [r["kind"] for r in rows if "kind" in r] == ["act_vs_plan"]),
    "mbrl": lambda rows: any(r.get("reference") == "true-model" for r in rows),
    "mujoco": lambda rows: {r.get("backend") for r in rows} == {"planlab", "mujoco.rollout", "python-loop", None},
    "sweeps": lambda rows: {(r["part"], r.get("workers")) for r in rows} == {("report", None), ("throughput", 1),
                                                                           ("throughput", 2)},
    "latent": lambda rows: ({r["observation"] for r in rows if "observation" in r} == {"pixels", "state"}
                            and any("plain_torch_ms_median" in r for r in rows)),
    "gps": lambda rows: {r["algo"] for r in rows} == {"gps", "distill"} and sum(r.get("multitask", 0) > 0 for r in rows) == 3,
    "startup": lambda rows: [(r["case"], r["mode"]) for r in rows] == [("cem", "cold"), ("cem", "warm")],
    "gps_reach": lambda rows: [r["algo"] for r in rows] == ["reach-teacher", "gps", "speed", "reach-dagger", "reach-dagger"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_benchmark_runs_end_to_end_in_a_fresh_process(name, tmp_path):
    if name == "mujoco":
        pytest.importorskip("mujoco", reason="the MuJoCo benchmark needs the optional extra: pip install planlab[mujoco]")
    args, kinds = CASES[name]
    path = tmp_path / f"{name}.jsonl"
    proc = subprocess.run([sys.executable, "-m", f"planlab.benchmarks.{name}", *args, "--json", str(path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"planlab.benchmarks.{name} failed:\n{proc.stderr[-3000:]}"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert rows, f"planlab.benchmarks.{name} wrote no JSON rows"
    for selector, keys in kinds:
        chosen = [r for r in rows if selector is None or selector in r]
        assert chosen, f"no rows with {selector!r} in {name}'s output"
        for r in chosen:
            assert keys <= set(r), f"{name} row misses {sorted(keys - set(r))}: {r}"
    assert EXPECTED[name](rows), f"{name}: unexpected rows {rows}"
