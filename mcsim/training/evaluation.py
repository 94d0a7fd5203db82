"""Evaluating strategies side by side on the same Monte Carlo paths.

Each strategy (a trained agent, a baseline, the optimum) lives ``n_paths`` whole lives per
household: the accumulation under its own decisions, then one retirement path each
(``mc_paths=1``). Every strategy meets the same markets (common random numbers), so the comparison
is paired; on historical cohorts each household's ``n_paths`` lives start at cohorts spread evenly
over all of its cohorts (stratified, not drawn). On those paths the planner objective is the mean quality of life, plus
``capital_weight`` times the funded probability, minus ``risk_weight`` times the mean unfunded
share of the worst 10% of paths.

Each household's *yardstick* is that objective for the planner reward and, for the crra and merton
objectives, the certainty-equivalent consumption (euros a month over the whole life; terminal
wealth for merton) of the mean lifetime utility. With the optimum (:mod:`mcsim.optimum.policy`) among
the strategies, every strategy's yardstick is also reported as a share of the optimum's.

Over the whole life (``horizon="life"``, the crra objective) an episode runs to the horizon: the
yardstick is the certainty-equivalent consumption of the lifetime utility (bequest included), there
is no funded probability (NaN in the roll-outs; None here), and each strategy also reports its
capital at retirement and its mean monthly spending in retirement (consumption: the net withdrawal
plus pensions and other income, each retirement step weighted by the months the household is
expected to live in it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..core.progress import OnProgress, phase, silent
from ..core.stats import Interval, wilson_interval
from ..env.environment import EnvConfig
from ..env.household import HouseholdPool
from ..env.kernels import SHORTFALL_SHARE, reset_batch, step_batch
from ..env.policies import Policy, Rollout, rollout
from ..optimum.policy import Optimum
from ..optimum.solver import certainty_equivalent
from ..plugins.baseline_agents import split_baseline_name

BOOTSTRAP_SAMPLES = 400
TIE = 1e-9
"""Objectives this close count as a tie: a fully funded household that saves nothing scores 1.0 exactly."""
OPTIMUM = "optimum"
"""The name of the optimum among the strategies of an evaluation."""


def planner_objective(quality: np.ndarray, funded: np.ndarray, unfunded: np.ndarray, config: EnvConfig) -> float:
    """The planner objective over a set of whole-life paths."""
    worst = max(1, int(math.ceil(SHORTFALL_SHARE * unfunded.size)))
    tail = np.sort(unfunded)[unfunded.size - worst :].mean()
    return float(quality.mean() + config.capital_weight * funded.mean() - config.risk_weight * tail)


@dataclass(frozen=True)
class Score:
    """One strategy's results over paths, with 95% confidence intervals.

    ``objective`` is the planner objective, or for the crra and merton objectives the mean lifetime
    utility (the episode return); ``quality_of_life`` the mean return before the terminal reward
    (over the whole life, before the bequest). ``median_capital`` is the median capital at
    retirement. Over the whole life ``funded`` is None (no Monte Carlo estimate of a retirement that
    the episode lives) and ``monthly_spending`` the mean monthly spending in retirement (module docstring).
    """

    funded: Interval | None
    median_capital: float
    quality_of_life: float
    quality_half_width: float
    objective: float
    objective_low: float
    objective_high: float
    monthly_spending: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        data = asdict(self)
        data["funded"] = None if self.funded is None else self.funded.to_dict()
        return data


def objective(quality: np.ndarray, funded: np.ndarray, unfunded: np.ndarray, returns: np.ndarray,
              config: EnvConfig) -> float:
    """The objective over a set of whole-life paths: the planner objective, or the mean lifetime utility (crra, merton)."""
    if config.reward == "planner":
        return planner_objective(quality, funded, unfunded, config)
    return float(returns.mean())


def score(result: Rollout, mask: np.ndarray, config: EnvConfig, rng: np.random.Generator,
          spending: np.ndarray | None = None) -> Score:
    """Score the episodes selected by ``mask`` (the objective's interval by bootstrap over paths).

    ``spending``: each episode's mean monthly spending in retirement (over the whole life).
    """
    quality = (result.returns - result.terminal)[mask]
    funded = result.funded_probability[mask]
    unfunded = result.shortfall[mask]
    returns = result.returns[mask]
    n = quality.size
    samples = rng.integers(0, n, size=(BOOTSTRAP_SAMPLES, n))
    boot = [objective(quality[i], funded[i], unfunded[i], returns[i], config) for i in samples]
    low, high = np.percentile(boot, [2.5, 97.5])
    # Over the whole life the episode lives retirement: no funded probability (NaN in the roll-out).
    funded_interval = None if np.isnan(funded).any() else wilson_interval(int(funded.sum()), n, 0.95)
    return Score(
        funded=funded_interval,
        median_capital=float(np.median(result.capital_at_retirement[mask])),
        quality_of_life=float(quality.mean()),
        quality_half_width=float(1.96 * quality.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
        objective=objective(quality, funded, unfunded, returns, config),
        objective_low=float(low),
        objective_high=float(high),
        monthly_spending=None if spending is None else float(np.mean(spending[mask])),
    )


@dataclass(frozen=True)
class Evaluation:
    """Strategies scored overall and household by household (their yardstick), on the same paths.

    ``by_household`` holds each strategy's :attr:`yardstick` there, which depends on ``reward``.
    """

    n_households: int
    n_paths: int
    seed: int
    overall: dict[str, Score]
    by_household: list[dict[str, float]]
    rollouts: dict[str, Rollout]
    reward: str = "planner"
    horizon: str = "retirement"

    @property
    def yardstick(self) -> str:
        """What ``by_household`` holds: ``"objective"`` or ``"certainty equivalent"``.

        The planner objective for the planner reward; the certainty-equivalent consumption for
        crra (euros a month) and merton (terminal wealth).
        """
        return "objective" if self.reward == "planner" else "certainty equivalent"

    def shares_of_optimum(self, name: str) -> np.ndarray | None:
        """``name``'s yardstick over the optimum's, household by household (None without the optimum).

        NaN where the optimum's yardstick is not positive (a planner objective of a household that
        no strategy can fund): a ratio to it means nothing.
        """
        if OPTIMUM not in self.overall:
            return None
        return np.array([row[name] / row[OPTIMUM] if row[OPTIMUM] > 0.0 else np.nan for row in self.by_household])

    def share_of_optimum(self, name: str) -> float | None:
        """The median over households of ``name``'s share of the optimum.

        None without the optimum, or when no household has a positive optimum.
        """
        shares = self.shares_of_optimum(name)
        if shares is None or np.isnan(shares).all():
            return None
        return float(np.nanmedian(shares))

    def mean_yardstick(self, name: str) -> float:
        """``name``'s yardstick averaged over households."""
        return float(np.mean([row[name] for row in self.by_household]))

    @property
    def life(self) -> bool:
        """Whether the strategies lived the whole life (horizon ``"life"``)."""
        return self.horizon == "life"

    def rank(self, name: str) -> float:
        """What "best" compares: the share of the optimum with the optimum among the strategies, else the mean yardstick."""
        share = self.share_of_optimum(name)
        if share is not None:
            return share
        return self.mean_yardstick(name)

    def best(self, names: list[str]) -> str:
        """The best of ``names`` by :meth:`rank` (the first on a tie)."""
        return max(names, key=self.rank)

    def life_summary(self, name: str) -> dict[str, Any]:
        """What matters over a life for ``name``, as a dict.

        Its certainty-equivalent consumption (mean over households, euros a month), its share of the
        optimum's (median; None without it), its median capital at retirement and its mean monthly
        spending in retirement.
        """
        result = self.overall[name]
        return {"certainty_equivalent": self.mean_yardstick(name), "share_of_optimum": self.share_of_optimum(name),
                "capital_at_retirement": result.median_capital, "monthly_spending": result.monthly_spending}

    def withdrawal_baselines(self) -> dict[str, tuple[str, str]]:
        """The saving baseline x withdrawal rule strategies evaluated, by name: (saving baseline, rule)."""
        return {name: parts for name in self.overall if (parts := split_baseline_name(name)) is not None}

    def best_saving_by_rule(self) -> dict[str, str]:
        """For each withdrawal rule evaluated, its best saving baseline's strategy name (by :meth:`rank`)."""
        by_rule: dict[str, list[str]] = {}
        for name, (_, rule) in self.withdrawal_baselines().items():
            by_rule.setdefault(rule, []).append(name)
        return {rule: self.best(names) for rule, names in by_rule.items()}

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
            "yardstick": self.yardstick, "reward": self.reward, "horizon": self.horizon,
            "by_household": self.by_household,
        }
        if self.life:
            combos = self.withdrawal_baselines()
            data["life"] = {key: self.life_summary(key) for key in self.overall}
            data["withdrawal_baselines"] = {key: {"saving": saving, "rule": rule} for key, (saving, rule) in combos.items()}
            data["best_saving_by_rule"] = self.best_saving_by_rule()
            if combos:
                data["best_baseline"] = self.best(list(combos))
        if OPTIMUM in self.overall:
            data["share_of_optimum"] = {
                key: {"median": self.share_of_optimum(key),
                      "by_household": [None if np.isnan(x) else float(x) for x in self.shares_of_optimum(key)]}
                for key in self.overall
            }
        if name is not None and baselines:
            wins = self.wins(name, baselines)
            data["wins"] = {"policy": name, "households": wins, "share": wins / self.n_households,
                            "ties": self.ties(name, baselines)}
        return data


