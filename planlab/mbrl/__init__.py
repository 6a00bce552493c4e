"""Model-based RL: the model-learning loop (PETS, Chua et al. 2018: a probabilistic ensemble, TS∞
particles and CEM), tabular Dyna-Q (Sutton 1991), and policies learned from a model: back-propagation
through the model (:class:`BPTT`) and General Dyna / MBPO (:class:`MBPO`, Janner et al. 2019).

>>> from planlab.mbrl import MBRLConfig, run_mbrl_loop, model_config

Names load on first use, so the ``planlab`` command line starts without importing torch.
"""

from ..core.lazy import lazy_names

_LAZY = {name: "loop" for name in ("ALGORITHMS", "MODEL_KINDS", "MBRLConfig", "MBRLResult", "model_config",
                                   "run_mbrl_loop")}
_LAZY.update({name: "dyna" for name in ("DynaQ", "QLearning", "TabularRun", "policy_value", "run_tabular",
                                        "tabular_spaces")})
_LAZY.update({name: "bptt" for name in ("BPTT", "BPTTConfig")})
_LAZY.update({name: "mbpo" for name in ("MBPO", "MBPOConfig", "MixedReplay", "branched_rollouts", "rollout_length")})
_LAZY.update({name: "resume" for name in ("save_checkpoint", "checkpoint_callback", "resume")})
_LAZY.update({name: "pathwise" for name in ("StateFeedbackPolicy", "StateValue", "EnsembleStep", "exact_step",
                                            "rollout_cost")})

__all__ = list(_LAZY)

# The trainers of this package join the trainer registry (Trainer.load, the benchmark) when it is imported.
from ..policies.registry import ALGORITHMS as _TRAINERS  # noqa: E402  (no torch: a table of strings)

_TRAINERS.setdefault("bptt", "planlab.mbrl.bptt:BPTT")
_TRAINERS.setdefault("mbpo", "planlab.mbrl.mbpo:MBPO")


__getattr__, __dir__ = lazy_names(globals(), _LAZY)
