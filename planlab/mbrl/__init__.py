"""Model-based RL: the model-learning loop (PETS, Chua et al. 2018: a probabilistic ensemble, TS∞
particles and CEM) and tabular Dyna-Q (Sutton 1991).

>>> from planlab.mbrl import MBRLConfig, run_mbrl_loop, model_config

Names load on first use, so the ``planlab`` command line starts without importing torch.
"""

from .._lazy import lazy_names

_LAZY = {name: "loop" for name in ("ALGORITHMS", "MODEL_KINDS", "MBRLConfig", "MBRLResult", "model_config",
                                   "run_mbrl_loop")}
_LAZY.update({name: "dyna" for name in ("DynaQ", "QLearning", "TabularRun", "policy_value", "run_tabular",
                                        "tabular_spaces")})

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_names(globals(), _LAZY)
