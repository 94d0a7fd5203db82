"""Evaluating strategies side by side on the same Monte Carlo paths.

Each strategy (a trained agent, a baseline) lives ``n_paths`` whole lives per household: the
accumulation under its own decisions, then one retirement path each (``mc_paths=1``). Every
strategy meets the same markets (common random numbers), so the comparison is paired. On those
paths the planner objective is the mean quality of life, plus ``capital_weight`` times the funded
probability, minus ``risk_weight`` times the mean unfunded share of the worst 10% of paths.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._env_kernels import SHORTFALL_SHARE
from .env import EnvConfig
from .household import HouseholdPool
from .policies import Policy, Rollout, rollout
from .stats import Interval, wilson_interval

BOOTSTRAP_SAMPLES = 400
TIE = 1e-9
"""Objectives this close count as a tie: a fully funded household that saves nothing scores 1.0 exactly."""


def planner_objective(quality: np.ndarray, funded: np.ndarray, unfunded: np.ndarray, config: EnvConfig) -> float:
    """The planner objective over a set of whole-life paths."""
    worst = max(1, int(math.ceil(SHORTFALL_SHARE * unfunded.size)))
    tail = np.sort(unfunded)[unfunded.size - worst :].mean()
    return float(quality.mean() + config.capital_weight * funded.mean() - config.risk_weight * tail)


@dataclass(frozen=True)
class Score:
    """One strategy's results over paths, with 95% confidence intervals."""

    funded: Interval
    median_capital: float
    quality_of_life: float
    quality_half_width: float
    objective: float
    objective_low: float
    objective_high: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        data = asdict(self)
        data["funded"] = self.funded.to_dict()
        return data


def score(result: Rollout, mask: np.ndarray, config: EnvConfig, rng: np.random.Generator) -> Score:
    """Score the episodes selected by ``mask`` (the objective's interval by bootstrap over paths)."""
    quality = (result.returns - result.terminal)[mask]
    funded = result.funded_probability[mask]
    unfunded = result.shortfall[mask]
    n = quality.size
    samples = rng.integers(0, n, size=(BOOTSTRAP_SAMPLES, n))
    boot = [planner_objective(quality[i], funded[i], unfunded[i], config) for i in samples]
    low, high = np.percentile(boot, [2.5, 97.5])
    return Score(
        funded=wilson_interval(int(funded.sum()), n, 0.95),
        median_capital=float(np.median(result.capital_at_retirement[mask])),
        quality_of_life=float(quality.mean()),
        quality_half_width=float(1.96 * quality.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
        objective=planner_objective(quality, funded, unfunded, config),
        objective_low=float(low),
        objective_high=float(high),
    )


@dataclass(frozen=True)
class Evaluation:
    """Strategies scored overall and household by household, on the same paths."""

    n_households: int
    n_paths: int
    seed: int
    overall: dict[str, Score]
    by_household: list[dict[str, float]]
    rollouts: dict[str, Rollout]

    def wins(self, name: str, baselines: list[str]) -> int:
        """Households on which ``name``'s objective beats the best of ``baselines`` there (ties excluded)."""
        return sum(row[name] > max(row[b] for b in baselines) + TIE for row in self.by_household)

    def ties(self, name: str, baselines: list[str]) -> int:
        """Households on which ``name`` and the best of ``baselines`` score the same (say, both at 1.0)."""
        return sum(abs(row[name] - max(row[b] for b in baselines)) <= TIE for row in self.by_household)

    def to_dict(self, name: str | None = None, baselines: list[str] | None = None) -> dict[str, Any]:
        """Plain dict for JSON (with the win count of ``name`` against ``baselines`` when given)."""
        data: dict[str, Any] = {
            "n_households": self.n_households, "n_paths": self.n_paths, "seed": self.seed,
            "overall": {key: value.to_dict() for key, value in self.overall.items()},
            "by_household": self.by_household,
        }
        if name is not None and baselines:
            wins = self.wins(name, baselines)
            data["wins"] = {"policy": name, "households": wins, "share": wins / self.n_households,
                            "ties": self.ties(name, baselines)}
        return data


def evaluate(
    policies: dict[str, Policy], pool: HouseholdPool, n_paths: int, seed: int, config: EnvConfig, record: bool = False
) -> Evaluation:
    """Score every policy on ``n_paths`` whole lives of each household of ``pool``, same paths for all."""
    settings = {**asdict(config), "mc_paths": 1}
    n_episodes = pool.size * n_paths
    rollouts = {name: rollout(policy, pool, n_episodes, seed, record=record, **settings) for name, policy in policies.items()}
    first = next(iter(rollouts.values()))
    rng = np.random.default_rng(seed)
    overall = {name: score(result, np.ones(n_episodes, dtype=bool), config, rng) for name, result in rollouts.items()}
    by_household = []
    for h in range(pool.size):
        mask = first.households == h
        by_household.append({
            name: planner_objective(
                (result.returns - result.terminal)[mask], result.funded_probability[mask], result.shortfall[mask], config
            )
            for name, result in rollouts.items()
        })
    return Evaluation(pool.size, n_paths, seed, overall, by_household, rollouts)


@dataclass(frozen=True)
class Phase:
    """A stretch of ages with a steady strategy: mean monthly saving (euros) and equity share."""

    from_age: float
    to_age: float
    monthly_saving: float
    equity_share: float


def strategy_phases(
    starts: np.ndarray, saving: np.ndarray, equity: np.ndarray, step_months: int, end_age: float
) -> list[Phase]:
    """Group a strategy by age (each step's start age, saving and equity share) into phases.

    A new phase starts when the saving moves more than 10% from the phase's first value or the
    equity share more than 5 points, once the phase is at least 12 months long.
    """
    phases: list[Phase] = []
    start = 0
    min_steps = max(1, 12 // step_months)
    for i in range(1, len(starts) + 1):
        closing = i == len(starts)
        if not closing and i - start >= min_steps:
            base_saving, base_equity = saving[start], equity[start]
            closing = abs(saving[i] - base_saving) > 0.10 * max(abs(base_saving), 1.0) or abs(equity[i] - base_equity) > 0.05
        if closing:
            phases.append(Phase(
                from_age=float(starts[start]), to_age=float(starts[i]) if i < len(starts) else float(end_age),
                monthly_saving=float(np.mean(saving[start:i])), equity_share=float(np.mean(equity[start:i])),
            ))
            start = i
    return phases
