"""The simulation API: run a profile's plan over Monte Carlo paths and summarize the outcome."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numba
import numpy as np

from .arrays import ProfileArrays, compile_profile
from .checks import integer, number
from .errors import ParameterError
from .kernels import NOT_DEPLETED, simulate_paths
from .market import HISTORICAL, market_history
from .profile import MAX_MONEY, Profile, load_profile, with_market, with_withdrawal
from .progress import OnProgress, phase, silent
from .spending import PathSpending, Spending, SpendingFan, path_spending
from .stats import Interval, Summary, wilson_interval
from .threads import numba_threads as fixed_threads

MAX_SEED = 2**64 - 1
MAX_PATHS = 10_000_000
DEFAULT_MAX_PATHS = 1_000_000
MAX_FAN_BYTES = 4 * 2**30
"""The monthly fan keeps every path's wealth by month while it is computed: at most this many bytes."""
CHUNK_PATHS = 20_000
"""Paths per kernel call: a large run reports progress between calls (about a second each on 2 cores)."""


class PathOutcomes(NamedTuple):
    """Per-path outputs of the kernel.

    Capital at retirement, depletion month, wealth at death or at the horizon, months of retirement
    lived, and the spending figures (:mod:`mcsim.core.spending`).
    """

    capital: np.ndarray
    depletion: np.ndarray
    terminal: np.ndarray
    lived: np.ndarray
    spending: PathSpending

    @property
    def succeeded(self) -> np.ndarray:
        """Mask of the paths whose money lasts to life expectancy."""
        return self.depletion == NOT_DEPLETED


@dataclass(frozen=True)
class Fan:
    """Wealth by month across paths: ``ages`` float64[n_months + 1] from today, the rest alike."""

    ages: np.ndarray
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    min: np.ndarray
    max: np.ndarray

    def to_dict(self) -> dict[str, list[float]]:
        """Plain lists for JSON."""
        return {name: [float(v) for v in getattr(self, name)] for name in ("ages", "p10", "p50", "p90", "min", "max")}


@dataclass(frozen=True)
class Depletion:
    """When money runs out, over the paths where it does."""

    probability: float
    ages: Summary | None
    by_age: dict[int, int]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "probability": self.probability,
            "ages": None if self.ages is None else self.ages.to_dict(),
            "by_age": {str(age): count for age, count in self.by_age.items()},
        }


@dataclass(frozen=True)
class Cohorts:
    """The historical cohorts a run replays: the start date of each (path k starts at ``starts[k]``) of ``series``.

    ``failed`` lists the start dates of the cohorts whose money runs out (after the run).
    """

    series: str
    starts: tuple[str, ...]
    wrap: bool
    failed: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        """Number of cohorts (paths)."""
        return len(self.starts)

    @property
    def first(self) -> str:
        """Start date of the first cohort."""
        return self.starts[0]

    @property
    def last(self) -> str:
        """Start date of the last cohort."""
        return self.starts[-1]

    def describe(self) -> str:
        """One line: how many cohorts, from which start dates."""
        wrapped = ", wrapping around the end of the data" if self.wrap else " with the whole horizon in the data"
        return f"{self.count:,} historical cohorts of {self.series}, starting {self.first} to {self.last}{wrapped}"

    def with_outcomes(self, succeeded: np.ndarray) -> Cohorts:
        """The cohorts with the start dates of those that failed (``succeeded`` bool[count])."""
        return replace(self, failed=tuple(self.starts[k] for k in np.flatnonzero(~succeeded)))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"series": self.series, "count": self.count, "first": self.first, "last": self.last, "wrap": self.wrap,
                "failed": list(self.failed)}


