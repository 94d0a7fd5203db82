"""Markets from history (#13): cohorts replay the data exactly, the bootstrap keeps the data's statistics.

Also: paths are the same whatever the threads or batches, and a profile's mistakes about its
history are one line each. The series' own values are checked in test_history.py, the CSV and JST
readers in test_history_files.py, ``mcsim data`` in test_cli_data.py.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mcsim.core.arrays import compile_profile
from mcsim.core.errors import McsimError, ParameterError, ProfileError
from mcsim.core.history import History, shipped
from mcsim.core.kernels import market_draws
from mcsim.core.market import MarketArrays
from mcsim.core.profile import Profile, load_profile, profile_from_dict
from mcsim.core.simulation import run_paths, simulate

from .conftest import BASE

BALANCE = 10_000.0
N_MONTHS = 240  # BASE: ages 40 to 60
USUAL = {"shiller_monthly": {"equities": "equities", "bonds": "bonds"},
         "damodaran_annual": {"equities": "sp500", "bonds": "tbond_10y"}}


def history_profile(
    series: str, allocation: dict[str, float], model: str = "historical", *, ages: tuple[float, float, float] = (40, 50, 60),
    **history: Any,
) -> Profile:
    """One tax-free, fee-free account, no contribution and no withdrawal, on a shipped series."""
    data = copy.deepcopy(BASE)
    data["person"] = dict(zip(("current_age", "retirement_age", "life_expectancy"), ages, strict=True))
    data["plan"] = {}
    data["retirement"] = {"target_monthly_income": 0}
    data["accounts"] = [{"name": "main", "type": "livret", "balance": BALANCE, "allocation": allocation}]
    data["market"]["assets"] = [{"name": name, "expected_return_pct": 5.0, "volatility_pct": 10.0} for name in allocation]
    data["market"]["return_model"] = model
    data["market"]["history"] = {"series": series, **history}
    profile = profile_from_dict(data)
    assert profile.accounts[0].tax_rate == 0.0 and profile.accounts[0].fee_pct == 0.0
    return profile


def real_gross(history: History, column: str) -> np.ndarray:
    """The series' real gross return of each period, nominal over inflation, straight from its data."""
    return (1.0 + history.returns[column]) / (1.0 + history.inflation)


def monthly_gross(history: History, weights: dict[str, float]) -> np.ndarray:
    """The gross return of a portfolio rebalanced monthly to ``weights`` (data columns), one value a month of data.

    An annual period is twelve equal months: each month's gross is the year's to the power 1/12.
    """
    months = history.period_months
    portfolio = sum(weight * real_gross(history, column) ** (1.0 / months) for column, weight in weights.items())
    return np.repeat(portfolio, months)


def cohort_wealth(history: History, weights: dict[str, float], cohort: int, n_months: int) -> np.ndarray:
    """Wealth at the end of each month of cohort ``cohort`` (wrapping around the end of the data)."""
    gross = monthly_gross(history, weights)
    rows = (cohort * history.period_months + np.arange(n_months)) % gross.size
    return BALANCE * np.cumprod(gross[rows])


