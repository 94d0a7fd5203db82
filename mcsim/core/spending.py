"""Spending in retirement, not only success: what a plan lets the retiree spend, year by year.

The kernel records, per path and year of retirement, the mean monthly spending over the months lived
(the amount the household receives from its portfolio after tax, plus pensions and additional
income; NaN once the retiree has died). :func:`path_spending` reduces those rows to a few figures per
path, chunk by chunk, so that memory stays flat however many paths run; :class:`Spending` summarizes
them over paths. Years are weighted by the months lived in them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .stats import Summary

CUT_THRESHOLD = 0.10
"""A year-on-year fall of spending larger than this share counts as a cut."""
CONSUMPTION_FLOOR = 0.01
"""Utilities floor spending at this share of the reference (the target), so they stay finite at zero."""


class PathSpending(NamedTuple):
    """Per-path figures, float64[n_paths] each: see :func:`path_spending`."""

    total: np.ndarray
    worst: np.ndarray
    largest_cut: np.ndarray
    years: np.ndarray
    years_below: np.ndarray
    utility: np.ndarray
    weight: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @staticmethod
    def concatenate(parts: list[PathSpending]) -> PathSpending:
        """One PathSpending of several chunks', in order."""
        return PathSpending(*(np.concatenate(columns) for columns in zip(*parts, strict=True)))


def crra(x: np.ndarray, gamma: float) -> np.ndarray:
    """CRRA utility (zero at 1; log utility at gamma 1)."""
    if gamma == 1.0:
        return np.log(x)
    return (x ** (1.0 - gamma) - 1.0) / (1.0 - gamma)


def crra_inverse(u: float, gamma: float) -> float:
    """The x with crra(x) = u."""
    if gamma == 1.0:
        return math.exp(u)
    base = 1.0 + (1.0 - gamma) * u
    return base ** (1.0 / (1.0 - gamma)) if base > 0.0 else 0.0


def months_by_year(lived: np.ndarray, n_years: int) -> np.ndarray:
    """Months lived in each retirement year, float64[n_paths, n_years], from the months lived in all."""
    starts = 12 * np.arange(n_years)
    return np.clip(lived[:, None] - starts[None, :], 0, 12).astype(float)


def path_spending(
    spending: np.ndarray, lived: np.ndarray, target: np.ndarray, reference: float, gamma: float, discount: float
) -> PathSpending:
    """Reduce float64[n_paths, n_years] yearly spending (mean per month) to per-path figures.

    ``lived`` are the months of retirement lived per path, ``target`` float64[n_years] the mean monthly
    target of each year. Per path: total spending over retirement (euros of today), the worst year's
    monthly spending, the largest year-on-year cut (share, 0 when none), the years lived (fractional)
    and those lived below the target, the discounted CRRA utility of spending relative to
    ``reference`` (per year, weighted by the months lived) and the discounted years it sums over, the
    monthly spending of the first year of retirement and of the last year lived (NaN when none is lived).
    """
    n_years = spending.shape[1]
    months = months_by_year(lived, n_years)
    alive = months > 0
    values = np.where(alive, spending, np.nan)
    total = np.nansum(np.where(alive, spending * months, 0.0), axis=1)
    with np.errstate(all="ignore"):
        worst = np.nanmin(np.where(alive, values, np.inf), axis=1)
        worst[~np.isfinite(worst)] = 0.0
        previous, current = values[:, :-1], values[:, 1:]
        falls = np.where((previous > 0) & np.isfinite(current), 1.0 - current / previous, 0.0)
    largest_cut = np.maximum(falls.max(axis=1, initial=0.0), 0.0) if n_years > 1 else np.zeros(lived.size)
    below = alive & (spending < target[None, :] * (1.0 - 1e-9))
    years = months.sum(axis=1) / 12.0
    years_below = np.where(below, months, 0.0).sum(axis=1) / 12.0
    discounts = discount ** np.arange(n_years)
    weights = months / 12.0 * discounts[None, :]
    floored = np.maximum(np.where(alive, spending, reference), CONSUMPTION_FLOOR * reference) / reference
    utility = (weights * crra(floored, gamma)).sum(axis=1)
    last_year = alive.sum(axis=1) - 1  # the years lived are the first ones
    rows = np.arange(lived.size)
    first = np.where(alive[:, 0], spending[:, 0], np.nan) if n_years else np.full(lived.size, np.nan)
    last = np.where(last_year >= 0, spending[rows, np.maximum(last_year, 0)], np.nan) if n_years else first
    return PathSpending(total, worst, largest_cut, years, years_below, utility, weights.sum(axis=1), first, last)


