"""Historical market series shipped with the package: read once, as arrays of returns by period.

Two series ship (sources and citations in ``mcsim/core/data/NOTICE.md``):

* ``shiller_monthly``: US, monthly, 1871-01 to 2023-05 (the month from each row to the next of
  Shiller's workbook): ``equities`` (S&P composite total return) and ``bonds`` (10-year government
  bond total return), derived from Shiller's real total-return indices and CPI;
* ``damodaran_annual``: US, annual, 1928 to 2024: ``sp500``, ``us_small_cap``, ``tbill_3m``,
  ``tbond_10y``, ``baa_corp``, ``real_estate`` (price only), ``gold``.

Every series carries its nominal returns by column and its inflation, as decimals per period.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np

from .errors import ParameterError
from .profile import MarketHistory

SHIPPED = ("shiller_monthly", "damodaran_annual")
DEFAULT_SERIES = "shiller_monthly"
USUAL_COLUMNS = {
    "damodaran_annual": {"equities": "sp500", "bonds": "tbond_10y", "cash": "tbill_3m"},
}
"""The column a profile asset of this name takes by default, per series (beyond a column of its own name)."""


@dataclass(frozen=True)
class History:
    """A historical series: nominal returns by column and inflation, one row a period, as decimals.

    ``periods_per_year`` is 12 (monthly) or 1 (annual); ``start`` is the (year, month) of the first period.
    """

    name: str
    periods_per_year: int
    start: tuple[int, int]
    returns: dict[str, np.ndarray] = field(repr=False)
    inflation: np.ndarray = field(repr=False)

    @property
    def n_periods(self) -> int:
        """Periods (months or years) in the series."""
        return int(self.inflation.size)

    @property
    def period_months(self) -> int:
        """Months in a period: 1 (monthly) or 12 (annual)."""
        return 12 // self.periods_per_year

    def date(self, period: int) -> str:
        """The date of period ``period`` (0 = the first): ``YYYY-MM`` for monthly series, ``YYYY`` for annual."""
        year, month = self.start
        if self.periods_per_year == 1:
            return str(year + period)
        months = year * 12 + month - 1 + period
        return f"{months // 12}-{months % 12 + 1:02d}"

    def real(self, column: str) -> np.ndarray:
        """Real returns of ``column``: ``(1 + nominal) / (1 + inflation) - 1``."""
        if column not in self.returns:
            raise ParameterError("column", f"'{column}' is not a column of {self.name} (columns: {', '.join(self.returns)})")
        return (1.0 + self.returns[column]) / (1.0 + self.inflation) - 1.0


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("mcsim.core.data").joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _shiller_monthly() -> History:
    rows = _rows("shiller_us_monthly_1871_2023.csv")
    cpi = np.array([float(row["cpi"]) for row in rows])
    equity_index = np.array([float(row["real_tr_price"]) for row in rows])
    bond_index = np.array([float(row["real_bond_tr_index"]) for row in rows])
    inflation = cpi[1:] / cpi[:-1]
    # Real gross returns of each month (row t to row t + 1), made nominal with that month's inflation.
    returns = {
        "equities": equity_index[1:] / equity_index[:-1] * inflation - 1.0,
        "bonds": bond_index[1:] / bond_index[:-1] * inflation - 1.0,
    }
    start = (int(rows[0]["year"]), int(rows[0]["month"]))
    return History("shiller_monthly", 12, start, returns, inflation - 1.0)


def _damodaran_annual() -> History:
    rows = _rows("damodaran_us_annual_1928_2024.csv")
    columns = [name for name in rows[0] if name not in ("year", "cpi_inflation")]
    returns = {name: np.array([float(row[name]) for row in rows]) for name in columns}
    inflation = np.array([float(row["cpi_inflation"]) for row in rows])
    return History("damodaran_annual", 1, (int(rows[0]["year"]), 1), returns, inflation)


@cache
def shipped(name: str) -> History:
    """A shipped series by name (read once per process)."""
    if name == "shiller_monthly":
        return _shiller_monthly()
    if name == "damodaran_annual":
        return _damodaran_annual()
    raise ParameterError("history", f"'{name}' is not a shipped series (shipped: {', '.join(SHIPPED)})")


def load_history(spec: MarketHistory, assets: list[str] | None = None) -> History:
    """The series a profile's ``market.history`` names: shipped, a user's CSV or a JST file.

    For a JST file, ``assets`` (the profile's asset names) restrict the span to the years where
    the columns they map to are all present (default: all four JST columns).
    """
    from .history_files import JST_COLUMNS, read_history_csv, read_jst  # they build History objects of this module

    if spec.file is not None:
        return read_history_csv(spec.file, spec.returns)
    if spec.jst is not None:
        mapped = None if assets is None else [spec.columns.get(asset, asset) for asset in assets]
        used = None if mapped is None else tuple(name for name in dict.fromkeys(mapped) if name in JST_COLUMNS)
        return read_jst(spec.jst, spec.country or "", used or None)
    name = spec.series or DEFAULT_SERIES
    if name not in SHIPPED:
        raise ParameterError("market.history.series", f"'{name}' is not a shipped series (shipped: {', '.join(SHIPPED)})")
    return shipped(name)


def asset_columns(history: History, assets: list[str], spec: MarketHistory) -> list[str]:
    """The data column of each asset: ``spec.columns``, else its own name, else the series' usual one."""
    for asset in spec.columns:
        if asset not in assets:
            raise ParameterError(f"market.history.columns.{asset}", f"unknown asset (market assets: {', '.join(assets)})")
    usual = USUAL_COLUMNS.get(history.name, {})
    columns = []
    for asset in assets:
        column = spec.columns.get(asset) or (asset if asset in history.returns else usual.get(asset))
        if column is None:
            raise ParameterError(
                f"market.history.columns.{asset}",
                f"asset '{asset}' has no column in {history.name}: map it to one of {', '.join(history.returns)}",
            )
        if column not in history.returns:
            raise ParameterError(
                f"market.history.columns.{asset}",
                f"'{column}' is not a column of {history.name} (columns: {', '.join(history.returns)})",
            )
        columns.append(column)
    return columns


def monthly_rows(history: History, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Month by month: each column's real gross return (float64[n_months, n_columns]) and the inflation factor.

    An annual series spreads each year evenly over its twelve months: the month's factor is the
    year's to the power 1/12, so twelve months compound to the year exactly.
    """
    inflation = 1.0 + history.inflation
    real = np.column_stack([(1.0 + history.returns[column]) / inflation for column in columns])
    repeat = history.period_months
    if repeat > 1:
        real = np.repeat(real ** (1.0 / repeat), repeat, axis=0)
        inflation = np.repeat(inflation ** (1.0 / repeat), repeat)
    return np.ascontiguousarray(real), np.ascontiguousarray(inflation)
