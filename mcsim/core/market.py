"""The market model: monthly parameters of asset returns and inflation, compiled for the kernels.

Annual figures in the profile are an arithmetic expected return ``mu`` and a volatility ``sigma``
(nominal, in percent). They become monthly parameters so that a year of twelve months has exactly
that mean and volatility of its gross return under the lognormal model:

* ``lognormal`` (default): monthly log-return ``m + s * e`` with ``s^2 = ln(1 + sigma^2 / (1 + mu)^2) / 12``
  and ``m = ln(1 + mu) / 12 - s^2 / 2``;
* ``normal``: monthly arithmetic return ``(1 + mu)^(1/12) - 1 + sigma / sqrt(12) * e``, floored at -100%,
  for parity with simple planners;
* ``student_t``: the lognormal model's ``m`` and ``s`` with Student-t shocks (``df`` degrees of freedom,
  scaled to unit variance, one chi-square draw per month shared by all assets, so crashes come together).

The shocks ``e`` are correlated through a lower-triangular factor of the correlation matrix, computed
once here. Inflation is an independent lognormal monthly factor built the same way from its mean and
volatility; it deflates every asset's gross return into euros of today.

Two models replay a historical series (:mod:`mcsim.core.history`) instead, month by month from its
rows of real gross returns and inflation (an annual series spread evenly over its months):

* ``historical``: cohorts; path k starts at the series' k-th period and follows it (with
  ``cohorts = "wrap"``, around the end and back to the start);
* ``bootstrap``: a stationary block bootstrap (Politis and Romano, 1994): a path starts at a random
  period, and at each new period continues with the next one, or with probability ``1 / mean block
  length`` jumps to a random period; rows are drawn whole, every asset and inflation of a date together.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .errors import ParameterError
from .history import History, asset_columns, load_history, monthly_rows
from .profile import Market

LOGNORMAL = 0
NORMAL = 1
STUDENT_T = 2
HISTORICAL = 3
BOOTSTRAP = 4
RETURN_MODELS = {"lognormal": LOGNORMAL, "normal": NORMAL, "student_t": STUDENT_T, "historical": HISTORICAL,
                 "bootstrap": BOOTSTRAP}


class MarketArrays(NamedTuple):
    """Monthly market parameters as the kernels see them.

    ``drift`` and ``vol`` are float64[n_assets]: the monthly log-return's mean and standard
    deviation (arithmetic return's for ``NORMAL``); ``chol`` is float64[n_assets, n_assets], lower
    triangular with ``chol @ chol.T == correlation``.

    The historical models read ``history_gross`` (float64[n_rows, n_assets], real gross returns)
    and ``history_inflation`` (float64[n_rows]), one row a month, a period being ``period_months``
    rows; ``new_block`` is the bootstrap's probability of a jump at each period, ``wrap`` whether
    cohorts may wrap around the end. Parametric markets carry empty arrays there.
    """

    model: int
    drift: np.ndarray
    vol: np.ndarray
    chol: np.ndarray
    t_df: float
    inflation_drift: float
    inflation_vol: float
    history_gross: np.ndarray
    history_inflation: np.ndarray
    period_months: int
    new_block: float
    wrap: bool

    @property
    def n_periods(self) -> int:
        """Periods of the historical series (0 for a parametric market)."""
        return self.history_inflation.size // self.period_months

    def cohorts(self, n_months: int) -> int:
        """Historical cohorts for a horizon of ``n_months``: start periods with the data to cover it (every one with wrap)."""
        if self.wrap:
            return self.n_periods
        return max(0, (self.history_inflation.size - n_months) // self.period_months + 1)


def no_history(n_assets: int) -> tuple[np.ndarray, np.ndarray, int, float, bool]:
    """The history fields of a parametric market: empty arrays."""
    return np.empty((0, n_assets)), np.empty(0), 1, 0.0, False


def lognormal_monthly(mean: float, volatility: float) -> tuple[float, float]:
    """Monthly (mean, sd) of the log-return whose 12-month gross return has this mean and volatility."""
    variance = math.log1p((volatility / (1.0 + mean)) ** 2)
    return (math.log1p(mean) - 0.5 * variance) / 12.0, math.sqrt(variance / 12.0)


def semidefinite_cholesky(matrix: np.ndarray, tolerance: float = 1e-12) -> np.ndarray:
    """Lower-triangular L with L @ L.T == matrix, for a positive semi-definite matrix.

    Unlike ``np.linalg.cholesky`` it accepts singular matrices (perfectly correlated assets): a
    pivot that is zero within ``tolerance`` leaves its column at zero.
    """
    n = matrix.shape[0]
    lower = np.zeros((n, n))
    for j in range(n):
        pivot = matrix[j, j] - lower[j, :j] @ lower[j, :j]
        if pivot <= tolerance:
            continue
        lower[j, j] = math.sqrt(pivot)
        for i in range(j + 1, n):
            lower[i, j] = (matrix[i, j] - lower[i, :j] @ lower[j, :j]) / lower[j, j]
    return lower


def market_history(market: Market) -> History:
    """The series a market's ``history`` names, over the span its assets' columns cover."""
    return load_history(market.history, [asset.name for asset in market.assets])


def history_fields(market: Market) -> tuple[np.ndarray, np.ndarray, int, float, bool]:
    """The history fields of :class:`MarketArrays` for a market of a historical model."""
    history = market_history(market)
    columns = asset_columns(history, [asset.name for asset in market.assets], market.history)
    gross, inflation = monthly_rows(history, columns)
    mean_block = market.history.block_years * history.periods_per_year
    if market.return_model == "bootstrap" and mean_block < 1.0:
        period = "a year" if history.periods_per_year == 1 else f"1/{history.periods_per_year} of a year"
        raise ParameterError(
            "market.history.block_years",
            f"must be at least one period of {history.name} ({period}; got {market.history.block_years:g})",
        )
    return gross, inflation, history.period_months, min(1.0, 1.0 / mean_block), market.history.cohorts == "wrap"


def compile_market(market: Market) -> MarketArrays:
    """Monthly kernel parameters of a validated :class:`~mcsim.core.profile.Market`."""
    n = len(market.assets)
    model = RETURN_MODELS[market.return_model]
    history = history_fields(market) if model in (HISTORICAL, BOOTSTRAP) else no_history(n)
    drift = np.empty(n)
    vol = np.empty(n)
    for k, asset in enumerate(market.assets):
        mu = asset.expected_return_pct / 100.0
        sigma = asset.volatility_pct / 100.0
        if model == NORMAL:
            drift[k] = (1.0 + mu) ** (1.0 / 12.0) - 1.0
            vol[k] = sigma / math.sqrt(12.0)
        else:
            drift[k], vol[k] = lognormal_monthly(mu, sigma)
    correlation = np.eye(n) if market.correlation is None else np.array(market.correlation, dtype=float)
    inflation_drift, inflation_vol = lognormal_monthly(
        market.inflation_mean_pct / 100.0, market.inflation_volatility_pct / 100.0
    )
    return MarketArrays(
        model=model,
        drift=drift,
        vol=vol,
        chol=semidefinite_cholesky(correlation),
        t_df=float(market.student_t_df),
        inflation_drift=inflation_drift,
        inflation_vol=inflation_vol,
        history_gross=history[0],
        history_inflation=history[1],
        period_months=history[2],
        new_block=history[3],
        wrap=history[4],
    )
