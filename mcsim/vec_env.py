"""Compatibility path of the batched environment: it lives in :mod:`mcsim.env.vec_env`."""

from .env.vec_env import NumbaVecEnv

__all__ = ["NumbaVecEnv"]
