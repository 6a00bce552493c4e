"""Robot tasks with references, moving targets, obstacles and limits, and plots of their solutions.

``python -m planlab.benchmarks.robot_tasks [--plot-dir DIR] [--steps N]``

``unicycle-parking``
    planlab's ``Unicycle`` (dt = 0.1, T = 40) parks at the origin facing +x from (-2, 0.1, 0) among
    three discs (:func:`~planlab.core.constraints.circle_obstacles`); speed and turn rate are boxed.
``quadrotor-gap``
    ``Quadrotor2D`` (dt = 0.05, T = 40) flies from (-1.5, 0) to (1.5, 0) through a 0.5 m gap whose
    centre is 0.3 m up, between two discs of radius 1; thrusts in ``[0, m g]``.
``arm-figure-eight``
    ``TwoLinkArm`` (dt = 0.02) tracks a figure-eight with its fingertip under MPC (horizon 25): the
    target window is a plan-time parameter, the joint velocities are limited to ``|q_dot| <= 0.6``
    (active: unconstrained tracking reaches 0.76 rad/s). One loop of the figure-eight takes 6 s.

The first two are single solves (the trajopt benchmark times them against IPOPT); the third runs
the MPC loop, reporting the RMS tip error, the plan time per step and the number of builds.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ..core.constraints import circle_obstacles, state_box
from ..core.ops import cos, sin
from ..core.tracking import TimeVaryingCost, TrackingCost

__all__ = ["unicycle_parking", "quadrotor_gap", "arm_tracking_problem", "figure_eight", "run_arm_tracking",
           "plot_plan", "plot_arm_tracking", "main"]

UNICYCLE_DISCS = np.array([[-1.2, -0.05, 0.35], [-0.5, -0.5, 0.25], [-0.5, 0.6, 0.2]])


def unicycle_parking(horizon: int = 40):
    """``(system, cost, constraints, x0, warm_start)`` of the unicycle parking task."""
    from ..dynamics.systems.unicycle import Unicycle

    system = Unicycle(dt=0.1)
    cost = TrackingCost(horizon, Q=[0.1, 0.1, 0.01], R=[0.1, 0.1], Qf=[50.0, 50.0, 10.0], x_ref=[0.0, 0.0, 0.0],
                        angle_indices=[2])
    discs = circle_obstacles(3, 2, horizon, UNICYCLE_DISCS[:, :2], UNICYCLE_DISCS[:, 2])
    return system, cost, discs, np.array([-2.0, 0.1, 0.0]), None


def quadrotor_gap(horizon: int = 40, *, gap_centre: float = 0.3, gap_width: float = 0.5, radius: float = 1.0):
    """``(system, cost, constraints, x0, warm_start)`` of the quadrotor gap task (hover warm start)."""
    from ..dynamics.systems.quadrotor2d import Quadrotor2D, Quadrotor2DParams

    system = Quadrotor2D(Quadrotor2DParams(dt=0.05))
    h = system.hover_thrust
    cost = TrackingCost(horizon, Q=[0.1, 0.1, 0.1, 0.01, 0.01, 0.01], R=[0.05, 0.05],
                        Qf=[50.0, 50.0, 10.0, 5.0, 5.0, 1.0], x_ref=[1.5, 0.0, 0.0, 0.0, 0.0, 0.0], u_ref=[h, h],
                        angle_indices=[2])
    half = 0.5 * gap_width
    centres = [[0.0, gap_centre + half + radius], [0.0, gap_centre - half - radius]]
    discs = circle_obstacles(6, 2, horizon, centres, [radius, radius], position_indices=(0, 1))
    return system, cost, discs, np.array([-1.5, 0.0, 0.0, 0.0, 0.0, 0.0]), np.full((horizon, 2), h)


# ------------------------------------------------------------------------------------------ arm tracking


def tip_running(x, u, p):
    """Squared fingertip distance to the target ``p[0:2]`` (links ``p[5]``, ``p[6]``), weighted by ``p[2]``,
    plus ``p[3] |q_dot|^2 + p[4] |u|^2``."""
    ex = p[5] * cos(x[0]) + p[6] * cos(x[0] + x[1]) - p[0]
    ey = p[5] * sin(x[0]) + p[6] * sin(x[0] + x[1]) - p[1]
    return p[2] * (ex * ex + ey * ey) + p[3] * (x[2] * x[2] + x[3] * x[3]) + p[4] * (u[0] * u[0] + u[1] * u[1])


def tip_terminal(x, p):
    """Terminal fingertip distance and velocity penalty (the terminal row's weights)."""
    ex = p[5] * cos(x[0]) + p[6] * cos(x[0] + x[1]) - p[0]
    ey = p[5] * sin(x[0]) + p[6] * sin(x[0] + x[1]) - p[1]
    return p[2] * (ex * ex + ey * ey) + p[3] * (x[2] * x[2] + x[3] * x[3])


def figure_eight(t, *, centre=(1.2, 0.6), size=(0.3, 0.2), period=6.0):
    """Fingertip target (len(t), 2) on a figure-eight (a Gerono lemniscate) at times ``t`` (s)."""
    w = 2.0 * np.pi * np.asarray(t, dtype=np.float64) / period
    return np.column_stack([centre[0] + size[0] * np.sin(w), centre[1] + size[1] * np.sin(2.0 * w)])


def arm_tracking_problem(horizon: int = 25, *, qdot_max: float = 0.6):
    """``(system, cost, constraints)``: fingertip tracking (target a plan-time parameter) with joint-velocity limits."""
    from ..dynamics.systems.two_link_arm import TwoLinkArm

    system = TwoLinkArm()
    w = np.tile([100.0, 0.01, 0.01], (horizon + 1, 1))
    w[horizon] = [200.0, 0.5, 0.0]
    cost = TimeVaryingCost(4, 2, horizon, tip_running, tip_terminal,
                           fields=(("target", 2), ("w", 3), ("links", 2)),
                           values={"target": [1.2, 0.6], "w": w, "links": [1.0, 1.0]})
    limits = state_box(4, 2, horizon, [2, 3], low=[-qdot_max] * 2, high=[qdot_max] * 2)
    return system, cost, limits


def _tip(q):
    return np.column_stack([np.cos(q[:, 0]) + np.cos(q[:, 0] + q[:, 1]), np.sin(q[:, 0]) + np.sin(q[:, 0] + q[:, 1])])


def _inverse_kinematics(p):
    """Joint angles (elbow up, unit links) that put the fingertip at ``p`` (2,)."""
    c2 = np.clip((p @ p - 2.0) / 2.0, -1.0, 1.0)
    q2 = np.arccos(c2)
    return np.array([np.arctan2(p[1], p[0]) - np.arctan2(np.sin(q2), 1.0 + c2), q2])


def run_arm_tracking(steps: int = 300, horizon: int = 25, *, qdot_max: float = 0.6, compiled: bool | None = None):
    """MPC of the arm on the moving figure-eight target; returns a dict of figures and the trajectory.

    Keys: ``rms_tip_error`` (m, over the steps), ``plan_ms_median``/``plan_ms_p90``/``plan_ms_max``
    (per step, wall clock; the first step's compilation excluded and reported as ``first_plan_ms``),
    ``plan_cpu_ms_median``/``plan_cpu_ms_p90`` (process CPU time: the plan's own work on a loaded
    machine), ``iterations_median``/``iterations_max`` (box-DDP iterations per step),
    ``builds_after_first`` (solver constructions after the first step), ``max_qdot`` (rad/s, the
    largest joint speed executed), ``qdot_max`` (the limit), ``states``, ``targets``.
    """
    from ..planners.trajopt.constrained import ConstrainedILQR
    from ..planners.trajopt.stagewise import build_count

    system, cost, limits = arm_tracking_problem(horizon, qdot_max=qdot_max)
    planner = ConstrainedILQR(system, cost, constraints=limits, max_iterations=20, max_outer=8, constraint_tol=1e-4,
                              tol=1e-6, grad_tol=1e-4, compiled=compiled)
    dt = system.dt
    x = np.concatenate([_inverse_kinematics(figure_eight([0.0])[0]), [0.0, 0.0]])  # at rest on the target
    warm, times, cpu, iters, states, targets = None, [], [], [], [x.copy()], []
    builds0 = None
    for k in range(steps):
        window = figure_eight(dt * (k + np.arange(horizon + 1)))
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            plan = planner.plan(x, warm, params={"target": window})
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        iters.append(plan.diagnostics["iterations"])
        if k == 0:
            builds0 = build_count()
        x = system.step(x, plan.first_action)
        states.append(x.copy())
        targets.append(window[1])
        warm = np.vstack([plan.actions[1:], plan.actions[-1:]])
        planner.advance(1)
    S, P = np.array(states), np.array(targets)
    err = np.linalg.norm(_tip(S[1:]) - P, axis=1)
    ms = 1e3 * np.array(times[1:]) if steps > 1 else 1e3 * np.array(times)
    return {"rms_tip_error": float(np.sqrt(np.mean(err ** 2))), "plan_ms_median": float(np.median(ms)),
            "plan_ms_p90": float(np.percentile(ms, 90)), "plan_ms_max": float(ms.max()),
            "plan_cpu_ms_median": float(np.median(1e3 * np.array(cpu[1:] or cpu))),
            "plan_cpu_ms_p90": float(np.percentile(1e3 * np.array(cpu[1:] or cpu), 90)),
            "iterations_median": float(np.median(iters)), "iterations_max": int(max(iters)),
            "first_plan_ms": 1e3 * times[0], "builds_after_first": build_count() - builds0,
            "max_qdot": float(np.abs(S[:, 2:]).max()), "qdot_max": qdot_max, "steps": steps, "states": S, "targets": P}


# ------------------------------------------------------------------------------------------ plots


def plot_plan(states, discs, path, *, title="", goal=None, labels=("x", "y"), others=None):
    """Plot a planned path (T + 1, >= 2) over discs (k, 3: cx, cy, r) into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    for cx, cy, r in np.asarray(discs).reshape(-1, 3):
        ax.add_patch(plt.Circle((cx, cy), r, color="0.6"))
    ax.plot(states[:, 0], states[:, 1], "o-", ms=3, lw=2.5, color="tab:orange", label="constrained iLQR")
    for name, S in (others or {}).items():
        ax.plot(S[:, 0], S[:, 1], "k--", lw=1, label=name)
    if goal is not None:
        ax.plot(*goal, "k*", ms=10, label="goal")
    ax.set_aspect("equal")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title)
    ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_arm_tracking(result, path):
    """Plot the fingertip path against the figure-eight target into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tip = _tip(result["states"])
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(result["targets"][:, 0], result["targets"][:, 1], "k--", lw=1, label="target")
    ax.plot(tip[:, 0], tip[:, 1], lw=1.5, label=f"fingertip (RMS {1e3 * result['rms_tip_error']:.1f} mm)")
    ax.set_aspect("equal")
    ax.set_title("two-link arm: MPC on a moving figure-eight")
    ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planlab.benchmarks.robot_tasks", description=__doc__.splitlines()[0])
    parser.add_argument("--plot-dir", default=".", help="where the PNG plots go (default: the current directory)")
    parser.add_argument("--steps", type=int, default=300, help="MPC steps of the arm task (300: one loop)")
    args = parser.parse_args(argv)
    from ..planners.trajopt.constrained import ConstrainedILQR
    from ..planners.trajopt.constrained_nlp import ConstrainedNLP

    out = Path(args.plot_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, make, labels in (("unicycle-parking", unicycle_parking, ("x", "y")),
                               ("quadrotor-gap", quadrotor_gap, ("x", "z"))):
        system, cost, cons, x0, ws = make()
        plan = ConstrainedILQR(system, cost, constraints=cons).plan(x0, ws)
        ref = ConstrainedNLP(system, cost, constraints=cons).plan(x0, ws)
        discs = cons.table.get(cons.params, "discs")[0]
        plot_plan(plan.states, discs, out / f"{name}.png", title=name, goal=cost.table.get(cost.params, "x_ref")[-1][:2],
                  others={"IPOPT": ref.states}, labels=labels)
        print(f"{name}: cost {plan.cost:.6f} (IPOPT {ref.cost:.6f}), violation {plan.diagnostics['violation']:.2e}, "
              f"status {plan.status} -> {out / (name + '.png')}")
    res = run_arm_tracking(args.steps)
    plot_arm_tracking(res, out / "arm-figure-eight.png")
    print(f"arm-figure-eight: RMS tip error {1e3 * res['rms_tip_error']:.2f} mm, plan {res['plan_ms_median']:.2f} ms "
          f"median ({res['plan_ms_p90']:.2f} p90, {res['plan_ms_max']:.2f} max) per step, builds after the first step {res['builds_after_first']}, "
          f"max |q_dot| {res['max_qdot']:.3f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
