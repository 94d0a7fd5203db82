"""Baseline policies and policy roll-outs on common random numbers.

A policy maps a batch of observations to actions, with the batched env at hand for policies that
need the household itself (the profile's own plan). Baselines need no training and no torch:

* :class:`OwnPlan`: the profile's own savings phases and allocation;
* :class:`GlidePath`: a fixed savings rate with a "110 minus age" equity share;
* :class:`ConstantMix`: a fixed savings rate and a fixed equity share.

:func:`rollout` runs one episode per (household, seed) pair in a :class:`NumbaVecEnv`; the market
draws do not depend on the actions, so every policy rolled out with the same pairs meets the same
markets (common random numbers) and returns can be compared household by household.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from ._env_kernels import disposable_income
from .checks import integer, number
from .env import Households, make_pool
from .household import HouseholdPool
from .vec_env import NumbaVecEnv

AGE_OBS, LAST_RATE_OBS = 1, 8


class Policy(Protocol):
    """Something that acts: actions float32[B, 2] for observations float32[B, OBS_SIZE]."""

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """Actions for ``obs`` in ``env``."""
        ...


def _age(obs: np.ndarray) -> np.ndarray:
    return obs[:, AGE_OBS] * 20.0 + 45.0


@dataclass(frozen=True)
class ConstantMix:
    """Save ``savings_rate`` of disposable income, hold ``equity`` in equities."""

    savings_rate: float = 0.15
    equity: float = 0.6

    def __post_init__(self) -> None:
        number("savings_rate", self.savings_rate, 0.0, 1.0)
        number("equity", self.equity, 0.0, 1.0)

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """The fixed rate and mix for every env."""
        rate = min(1.0, self.savings_rate / env.config.max_savings_rate)
        actions = np.empty((obs.shape[0], 2), dtype=np.float32)
        actions[:, 0] = rate
        actions[:, 1] = self.equity
        return actions


@dataclass(frozen=True)
class GlidePath:
    """Save ``savings_rate`` of disposable income; hold (110 - age)% in equities."""

    savings_rate: float = 0.15

    def __post_init__(self) -> None:
        number("savings_rate", self.savings_rate, 0.0, 1.0)

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """The fixed rate, and the equity share of each env's age."""
        actions = np.empty((obs.shape[0], 2), dtype=np.float32)
        actions[:, 0] = min(1.0, self.savings_rate / env.config.max_savings_rate)
        actions[:, 1] = np.clip((110.0 - _age(obs)) / 100.0, 0.0, 1.0)
        return actions


@dataclass(frozen=True)
class OwnPlan:
    """The profile's own plan: its monthly contributions over the coming step, its allocation."""

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """Each env's household's planned saving over the coming step, and its allocation."""
        pool, step = env.pool, env.config.step_months
        actions = np.empty((obs.shape[0], 2), dtype=np.float32)
        for b, (h, month) in enumerate(zip(env.households, env.months, strict=True)):
            months = range(month, min(month + step, pool.n_accum[h]))
            saving = sum(pool.plan_saving[h, t] for t in months)
            capacity = env.config.max_savings_rate * sum(disposable_income(pool, h, t) for t in months)
            actions[b, 0] = min(1.0, saving / capacity) if capacity > 0 else 0.0
            actions[b, 1] = pool.equity[h]
        return actions


BASELINES: dict[str, Policy] = {"own-plan": OwnPlan(), "glide-path": GlidePath(), "constant-mix": ConstantMix()}


class Rollout(NamedTuple):
    """One episode per (household, seed) pair: float64[n] returns and the terminal estimates."""

    households: np.ndarray
    returns: np.ndarray
    funded_probability: np.ndarray
    shortfall: np.ndarray
    capital_at_retirement: np.ndarray


def rollout(
    policy: Policy, households: Households | HouseholdPool, n_episodes: int, seed: int = 0, **config: object
) -> Rollout:
    """Run ``n_episodes`` episodes: episode i on household ``i % N`` with stream seed ``seed + i``."""
    integer("n_episodes", n_episodes, 1, 100_000)
    pool = make_pool(households)
    env = NumbaVecEnv(n_episodes, pool, seed=seed, **config)
    env.set_options([{"household": i % pool.size} for i in range(n_episodes)])
    obs = env.reset()
    assigned = env.households
    returns = np.zeros(n_episodes)
    funded, shortfall, capital = np.zeros(n_episodes), np.zeros(n_episodes), np.zeros(n_episodes)
    running = np.ones(n_episodes, dtype=bool)
    while running.any():
        obs, rewards, dones, infos = env.step(policy.act(obs, env))
        returns[running] += rewards[running]
        for b in np.flatnonzero(dones & running):
            funded[b] = infos[b]["funded_probability"]
            shortfall[b] = infos[b]["shortfall"]
            capital[b] = infos[b]["capital_at_retirement"]
        running &= ~dones
    return Rollout(assigned, returns, funded, shortfall, capital)