@pytest.mark.parametrize(("series", "allocation", "cohorts"), [
    ("shiller_monthly", {"equities": 1.0}, "complete"),
    ("shiller_monthly", {"equities": 0.5, "bonds": 0.5}, "wrap"),
    ("damodaran_annual", {"equities": 1.0}, "wrap"),
    ("damodaran_annual", {"equities": 0.5, "bonds": 0.5}, "complete"),
])
def test_cohorts_reproduce_the_data_exactly(series: str, allocation: dict[str, float], cohorts: str) -> None:
    """Wealth is the initial balance times the product of the data's real gross returns, month by month, every cohort."""
    history = shipped(series)
    weights = {USUAL[series][asset]: weight for asset, weight in allocation.items()}
    result = simulate(history_profile(series, allocation, cohorts=cohorts))
    count = result.cohorts.count
    expected = np.array([cohort_wealth(history, weights, k, N_MONTHS) for k in range(count)])
    np.testing.assert_allclose(result.paths.terminal, expected[:, -1], rtol=1e-9, atol=0)
    np.testing.assert_allclose(result.paths.capital, expected[:, 119], rtol=1e-9, atol=0)  # retired at 50
    arrays = compile_profile(history_profile(series, allocation, cohorts=cohorts))
    for k in (0, 1, 37, count // 2, count - 1):  # the last one wraps around the end with cohorts = "wrap"
        _, fan, _ = run_paths(arrays, seed=0, first_path=k, n_paths=1, record_fan=True)
        np.testing.assert_allclose(fan[0], expected[k], rtol=1e-9, atol=0)
    if history.periods_per_year == 1 and len(weights) == 1:
        # Twelve months of an annual series compound to the year's real gross exactly.
        years = real_gross(history, "sp500")
        for k in (0, 5, count - 1):
            rows = (k + np.arange(N_MONTHS // 12)) % history.n_periods
            np.testing.assert_allclose(expected[k, 11::12], BALANCE * np.cumprod(years[rows]), rtol=1e-9, atol=0)


@pytest.mark.parametrize("series", ["shiller_monthly", "damodaran_annual"])
@pytest.mark.parametrize("ages", [(40, 50, 60), (40, 50, 70.5)])
def test_cohort_counts(series: str, ages: tuple[float, float, float]) -> None:
    history = shipped(series)
    n_rows, period = history.n_periods * history.period_months, history.period_months
    n_months = round(12 * (ages[2] - ages[0]))
    complete = simulate(history_profile(series, {"equities": 1.0}, ages=ages)).cohorts
    assert complete.count == (n_rows - n_months) // period + 1
    assert (complete.first, complete.last, complete.wrap) == (history.date(0), history.date(complete.count - 1), False)
    wrapped = simulate(history_profile(series, {"equities": 1.0}, ages=ages, cohorts="wrap"))
    assert wrapped.cohorts.count == wrapped.n_paths == history.n_periods
    assert wrapped.cohorts.last == history.date(history.n_periods - 1)


def test_a_horizon_longer_than_the_data_needs_wrap() -> None:
    ages = (0, 50, 100)  # 1,200 months; Damodaran's data has 97 years
    with pytest.raises(ParameterError) as caught:
        simulate(history_profile("damodaran_annual", {"equities": 1.0}, ages=ages))
    message = str(caught.value)
    assert message.startswith("market.history.cohorts: damodaran_annual (1928 to 2024) is shorter than the horizon")
    assert "\n" not in message and 'cohorts = "wrap"' in message
    assert simulate(history_profile("damodaran_annual", {"equities": 1.0}, ages=ages, cohorts="wrap")).n_paths == 97


# --- the stationary block bootstrap ---------------------------------------------------------------


def bootstrap_market(series: str, block_years: float) -> MarketArrays:
    profile = history_profile(series, {"equities": 0.5, "bonds": 0.5}, "bootstrap", block_years=block_years)
    return compile_profile(profile).market


def draws(market: MarketArrays, n_paths: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """What paths 0 .. n_paths - 1 see: real gross float64[n_paths, N_MONTHS, 2] and inflation [n_paths, N_MONTHS]."""
    pairs = [market_draws(np.uint64(seed), np.uint64(p), market, N_MONTHS) for p in range(n_paths)]
    return np.stack([pair[0] for pair in pairs]), np.stack([pair[1] for pair in pairs])


def rows_of(market: MarketArrays, gross: np.ndarray) -> np.ndarray:
    """The data row each month was read from, by its equities value (unique in both series' rows of a period)."""
    table = market.history_gross[:: market.period_months, 0]
    assert np.unique(table).size == table.size
    index = {value: row * market.period_months for row, value in enumerate(table)}
    return np.vectorize(index.__getitem__)(gross[..., 0])


def assert_same_moments(sample: np.ndarray, data: np.ndarray) -> None:
    """Mean and variance of ``sample`` (independent draws from ``data``) within 5 standard errors of the data's.

    The standard errors are the sampling distribution's: sqrt(var / n) for the mean,
    sqrt((mu4 - var^2) / n) for the variance (mu4 the data's fourth central moment).
    """
    n = sample.size
    mean, var = data.mean(), data.var()
    mu4 = ((data - mean) ** 4).mean()
    assert abs(sample.mean() - mean) < 5.0 * math.sqrt(var / n)
    assert abs(sample.var() - var) < 5.0 * math.sqrt((mu4 - var**2) / n)


@pytest.mark.parametrize(("series", "block_years", "n_paths"), [
    ("shiller_monthly", 1.0 / 12.0, 1000),  # 240,000 months drawn
    ("damodaran_annual", 1.0, 3000),  # 60,000 years drawn
])
def test_bootstrap_of_single_periods_has_the_data_moments(series: str, block_years: float, n_paths: int) -> None:
    history = shipped(series)
    market = bootstrap_market(series, block_years)
    assert market.new_block == 1.0  # a new block every period: independent draws of whole rows
    gross, inflation = draws(market, n_paths)
    period = history.period_months
    rows = rows_of(market, gross)[:, ::period]
    if period > 1:
        # An annual row spreads over its twelve months: every month of a drawn year is the same.
        for values in (gross, inflation):
            months = values.reshape(n_paths, N_MONTHS // period, period, -1)
            assert (months == months[:, :, :1]).all()
        gross, inflation = gross[:, ::period] ** period, inflation[:, ::period] ** period
    for k, column in enumerate(USUAL[series].values()):
        assert_same_moments(gross[..., k], real_gross(history, column))
    assert_same_moments(inflation, 1.0 + history.inflation)
    # Rows are drawn whole: the bonds and inflation of a draw are those of its equities' date.
    np.testing.assert_allclose(gross[..., 1], real_gross(history, USUAL[series]["bonds"])[rows // period], rtol=1e-12)
    np.testing.assert_allclose(inflation, 1.0 + history.inflation[rows // period], rtol=1e-12)


def lag1_autocorrelation(x: np.ndarray, mean: float) -> tuple[float, float]:
    """Lag-1 autocorrelation of the months of each path (rows), pooled, and its standard error over the paths.

    A ratio of sums over independent paths: its standard error is that of the path-level
    linearization ``(num_p - r den_p) / mean(den)``.
    """
    centred = x - mean
    num = (centred[:, :-1] * centred[:, 1:]).sum(axis=1)
    den = (centred[:, :-1] ** 2).sum(axis=1)
    r = num.sum() / den.sum()
    se = (num - r * den).std(ddof=1) / den.mean() / math.sqrt(x.shape[0])
    return float(r), float(se)


def test_long_blocks_keep_the_monthly_autocorrelation_single_months_lose_it() -> None:
    history = shipped("shiller_monthly")
    equities = real_gross(history, "equities")
    centred = equities - equities.mean()
    data_rho = float((centred * np.roll(centred, -1)).sum() / (centred**2).sum())  # circular, as the bootstrap reads
    assert data_rho > 0.2  # Shiller's monthly averages make consecutive months alike
    n_paths = 1000
    for block_years in (5.0, 1.0 / 12.0):
        market = bootstrap_market("shiller_monthly", block_years)
        rho, se = lag1_autocorrelation(draws(market, n_paths)[0][..., 0], equities.mean())
        # A pair of months is consecutive in the data unless a jump (probability p) lands elsewhere.
        p, n = market.new_block, history.n_periods
        expected = (1.0 - p + p / n) * data_rho
        assert abs(rho - expected) < 5.0 * se, (block_years, rho, expected, se)
        if block_years == 5.0:
            assert rho > 0.9 * data_rho
        else:
            assert abs(rho) < 5.0 * se


@pytest.mark.parametrize(("series", "block_years"), [("shiller_monthly", 5.0), ("damodaran_annual", 3.0)])
def test_mean_block_length_in_draws(series: str, block_years: float) -> None:
    """Jumps happen only at period starts, at the rate that gives a mean block of ``block_years``.

    A jump to the very next period cannot be told from no jump: the visible rate is p (1 - 1/n).
    The count of jumps is binomial: within 5 standard errors.
    """
    history = shipped(series)
    market = bootstrap_market(series, block_years)
    period, n_rows = history.period_months, market.history_inflation.size
    rows = rows_of(market, draws(market, 1000)[0])  # the row of each period's first month, repeated
    within = np.arange(1, N_MONTHS) % period != 0
    steps = np.diff(rows, axis=1)
    assert (steps[:, within] == 0).all()  # an annual period's months read its one row, no jump inside
    starts = rows[:, ::period]
    jumps = starts[:, 1:] != (starts[:, :-1] + period) % n_rows
    p = 1.0 / (block_years * history.periods_per_year)
    rate = p * (1.0 - 1.0 / history.n_periods)
    trials = jumps.size
    assert abs(jumps.sum() - trials * rate) < 5.0 * math.sqrt(trials * rate * (1.0 - rate))
    mean_block_years = trials / jumps.sum() / history.periods_per_year * (1.0 - 1.0 / history.n_periods)
    assert mean_block_years == pytest.approx(block_years, rel=0.1)


# --- the same paths whatever the threads and batches -------------------------------------------------


OUTCOMES = ("capital", "depletion", "terminal", "lived")


def assert_same_paths(one: Any, two: Any, n: int | None = None) -> None:
    for name in OUTCOMES:
        np.testing.assert_array_equal(getattr(one.paths, name)[:n], getattr(two.paths, name)[:n])


def spender() -> Profile:
    """The default household with a higher target: some cohorts, and some bootstrap paths, run out."""
    data = load_profile("default").model_dump(exclude_none=True)
    data["retirement"]["target_monthly_income"] = 4000
    return load_profile(data)


@pytest.mark.parametrize("market", ["bootstrap", "historical"])
def test_same_seed_same_paths_whatever_the_threads(market: str) -> None:
    one = simulate(spender(), 2000, seed=5, market=market, threads=1)
    two = simulate(spender(), 2000, seed=5, market=market, threads=2)
    assert_same_paths(one, two)
    assert 0.0 < one.success.estimate < 1.0, "the check must see both outcomes"
    if market == "historical":
        assert one.n_paths == one.cohorts.count != 2000  # one path a cohort, whatever n_paths


def test_adaptive_bootstrap_runs_equal_fixed_runs_path_by_path() -> None:
    adaptive = simulate(spender(), 400, seed=8, market="bootstrap", tolerance=0.02)
    assert adaptive.n_paths > 800  # it took several batches
    fixed = simulate(spender(), adaptive.n_paths, seed=8, market="bootstrap")
    assert_same_paths(adaptive, fixed)
    first = simulate(spender(), 400, seed=8, market="bootstrap")
    assert_same_paths(adaptive, first, 400)
    historical = simulate(spender(), 400, seed=8, market="historical", tolerance=0.02)
    assert historical.n_paths == historical.cohorts.count  # tolerance does not apply to cohorts


# --- profile mistakes, one line each ----------------------------------------------------------------


def default_data(**history: Any) -> dict[str, Any]:
    data = load_profile("default").model_dump(exclude_none=True)
    data["market"]["return_model"] = "bootstrap"
    data["market"]["history"] = history
    return data


def message(error: type[McsimError], call: Any, *args: Any) -> str:
    with pytest.raises(error) as caught:
        call(*args)
    text = str(caught.value)
    assert "\n" not in text and "\r" not in text
    return text


def simulate_data(data: dict[str, Any]) -> Any:
    return simulate(load_profile(data), 10, seed=0)


def test_asset_without_a_column() -> None:
    data = default_data()
    crypto = {"name": "crypto", "expected_return_pct": 20.0, "volatility_pct": 80.0}
    data["market"]["assets"] = [*data["market"]["assets"], crypto]
    del data["market"]["correlation"]
    assert message(ParameterError, simulate_data, data) == (
        "market.history.columns.crypto: asset 'crypto' has no column in shiller_monthly: map it to one of equities, bonds"
    )


def test_unknown_column_and_unknown_asset() -> None:
    assert message(ParameterError, simulate_data, default_data(columns={"equities": "stocks"})) == (
        "market.history.columns.equities: 'stocks' is not a column of shiller_monthly (columns: equities, bonds)"
    )
    assert message(ParameterError, simulate_data, default_data(series="damodaran_annual", columns={"gold": "gold"})) == (
        "market.history.columns.gold: unknown asset (market assets: equities, bonds)"
    )
    # Mapped to a column of the series, any asset name works.
    simulate_data(default_data(series="damodaran_annual", columns={"equities": "gold", "bonds": "tbill_3m"}))


def test_block_shorter_than_a_period() -> None:
    text = message(ParameterError, simulate_data, default_data(series="damodaran_annual", block_years=0.05))
    assert text.startswith("market.history.block_years: must be at least one period of damodaran_annual (a year;")
    simulate_data(default_data(series="shiller_monthly", block_years=0.1))  # 1.2 months
    cohorts = default_data(series="damodaran_annual", block_years=0.05)
    cohorts["market"]["return_model"] = "historical"
    simulate_data(cohorts)  # the cohorts have no blocks: the setting does not apply


def test_one_source_and_jst_needs_a_country() -> None:
    assert message(ProfileError, load_profile, default_data(series="damodaran_annual", file="x.csv")) == (
        "market.history.file: give one source of data: series, file or jst (got series and file)"
    )
    assert message(ProfileError, load_profile, default_data(jst="JSTdatasetR6.csv")).startswith(
        "market.history.country: is required with jst"
    )


def annual_csv(rows: list[tuple[int, float, float]]) -> str:
    return "year,equities,inflation\n" + "".join(f"{year},{r},{i}\n" for year, r, i in rows)


SERIES = [(1990 + k, round(0.3 * math.sin(k) + 0.05, 4), round(0.01 * (k % 5), 4)) for k in range(20)]


def test_a_gap_in_a_users_csv_surfaces_through_simulate(tmp_path: Path) -> None:
    path = tmp_path / "gappy.csv"
    path.write_text(annual_csv(SERIES[:7] + SERIES[8:]), encoding="utf-8")
    data = default_data(file=str(path), columns={"bonds": "equities"})
    text = message(ParameterError, simulate_data, data)
    assert text.startswith(f"market.history.file: {path}") and "row 8 (1998): expected 1997" in text


PROFILE_TOML = """\
[person]
current_age = 40
retirement_age = 50
life_expectancy = 60

[[accounts]]
name = "main"
type = "livret"
balance = 10000
allocation = { equities = 1.0 }

[retirement]
target_monthly_income = 0

[market]
return_model = "historical"

[[market.assets]]
name = "equities"
expected_return_pct = 6.0
volatility_pct = 15.0

[market.history]
file = "my_series.csv"
cohorts = "wrap"
"""


def test_a_relative_file_is_read_from_the_profiles_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plans, elsewhere = tmp_path / "plans", tmp_path / "elsewhere"
    plans.mkdir()
    elsewhere.mkdir()
    (plans / "household.toml").write_text(PROFILE_TOML, encoding="utf-8")
    (plans / "my_series.csv").write_text(annual_csv(SERIES), encoding="utf-8")
    (elsewhere / "my_series.csv").write_text(annual_csv([(y, 0.5, 0.0) for y, _, _ in SERIES]), encoding="utf-8")
    monkeypatch.chdir(elsewhere)  # a decoy of the same name here: the profile's folder must win
    profile = load_profile(Path("..") / "plans" / "household.toml")
    assert Path(profile.market.history.file).resolve() == (plans / "my_series.csv").resolve()
    result = simulate(profile)
    assert (result.cohorts.count, result.cohorts.first, result.cohorts.last) == (20, "1990", "2009")
    years = np.array([(1.0 + r) / (1.0 + i) for _, r, i in SERIES])
    assert result.paths.terminal[0] == pytest.approx(10_000 * years.prod(), rel=1e-9)
    assert result.paths.terminal[3] == pytest.approx(10_000 * years.prod(), rel=1e-9)  # wrapped: the same 20 years
