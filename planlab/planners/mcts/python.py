"""The Python search: the loop of :mod:`.search`, un-jitted, over any :class:`~planlab.core.Dynamics`.

Used for models without compiled sources (learned models, numba disabled), Python rollout
policies, leaf values and state-dependent action masks. :func:`python_search` returns
:func:`.search.run` with the same code and globals except the model-dependent steps
(:data:`.search.MODEL_FUNCTIONS`), which call a :class:`PythonModel`. The tree functions it calls
are the compiled ones, and every random draw comes from numba's generator (:mod:`.rng`), so on a
model the compiled search also handles both give the same tree, simulation for simulation.
"""

from __future__ import annotations

import math
import types
from typing import Callable

import numpy as np

from planlab.core.contracts import CompiledSources, Cost, Dynamics
from planlab.core.planning import Policy
from planlab.core.source import eval_dynamics_source
from planlab.planners.mcts import search as _search
from planlab.planners.mcts.rng import random_index, random_uniform, random_unit

__all__ = ["PythonModel", "python_search"]


class PythonModel:
    """The model-dependent steps of the search for any model (the attributes of :class:`.model.CompiledModel`).

    Parameters
    ----------
    dynamics, cost : Dynamics, Cost
    legal : ndarray of bool (n_actions,)
        The static action mask (``[True]`` for continuous actions).
    mask_fn : callable ``x -> (n_actions,) bool``, optional
        A state-dependent mask instead.
    rollout_policy : Policy, optional
    leaf_value_fn : callable ``x (nx,) -> float``, optional
    sources : CompiledSources, optional
        A stochastic model's sources: its transitions then evaluate the dynamics source with
        ``noise_dim`` uniform inputs from numba's generator, as the compiled search does.
    rng : numpy Generator
        For stochastic models without sources (``dynamics.step(x, u, rng)``).
    """

    def __init__(self, dynamics: Dynamics, cost: Cost, *, legal: np.ndarray, mask_fn: Callable | None = None,
                 rollout_policy: Policy | None = None, leaf_value_fn: Callable | None = None,
                 sources: CompiledSources | None = None, rng=None):
        self.dynamics, self.cost = dynamics, cost
        self.legal = legal
        self.mask_fn = mask_fn
        self.rollout_policy = rollout_policy
        self.leaf_value_fn = leaf_value_fn
        self.has_leaf_value = leaf_value_fn is not None
        self.action_low = dynamics.action_low
        self.action_high = dynamics.action_high
        self.sources = sources if (sources is not None and dynamics.noise_dim > 0) else None
        self.noise_dim = dynamics.noise_dim if self.sources is not None else 0
        self.rng = rng

    def legal_actions(self, x) -> np.ndarray:
        """Legal actions in state ``x``: bool mask (n_actions,)."""
        if self.mask_fn is None:
            return self.legal
        n = self.legal.shape[0]
        m = np.asarray(self.mask_fn(x))
        if m.shape != (n,) or m.dtype != np.bool_:
            raise ValueError(f"action_mask: expected the callable to return a bool array of shape ({n},), "
                             f"got {m.dtype} array of shape {m.shape}")
        return m

    def transition(self, x, u, xn):
        """Write the next state of ``(x, u)`` into ``xn`` and return ``(reward, terminal)``."""
        d = self.dynamics
        nu = d.action_dim
        if self.sources is not None:
            for k in range(self.noise_dim):
                u[nu + k] = random_unit()
            xn[:] = eval_dynamics_source(self.sources.dynamics, x, u, self.sources.params, d.state_dim)
        elif d.stochastic:
            xn[:] = np.asarray(d.step(x[None], u[None, :nu], self.rng), dtype=np.float64)[0]
        else:
            xn[:] = np.asarray(d.step(x[None], u[None, :nu]), dtype=np.float64)[0]
        r = -float(self.cost.running(x[None], u[None, :nu], xn[None])[0])
        term = bool(d.terminated(xn[None])[0])
        return r, term, math.isfinite(r) and bool(np.all(np.isfinite(xn)))

    def is_terminal(self, x) -> bool:
        """Whether state ``x`` (nx,) is terminal."""
        return bool(self.dynamics.terminated(x[None])[0])

    def terminal_value(self, x) -> float:
        """Value of a terminal state: minus the terminal cost."""
        return -float(self.cost.terminal(x[None])[0])

    def leaf_value(self, x) -> float:
        """Estimated value of a leaf state ``x`` (the user's ``leaf_value_fn``)."""
        return float(self.leaf_value_fn(x))

    def default_action(self, settings, x, u) -> bool:
        """Write the default (rollout) action for ``x`` into ``u``; returns whether one exists."""
        d = self.dynamics
        nu = d.action_dim
        if self.rollout_policy is not None:
            a = np.asarray(self.rollout_policy.act(x), dtype=np.float64).reshape(nu)
            u[:nu] = d.clip_action(a)
        elif settings.discrete:
            idx = np.flatnonzero(self.legal_actions(x))
            if len(idx) == 0:
                return False
            u[0] = float(idx[random_index(len(idx))])
        else:
            for k in range(nu):
                u[k] = random_uniform(self.action_low[k], self.action_high[k])
        return True


def _adapters():
    """The model-dependent steps as calls of the :class:`PythonModel` passed as ``model``."""
    return {
        "transition": lambda model, x, u, xn: model.transition(x, u, xn),
        "is_terminal": lambda model, x: model.is_terminal(x),
        "terminal_value": lambda model, x: model.terminal_value(x),
        "leaf_value": lambda model, x: model.leaf_value(x),
        "default_action": lambda model, settings, x, u: model.default_action(settings, x, u),
        "legal_actions": lambda model, x: model.legal_actions(x),
    }


def _build():
    names = dict(vars(_search))
    names.update(_adapters())
    assert set(_search.MODEL_FUNCTIONS) <= set(_adapters())
    for name in _search.LOOP_FUNCTIONS:  # the loop's own code, resolving its globals in ``names``
        fn = getattr(_search, name).py_func
        names[name] = types.FunctionType(fn.__code__, names, name, fn.__defaults__, fn.__closure__)
    return names["run"]


_python_run = None


def python_search():
    """:func:`.search.run` un-jitted, its model steps calling a :class:`PythonModel`:
    ``run(n_sims, tree, model, settings, work)``."""
    global _python_run
    if _python_run is None:
        _python_run = _build()
    return _python_run
