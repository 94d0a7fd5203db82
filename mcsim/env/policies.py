"""Baseline policies and policy roll-outs on common random numbers.

A policy maps a batch of observations to actions, with the batched env at hand for policies that
need the household itself (the profile's own plan). Baselines need no training and no torch:

* :class:`OwnPlan`: the profile's own savings phases and allocation;
* :class:`GlidePath`: a fixed savings rate with a "110 minus age" equity share;
* :class:`ConstantMix`: a fixed savings rate and a fixed equity share;
* :class:`Bisection`: the classic optimizer's minimum constant saving for 90% success.

Over the whole life (``horizon="life"``) the baselines spend in retirement by one rule, their
``retirement_spending`` (RETIREMENT_SPENDING, 0.25, by default): the spending action
``max(retirement_spending, step months / months left)``. With 0.25 that withdraws 1/years left of
the wealth each year (the scale of the action, ``LIFE_SPENDING_SCALE``, makes 0.25 mean that until
the last four years, and the second term keeps it so there), an even draw-down that empties the
wealth over the last step; their equity share stays their own.

:func:`rollout` runs one episode per (household, seed) pair in a :class:`NumbaVecEnv`; the market
draws do not depend on the actions, so every policy rolled out with the same pairs meets the same
markets (common random numbers) and returns can be compared household by household.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from ..core.checks import integer, number
from .environment import Households, make_pool
from .household import HouseholdPool
from .kernels import (
    INFO_AGE,
    INFO_CAPITAL,
    INFO_CONSUMPTION,
    INFO_EQUITY,
    INFO_FUNDED,
    INFO_SAVING,
    INFO_SHORTFALL,
    INFO_TERMINAL,
    INFO_WEALTH,
)
from .vec_env import NumbaVecEnv

AGE_OBS, LAST_RATE_OBS = 1, 8

RETIREMENT_SPENDING = 0.25
"""The baselines' spending action in retirement (horizon ``"life"``), at least step months / months left."""


class Policy(Protocol):
    """Something that acts: actions float32[B, 2] for observations float32[B, OBS_SIZE]."""

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """Actions for ``obs`` in ``env``."""
        ...


def _age(obs: np.ndarray) -> np.ndarray:
    return obs[:, AGE_OBS] * 20.0 + 45.0


def retirement_spending_actions(env: NumbaVecEnv, actions: np.ndarray, spending: float) -> np.ndarray:
    """``actions`` with the spending action of the retired envs (horizon ``"life"``) set by the even draw-down.

    A retired env's first component becomes ``max(spending, step months / months left)``; the
    other envs' and the equity shares are left as they are. Returns ``actions`` (changed in place).
    """
    if not env.config.life:
        return actions
    pool, households, months = env.pool, env.households, env.months
    n_accum = pool.n_accum[households]
    left = n_accum + pool.n_decum[households] - months
    retired = months >= n_accum
    if retired.any():
        step = np.minimum(env.config.step_months, left[retired])
        actions[retired, 0] = np.maximum(spending, step / left[retired])
    return actions


@dataclass(frozen=True)
class ConstantMix:
    """Save ``savings_rate`` of disposable income, hold ``equity`` in equities (retirement: module docstring)."""

    savings_rate: float = 0.15
    equity: float = 0.6
    retirement_spending: float = RETIREMENT_SPENDING

    def __post_init__(self) -> None:
        number("savings_rate", self.savings_rate, 0.0, 1.0)
        number("equity", self.equity, 0.0, 1.0)
        number("retirement_spending", self.retirement_spending, 0.0, 1.0)

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """The fixed rate and mix for every env."""
        rate = min(1.0, self.savings_rate / env.config.max_savings_rate)
        actions = np.empty((obs.shape[0], 2), dtype=np.float32)
        actions[:, 0] = rate
        actions[:, 1] = self.equity
        return retirement_spending_actions(env, actions, self.retirement_spending)


@dataclass(frozen=True)
class GlidePath:
    """Save ``savings_rate`` of disposable income; hold (110 - age)% in equities (retirement: module docstring)."""

    savings_rate: float = 0.15
    retirement_spending: float = RETIREMENT_SPENDING

    def __post_init__(self) -> None:
        number("savings_rate", self.savings_rate, 0.0, 1.0)
        number("retirement_spending", self.retirement_spending, 0.0, 1.0)

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """The fixed rate, and the equity share of each env's age."""
        actions = np.empty((obs.shape[0], 2), dtype=np.float32)
        actions[:, 0] = min(1.0, self.savings_rate / env.config.max_savings_rate)
        actions[:, 1] = np.clip((110.0 - _age(obs)) / 100.0, 0.0, 1.0)
        return retirement_spending_actions(env, actions, self.retirement_spending)


