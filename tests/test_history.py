"""The shipped historical series: read right, checked against the statistics of their README."""

from __future__ import annotations

import numpy as np
import pytest

from mcsim.core.errors import ParameterError
from mcsim.core.history import SHIPPED, shipped


def annual_stats(returns: np.ndarray) -> tuple[float, float, float]:
    """Arithmetic mean, sample standard deviation and geometric mean of annual returns."""
    geometric = float(np.exp(np.log1p(returns).mean()) - 1.0)
    return float(returns.mean()), float(returns.std(ddof=1)), geometric


def january_to_january(real_monthly: np.ndarray, start: tuple[int, int], first: int, last: int) -> np.ndarray:
    """Annual real returns January to January, years ``first .. last``, compounded from monthly ones."""
    year, month = start
    assert month == 1
    offset = 12 * (first - year)
    months = real_monthly[offset : offset + 12 * (last - first + 1)]
    return np.prod(1.0 + months.reshape(-1, 12), axis=1) - 1.0


# The table of the data's README (annual real returns): mean, s.d., geometric mean, in percent to two
# decimals (its bond mean, 2.87%, rounds 2.8646% up: hence 1e-4 on means, 5e-4 on the s.d.).
@pytest.mark.parametrize(("column", "expected"), [
    ("equities", (0.0840, 0.179, 0.0687)),
    ("bonds", (0.0287, 0.090, 0.0248)),
])
def test_shiller_january_to_january_matches_the_table(column: str, expected: tuple[float, float, float]) -> None:
    series = shipped("shiller_monthly")
    annual = january_to_january(series.real(column), series.start, 1871, 2022)
    assert annual.size == 152
    mean, sd, geometric = annual_stats(annual)
    assert mean == pytest.approx(expected[0], abs=1e-4)
    assert sd == pytest.approx(expected[1], abs=5e-4)
    assert geometric == pytest.approx(expected[2], abs=1e-4)


@pytest.mark.parametrize(("column", "expected"), [
    ("sp500", (0.0855, 0.194, 0.0670)),
    ("tbond_10y", (0.0180, 0.089, 0.0142)),
])
def test_damodaran_real_returns_match_the_table(column: str, expected: tuple[float, float, float]) -> None:
    series = shipped("damodaran_annual")
    assert series.start == (1928, 1) and series.n_periods == 2024 - 1928 + 1
    mean, sd, geometric = annual_stats(series.real(column))
    assert mean == pytest.approx(expected[0], abs=1e-4)
    assert sd == pytest.approx(expected[1], abs=5e-4)
    assert geometric == pytest.approx(expected[2], abs=1e-4)


def test_shiller_monthly_span_and_smoothing() -> None:
    series = shipped("shiller_monthly")
    assert series.start == (1871, 1) and series.periods_per_year == 12
    assert series.n_periods == 12 * (2023 - 1871) + 5  # 1871-01 .. 2023-05, each month to the next
    for values in (*series.returns.values(), series.inflation):
        assert np.isfinite(values).all()
    # Shiller's monthly averages smooth volatility: the monthly real equity s.d. annualises to 14.2%.
    assert series.real("equities").std(ddof=1) * np.sqrt(12) == pytest.approx(0.142, abs=0.002)


def test_series_are_read_once_and_errors_name_the_field() -> None:
    assert shipped("damodaran_annual") is shipped("damodaran_annual")
    assert set(SHIPPED) == {"shiller_monthly", "damodaran_annual"}
    with pytest.raises(ParameterError, match="history"):
        shipped("jst")
    with pytest.raises(ParameterError, match="column"):
        shipped("damodaran_annual").real("bitcoin")
