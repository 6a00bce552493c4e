"""Model-free baselines: policy gradients, actor-critics, PPO and SAC.

Trainers follow Stable-Baselines3's interface::

    from planlab.policies import PPO
    algo = PPO("CartPole-v1", seed=0, target_return=475).learn(50_000)
    action, _ = algo.predict(obs)

=========================  ==========================================================
``REINFORCE``              Williams 1992; reward-to-go, average / optimal / learned
                           baselines, two discount options, importance-weighted
                           batch reuse (Precup et al. 2000)
``ActorCritic``            batch actor-critic (GAE, Schulman et al. 2016, or n-step)
``OnlineActorCritic``      one-transition actor-critic (Sutton & Barto 2018, 13.5)
``A2C``                    synchronous advantage actor-critic (Mnih et al. 2016)
``PPO``                    clipped surrogate (Schulman et al. 2017)
``OffPolicyActorCritic``   Q critic and replay buffer (after Degris et al. 2012)
``SAC``                    soft actor-critic (Haarnoja et al. 2018), automatic entropy tuning

Trainers are found by name through :data:`ALGORITHMS` (name -> ``"module:Class"``, resolved by
:func:`algorithm_class` on use).
=========================  ==========================================================
"""

from ..core.lazy import lazy_names

# Names are imported on first use, so `import planlab.policies` does not pull in torch and the
# trainers until one is used.
_LAZY = {
    "ALGORITHMS": "registry",
    "algorithm_class": "registry",
    "Trainer": "trainer",
    "TrainerConfig": "config",
    "evaluate_policy": "envs",
    "make_env_fn": "envs",
    "plot_learning_curve": "plotting",
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
    "ALGORITHMS", "algorithm_class", "PRESETS", "preset", "evaluate_policy", "make_env_fn", "plot_learning_curve",
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
