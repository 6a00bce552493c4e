"""Model-based RL: the loop of Algorithms 23-25 (PETS with a probabilistic ensemble, TS∞ and CEM)
and tabular Dyna-Q (Algorithm 28).

>>> from planlab.mbrl import MBRLConfig, run_mbrl_loop, model_config

Names load on first use, so the ``planlab`` command line starts without importing torch.
"""

from ..core.lazy import lazy_names

_LAZY = {name: "loop" for name in ("ALGORITHMS", "MODEL_KINDS", "MBRLConfig", "MBRLResult", "model_config",
                                   "run_mbrl_loop")}
_LAZY.update({name: "dyna" for name in ("DynaQ", "QLearning", "TabularRun", "policy_value", "run_tabular",
                                        "tabular_spaces")})

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_names(globals(), _LAZY)
