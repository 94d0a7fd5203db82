"""The classic optimizer: the minimum constant monthly saving that reaches a success target.

Bisection under common random numbers: every candidate saving runs on the same paths (same seed,
same path indices), so the success probability is a non-decreasing step function of the saving and
the bisection converges to the smallest saving that reaches the target on those paths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .arrays import ProfileArrays, compile_profile
from .checks import number
from .kernels import simulate_paths
from .market import HISTORICAL
from .profile import MAX_MONEY, Profile, load_profile, with_market
from .progress import OnProgress, phase, silent
from .simulation import Cohorts, check_paths, check_seed, historical_cohorts, numba_threads, run_paths

MAX_MONTHLY_SAVING = 1_000_000.0
"""The search gives up above this monthly saving (euros of today): the target is then unreachable."""


@dataclass(frozen=True)
class Step:
    """One evaluated candidate: the monthly saving and the success probability it reaches."""

    phase: str
    monthly_saving: float
    success: float


@dataclass(frozen=True)
class OptimizationResult:
    """The minimum constant monthly saving reaching ``target`` on ``n_paths`` common paths."""

    profile: str
    target: float
    n_paths: int
    seed: int
    reachable: bool
    monthly_saving: float
    success: float
    success_below: float | None
    precision: float
    disposable_income: float
    steps: tuple[Step, ...]
    return_model: str = "lognormal"
    cohorts: Cohorts | None = None

    @property
    def share_of_income(self) -> float | None:
        """The saving as a share of today's disposable income (None without income)."""
        return self.monthly_saving / self.disposable_income if self.disposable_income > 0 else None

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        data = asdict(self)
        data["share_of_income"] = self.share_of_income
        return data


def disposable_income(profile: Profile) -> float:
    """Today's monthly net income less the charges still running (euros of today)."""
    age = profile.person.current_age
    charges = sum(c.monthly_amount for c in (*profile.income.charges, *profile.income.children) if c.until_age > age)
    return max(0.0, profile.income.monthly_net - charges)


def success_probability(arrays: ProfileArrays, monthly_saving: float, seed: int, n_paths: int) -> float:
    """Share of paths (0 .. n_paths - 1 of ``seed``) whose money lasts, saving a constant amount."""
    contributions = np.full(arrays.n_accum, monthly_saving)
    candidate = arrays._replace(plan=arrays.plan._replace(contributions=contributions))
    outcomes, _, _ = run_paths(candidate, seed, 0, n_paths)
    return float(outcomes.succeeded.mean())


def minimum_saving(
    profile: Profile | str | None = None,
    target: float = 0.9,
    n_paths: int = 5_000,
    seed: int = 0,
    *,
    precision: float = 1.0,
    threads: int | None = None,
    progress: OnProgress | None = None,
    market: str | None = None,
) -> OptimizationResult:
    """The smallest constant monthly saving whose success probability reaches ``target``.

    With the ``historical`` return model the candidates run on every cohort (``n_paths`` does not apply).

    :param target: success probability to reach, in (0, 1].
    :param n_paths: common paths every candidate runs on.
    :param precision: stop when the bracket is this narrow (euros per month).
    :param progress: told each candidate (see :mod:`mcsim.core.progress`).
    :param market: a return model that replaces the profile's.
    """
    profile = load_profile(profile)
    if market is not None:
        profile = with_market(profile, market)
    seed = check_seed(seed)
    n_paths = check_paths(n_paths)
    target = number("target", target, 0.0, 1.0, open_low=True)
    precision = number("precision", precision, 0.0, MAX_MONEY, open_low=True)
    arrays = compile_profile(profile)
    cohorts = historical_cohorts(profile, arrays) if arrays.market.model == HISTORICAL else None
    if cohorts is not None:
        n_paths = cohorts.count
    steps: list[Step] = []
    report = progress or silent
    first = phase(f"searching the minimum saving for {target:.1%} success", simulate_paths)

    def evaluate(stage: str, saving: float) -> float:
        last = f"; {steps[-1].monthly_saving:,.0f} € a month reaches {steps[-1].success:.1%}" if steps else ""
        what = first if not steps else f"searching the minimum saving for {target:.1%} success"
        report(what, len(steps) + 1, detail=f"trying {saving:,.0f} € a month ({stage}){last}")
        success = success_probability(arrays, saving, seed, n_paths)
        steps.append(Step(stage, saving, success))
        return success

    def result(reachable: bool, saving: float, success: float, below: float | None) -> OptimizationResult:
        return OptimizationResult(
            profile=profile.name, target=target, n_paths=n_paths, seed=seed, reachable=reachable,
            monthly_saving=saving, success=success, success_below=below, precision=precision,
            disposable_income=disposable_income(profile), steps=tuple(steps),
            return_model=profile.market.return_model, cohorts=cohorts,
        )

    with numba_threads(threads):
        low, high = 0.0, 100.0
        success_high = evaluate("start", low)
        if success_high >= target:
            return result(True, 0.0, success_high, None)
        success_low = success_high
        success_high = evaluate("bracket", high)
        while success_high < target:
            if high >= MAX_MONTHLY_SAVING:
                return result(False, high, success_high, None)
            low, success_low = high, success_high
            high = min(2.0 * high, MAX_MONTHLY_SAVING)
            success_high = evaluate("bracket", high)
        while high - low > precision:
            middle = 0.5 * (low + high)
            success = evaluate("bisect", middle)
            if success >= target:
                high, success_high = middle, success
            else:
                low, success_low = middle, success
    return result(True, high, success_high, success_low)