def evaluate(
    policies: dict[str, Policy], pool: HouseholdPool, n_paths: int, seed: int, config: EnvConfig, record: bool = False,
    progress: OnProgress | None = None, label: str = "evaluating",
) -> Evaluation:
    """Score every policy on ``n_paths`` whole lives of each household of ``pool``, same paths for all.

    ``progress`` is told each household the optimum solves (before any roll-out) and each roll-out's
    steps, as ``label`` and the strategy.
    """
    settings = {**asdict(config), "mc_paths": 1}
    n_episodes = pool.size * n_paths
    report = progress or silent
    spending: dict[str, np.ndarray] = {}
    optimum = policies.get(OPTIMUM)
    if isinstance(optimum, Optimum):
        optimum.prepare(pool, EnvConfig(**settings), report)
    rollouts = {}
    for i, (name, policy) in enumerate(policies.items(), 1):
        what = f"{label}: {name} ({i}/{len(policies)} strategies)"
        opening = phase(what, step_batch, reset_batch)  # the first roll-out's reset and step compile them
        report(opening)

        def on_step(done: int, total: int, what: str = what, opening: str = opening) -> None:
            report(what if done else opening, done, total, unit="decision steps", detail=f"{n_episodes:,} lives")

        result = rollout(policy, pool, n_episodes, seed, record=record or config.life, on_step=on_step, stratified=True,
                         **settings)
        if config.life:
            # The spending in retirement comes from the steps; their arrays are kept only when asked.
            spending[name] = retirement_spending(result, pool, config.step_months)
            if not record:
                empty = np.empty((n_episodes, 0))
                result = result._replace(ages=empty, monthly_saving=empty, equity_share=empty, wealth=empty,
                                         monthly_consumption=empty)
        rollouts[name] = result
    report(f"{label}: scoring the strategies")
    return score_rollouts(rollouts, spending, pool, n_paths, seed, config)


