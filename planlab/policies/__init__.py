"""Model-free baselines: policy gradients, actor-critics, PPO and SAC (notes, chapters 3-4).

Trainers follow Stable-Baselines3's interface::

    from planlab.policies import PPO
    algo = PPO("CartPole-v1", seed=0, target_return=475).learn(50_000)
    action, _ = algo.predict(obs)

=========================  ==========================================================
``REINFORCE``              Algorithm 15; reward-to-go, average / optimal / learned
                           baselines, both discount options of (4.1.7), importance-
                           weighted batch reuse (3.2.9)
``ActorCritic``            batch actor-critic, Algorithms 16-17 (GAE 4.2.10, n-step 4.2.8)
``OnlineActorCritic``      Algorithm 18
``A2C``                    synchronous parallel actor-critic (4.4.2)
``PPO``                    clipped surrogate
``OffPolicyActorCritic``   Algorithm 20 (Q critic, replay buffer)
``SAC``                    soft actor-critic (4.3.1), automatic entropy tuning
=========================  ==========================================================
"""

from .base import ALGORITHMS, Trainer, TrainerConfig, evaluate_policy
from .buffers import ReplayBuffer, RolloutBuffer
from .networks import (ActorCriticNet, CategoricalPolicy, GaussianPolicy, QEnsemble, QNet, TanhGaussianPolicy,
                       TorchPolicy, ValueNet, mlp)
from .offpolicy import SAC, OffPolicyACConfig, OffPolicyActorCritic, SACConfig
from .onpolicy import (A2C, PPO, A2CConfig, ActorCritic, ActorCriticConfig, OnlineActorCritic,
                       OnlineActorCriticConfig, PPOConfig)
from .presets import PRESETS, preset
from .reinforce import REINFORCE, ReinforceConfig, per_sample_scores, reinforce_loss
from .returns import (DISCOUNT_FROM_NOW, DISCOUNT_FROM_START, average_baseline, gae, importance_weights,
                      n_step_advantage, optimal_baseline, pg_weights, reward_to_go, td_residual)

__all__ = [
    # trainers
    "Trainer", "REINFORCE", "ActorCritic", "OnlineActorCritic", "A2C", "PPO", "OffPolicyActorCritic", "SAC",
    "ALGORITHMS", "PRESETS", "preset", "evaluate_policy",
    # configs
    "TrainerConfig", "ReinforceConfig", "ActorCriticConfig", "OnlineActorCriticConfig", "A2CConfig", "PPOConfig",
    "OffPolicyACConfig", "SACConfig",
    # networks
    "mlp", "TorchPolicy", "CategoricalPolicy", "GaussianPolicy", "TanhGaussianPolicy", "ValueNet", "QNet",
    "QEnsemble", "ActorCriticNet",
    # buffers
    "RolloutBuffer", "ReplayBuffer",
    # returns and estimators
    "DISCOUNT_FROM_NOW", "DISCOUNT_FROM_START", "reward_to_go", "pg_weights", "td_residual", "gae",
    "n_step_advantage", "average_baseline", "optimal_baseline", "importance_weights", "per_sample_scores",
    "reinforce_loss",
]
