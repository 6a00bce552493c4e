"""The trajectory-optimisation kernels: a real module, specialised per (system, cost), cached on disk."""

import json
import os
import subprocess
import sys

import numpy as np

from planlab.core import QuadraticCost
from planlab.dynamics import Pendulum
from planlab.planners.trajopt import kernels as template
from planlab.planners.trajopt.derivatives import make_trajectory_model

_SCRIPT = """
import json, numpy as np
from planlab.core import QuadraticCost
from planlab.dynamics import Pendulum
from planlab.planners.trajopt.derivatives import make_trajectory_model
m = make_trajectory_model(Pendulum(), QuadraticCost(Q=[1.0, 0.1], R=[0.01], Qf=[10.0, 1.0], angle_indices=[0]))
T = 5
X, J = m.rollout(np.array([3.0, 0.0]), np.ones((T, 1)))
O = np.empty((T, m.n_packed)); OT = np.empty(6)
m.derivatives(X, np.ones((T, 1)), O, OT)
fns = (m.kernels.rollout, m.kernels.derivatives)
print(json.dumps({"hits": sum(sum(f.stats.cache_hits.values()) for f in fns),
                  "misses": sum(sum(f.stats.cache_misses.values()) for f in fns), "J": J, "O": O.tolist()}))
"""


def _run(env):
    res = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_the_trajopt_kernels_from_the_cache(tmp_path):
    env = dict(os.environ, PLANLAB_CACHE_DIR=str(tmp_path))
    first = _run(env)
    second = _run(env)
    assert first["misses"] == 2 and first["hits"] == 0
    assert second["hits"] == 2 and second["misses"] == 0
    assert first["J"] == second["J"] and first["O"] == second["O"]


def test_the_template_runs_as_written_on_its_placeholder_model():
    """The kernel module is plain code: unspecialised, it runs the integrator x' = x + u, cost x^2 + u^2."""
    U = np.array([[1.0], [-2.0]])
    X = np.empty((3, 1))
    J = template.rollout(np.array([0.5]), U, np.zeros(1), np.zeros(1), X)
    np.testing.assert_allclose(X.ravel(), [0.5, 1.5, -0.5])
    assert J == 0.25 + 1.0 + 2.25 + 4.0
    O = np.empty((2, 7))
    OT = np.empty(2)
    lo, hi = np.array([-np.inf]), np.array([np.inf])
    assert template.derivatives(X, U, lo, hi, np.zeros(1), np.zeros(1), O, OT)
    np.testing.assert_allclose(O, [[1, 1, 1.0, 2.0, 2, 2, 0], [1, 1, 3.0, -4.0, 2, 2, 0]])


def test_specialised_kernels_import_the_models_sources_on_their_sources_line():
    system = Pendulum()
    m = make_trajectory_model(system, QuadraticCost(Q=[1.0, 0.1], R=[0.01]))
    text = open(m.kernels.__file__).read()
    assert f"from {type(system).dynamics_source.__module__} import" in text
    assert "from planlab.planners.trajopt.quadratic import quadratic_cost_derivatives as _cost1_py" in text
    assert "planlab.planners.trajopt.placeholder" not in text