def historical_cohorts(profile: Profile, arrays: ProfileArrays) -> Cohorts:
    """The cohorts of a ``historical`` run, or a ParameterError when the data is shorter than the horizon."""
    history = market_history(profile.market)
    count = arrays.market.cohorts(arrays.n_months)
    if count == 0:
        years = arrays.n_months / 12.0
        raise ParameterError(
            "market.history.cohorts",
            f"{history.name} ({history.date(0)} to {history.date(history.n_periods - 1)}) is shorter than the "
            f"horizon of {years:.4g} years: no complete cohort; use cohorts = \"wrap\" or the bootstrap",
        )
    return Cohorts(history.name, tuple(history.date(k) for k in range(count)), arrays.market.wrap)


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of a plan over ``n_paths`` Monte Carlo paths."""

    profile: str
    seed: int
    n_paths: int
    current_age: float
    retirement_age: float
    life_expectancy: float
    capital_at_retirement: Summary
    terminal_wealth: Summary
    success: Interval
    depletion: Depletion
    fan: Fan | None
    paths: PathOutcomes
    withdrawal: str = "target"
    mortality: str = "fixed"
    horizon_age: float = 0.0
    spending: Spending | None = None
    return_model: str = "lognormal"
    cohorts: Cohorts | None = None

    def to_dict(self, include_fan: bool = True) -> dict[str, Any]:
        """Everything but the per-path arrays, as plain JSON-ready values."""
        data: dict[str, Any] = {
            "profile": self.profile,
            "seed": self.seed,
            "n_paths": self.n_paths,
            "current_age": self.current_age,
            "retirement_age": self.retirement_age,
            "life_expectancy": self.life_expectancy,
            "capital_at_retirement": self.capital_at_retirement.to_dict(),
            "terminal_wealth": self.terminal_wealth.to_dict(),
            "success_probability": self.success.to_dict(),
            "depletion": self.depletion.to_dict(),
            "withdrawal": self.withdrawal,
            "mortality": self.mortality,
            "horizon_age": self.horizon_age,
            "return_model": self.return_model,
            "cohorts": None if self.cohorts is None else self.cohorts.to_dict(),
        }
        if self.spending is not None:
            data["spending"] = self.spending.to_dict(include_fan)
        if include_fan and self.fan is not None:
            data["fan"] = self.fan.to_dict()
        return data


@contextmanager
def numba_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` Numba threads (all by default), then restore the count."""
    if threads is None:
        yield
        return
    integer("threads", threads, 1, numba.config.NUMBA_NUM_THREADS)
    with fixed_threads(threads):
        yield


def check_seed(seed: int) -> int:
    """The seed as an int, or a ParameterError."""
    return integer("seed", seed, 0, MAX_SEED)


def check_paths(n_paths: int, name: str = "n_paths") -> int:
    """The path count as an int, or a ParameterError."""
    return integer(name, n_paths, 1, MAX_PATHS)


@dataclass(frozen=True)
class Yardstick:
    """How spending is valued: CRRA ``gamma`` and annual ``discount`` of the certainty equivalent."""

    gamma: float = 3.0
    discount: float = 1.0


def spending_reference(arrays: ProfileArrays) -> float:
    """The unit of spending utilities: the mean monthly target (1 euro when there is none)."""
    target = arrays.rule.arrays.target
    return max(float(target.mean()), 1.0) if target.size else 1.0


