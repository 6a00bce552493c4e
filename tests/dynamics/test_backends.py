"""Every backend of every system computes the same numbers (one source, four backends)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from planlab.core import Dynamics
from planlab.dynamics import SYSTEMS, CartPole
from planlab.envs.models import GYM_MODELS

SYSTEM_FACTORIES = {name: (lambda cls=cls: cls()) for name, cls in SYSTEMS.items()}
SYSTEM_FACTORIES["doubleintegrator3"] = lambda: SYSTEMS["doubleintegrator"](n=3)
MODEL_FACTORIES = {**{k: (lambda f=f: f()) for k, f in SYSTEM_FACTORIES.items()},
                   **{f"gym:{k}": (lambda f=f: f()) for k, f in GYM_MODELS.items()}}


def _model(name):
    m = MODEL_FACTORIES[name]()
    return m if isinstance(m, tuple) else (m, m.default_cost())


def _sample(dyn, rng, n):
    x = rng.normal(size=(n, dyn.state_dim)) * 0.8
    if dyn.is_discrete:
        u = rng.integers(0, dyn.n_actions, size=(n, dyn.action_dim)).astype(float)
    else:
        span = dyn.action_high - dyn.action_low
        u = rng.uniform(dyn.action_low - 0.1 * span, dyn.action_high + 0.1 * span, size=(n, dyn.action_dim))
    return x, u


@pytest.mark.parametrize("name", sorted(MODEL_FACTORIES))
@given(seed=st.integers(0, 2**31 - 1))
def test_numpy_torch_and_casadi_steps_agree(name, seed):
    dyn, _ = _model(name)
    rng = np.random.default_rng(seed)
    x, u = _sample(dyn, rng, 16)
    ref = dyn.step(x, u)
    tor = dyn.step_torch(torch.as_tensor(x), torch.as_tensor(u)).numpy()
    np.testing.assert_allclose(tor, ref, rtol=1e-9, atol=1e-12)
    # the casadi model is the unclipped dynamics (derivatives inside the box): evaluate it on the
    # executed, clipped actions
    f = dyn.symbolic().f
    uc = np.clip(u, dyn.action_low, dyn.action_high)
    cas = np.stack([np.array(f(x[i], uc[i])).ravel() for i in range(len(x))])
    np.testing.assert_allclose(cas, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(MODEL_FACTORIES))
@given(seed=st.integers(0, 2**31 - 1))
def test_numba_kernels_equal_numpy_rollout(name, seed):
    dyn, cost = _model(name)
    rng = np.random.default_rng(seed)
    x0, _ = _sample(dyn, rng, 6)
    U = np.stack([_sample(dyn, rng, 12)[1] for _ in range(6)])  # (6, 12, nu)
    ref = Dynamics.rollout(dyn, x0, U, cost)
    fused = dyn.rollout(x0, U, cost)
    np.testing.assert_allclose(fused.states, ref.states, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fused.costs, ref.costs, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(fused.terminated, ref.terminated)
    np.testing.assert_allclose(dyn.rollout_cost(x0, U, cost), ref.costs, rtol=1e-9, atol=1e-12)
    shared = dyn.rollout_cost(x0[0], U, cost)
    np.testing.assert_allclose(shared, Dynamics.rollout(dyn, x0[0], U, cost).costs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(MODEL_FACTORIES))
def test_source_costs_agree_on_numpy_torch_and_casadi(name, rng):
    dyn, cost = _model(name)
    x, u = _sample(dyn, rng, 10)
    xn = dyn.step(x, u)
    ref = cost.running(x, u, xn)
    tor = cost.running_torch(torch.as_tensor(x), torch.as_tensor(u), torch.as_tensor(xn)).numpy()
    np.testing.assert_allclose(tor, ref, rtol=1e-9, atol=1e-12)
    sym = dyn.symbolic(cost)
    cas = np.array([float(sym.running(x[i], u[i])[0]) for i in range(len(x))])
    np.testing.assert_allclose(cas, ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([float(sym.terminal(x[i])[0]) for i in range(len(x))], cost.terminal(x),
                               rtol=1e-9, atol=1e-12)


def test_parallel_kernel_equals_serial_kernel(rng):
    dyn = CartPole()
    cost = dyn.default_cost()
    U = rng.uniform(-10, 10, size=(257, 30, 1))
    serial = dyn.rollout_cost(np.zeros(4), U, cost, threads=1)
    parallel = dyn.rollout_cost(np.zeros(4), U, cost, threads="all")
    np.testing.assert_array_equal(serial, parallel)


def test_torch_step_is_differentiable():
    dyn = CartPole()
    x = torch.tensor([[0.1, 0.0, 0.2, 0.0]], requires_grad=True)
    u = torch.tensor([[1.0]], dtype=torch.float64, requires_grad=True)
    dyn.step_torch(x.double(), u).sum().backward()
    assert u.grad is not None and torch.isfinite(u.grad).all() and u.grad.abs().sum() > 0