@dataclass(frozen=True)
class OwnPlan:
    """The profile's own plan: its contributions over the coming step, its allocation (retirement: module docstring)."""

    retirement_spending: float = RETIREMENT_SPENDING

    def __post_init__(self) -> None:
        number("retirement_spending", self.retirement_spending, 0.0, 1.0)

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """Each env's household's planned saving over the coming step, and its allocation."""
        pool, households = env.pool, env.households
        months, inside = _coming_months(env)
        month_index = np.minimum(months, pool.plan_saving.shape[1] - 1)
        saving = np.where(inside, pool.plan_saving[households[:, None], month_index], 0.0).sum(axis=1)
        return retirement_spending_actions(env, _saving_actions(env, months, inside, saving), self.retirement_spending)


def _coming_months(env: NumbaVecEnv) -> tuple[np.ndarray, np.ndarray]:
    """The months of each env's coming step, int64[B, step_months], and which fall before retirement."""
    months = env.months[:, None] + np.arange(env.config.step_months)[None, :]
    return months, months < env.pool.n_accum[env.households][:, None]


def _saving_actions(env: NumbaVecEnv, months: np.ndarray, inside: np.ndarray, saving: np.ndarray) -> np.ndarray:
    """Actions that save ``saving`` euros over the coming step (as a rate of capacity) at each household's allocation."""
    pool, households = env.pool, env.households
    incomes = np.where(inside, disposable_incomes(pool, households, months), 0.0)
    capacity = env.config.max_savings_rate * incomes.sum(axis=1)
    actions = np.empty((households.size, 2), dtype=np.float32)
    actions[:, 0] = np.where(capacity > 0, np.minimum(1.0, saving / np.where(capacity > 0, capacity, 1.0)), 0.0)
    actions[:, 1] = pool.equity[households]
    return actions


