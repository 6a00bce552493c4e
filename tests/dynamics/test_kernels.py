"""The generated kernels: disk cache across processes, numba-off fallback."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from planlab.core import QuadraticCost
from planlab.core.contracts import Dynamics
from planlab.dynamics import Acrobot, CartPole

_SCRIPT = """
import json, numpy as np
from planlab.dynamics import CartPole
d = CartPole(); c = d.default_cost()
k = d.kernels(c).sized(4)
out = d.rollout_cost(np.zeros(4), np.ones((3, 5, 1)), c)
print(json.dumps({"hits": sum(k.rollout_cost_kernel.stats.cache_hits.values()),
                  "misses": sum(k.rollout_cost_kernel.stats.cache_misses.values()), "out": out.tolist()}))
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


def _dense_cost(nx, nu, angle):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(nx, nx))
    return QuadraticCost(Q=A @ A.T, R=np.eye(nu) * 0.1, Qf=np.eye(nx), x_goal=rng.normal(size=nx),
                         angle_indices=[angle])


@pytest.mark.parametrize("system, dense", [(CartPole(), False), (CartPole(), True),
                                           (CartPole(terminate=True), False), (Acrobot(), True)])
def test_the_fixed_size_kernel_gives_the_generic_kernels_costs_to_the_bit(system, dense):
    """The copy with the state size fixed (stack state, inlined running cost) does the same arithmetic
    in the same order as the generic kernel and as the numpy rollout of the same sources."""
    nx, nu = system.state_dim, system.action_dim
    cost = _dense_cost(nx, nu, system.angle_indices[0]) if dense else system.default_cost()
    rng = np.random.default_rng(0)
    U = rng.uniform(system.action_low, system.action_high, size=(7, 9, nu))
    x0s = rng.normal(size=(7, nx)) * 0.3
    k = system.kernels(cost)
    sized = k.sized(nx)
    assert sized is not k and sized.sized(nx) is sized
    fast, generic = np.empty(7), np.empty(7)
    sized.rollout_cost_kernel(x0s, U, system.param_vector, cost.params, fast)
    k.rollout_cost_parallel(x0s, U, system.param_vector, cost.params, generic)
    assert np.array_equal(fast, generic)
    np.testing.assert_array_equal(system.rollout_cost(x0s, U, cost), fast)
    np.testing.assert_allclose(Dynamics.rollout(system, x0s, U, cost).costs, fast, rtol=1e-12, atol=0)


def test_states_larger_than_the_stack_buffer_use_the_generic_kernel():
    k = CartPole().kernels(CartPole().default_cost())
    from planlab.dynamics.compiled.rollout import MAX_SIZED_STATE

    assert k.sized(MAX_SIZED_STATE + 1) is k and k.sized(0) is k
