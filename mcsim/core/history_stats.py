"""Statistics of a historical series by calendar year: real returns of each column, and inflation.

Annual series give their years directly. Monthly ones are compounded into calendar years, January to
December, from the first January over complete years only (Shiller's 1871-01 .. 2023-05 gives
1871 .. 2022). Returns are real, ``(1 + nominal) / (1 + inflation) - 1``; inflation is itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .errors import ParameterError
from .history import History

INFLATION = "inflation"
"""The key of inflation's statistics, beside the columns'."""


@dataclass(frozen=True)
class ColumnStats:
    """Annual statistics of one column: arithmetic mean, sample s.d., geometric mean, worst and best year."""

    mean: float
    sd: float
    geometric: float
    worst: float
    worst_year: int
    best: float
    best_year: int


@dataclass(frozen=True)
class SeriesStats:
    """A series' span and the annual statistics of its real returns by column, and of its inflation."""

    name: str
    frequency: str
    first: str
    last: str
    periods: int
    columns: tuple[str, ...]
    first_year: int
    last_year: int
    stats: dict[str, ColumnStats]

    @property
    def span(self) -> str:
        """``first..last``, e.g. ``1871-01..2023-05`` or ``1928..2024``."""
        return f"{self.first}..{self.last}"

    @property
    def years(self) -> int:
        """Calendar years the statistics cover."""
        return self.last_year - self.first_year + 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the span, the years the statistics cover and each column's statistics."""
        return {
            "name": self.name, "frequency": self.frequency, "first": self.first, "last": self.last,
            "periods": self.periods, "columns": list(self.columns), "years": [self.first_year, self.last_year],
            "stats": {key: asdict(value) for key, value in self.stats.items()},
        }


def period_label(history: History, period: int) -> str:
    """The date of ``period`` (0 = the first): ``YYYY-MM`` for a monthly series, ``YYYY`` for an annual one."""
    year, month = history.start
    if history.periods_per_year == 1:
        return str(year + period)
    months = year * 12 + month - 1 + period
    return f"{months // 12}-{months % 12 + 1:02d}"


def calendar_years(history: History, gross: np.ndarray) -> tuple[int, np.ndarray]:
    """The first calendar year and the gross factor of each complete year, from gross factors by period."""
    year, month = history.start
    if history.periods_per_year == 1:
        return year, gross
    skip = (13 - month) % 12  # months before the first January
    first = year + (1 if skip else 0)
    years = (gross.size - skip) // 12
    if years < 1:
        raise ParameterError("history", f"{history.name} holds no complete calendar year (January to December)")
    return first, np.prod(gross[skip : skip + 12 * years].reshape(years, 12), axis=1)


def column_stats(returns: np.ndarray, first_year: int) -> ColumnStats:
    """The statistics of annual returns, the first of them in ``first_year``."""
    worst, best = int(np.argmin(returns)), int(np.argmax(returns))
    return ColumnStats(
        mean=float(returns.mean()),
        sd=float(returns.std(ddof=1)) if returns.size > 1 else 0.0,
        geometric=float(np.exp(np.log1p(returns).mean()) - 1.0),
        worst=float(returns[worst]), worst_year=first_year + worst,
        best=float(returns[best]), best_year=first_year + best,
    )


def annual_real_returns(history: History, column: str) -> tuple[int, np.ndarray]:
    """The first calendar year and the real returns of ``column`` (``inflation``: inflation) by calendar year."""
    gross = 1.0 + (history.inflation if column == INFLATION else history.real(column))
    first, annual = calendar_years(history, gross)
    return first, annual - 1.0


def series_stats(history: History) -> SeriesStats:
    """The span of ``history`` and the annual statistics of each column's real returns and of inflation."""
    stats = {}
    first = 0
    years = 0
    for column in (*history.returns, INFLATION):
        first, annual = annual_real_returns(history, column)
        years = annual.size
        stats[column] = column_stats(annual, first)
    return SeriesStats(
        name=history.name,
        frequency="monthly" if history.periods_per_year == 12 else "annual",
        first=period_label(history, 0),
        last=period_label(history, history.n_periods - 1),
        periods=history.n_periods,
        columns=tuple(history.returns),
        first_year=first,
        last_year=first + years - 1,
        stats=stats,
    )
