"""Household pools: the seeded sampler's ranges and consistency, and pools built from profiles."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mcsim.core.arrays import plan_arrays
from mcsim.core.errors import ParameterError
from mcsim.core.market import LOGNORMAL, RETURN_MODELS, lognormal_monthly
from mcsim.core.profile import ACCOUNT_TAX_ON_GAINS_PCT, Profile, embedded_profile_names, load_profile
from mcsim.env.household import MAX_CHARGES, SHARED_FIELDS, HouseholdPool, pool_from_profiles, sample_pool

from .conftest import make_profile

N = 2000
NAMES = embedded_profile_names()
LOGNORMAL_NAMES = [name for name in NAMES if load_profile(name).market.return_model == "lognormal"]


@pytest.fixture(scope="module")
def pool() -> HouseholdPool:
    return sample_pool(N, seed=7)


def assert_pools_equal(a: HouseholdPool, b: HouseholdPool) -> None:
    for name, value in a._asdict().items():
        other = getattr(b, name)
        if isinstance(value, np.ndarray):
            assert value.dtype == other.dtype, name
            np.testing.assert_array_equal(value, other, err_msg=name)
        else:
            assert value == other, name


# --- the sampler -----------------------------------------------------------------------------------


def test_same_seed_same_pool_and_different_seeds_differ() -> None:
    assert_pools_equal(sample_pool(300, seed=3, market_jitter=0.4), sample_pool(300, seed=3, market_jitter=0.4))
    a, b = sample_pool(300, seed=3), sample_pool(300, seed=4)
    for name in ("start_age", "wealth", "income", "equity", "target"):
        assert not np.array_equal(getattr(a, name), getattr(b, name)), name


def test_shapes_and_dtypes(pool: HouseholdPool) -> None:
    assert pool.size == N
    for name, value in pool._asdict().items():
        if isinstance(value, np.ndarray) and name not in SHARED_FIELDS:
            assert value.shape[0] == N, name
            assert np.all(np.isfinite(value)), name
    assert pool.n_accum.dtype == np.int64 and pool.n_decum.dtype == np.int64
    assert pool.charge_end.dtype == np.int64
    assert pool.charge_amount.shape == pool.charge_end.shape == (N, MAX_CHARGES)
    assert pool.plan_saving.shape == (N, pool.n_accum.max())
    assert pool.spending.shape == pool.needs.shape == (N, pool.n_decum.max())
    assert pool.drift.shape == pool.vol.shape == (N, 2)
    assert pool.chol.shape == (N, 2, 2)
    assert pool.model == LOGNORMAL


def test_ages_and_horizons(pool: HouseholdPool) -> None:
    start = pool.start_age
    assert start.min() >= 22.0 and start.max() <= 60.0
    np.testing.assert_allclose(start * 12, np.round(start * 12), atol=1e-9)  # whole months
    retirement = start + pool.n_accum / 12.0
    np.testing.assert_allclose(retirement, np.round(retirement), atol=1e-9)  # whole years
    assert retirement.min() >= 60.0 - 1e-9 and retirement.max() <= 70.0 + 1e-9
    assert np.all(retirement >= start + 2.0 - 1e-9)
    assert pool.n_accum.min() >= 24
    life = retirement + pool.n_decum / 12.0
    np.testing.assert_allclose(life, np.round(life), atol=1e-9)
    assert life.min() >= 85.0 - 1e-9 and life.max() <= 100.0 + 1e-9
    np.testing.assert_array_equal(pool.n_accum, np.round(12 * (np.round(retirement) - start)).astype(np.int64))
    np.testing.assert_array_equal(pool.n_decum, np.round(12 * (np.round(life) - np.round(retirement))).astype(np.int64))
    # The ranges are actually spanned, not a corner of them.
    assert start.min() < 25 and start.max() > 57
    assert retirement.min() <= 61 and retirement.max() >= 69


def test_capital_from_zero_to_millions(pool: HouseholdPool) -> None:
    wealth, basis = pool.wealth, pool.basis
    assert wealth.min() == 0.0
    assert (wealth == 0.0).sum() > N // 10
    assert (wealth > 1e6).sum() > 0
    assert wealth.max() <= 3e6 * (1 + 1e-12)
    assert np.all(basis >= 0.0) and np.all(basis <= wealth)
    assert np.all(basis[wealth == 0.0] == 0.0)


def test_income_target_pension_and_charges(pool: HouseholdPool) -> None:
    assert np.all(pool.income >= 800.0) and np.all(pool.income <= 25_000.0)
    assert np.all(pool.income_growth >= 1.0) and np.all(pool.income_growth < 1.01)
    assert np.all(pool.target > 0.0) and np.all(pool.pension > 0.0)
    assert np.all(pool.pension < pool.target)
    assert np.all(pool.charge_amount >= 0.0)
    assert np.all(pool.charge_end >= 0) and np.all(pool.charge_end <= pool.n_accum[:, None])


def test_needs_spending_and_plan_saving_are_padded(pool: HouseholdPool) -> None:
    months = np.arange(pool.needs.shape[1])
    inside = months[None, :] < pool.n_decum[:, None]
    expected_need = np.where(inside, np.maximum(0.0, pool.target - pool.pension)[:, None], 0.0)
    np.testing.assert_array_equal(pool.needs, expected_need)
    np.testing.assert_array_equal(pool.spending, np.where(inside, pool.target[:, None], 0.0))
    np.testing.assert_allclose(pool.need_total, pool.needs.sum(axis=1), rtol=1e-12)
    # Every household has at least one padded month of the longest horizon, except the longest.
    assert (~inside).any()
    saving_inside = np.arange(pool.plan_saving.shape[1])[None, :] < pool.n_accum[:, None]
    assert np.all(pool.plan_saving >= 0.0)
    assert np.all(pool.plan_saving[~saving_inside] == 0.0)
    # The plan saves a constant amount, at most the income.
    first = pool.plan_saving[:, :1]
    assert np.all(np.where(saving_inside, pool.plan_saving == first, True))
    assert np.all(first[:, 0] <= pool.income)


def test_allocation_fees_and_taxes(pool: HouseholdPool) -> None:
    assert np.all(pool.equity >= 0.0) and np.all(pool.equity <= 1.0)
    assert np.all(pool.fee_keep > 0.0) and np.all(pool.fee_keep <= 1.0)
    rates = np.array(sorted(set(ACCOUNT_TAX_ON_GAINS_PCT.values()))) / 100.0
    assert np.all(np.isclose(pool.tax_rate[:, None], rates[None, :], rtol=0, atol=1e-12).any(axis=1))
    assert len(np.unique(pool.tax_rate)) == len(rates)


def test_cholesky_factors_are_valid_correlations(pool: HouseholdPool) -> None:
    jittered = sample_pool(500, seed=2, market_jitter=1.0)
    for chol in (pool.chol, jittered.chol):
        assert np.all(chol[:, 0, 1] == 0.0)  # lower triangular
        corr = chol @ np.transpose(chol, (0, 2, 1))
        np.testing.assert_allclose(corr[:, 0, 0], 1.0, atol=1e-12)
        np.testing.assert_allclose(corr[:, 1, 1], 1.0, atol=1e-12)
        np.testing.assert_allclose(corr[:, 0, 1], corr[:, 1, 0], atol=1e-15)
        assert np.all(np.abs(corr[:, 0, 1]) <= 1.0)
        assert np.all(np.linalg.eigvalsh(corr) >= -1e-12)


def test_market_jitter_zero_gives_one_market() -> None:
    pool = sample_pool(200, seed=11, market_jitter=0.0)
    for name in ("drift", "vol", "chol", "inflation_drift", "inflation_vol"):
        value = getattr(pool, name)
        np.testing.assert_array_equal(value, np.broadcast_to(value[:1], value.shape), err_msg=name)
    np.testing.assert_allclose(pool.drift[0], [lognormal_monthly(0.07, 0.16)[0], lognormal_monthly(0.03, 0.06)[0]])
    np.testing.assert_allclose(pool.vol[0], [lognormal_monthly(0.07, 0.16)[1], lognormal_monthly(0.03, 0.06)[1]])
    np.testing.assert_allclose(pool.chol[0] @ pool.chol[0].T, [[1.0, 0.2], [0.2, 1.0]], atol=1e-12)


@pytest.mark.parametrize("jitter", [0.1, 1.0])
def test_market_jitter_varies_markets(jitter: float) -> None:
    pool = sample_pool(200, seed=11, market_jitter=jitter)
    for name in ("drift", "vol", "inflation_drift"):
        value = getattr(pool, name)
        assert len(np.unique(value.reshape(value.shape[0], -1), axis=0)) == value.shape[0], name
    rho = (pool.chol @ np.transpose(pool.chol, (0, 2, 1)))[:, 0, 1]
    assert len(np.unique(rho)) > 100
    assert np.all(np.abs(rho - 0.2) <= 0.3 * jitter + 1e-12)
    # Back to annual figures: each within its jitter band around the base market.
    mean = np.expm1(12 * pool.drift + 6 * pool.vol**2)
    sigma = (1 + mean) * np.sqrt(np.expm1(12 * pool.vol**2))
    tol = 1e-9
    assert np.all(np.abs(mean[:, 0] - 0.07) <= 0.02 * jitter + tol)
    assert np.all(np.abs(mean[:, 1] - 0.03) <= 0.01 * jitter + tol)
    assert np.all(np.abs(sigma[:, 0] - 0.16) <= 0.04 * jitter + tol)
    assert np.all(np.abs(sigma[:, 1] - 0.06) <= 0.02 * jitter + tol)
    assert np.ptp(mean[:, 0]) > jitter * 0.02  # the band is spanned
    # The households themselves do not depend on the jitter.
    plain = sample_pool(200, seed=11, market_jitter=0.0)
    np.testing.assert_array_equal(pool.start_age, plain.start_age)


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "3", None, 2_000_000])
def test_bad_n_is_refused(n: Any) -> None:
    with pytest.raises(ParameterError) as error:
        sample_pool(n)
    assert error.value.name == "n"


@pytest.mark.parametrize("jitter", [-0.1, 1.5, float("nan"), float("inf"), "0.5", None])
def test_bad_market_jitter_is_refused(jitter: Any) -> None:
    with pytest.raises(ParameterError) as error:
        sample_pool(10, market_jitter=jitter)
    assert error.value.name == "market_jitter"


def test_sampler_accepts_one_household_and_numpy_integers() -> None:
    one = sample_pool(1, seed=0)
    assert one.size == 1 and one.needs.shape == (1, one.n_decum[0])
    assert sample_pool(np.int64(5), seed=0).size == 5


# --- pools from profiles ---------------------------------------------------------------------------


def _asset(profile: Profile, name: str) -> Any:
    return next(asset for asset in profile.market.assets if asset.name == name)


@pytest.mark.parametrize("name", NAMES)
def test_pool_from_each_embedded_profile(name: str) -> None:
    profile = load_profile(name)
    plan = plan_arrays(profile)
    pool = pool_from_profiles([name])
    assert pool.size == 1
    assert pool.start_age[0] == profile.person.current_age
    assert pool.n_accum[0] == plan.contributions.size and pool.n_decum[0] == plan.needs.size
    assert pool.wealth[0] == pytest.approx(sum(account.balance for account in profile.accounts), rel=1e-12)
    assert pool.basis[0] == pytest.approx(sum(account.basis for account in profile.accounts), rel=1e-12)
    assert pool.basis[0] <= pool.wealth[0]
    np.testing.assert_array_equal(pool.plan_saving[0, : plan.contributions.size], plan.contributions)
    np.testing.assert_array_equal(pool.needs[0, : plan.needs.size], plan.needs)
    assert pool.need_total[0] == pytest.approx(plan.needs.sum(), rel=1e-12)
    assert pool.income[0] == profile.income.monthly_net
    assert pool.target[0] == profile.retirement.target_monthly_income
    assert pool.pension[0] == profile.retirement.state_pension_monthly
    assert pool.model == RETURN_MODELS[profile.market.return_model]
    assert pool.t_df == profile.market.student_t_df
    # The market: equities and bonds from the profile's own assets and correlation.
    names = [asset.name for asset in profile.market.assets]
    for k, asset_name in enumerate(("equities", "bonds")):
        asset = _asset(profile, asset_name)
        drift, vol = lognormal_monthly(asset.expected_return_pct / 100.0, asset.volatility_pct / 100.0)
        assert pool.drift[0, k] == pytest.approx(drift, rel=1e-12)
        assert pool.vol[0, k] == pytest.approx(vol, rel=1e-12)
    assert profile.market.correlation is not None
    rho = profile.market.correlation[names.index("equities")][names.index("bonds")]
    np.testing.assert_allclose(pool.chol[0] @ pool.chol[0].T, [[1.0, rho], [rho, 1.0]], atol=1e-12)
    inflation = lognormal_monthly(profile.market.inflation_mean_pct / 100.0, profile.market.inflation_volatility_pct / 100.0)
    assert (pool.inflation_drift[0], pool.inflation_vol[0]) == pytest.approx(inflation, rel=1e-12)
    # The pooled portfolio: balance-weighted (contribution-weighted without capital) equity, fee, tax.
    balances = plan.balances
    weights = balances / balances.sum() if balances.sum() > 0 else plan.split
    equity = plan.allocation[:, names.index("equities")]
    assert pool.equity[0] == pytest.approx(float(weights @ equity), rel=1e-12)
    assert 0.0 <= pool.equity[0] <= 1.0
    assert pool.fee_keep[0] == pytest.approx(float(weights @ plan.fee_keep), rel=1e-12)
    assert pool.tax_rate[0] == pytest.approx(float(weights @ plan.tax_rate), rel=1e-12)


def test_pool_equity_share_of_the_default_profile_by_hand() -> None:
    # livret A: 8000 in bonds; PEA: 12000 at 90% equities.
    pool = pool_from_profiles(["default"])
    assert pool.equity[0] == pytest.approx(12000 * 0.9 / 20000, rel=1e-12)
    assert pool.wealth[0] == 20000.0 and pool.basis[0] == 18000.0


def test_pool_of_several_profiles_pads_to_the_longest_horizon() -> None:
    names = LOGNORMAL_NAMES
    assert len(names) >= 3
    pool = pool_from_profiles(names)
    plans = [plan_arrays(load_profile(name)) for name in names]
    longest_accum = max(plan.contributions.size for plan in plans)
    longest_decum = max(plan.needs.size for plan in plans)
    assert pool.plan_saving.shape == (len(names), longest_accum)
    assert pool.needs.shape == pool.spending.shape == (len(names), longest_decum)
    for i, plan in enumerate(plans):
        n_accum, n_decum = plan.contributions.size, plan.needs.size
        np.testing.assert_array_equal(pool.plan_saving[i, :n_accum], plan.contributions)
        assert np.all(pool.plan_saving[i, n_accum:] == 0.0)
        np.testing.assert_array_equal(pool.needs[i, :n_decum], plan.needs)
        assert np.all(pool.needs[i, n_decum:] == 0.0)
        assert np.all(pool.spending[i, n_decum:] == 0.0)
        single = pool_from_profiles([names[i]])
        for field in ("start_age", "wealth", "basis", "equity", "fee_keep", "tax_rate", "drift", "vol", "chol"):
            np.testing.assert_array_equal(getattr(pool, field)[i], getattr(single, field)[0], err_msg=field)
    # Different horizons, so some rows really are padded.
    assert len({plan.contributions.size for plan in plans}) > 1
    assert len({plan.needs.size for plan in plans}) > 1


def test_pool_spending_less_needs_is_the_other_income() -> None:
    for name in LOGNORMAL_NAMES:
        pool = pool_from_profiles([name])
        n = pool.n_decum[0]
        other = pool.spending[0, :n] - pool.needs[0, :n]
        assert np.all(other >= -1e-9), name


def test_pool_spending_and_needs_agree_with_a_fractional_current_age() -> None:
    # A spending phase from retirement on, with a current age that is not a whole number of months
    # before retirement: the spending ratio and the needs (plan_arrays) must use the same months.
    profile = make_profile(**{
        "person.current_age": 40.05,
        "plan.savings": [],
        "retirement.spending_phases": [{"from_age": 50, "to_age": 60, "ratio": 0.05}],
    })
    pool = pool_from_profiles([profile])
    plan = plan_arrays(profile)
    np.testing.assert_array_equal(pool.needs[0], plan.needs)
    n = pool.n_decum[0]
    pension = profile.retirement.state_pension_monthly
    # needs = max(0, spending - pension), month by month.
    np.testing.assert_allclose(pool.needs[0, :n], np.maximum(0.0, pool.spending[0, :n] - pension), atol=1e-9)


def test_take_returns_the_rows_trimmed() -> None:
    pool = pool_from_profiles(LOGNORMAL_NAMES)
    indices = [2, 0]
    taken = pool.take(indices)
    assert taken.size == 2
    max_accum = int(pool.n_accum[indices].max())
    max_decum = int(pool.n_decum[indices].max())
    for name, value in pool._asdict().items():
        got = getattr(taken, name)
        if not isinstance(value, np.ndarray):
            assert got == value, name
            continue
        if name in SHARED_FIELDS:
            assert got is value, name
            continue
        expected = value[indices]
        if name == "plan_saving":
            expected = expected[:, :max_accum]
        elif name in ("spending", "needs", "other_income"):
            expected = expected[:, :max_decum]
        elif name == "survival":
            expected = expected[:, : int((pool.n_accum + pool.n_decum)[indices].max())]
        np.testing.assert_array_equal(got, expected, err_msg=name)
        assert got.flags.c_contiguous, name
    np.testing.assert_allclose(taken.need_total, taken.needs.sum(axis=1), rtol=1e-12)
    one = pool.take(np.array([1]))
    assert one.plan_saving.shape == (1, pool.n_accum[1]) and one.needs.shape == (1, pool.n_decum[1])


def test_take_of_a_sampled_pool() -> None:
    pool = sample_pool(50, seed=5, market_jitter=0.5)
    indices = np.array([49, 3, 3, 10])
    taken = pool.take(indices)
    np.testing.assert_array_equal(taken.start_age, pool.start_age[indices])
    np.testing.assert_array_equal(taken.drift, pool.drift[indices])
    np.testing.assert_array_equal(taken.needs, pool.needs[indices, : pool.n_decum[indices].max()])
    np.testing.assert_allclose(taken.need_total, taken.needs.sum(axis=1), rtol=1e-12)


def test_pool_from_profiles_refuses_mixed_models_and_empty_lists() -> None:
    with pytest.raises(ParameterError) as error:
        pool_from_profiles([])
    assert error.value.name == "profiles"
    mixed = [name for name in NAMES if name not in LOGNORMAL_NAMES][:1] + LOGNORMAL_NAMES[:1]
    assert len(mixed) == 2
    with pytest.raises(ParameterError) as error:
        pool_from_profiles(mixed)
    assert error.value.name == "profiles"


def test_pool_from_profiles_refuses_too_many_charges() -> None:
    charges = [{"name": f"c{i}", "monthly_amount": 10, "until_age": 45} for i in range(MAX_CHARGES + 1)]
    profile = make_profile(**{"income.charges": charges})
    with pytest.raises(ParameterError) as error:
        pool_from_profiles([profile])
    assert error.value.name == "income"
    fits = make_profile(**{"income.charges": charges[:MAX_CHARGES]})
    pool = pool_from_profiles([fits])
    np.testing.assert_array_equal(pool.charge_amount[0], [10.0] * MAX_CHARGES)
    np.testing.assert_array_equal(pool.charge_end[0], [60] * MAX_CHARGES)
