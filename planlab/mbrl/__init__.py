"""Model-based RL: the loop of Algorithms 23-25 (PETS with a probabilistic ensemble, TS∞ and CEM)
and tabular Dyna-Q (Algorithm 28).

>>> from planlab.mbrl import MBRLConfig, run_mbrl_loop, model_config
"""

from .dyna import DynaQ, QLearning, TabularRun, policy_value, run_tabular, tabular_spaces
from .loop import ALGORITHMS, MODEL_KINDS, MBRLConfig, MBRLResult, model_config, run_mbrl_loop

__all__ = ["ALGORITHMS", "MODEL_KINDS", "MBRLConfig", "MBRLResult", "model_config", "run_mbrl_loop", "DynaQ",
           "QLearning", "TabularRun", "policy_value", "run_tabular", "tabular_spaces"]
