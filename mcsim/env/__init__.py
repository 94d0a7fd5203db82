"""The learning environment: households, ``RetirementEnv`` (gymnasium), ``NumbaVecEnv`` and the baselines.

``household`` turns profiles (or a sampler) into a pool of households as arrays, ``kernels`` holds the
jitted step, reset and terminal Monte Carlo shared by both envs, ``environment`` the single gymnasium
env (registered as ``mcsim/Retirement-v0``), ``vec_env`` the batched SB3 VecEnv, ``policies`` the
rule-based baselines and the common-random-numbers ``rollout``.

Layering: imports the core only.
"""

from .environment import EnvConfig, RetirementEnv
from .vec_env import NumbaVecEnv

__all__ = ["EnvConfig", "NumbaVecEnv", "RetirementEnv"]