def score_rollouts(rollouts: dict[str, Rollout], spending: dict[str, np.ndarray], pool: HouseholdPool, n_paths: int,
                   seed: int, config: EnvConfig) -> Evaluation:
    """The :class:`Evaluation` of every strategy's roll-out (``spending``: over the whole life, by strategy)."""
    first = next(iter(rollouts.values()))
    rng = np.random.default_rng(seed)
    everything = np.ones(first.returns.size, dtype=bool)
    overall = {name: score(result, everything, config, rng, spending.get(name)) for name, result in rollouts.items()}
    by_household = [
        {name: household_yardstick(result, first.households == h, pool, h, config) for name, result in rollouts.items()}
        for h in range(pool.size)
    ]
    return Evaluation(pool.size, n_paths, seed, overall, by_household, rollouts, config.reward, config.horizon)


def retirement_steps(
    pool: HouseholdPool, households: np.ndarray, n_steps: int, step_months: int
) -> tuple[np.ndarray, np.ndarray]:
    """Over the whole life: which of ``n_steps`` decision steps of each episode retire, and each step's first month.

    Steps never straddle retirement: household h works ``ceil(n_accum / step_months)`` steps, then
    each retirement step starts ``step_months`` after the previous one (from ``n_accum``), to the horizon.
    """
    n_accum = pool.n_accum[households][:, None]
    working = np.ceil(n_accum / step_months).astype(np.int64)
    k = np.arange(n_steps)[None, :]
    start = n_accum + (k - working) * step_months
    retired = (k >= working) & (start < n_accum + pool.n_decum[households][:, None])
    return retired, start


