"""The generated kernels: disk cache across processes, numba-off fallback."""

import json
import os
import subprocess
import sys

import numpy as np

from planlab.dynamics import CartPole

_SCRIPT = """
import json, numpy as np
from planlab.dynamics import CartPole
d = CartPole(); c = d.default_cost()
k = d.kernels(c)
out = d.rollout_cost(np.zeros(4), np.ones((3, 5, 1)), c)
print(json.dumps({"hits": sum(k.rollout_cost.stats.cache_hits.values()),
                  "misses": sum(k.rollout_cost.stats.cache_misses.values()), "out": out.tolist()}))
"""


def _run(env):
    res = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_compiled_kernels_from_the_cache(tmp_path):
    env = dict(os.environ, PLANLAB_CACHE_DIR=str(tmp_path))
    first = _run(env)
    second = _run(env)
    assert first["misses"] == 1 and first["hits"] == 0
    assert second["hits"] == 1 and second["misses"] == 0
    assert first["out"] == second["out"]


def test_disabling_numba_gives_the_same_numbers(tmp_path):
    env = dict(os.environ, PLANLAB_DISABLE_NUMBA="1", PLANLAB_CACHE_DIR=str(tmp_path))
    script = ("import numpy as np, json; from planlab.dynamics import CartPole; d = CartPole();"
              "print(json.dumps(d.rollout_cost(np.zeros(4), np.ones((3, 5, 1)), d.default_cost()).tolist()))")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    d = CartPole()
    assert json.loads(res.stdout) == d.rollout_cost(np.zeros(4), np.ones((3, 5, 1)), d.default_cost()).tolist()
    assert not list(tmp_path.glob("planlab_kernel_*.py"))  # nothing was generated