def yearly_target(arrays: ProfileArrays) -> np.ndarray:
    """Mean monthly spending target of each retirement year."""
    target = arrays.rule.arrays.target
    n_years = -(-target.size // 12)
    padded = np.full(n_years * 12, np.nan)
    padded[: target.size] = target
    return np.nanmean(padded.reshape(n_years, 12), axis=1)


def run_paths(
    arrays: ProfileArrays, seed: int, first_path: int, n_paths: int, record_fan: bool = False,
    report: Callable[[int], None] | None = None, yardstick: Yardstick | None = None, record_spending: bool = False,
) -> tuple[PathOutcomes, np.ndarray, np.ndarray]:
    """Run paths ``first_path .. first_path + n_paths - 1``.

    Returns the outcomes, the fan matrix float64[n_paths, n_months] (when ``record_fan``; NaN after
    death) and the yearly spending matrix float64[n_paths, n_years of retirement] (when
    ``record_spending``; NaN after death). The kernel runs on at most :data:`CHUNK_PATHS` paths a
    call (the outcomes do not depend on it), each chunk's spending reduced to per-path figures;
    ``report(paths done)`` after each call.
    """
    yardstick = yardstick or Yardstick()
    capital = np.empty(n_paths)
    depletion = np.empty(n_paths, dtype=np.int64)
    terminal = np.empty(n_paths)
    lived = np.empty(n_paths, dtype=np.int64)
    fan = np.empty((n_paths, arrays.n_months) if record_fan else (0, 0))
    n_years = -(-arrays.n_decum // 12)
    kept = np.empty((n_paths, n_years) if record_spending else (0, 0))
    target, reference = yearly_target(arrays), spending_reference(arrays)
    parts = []
    for start in range(0, n_paths, CHUNK_PATHS):
        stop = min(n_paths, start + CHUNK_PATHS)
        spending = kept[start:stop] if record_spending else np.empty((stop - start, n_years))
        simulate_paths(
            np.uint64(seed), np.uint64(first_path + start), arrays.market, arrays.plan, arrays.rule.params, arrays.rule.arrays,
            arrays.n_accum,
            capital[start:stop], depletion[start:stop], terminal[start:stop], lived[start:stop],
            fan[start:stop] if record_fan else fan, spending,
        )
        parts.append(path_spending(spending, lived[start:stop], target, reference, yardstick.gamma, yardstick.discount))
        if report is not None:
            report(stop)
    return PathOutcomes(capital, depletion, terminal, lived, PathSpending.concatenate(parts)), fan, kept


def _fan(arrays: ProfileArrays, initial_wealth: float, wealth: np.ndarray) -> Fan:
    """Percentiles of wealth by month over the paths alive (NaN after death)."""
    if np.isnan(wealth).any():
        # Months where no path is alive (Gompertz, near max_age) are NaN, without NumPy's All-NaN warning.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            p10, p50, p90 = np.nanpercentile(wealth, [10, 50, 90], axis=0)
            lowest, highest = np.nanmin(wealth, axis=0), np.nanmax(wealth, axis=0)
    else:
        p10, p50, p90 = np.percentile(wealth, [10, 50, 90], axis=0)
        lowest, highest = wealth.min(axis=0), wealth.max(axis=0)

    def with_start(row: np.ndarray) -> np.ndarray:
        return np.concatenate(([initial_wealth], row))

    return Fan(
        ages=np.concatenate(([arrays.start_age], arrays.month_ages())),
        p10=with_start(p10),
        p50=with_start(p50),
        p90=with_start(p90),
        min=with_start(lowest),
        max=with_start(highest),
    )


def _depletion(arrays: ProfileArrays, depletion: np.ndarray) -> Depletion:
    months = depletion[depletion != NOT_DEPLETED]
    if months.size == 0:
        return Depletion(probability=0.0, ages=None, by_age={})
    ages = arrays.start_age + months / 12.0
    whole, counts = np.unique(np.floor(ages + 1e-9).astype(int), return_counts=True)
    return Depletion(
        probability=months.size / depletion.size,
        ages=Summary.of(ages),
        by_age={int(age): int(count) for age, count in zip(whole, counts, strict=True)},
    )


def summarize(
    profile: Profile, arrays: ProfileArrays, seed: int, outcomes: PathOutcomes,
    fan: np.ndarray | None, confidence: float, yardstick: Yardstick | None = None,
    spending: np.ndarray | None = None, cohorts: Cohorts | None = None,
) -> SimulationResult:
    """Statistics of per-path outcomes (and of the fan and spending matrices, when given)."""
    n_paths = outcomes.capital.size
    yardstick = yardstick or Yardstick()
    person = profile.person
    spending_fan = None if spending is None else SpendingFan.of(person.retirement_age, spending)
    return SimulationResult(
        profile=profile.name,
        seed=seed,
        n_paths=n_paths,
        current_age=profile.person.current_age,
        retirement_age=profile.person.retirement_age,
        life_expectancy=profile.person.life_expectancy,
        capital_at_retirement=Summary.of(outcomes.capital),
        terminal_wealth=Summary.of(outcomes.terminal),
        success=wilson_interval(int(outcomes.succeeded.sum()), n_paths, confidence),
        depletion=_depletion(arrays, outcomes.depletion),
        fan=None if fan is None else _fan(arrays, float(arrays.plan.balances.sum()), fan),
        paths=outcomes,
        withdrawal=profile.retirement.withdrawal.rule,
        mortality=person.mortality,
        horizon_age=person.horizon_age,
        spending=Spending.of(
            outcomes.spending, spending_reference(arrays), yardstick.gamma, yardstick.discount, spending_fan
        ),
        return_model=profile.market.return_model,
        cohorts=None if cohorts is None else cohorts.with_outcomes(outcomes.succeeded),
    )


def simulate(
    profile: Profile | str | None = None,
    n_paths: int = 10_000,
    seed: int = 0,
    *,
    fan: bool = False,
    tolerance: float | None = None,
    confidence: float = 0.95,
    max_paths: int | None = None,
    threads: int | None = None,
    monthly_contribution: float | None = None,
    progress: OnProgress | None = None,
    withdrawal: str | None = None,
    gamma: float = 3.0,
    discount: float = 1.0,
    market: str | None = None,
    spending_fan: bool = False,
) -> SimulationResult:
    """Simulate a profile's plan over Monte Carlo paths.

    With the ``historical`` return model the paths are the series' cohorts, one each
    (``result.cohorts``): ``n_paths``, ``tolerance`` and ``max_paths`` do not apply.

    :param profile: a :class:`Profile`, a file path, an embedded profile's name, or None for the default.
    :param n_paths: paths to run; in adaptive mode, the size of each batch.
    :param seed: the seed; paths ``0 .. n - 1`` of a seed are the same whatever the batches or threads.
    :param fan: also compute the monthly wealth fan (stores float64[n_paths, n_months] meanwhile,
        at most ``MAX_FAN_BYTES``).
    :param tolerance: adaptive mode: add batches until the success probability's confidence interval
        has a half-width of at most ``tolerance`` (absolute, e.g. 0.005), or ``max_paths`` are run.
    :param confidence: confidence level of the success interval (and of the adaptive stop).
    :param max_paths: adaptive mode stops there: 1,000,000 by default, fewer with a fan if its
        memory (at most ``MAX_FAN_BYTES``) requires.
    :param threads: Numba threads to use (all by default); results do not depend on it.
    :param monthly_contribution: a constant monthly saving that replaces the plan's phases.
    :param progress: told the paths done (see :mod:`mcsim.core.progress`).
    :param withdrawal: a withdrawal rule that replaces the profile's (with its default parameters,
        unless it is the profile's own rule).
    :param gamma: relative risk aversion of the spending's certainty equivalent.
    :param discount: annual discount factor of the spending's certainty equivalent.
    :param market: a return model that replaces the profile's (``historical``, ``bootstrap``, ``lognormal``...).
    :param spending_fan: the spending fan by year of retirement (``result.spending.fan``) without the
        monthly wealth fan (``fan`` gives both); the figures do not depend on it.
    """
    profile = load_profile(profile)
    if withdrawal is not None:
        profile = with_withdrawal(profile, withdrawal)
    if market is not None:
        profile = with_market(profile, market)
    yardstick = Yardstick(
        number("gamma", gamma, 0.0, 50.0, open_low=True), number("discount", discount, 0.0, 1.0, open_low=True)
    )
    seed = check_seed(seed)
    n_paths = check_paths(n_paths)
    if max_paths is not None:
        max_paths = check_paths(max_paths, "max_paths")
    confidence = number("confidence", confidence, 0.5, 1.0, open_high=True)
    if tolerance is not None:
        tolerance = number("tolerance", tolerance, 0.0, 0.5, open_low=True, open_high=True)
    if monthly_contribution is not None:
        monthly_contribution = number("monthly_contribution", monthly_contribution, 0.0, MAX_MONEY)
    arrays = compile_profile(profile, monthly_contribution)
    cohorts = None
    if arrays.market.model == HISTORICAL:
        cohorts = historical_cohorts(profile, arrays)
        n_paths, tolerance, max_paths = cohorts.count, None, None
    fan_limit = MAX_FAN_BYTES // (arrays.n_months * 8)
    if max_paths is None:
        max_paths = min(DEFAULT_MAX_PATHS, fan_limit) if fan else DEFAULT_MAX_PATHS
    most_paths = n_paths if tolerance is None else max(n_paths, max_paths)
    if fan and most_paths * arrays.n_months * 8 > MAX_FAN_BYTES:
        what = "max_paths (--max-paths)" if tolerance is not None else "n_paths (--paths)"
        raise ParameterError(
            "fan", f"a monthly fan of {most_paths:,} paths x {arrays.n_months} months needs more than "
            f"{MAX_FAN_BYTES // 2**30} GiB; set {what} to at most {fan_limit:,} with it"
        )
    report = progress or silent
    by_year = fan or spending_fan  # the spending matrix by year of retirement, for its fan
    total = n_paths if tolerance is None else 0  # adaptive: unknown until the interval is narrow enough
    detail = ""

    def paths_done(done: int) -> None:
        report("simulating", done, total, unit="paths", detail=detail)

    report(phase("simulating", simulate_paths), 0, total, unit="paths")
    with numba_threads(threads):
        outcomes, fan_matrix, spending = run_paths(arrays, seed, 0, n_paths, fan, paths_done, yardstick, by_year)
        if tolerance is not None:
            batches, fans, spendings = [outcomes], [fan_matrix], [spending]
            done = n_paths
            while done < max_paths:
                depletion = np.concatenate([batch.depletion for batch in batches])
                successes = int((depletion == NOT_DEPLETED).sum())
                half_width = wilson_interval(successes, done, confidence).half_width
                if half_width <= tolerance:
                    break
                detail = f"success {successes / done:.1%} ± {half_width:.2%}, stops at ± {tolerance:.2%}"
                size = min(n_paths, max_paths - done)
                batch, batch_fan, batch_spending = run_paths(
                    arrays, seed, done, size, fan, lambda d, first=done: paths_done(first + d), yardstick, by_year
                )
                batches.append(batch)
                fans.append(batch_fan)
                spendings.append(batch_spending)
                done += size
            outcomes = concatenate_outcomes(batches)
            fan_matrix = np.concatenate(fans) if fan else fan_matrix
            spending = np.concatenate(spendings) if by_year else spending
    report("summarizing the paths")
    return summarize(
        profile, arrays, seed, outcomes, fan_matrix if fan else None, confidence, yardstick, spending if by_year else None,
        cohorts,
    )


def concatenate_outcomes(batches: list[PathOutcomes]) -> PathOutcomes:
    """One PathOutcomes of consecutive batches'."""
    return PathOutcomes(
        *(np.concatenate([getattr(b, name) for b in batches]) for name in ("capital", "depletion", "terminal", "lived")),
        PathSpending.concatenate([batch.spending for batch in batches]),
    )
