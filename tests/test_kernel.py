"""The Monte Carlo kernel against the NumPy reference and closed forms."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from mcsim.core.arrays import compile_profile
from mcsim.core.kernels import NOT_DEPLETED, market_draws
from mcsim.core.market import lognormal_monthly
from mcsim.core.profile import load_profile
from mcsim.core.simulation import run_paths

from .conftest import make_profile
from .reference import run_reference, simulate_reference

MULTI_ACCOUNT_PROFILES = ["default", "mid_career_family", "late_starter", "crypto_holder"]


def kernel_draws(arrays, seed: int, n_paths: int) -> tuple[np.ndarray, np.ndarray]:
    draws = [market_draws(np.uint64(seed), np.uint64(p), arrays.market, arrays.n_months) for p in range(n_paths)]
    return np.stack([d[0] for d in draws]), np.stack([d[1] for d in draws])


@pytest.mark.parametrize("name", MULTI_ACCOUNT_PROFILES)
def test_kernel_matches_reference_path_by_path(name: str) -> None:
    """Fed the kernel's own draws, the reference reproduces every path: capital, depletion, terminal, fan."""
    arrays = compile_profile(load_profile(name))
    outcomes, fan, _ = run_paths(arrays, seed=11, first_path=0, n_paths=300, record_fan=True)
    capital, depletion, terminal, wealth = run_reference(arrays, *kernel_draws(arrays, 11, 300))
    np.testing.assert_allclose(outcomes.capital, capital, rtol=1e-10)
    np.testing.assert_array_equal(outcomes.depletion, depletion)
    np.testing.assert_allclose(outcomes.terminal, terminal, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(fan, wealth, rtol=1e-6, atol=1e-3)
    assert 0 < (depletion != NOT_DEPLETED).mean() < 1, "the check must see both outcomes"


@pytest.mark.parametrize("name", MULTI_ACCOUNT_PROFILES)
def test_kernel_agrees_with_reference_statistically(name: str) -> None:
    """On independent random numbers (NumPy's PCG64), statistics agree within Monte Carlo error."""
    arrays = compile_profile(load_profile(name))
    n = 20_000
    outcomes, _, _ = run_paths(arrays, seed=5, first_path=0, n_paths=n)
    capital, depletion, terminal, _ = simulate_reference(arrays, n, seed=5)
    se_mean = math.sqrt((outcomes.capital.var() + capital.var()) / n)
    assert abs(outcomes.capital.mean() - capital.mean()) < 4.5 * se_mean
    log_kernel, log_ref = np.log(outcomes.capital), np.log(capital)
    se_median = 1.2533 * math.sqrt((log_kernel.var() + log_ref.var()) / n)
    assert abs(np.median(log_kernel) - np.median(log_ref)) < 4.5 * se_median
    p_kernel = (outcomes.depletion == NOT_DEPLETED).mean()
    p_ref = (depletion == NOT_DEPLETED).mean()
    se_p = math.sqrt((p_kernel * (1 - p_kernel) + p_ref * (1 - p_ref)) / n)
    assert abs(p_kernel - p_ref) < 4.5 * se_p + 1e-12


def test_zero_volatility_is_compound_interest_exactly() -> None:
    """No volatility anywhere: capital, terminal wealth and depletion month follow the closed forms."""
    profile = make_profile(**{
        "market.assets.0.volatility_pct": 0.0,
        "accounts.0.fee_pct": 0.5,
        "retirement.target_monthly_income": 1600,
    })
    arrays = compile_profile(profile)
    outcomes, _, _ = run_paths(arrays, seed=1, first_path=0, n_paths=4)
    growth = (1.06 / 1.02) ** (1 / 12) * (1 - 0.005) ** (1 / 12)
    n, c, w0 = 120, 500.0, 10_000.0
    capital = w0 * growth**n + c * (growth**n - 1) / (growth - 1)
    np.testing.assert_allclose(outcomes.capital, capital, rtol=1e-9)
    need, k = 600.0, 120
    terminal = capital * growth**k - need * (growth**k - 1) / (growth - 1)
    assert terminal > 0
    np.testing.assert_allclose(outcomes.terminal, terminal, rtol=1e-9)
    assert (outcomes.depletion == NOT_DEPLETED).all()


def test_zero_volatility_depletion_month_matches_annuity_formula() -> None:
    """A need too large for the capital runs out in the month the annuity formula says."""
    profile = make_profile(**{
        "market.assets.0.volatility_pct": 0.0,
        "retirement.target_monthly_income": 4000,
    })
    arrays = compile_profile(profile)
    outcomes, _, _ = run_paths(arrays, seed=1, first_path=0, n_paths=2)
    growth = (1.06 / 1.02) ** (1 / 12)
    capital = 10_000.0 * growth**120 + 500.0 * (growth**120 - 1) / (growth - 1)
    need = 3000.0
    # Wealth after j withdrawals: capital * g^j - need * (g^j - 1) / (g - 1); the first month that
    # cannot be paid is the first j with capital * g^j - need * (g^(j-1) - 1)/(g - 1) * g < need.
    wealth, month = capital, 0
    while True:
        wealth *= growth
        if wealth <= need:
            break
        wealth -= need
        month += 1
    assert (outcomes.depletion == 120 + month).all()
    assert (outcomes.terminal == 0).all()


@pytest.mark.parametrize("model", ["lognormal", "student_t"])
def test_tax_on_gains_zero_volatility(model: str) -> None:
    """A taxed account pays tax on the nominal gains share of each withdrawal."""
    profile = make_profile(**{
        "market.assets.0.volatility_pct": 0.0,
        "market.return_model": model,
        "accounts.0.type": "cto",
        "accounts.0.cost_basis": 10_000,
        "plan.savings": [],
        "person.retirement_age": 41,
        "person.life_expectancy": 41 + 1 / 12,
        "retirement.target_monthly_income": 1000,
        "retirement.state_pension_monthly": 0,
    })
    arrays = compile_profile(profile)
    outcomes, _, _ = run_paths(arrays, seed=1, first_path=0, n_paths=1)
    nominal, inflation = 1.06 ** (1 / 12), 1.02 ** (1 / 12)
    balance = 10_000.0 * (nominal / inflation) ** 13
    price = inflation**13
    gains_share = 1 - 10_000.0 / (balance * price)
    gross = 1000.0 / (1 - 0.30 * gains_share)
    np.testing.assert_allclose(outcomes.terminal, balance - gross, rtol=1e-12)


def test_lump_sum_lognormal_median_and_quantiles() -> None:
    """A lump sum under constant lognormal returns: analytic median, p10, p90 and mean at 100k paths."""
    years = 20
    profile = make_profile(**{
        "person.current_age": 40,
        "person.retirement_age": 40 + years,
        "person.life_expectancy": 61,
        "market.inflation_mean_pct": 0.0,
        "market.assets.0.expected_return_pct": 7.0,
        "market.assets.0.volatility_pct": 18.0,
        "plan.savings": [],
        "accounts.0.balance": 100_000,
    })
    arrays = compile_profile(profile)
    n = 100_000
    outcomes, _, _ = run_paths(arrays, seed=2024, first_path=0, n_paths=n)
    m, s = lognormal_monthly(0.07, 0.18)
    months = 12 * years
    log_mean, log_sd = months * m, math.sqrt(months) * s
    log_capital = np.log(outcomes.capital / 100_000)
    for q in (0.1, 0.5, 0.9):
        z = NormalDist().inv_cdf(q)
        expected = log_mean + log_sd * z
        se = log_sd * math.sqrt(q * (1 - q) / n) / NormalDist().pdf(z)
        assert abs(np.quantile(log_capital, q) - expected) < 4 * se, q
    mean = 100_000 * 1.07**years
    se_mean = outcomes.capital.std() / math.sqrt(n)
    assert abs(outcomes.capital.mean() - mean) < 4 * se_mean


def test_normal_model_mean_per_month() -> None:
    """The normal model's monthly arithmetic return has mean (1 + mu)^(1/12) - 1 and sd sigma / sqrt(12)."""
    profile = make_profile(**{"market.return_model": "normal", "market.inflation_mean_pct": 0.0})
    arrays = compile_profile(profile)
    real_gross, _ = market_draws(np.uint64(3), np.uint64(0), arrays.market, 200_000)
    monthly = real_gross[:, 0] - 1
    assert abs(monthly.mean() - (1.06 ** (1 / 12) - 1)) < 4 * monthly.std() / math.sqrt(monthly.size)
    assert abs(monthly.std() - 0.15 / math.sqrt(12)) < 0.01 * 0.15 / math.sqrt(12)


def test_correlation_is_applied() -> None:
    """Correlated assets' log-returns show the requested correlation."""
    profile = make_profile(**{
        "market.assets": [
            {"name": "equities", "expected_return_pct": 7, "volatility_pct": 16},
            {"name": "bonds", "expected_return_pct": 3, "volatility_pct": 6},
            {"name": "gold", "expected_return_pct": 4, "volatility_pct": 14},
        ],
        "market.correlation": [[1, 0.6, -0.3], [0.6, 1, 0.1], [-0.3, 0.1, 1]],
    })
    arrays = compile_profile(profile)
    real_gross, _ = market_draws(np.uint64(9), np.uint64(0), arrays.market, 200_000)
    corr = np.corrcoef(np.log(real_gross).T)
    np.testing.assert_allclose(corr, np.array([[1, 0.6, -0.3], [0.6, 1, 0.1], [-0.3, 0.1, 1]]), atol=0.01)


def test_exp_in_place_matches_numpy_to_the_last_bits() -> None:
    from mcsim.core.kernels import exp_in_place

    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 0.3, 100_000), np.linspace(-700, 700, 100_001), [0.0, -0.0, 1e-300]])
    result = values.copy()
    exp_in_place(result, np.empty(values.size, dtype=np.int64))
    np.testing.assert_allclose(result, np.exp(values), rtol=3e-16, atol=0)
    clamped = np.array([-1e6, 1e6, -np.inf, np.inf])
    exp_in_place(clamped, np.empty(4, dtype=np.int64))
    assert np.isfinite(clamped).all() and clamped[0] == clamped[2] == np.exp(-700.0)
