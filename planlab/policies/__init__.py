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

from ..core.lazy import lazy_names

# Names are imported on first use, so `planlab.policies.linear` (used by the LQR/iLQR planners)
# does not pull in torch and the trainers.
_LAZY = {
    "ALGORITHMS": "base",
    "Trainer": "base",
    "TrainerConfig": "base",
    "evaluate_policy": "base",
    "ReplayBuffer": "buffers",
    "RolloutBuffer": "buffers",
    "ActorCriticNet": "networks",
    "CategoricalPolicy": "networks",
    "GaussianPolicy": "networks",
    "QEnsemble": "networks",
    "QNet": "networks",
    "TanhGaussianPolicy": "networks",
    "TorchPolicy": "networks",
    "ValueNet": "networks",
    "mlp": "networks",
    "SAC": "offpolicy",
    "OffPolicyACConfig": "offpolicy",
    "OffPolicyActorCritic": "offpolicy",
    "SACConfig": "offpolicy",
    "A2C": "onpolicy",
    "PPO": "onpolicy",
    "A2CConfig": "onpolicy",
    "ActorCritic": "onpolicy",
    "ActorCriticConfig": "onpolicy",
    "OnlineActorCritic": "onpolicy",
    "OnlineActorCriticConfig": "onpolicy",
    "PPOConfig": "onpolicy",
    "PRESETS": "presets",
    "preset": "presets",
    "REINFORCE": "reinforce",
    "ReinforceConfig": "reinforce",
    "per_sample_scores": "reinforce",
    "reinforce_loss": "reinforce",
    "DISCOUNT_FROM_NOW": "returns",
    "DISCOUNT_FROM_START": "returns",
    "average_baseline": "returns",
    "gae": "returns",
    "importance_weights": "returns",
    "n_step_advantage": "returns",
    "optimal_baseline": "returns",
    "pg_weights": "returns",
    "reward_to_go": "returns",
    "td_residual": "returns",
    "TimeVaryingLinearPolicy": "linear",
}

__all__ = [
    # trainers
    "TimeVaryingLinearPolicy", "Trainer", "REINFORCE", "ActorCritic", "OnlineActorCritic", "A2C", "PPO", "OffPolicyActorCritic", "SAC",
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


__getattr__, __dir__ = lazy_names(globals(), _LAZY)
