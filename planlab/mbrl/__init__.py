"""Model-based RL: the loop of Algorithms 23-25 (PETS with a probabilistic ensemble, TS∞ and CEM)
and tabular Dyna-Q (Algorithm 28).

>>> from planlab.mbrl import MBRLConfig, run_mbrl_loop, model_config

Names load on first use, so the ``planlab`` command line starts without importing torch.
"""

_LAZY = {name: "loop" for name in ("ALGORITHMS", "MODEL_KINDS", "MBRLConfig", "MBRLResult", "model_config",
                                   "run_mbrl_loop")}
_LAZY.update({name: "dyna" for name in ("DynaQ", "QLearning", "TabularRun", "policy_value", "run_tabular",
                                        "tabular_spaces")})

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'planlab.mbrl' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