@dataclass(frozen=True)
class SpendingFan:
    """Monthly spending by year of retirement across the paths alive: ``ages`` at each year's start."""

    ages: np.ndarray
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray

    @classmethod
    def of(cls, retirement_age: float, spending: np.ndarray) -> SpendingFan:
        """Percentiles over the paths alive in each year of float64[n_paths, n_years] (NaN: not alive)."""
        n_years = spending.shape[1]
        p10, p50, p90 = np.full(n_years, np.nan), np.full(n_years, np.nan), np.full(n_years, np.nan)
        for y in range(n_years):
            column = spending[:, y]
            column = column[np.isfinite(column)]
            if column.size:
                p10[y], p50[y], p90[y] = np.percentile(column, [10, 50, 90])
        return cls(retirement_age + np.arange(n_years), p10, p50, p90)

    def to_dict(self) -> dict[str, list[float | None]]:
        """Plain lists for JSON (None where no path is alive)."""
        return {
            name: [None if not math.isfinite(v) else float(v) for v in getattr(self, name)]
            for name in ("ages", "p10", "p50", "p90")
        }


@dataclass(frozen=True)
class Spending:
    """What retirement spending looks like over the paths (euros of today per month unless stated).

    ``cut_probability``: share of paths with a year-on-year cut over CUT_THRESHOLD; ``largest_cut``:
    the largest such cut on any path; ``worst_year``: each path's worst year (median, p10 over paths);
    ``below_target``: share of retirement years (lived) spent below the target; ``lifetime``: total
    spending over retirement per path; ``at_retirement`` and ``at_end``: monthly spending in the first
    year of retirement and in the last year lived (over the paths that live it);
    ``certainty_equivalent``: the constant monthly spending with the same expected discounted CRRA
    utility (``gamma``, ``discount``) over the years lived.
    """

    gamma: float
    discount: float
    cut_probability: float
    largest_cut: float
    worst_year_median: float
    worst_year_p10: float
    below_target: float
    lifetime: Summary
    certainty_equivalent: float
    at_retirement: Summary
    at_end: Summary
    fan: SpendingFan | None = None

    @classmethod
    def of(
        cls, paths: PathSpending, reference: float, gamma: float, discount: float, fan: SpendingFan | None = None
    ) -> Spending:
        """The summary of per-path figures (see :func:`path_spending`, same ``reference``, ``gamma`` and ``discount``)."""
        weight = float(paths.weight.mean())
        ce = reference * crra_inverse(float(paths.utility.mean()) / weight, gamma) if weight > 0 else 0.0
        years = float(paths.years.sum())
        return cls(
            gamma=gamma,
            discount=discount,
            cut_probability=float((paths.largest_cut > CUT_THRESHOLD).mean()),
            largest_cut=float(paths.largest_cut.max()),
            worst_year_median=float(np.median(paths.worst)),
            worst_year_p10=float(np.percentile(paths.worst, 10)),
            below_target=float(paths.years_below.sum() / years) if years > 0 else 0.0,
            lifetime=Summary.of(paths.total),
            certainty_equivalent=float(ce),
            at_retirement=_finite_summary(paths.first),
            at_end=_finite_summary(paths.last),
            fan=fan,
        )

    def to_dict(self, include_fan: bool = True) -> dict[str, Any]:
        """Plain JSON-ready values."""
        data: dict[str, Any] = {
            "gamma": self.gamma,
            "discount": self.discount,
            "cut_probability": self.cut_probability,
            "cut_threshold": CUT_THRESHOLD,
            "largest_cut": self.largest_cut,
            "worst_year": {"median": self.worst_year_median, "p10": self.worst_year_p10},
            "below_target_share": self.below_target,
            "lifetime": self.lifetime.to_dict(),
            "certainty_equivalent_monthly": self.certainty_equivalent,
            "at_retirement": self.at_retirement.to_dict(),
            "at_end": self.at_end.to_dict(),
        }
        if include_fan and self.fan is not None:
            data["fan"] = self.fan.to_dict()
        return data


def _finite_summary(values: np.ndarray) -> Summary:
    """Summary of the finite values (all zeros when there is none)."""
    finite = values[np.isfinite(values)]
    return Summary.of(finite if finite.size else np.zeros(1))
