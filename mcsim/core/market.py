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
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .profile import Market

LOGNORMAL = 0
NORMAL = 1
STUDENT_T = 2
RETURN_MODELS = {"lognormal": LOGNORMAL, "normal": NORMAL, "student_t": STUDENT_T}


class MarketArrays(NamedTuple):
    """Monthly market parameters as the kernels see them.

    ``drift`` and ``vol`` are float64[n_assets]: the monthly log-return's mean and standard
    deviation (arithmetic return's for ``NORMAL``); ``chol`` is float64[n_assets, n_assets], lower
    triangular with ``chol @ chol.T == correlation``.
    """

    model: int
    drift: np.ndarray
    vol: np.ndarray
    chol: np.ndarray
    t_df: float
    inflation_drift: float
    inflation_vol: float


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


def compile_market(market: Market) -> MarketArrays:
    """Monthly kernel parameters of a validated :class:`~mcsim.core.profile.Market`."""
    n = len(market.assets)
    model = RETURN_MODELS[market.return_model]
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
    )