def retirement_spending(result: Rollout, pool: HouseholdPool, step_months: int) -> np.ndarray:
    """Each episode's mean monthly spending in retirement (a whole-life roll-out recorded step by step).

    The mean of each retirement step's monthly consumption (net withdrawal plus other income),
    weighted by the months the household is expected to be alive in it (the sum of ``S[t]`` over
    its months: its length with fixed mortality). NaN for an episode without retirement steps.
    """
    households = result.households
    consumption = result.monthly_consumption
    retired, start = retirement_steps(pool, households, consumption.shape[1], step_months)
    alive = np.concatenate([np.zeros((pool.size, 1)), np.cumsum(pool.survival, axis=1)], axis=1)
    last = alive.shape[1] - 1
    end = np.minimum(start + step_months, (pool.n_accum + pool.n_decum)[households][:, None])
    rows = households[:, None]
    weight = np.where(retired, alive[rows, np.clip(end, 0, last)] - alive[rows, np.clip(start, 0, last)], 0.0)
    total = weight.sum(axis=1)
    spent = (np.where(retired, np.nan_to_num(consumption), 0.0) * weight).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0.0, spent / np.where(total > 0.0, total, 1.0), np.nan)


def household_yardstick(result: Rollout, mask: np.ndarray, pool: HouseholdPool, h: int, config: EnvConfig) -> float:
    """Household ``h``'s yardstick over the episodes of ``mask``: the planner objective, or the CE of the mean return."""
    if config.reward == "planner":
        return planner_objective(
            (result.returns - result.terminal)[mask], result.funded_probability[mask], result.shortfall[mask], config
        )
    return certainty_equivalent(pool, h, config, float(result.returns[mask].mean()))


@dataclass(frozen=True)
class Phase:
    """A stretch of ages with a steady strategy: mean monthly saving (euros) and equity share.

    Over the whole life a phase is either working or retired (``retired``), and
    ``monthly_spending`` is its mean monthly consumption: income less saving while working; once
    retired the net withdrawal plus pensions and other income, ``monthly_saving`` then being minus
    the gross withdrawal. None to retirement only.
    """

    from_age: float
    to_age: float
    monthly_saving: float
    equity_share: float
    retired: bool = False
    monthly_spending: float | None = None


def strategy_phases(
    starts: np.ndarray, saving: np.ndarray, equity: np.ndarray, step_months: int, end_age: float,
    spending: np.ndarray | None = None, retired: np.ndarray | None = None,
) -> list[Phase]:
    """Group a strategy by age (each step's start age, saving and equity share) into phases.

    A new phase starts when the saving moves more than 10% from the phase's first value or the
    equity share more than 5 points, once the phase is at least 12 months long. Over the whole life
    (``spending`` and ``retired`` per step) retirement always starts a phase, and a retired phase
    follows the spending instead of the saving.
    """
    phases: list[Phase] = []
    start = 0
    min_steps = max(1, 12 // step_months)
    flags = np.zeros(len(starts), dtype=bool) if retired is None else np.asarray(retired, dtype=bool)
    for i in range(1, len(starts) + 1):
        closing = i == len(starts) or flags[i] != flags[start]
        if not closing and i - start >= min_steps:
            steady = spending if flags[start] and spending is not None else saving
            base, base_equity = steady[start], equity[start]
            closing = abs(steady[i] - base) > 0.10 * max(abs(base), 1.0) or abs(equity[i] - base_equity) > 0.05
        if closing:
            phases.append(Phase(
                from_age=float(starts[start]), to_age=float(starts[i]) if i < len(starts) else float(end_age),
                monthly_saving=float(np.mean(saving[start:i])), equity_share=float(np.mean(equity[start:i])),
                retired=bool(flags[start]),
                monthly_spending=None if spending is None else float(np.mean(spending[start:i])),
            ))
            start = i
    return phases
