"""With ``PLANLAB_DISABLE_NUMBA=1`` a sampling planner compiles nothing and plans the same numbers."""

import json
import os
import subprocess
import sys

import numpy as np

from planlab.dynamics import Pendulum
from planlab.planners import CEM

_SCRIPT = """
import json, numpy as np
from numba.core import event
from planlab.dynamics import Pendulum
from planlab.planners import CEM
with event.install_recorder("numba:compile") as rec:
    d = Pendulum()
    plan = CEM(d, d.default_cost(), horizon=8, population=40, elites=5, iterations=2, seed=3).plan(np.array([2.0, 0.5]))
print(json.dumps({"compiles": sum(1 for _, e in rec.buffer if e.is_start), "actions": plan.actions.tolist()}))
"""


def test_disabled_numba_compiles_nothing_and_gives_the_compiled_plan(tmp_path):
    env = dict(os.environ, PLANLAB_DISABLE_NUMBA="1", PLANLAB_CACHE_DIR=str(tmp_path / "p"),
               NUMBA_CACHE_DIR=str(tmp_path / "n"))
    res = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["compiles"] == 0
    d = Pendulum()
    plan = CEM(d, d.default_cost(), horizon=8, population=40, elites=5, iterations=2, seed=3).plan(np.array([2.0, 0.5]))
    assert plan.diagnostics["fused"]
    np.testing.assert_allclose(out["actions"], plan.actions, rtol=1e-12, atol=1e-12)