def disposable_incomes(pool: HouseholdPool, households: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Monthly net income less running charges, float64[B, M], for households[B] in months[B, M].

    The NumPy twin of the kernels' ``disposable_income``, for policies acting on a batch.
    """
    income = pool.income[households][:, None] * pool.income_growth[households][:, None] ** months
    running = months[:, :, None] < pool.charge_end[households][:, None, :]
    charges = (running * pool.charge_amount[households][:, None, :]).sum(axis=2)
    return np.maximum(0.0, income - charges)


class Bisection:
    """The classic optimizer's minimum constant monthly saving for ``target`` success, the household's allocation.

    The saving of each household comes from :func:`mcsim.core.optimize.minimum_saving` on the household
    as a one-account profile (:func:`mcsim.env.household.household_profile`: for a profile with
    spending phases or extra income, the first retirement month's need stands for all), over
    ``n_paths`` common paths; it is computed once per household and pool. In retirement it spends
    by ``retirement_spending`` (see the module).
    """

    def __init__(self, target: float = 0.9, n_paths: int = 1000, retirement_spending: float = RETIREMENT_SPENDING) -> None:
        self.target = number("target", target, 0.0, 1.0, open_low=True)
        self.n_paths = integer("n_paths", n_paths, 1, 1_000_000)
        self.retirement_spending = number("retirement_spending", retirement_spending, 0.0, 1.0)
        self._savings: dict[int, tuple[HouseholdPool, np.ndarray]] = {}

    def savings(self, pool: HouseholdPool, seeds: Sequence[int] | None = None) -> np.ndarray:
        """The minimum monthly saving of every household of ``pool`` (euros of today).

        Household h's paths are seeded with h, or ``seeds[h]`` when given (a part of a larger pool
        passes its households' indices there, and gets their savings).
        """
        from ..core.optimize import minimum_saving
        from .household import household_profile

        cached = self._savings.get(id(pool))
        if cached is None or cached[0] is not pool:
            chosen = range(pool.size) if seeds is None else seeds
            values = np.array([
                minimum_saving(household_profile(pool, h), self.target, self.n_paths, seed=int(seed),
                               precision=5.0).monthly_saving
                for h, seed in enumerate(chosen)
            ])
            cached = (pool, values)
            self._savings[id(pool)] = cached
        return cached[1]

    def forget(self, pool: HouseholdPool) -> None:
        """Drop the savings kept for ``pool`` (a block's, done with), and the pool with them."""
        self._savings.pop(id(pool), None)

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """Each household's minimum saving as a share of its capacity over the step, and its allocation."""
        months, inside = _coming_months(env)
        saving = self.savings(env.pool)[env.households] * inside.sum(axis=1)
        return retirement_spending_actions(env, _saving_actions(env, months, inside, saving), self.retirement_spending)


BASELINES: dict[str, Policy] = {
    "own-plan": OwnPlan(), "glide-path": GlidePath(), "constant-mix": ConstantMix(), "bisection": Bisection(),
}


class Rollout(NamedTuple):
    """One episode per (household, seed) pair: float64[n] per episode, float64[n, steps] per step.

    ``terminal`` is the terminal reward; ``returns - terminal`` the quality-of-life part. The
    per-step arrays (``ages``, ``monthly_saving``, ``equity_share``, ``wealth``,
    ``monthly_consumption``; NaN after an episode's end) are filled when :func:`rollout` is asked
    to record. Over the whole life (``horizon="life"``) the steps run to the horizon, a retirement
    step's ``monthly_saving`` is minus its gross withdrawal, and ``funded_probability`` and
    ``shortfall`` are NaN.
    """

    households: np.ndarray
    returns: np.ndarray
    terminal: np.ndarray
    funded_probability: np.ndarray
    shortfall: np.ndarray
    capital_at_retirement: np.ndarray
    ages: np.ndarray
    monthly_saving: np.ndarray
    equity_share: np.ndarray
    wealth: np.ndarray
    monthly_consumption: np.ndarray


def stratified_options(n_episodes: int, pool_size: int) -> list[dict[str, float | int]]:
    """Reset options of episode i: household ``i % N`` and cohort ``(i // N + 0.5) / ceil(n_episodes / N)``.

    Each household meets cohorts spread evenly over all of its historical cohorts.
    """
    n_paths = -(-n_episodes // pool_size)
    return [{"household": i % pool_size, "cohort": (i // pool_size + 0.5) / n_paths} for i in range(n_episodes)]


def rollout(
    policy: Policy, households: Households | HouseholdPool, n_episodes: int, seed: int = 0, *,
    record: bool = False, on_step: Callable[[int, int], None] | None = None, stratified: bool = False,
    **config: object,
) -> Rollout:
    """Run ``n_episodes`` episodes: episode i on household ``i % N`` with stream seed ``seed + i``.

    ``on_step(steps done, steps of the longest episode)`` is called before each decision step.
    ``stratified``: on historical cohorts, each household's episodes start at cohorts spread evenly
    over its cohorts (:func:`stratified_options`) instead of drawn ones; the other return models
    ignore it (their draws, bootstrap included, stay those of the stream seeds).
    """
    integer("n_episodes", n_episodes, 1, 100_000)
    pool = make_pool(households)
    if stratified:
        options = stratified_options(n_episodes, pool.size)
    else:
        options = [{"household": i % pool.size} for i in range(n_episodes)]
    return rollout_episodes(policy, pool, options, [seed + i for i in range(n_episodes)], record=record,
                            on_step=on_step, **config)


def rollout_episodes(
    policy: Policy, pool: HouseholdPool, options: list[dict[str, float | int]], seeds: list[int], *,
    record: bool = False, on_step: Callable[[int, int], None] | None = None, **config: object,
) -> Rollout:
    """Run one episode per entry of ``options`` (its reset options: ``household``, ``cohort``) with stream ``seeds``.

    What :func:`rollout` does with its own choice of households and seeds; a part of a larger
    roll-out (some of its households, on other machines) gives each episode the options and seed it
    has there, and gets the same episodes.
    """
    n_episodes = len(options)
    integer("n_episodes", n_episodes, 1, 100_000)
    env = NumbaVecEnv(n_episodes, pool, seed=0, **config)
    env.set_seeds(seeds)
    env.set_options(options)
    obs = env.reset()
    assigned = env.households
    per_episode = {name: np.zeros(n_episodes) for name in ("returns", "terminal", "funded", "shortfall", "capital")}
    episode_steps = np.ceil(pool.n_accum[assigned] / env.config.step_months)
    if env.config.life:
        episode_steps += np.ceil(pool.n_decum[assigned] / env.config.step_months)
    longest = int(episode_steps.max())
    max_steps = longest if record else 0
    names = ("ages", "saving", "equity", "wealth", "consumption")
    steps = {name: np.full((n_episodes, max_steps), np.nan) for name in names}
    running = np.ones(n_episodes, dtype=bool)
    step = 0
    while running.any():
        if on_step is not None:
            on_step(step, longest)
        obs, rewards, dones, info = env.step_arrays(policy.act(obs, env))
        per_episode["returns"][running] += rewards[running]
        if record:
            for name, column in (("ages", INFO_AGE), ("saving", INFO_SAVING), ("equity", INFO_EQUITY),
                                 ("wealth", INFO_WEALTH), ("consumption", INFO_CONSUMPTION)):
                steps[name][running, step] = info[running, column]
        ended = dones & running
        for name, column in (("terminal", INFO_TERMINAL), ("funded", INFO_FUNDED), ("shortfall", INFO_SHORTFALL),
                             ("capital", INFO_CAPITAL)):
            per_episode[name][ended] = info[ended, column]
        running &= ~dones
        step += 1
    return Rollout(
        assigned, per_episode["returns"], per_episode["terminal"], per_episode["funded"], per_episode["shortfall"],
        per_episode["capital"], steps["ages"], steps["saving"], steps["equity"], steps["wealth"], steps["consumption"],
    )
