"""Withdrawal rules in the kernel: bit-for-bit ``target``, hand-computed zero-volatility cases, properties.

The hand-computed cases follow the formulas of :mod:`mcsim.core.withdrawal` (its module docstring)
and the order of a retirement month in :func:`mcsim.core.kernels.retire` (decide at the year's start
from the balance then, grow, pay), written out in plain Python floats; they share no code with the
kernel. Tax is zero, so what the household receives is what leaves the portfolio.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcsim.core.arrays import compile_profile
from mcsim.core.errors import ProfileError
from mcsim.core.kernels import NOT_DEPLETED, market_draws
from mcsim.core.profile import WITHDRAWAL_PARAMETERS, Profile, embedded_profile_names, profile_from_dict
from mcsim.core.simulation import run_paths, simulate

from .conftest import BASE

# --- 1. target reproduces the kernel before the withdrawal rules, bit for bit ------------------------

# sha256(capital + depletion + terminal bytes of simulate(name, 3000, 7, fan=True).paths), first 16
# hex digits, computed with the kernel before the withdrawal rules: commit daf3d53, the parent of
# e618d6b which added them (checked again on a clean `git archive daf3d53` of mcsim).
GOLDEN = {
    "default": "ea77affeec04fb1e",
    "crypto_holder": "3b2654f520d7f7e3",
    "late_starter": "1b6047a0ca2f70dc",
    "mid_career_family": "bdece10e72c2cac6",
    "young_saver": "f56cf4ed9abd31fa",
}


def test_golden_covers_every_embedded_profile() -> None:
    assert sorted(GOLDEN) == sorted(embedded_profile_names())


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_target_reproduces_the_previous_kernel_bit_for_bit(name: str) -> None:
    result = simulate(name, 3000, 7, fan=True)
    assert result.withdrawal == "target" and result.mortality == "fixed"
    paths = result.paths
    arrays = [np.ascontiguousarray(a) for a in (paths.capital, paths.depletion, paths.terminal)]
    assert [a.dtype for a in arrays] == [np.float64, np.int64, np.float64]
    digest = hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()[:16]
    assert digest == GOLDEN[name]


# --- 2. each rule against a hand-computed case with zero volatility ---------------------------------

START_AGE, RETIREMENT_AGE = 64.0, 65.0
N_ACCUM = 12
BALANCE = 1_000_000.0


def flat_profile(
    rule: str, *, nominal: float = 5.0, bonds: float = 3.0, inflation: float = 2.0, years: int = 30,
    pension: float = 0.0, target: float = 3000.0, phases: list[dict[str, float]] | None = None,
    tax_pct: float = 0.0, **parameters: Any,
) -> Profile:
    """One account, all in equities, no volatility, no fee, no saving, no latent gain: a year from retirement."""
    return profile_from_dict({
        "name": "flat",
        "person": {"current_age": START_AGE, "retirement_age": RETIREMENT_AGE, "life_expectancy": RETIREMENT_AGE + years},
        "accounts": [{
            "name": "main", "type": "cto", "balance": BALANCE, "allocation": {"equities": 1.0},
            "tax_on_gains_pct": tax_pct,
        }],
        "retirement": {
            "target_monthly_income": target, "state_pension_monthly": pension,
            "spending_phases": phases or [],
            "withdrawal": {"rule": rule, **parameters},
        },
        "market": {
            "assets": [
                {"name": "equities", "expected_return_pct": nominal, "volatility_pct": 0.0},
                {"name": "bonds", "expected_return_pct": bonds, "volatility_pct": 0.0},
            ],
            "inflation_mean_pct": inflation,
            "inflation_volatility_pct": 0.0,
        },
    })


def monthly_factors(nominal: float, inflation: float) -> tuple[float, float]:
    """(real monthly gross, monthly inflation factor) with no volatility.

    With sigma = 0 the lognormal model's monthly log-return is ln(1 + mu) / 12 (docstring of
    :mod:`mcsim.core.market`), deflated by the monthly inflation factor exp(ln(1 + pi) / 12).
    """
    log_inflation = math.log1p(inflation / 100.0) / 12.0
    return math.exp(math.log1p(nominal / 100.0) / 12.0 - log_inflation), math.exp(log_inflation)


Decide = Callable[[int, float, float], float]


def replay(
    decide: Decide, *, nominal: float, inflation: float, years: int, pension: float, final: int = -1,
    tax: float = 0.0, net: bool = False,
) -> tuple[list[float], list[float], int]:
    """One deterministic path from the profile of :func:`flat_profile`.

    ``decide(year, balance at its start, price level then)`` is the year's amount (euros of today):
    what the household receives when ``net`` (target, merton: the tax is added on top), else what
    leaves the portfolio (the tax on its gains share is taken from it). ``final`` is the month by
    which the rule spends everything (vpw, merton: the last year's balance is spread evenly over
    its months, gross). Returns each year's spending x 12 (amount received plus pensions), the
    wealth at the end of every retirement month, and the depletion month (or -1).
    """
    g, inflation_factor = monthly_factors(nominal, inflation)
    balance, price = BALANCE, 1.0
    basis = BALANCE  # nominal euros: the cost basis is the opening balance
    for _ in range(N_ACCUM):
        balance *= g
        price *= inflation_factor
    spending: list[float] = []
    wealth: list[float] = []
    depleted = -1
    received = monthly = 0.0
    n_months = 12 * years
    for j in range(n_months):
        if j % 12 == 0:
            monthly = decide(j // 12, balance, price) / 12.0
            received = 0.0
        price *= inflation_factor
        balance *= g
        need = monthly
        spreading = final >= 0 and final - 12 * (j // 12) <= 12
        if spreading:
            need = balance / max(final - j, 1)
        if need > 0.0 and depleted < 0 and balance > 0.0:
            # The tax is on the gains share of what leaves the account.
            kept_per_gross = 1.0 - tax * max(0.0, 1.0 - basis / (balance * price))
            gross = need / kept_per_gross if net and not spreading else need
            short = gross > balance * (1.0 + 1e-9) if not net or spreading else gross > balance
            if gross >= balance * (1.0 - 1e-9):
                received += balance * kept_per_gross
                balance = basis = 0.0
                if short:
                    depleted = j
            else:
                received += gross * kept_per_gross
                keep = 1.0 - gross / balance
                balance *= keep
                basis *= keep
        received += pension
        wealth.append(balance)
        if j % 12 == 11:
            spending.append(received)
    return spending, wealth, depleted


def kernel_run(profile: Profile, n_paths: int = 3) -> tuple[Any, np.ndarray, np.ndarray]:
    arrays = compile_profile(profile)
    outcomes, fan, spending = run_paths(arrays, 3, 0, n_paths, record_fan=True, record_spending=True)
    return outcomes, fan[:, arrays.n_accum:], spending


def assert_replayed(profile: Profile, decide: Decide, *, final: int = -1) -> list[float]:
    """The kernel's yearly spending x 12 equals the replay's to the cent, on every path; returns the replay's."""
    market = profile.market
    nominal, inflation = market.assets[0].expected_return_pct, market.inflation_mean_pct
    years = round(profile.person.horizon_age - profile.person.retirement_age)
    pension = profile.retirement.state_pension_monthly
    expected, wealth, depleted = replay(
        decide, nominal=nominal, inflation=inflation, years=years, pension=pension, final=final,
        tax=profile.accounts[0].tax_rate, net=profile.retirement.withdrawal.rule in ("target", "merton"),
    )
    outcomes, fan, spending = kernel_run(profile)
    g = monthly_factors(nominal, inflation)[0]
    np.testing.assert_allclose(outcomes.capital, BALANCE * g**N_ACCUM, rtol=1e-12)
    for path in range(spending.shape[0]):
        np.testing.assert_allclose(spending[path] * 12.0, expected, rtol=0, atol=0.01)
        np.testing.assert_allclose(fan[path], wealth, rtol=1e-9, atol=0.01)
    expected_depletion = NOT_DEPLETED if depleted < 0 else N_ACCUM + depleted
    assert (outcomes.depletion == expected_depletion).all()
    return expected


# Markets: real return positive (5% nominal, 2% inflation), strongly positive, negative in real
# terms only (1% nominal, 3% inflation), and negative in nominal terms (-4% nominal, 2% inflation).
MARKETS = {"mild": (5.0, 2.0), "boom": (14.0, 2.0), "real_loss": (1.0, 3.0), "nominal_loss": (-4.0, 2.0)}


def rate_of(profile: Profile, name: str = "rate_pct") -> float:
    return float(profile.retirement.withdrawal.parameter(name)) / 100.0


@pytest.mark.parametrize("pension", [0.0, 800.0])
@pytest.mark.parametrize("market", ["mild", "nominal_loss"])
def test_target_by_hand(market: str, pension: float) -> None:
    """The target (and its spending phases) net of the pension, until the money runs out."""
    nominal, inflation = MARKETS[market]
    profile = flat_profile(
        "target", nominal=nominal, inflation=inflation, pension=pension, target=4500.0,
        phases=[{"from_age": 75.0, "to_age": 95.0, "ratio": 0.8}],
    )

    def decide(year: int, balance: float, price: float) -> float:
        target = 4500.0 * (0.8 if year >= 10 else 1.0)
        return 12.0 * max(0.0, target - pension)

    spent = assert_replayed(profile, decide)
    if market == "nominal_loss":
        assert spent[-1] == pytest.approx(12 * pension), "this case must run out of money"


def constant_dollar(rate: float) -> Decide:
    first: list[float] = []

    def decide(year: int, balance: float, price: float) -> float:
        if year == 0:
            first.append(rate * balance)
        return first[0]

    return decide


def merton(gamma: float, discount: float, real_gross: float, safe_gross: float, years: int, pension: float) -> Decide:
    """Samuelson's share of wealth plus the pensions' present value (this year's included), less this year's."""
    shares = samuelson_shares(gamma, discount, real_gross, years)
    yearly_pension = 12.0 * pension

    def decide(year: int, balance: float, price: float) -> float:
        later = sum(yearly_pension / safe_gross**k for k in range(1, years - year))
        return max(0.0, shares[year] * (balance + later + yearly_pension) - yearly_pension)

    return decide


@pytest.mark.parametrize("pension", [0.0, 800.0])
@pytest.mark.parametrize("market", list(MARKETS))
def test_constant_dollar_by_hand(market: str, pension: float) -> None:
    nominal, inflation = MARKETS[market]
    profile = flat_profile("constant_dollar", nominal=nominal, inflation=inflation, pension=pension, rate_pct=4.5)
    spent = assert_replayed(profile, constant_dollar(0.045))
    assert spent[0] == pytest.approx(0.045 * BALANCE * monthly_factors(nominal, inflation)[0] ** 12 + 12 * pension)


@pytest.mark.parametrize("pension", [0.0, 800.0])
@pytest.mark.parametrize("market", list(MARKETS))
def test_constant_percent_by_hand(market: str, pension: float) -> None:
    nominal, inflation = MARKETS[market]
    profile = flat_profile("constant_percent", nominal=nominal, inflation=inflation, pension=pension, rate_pct=6.0)
    assert_replayed(profile, lambda year, balance, price: 0.06 * balance)


def guyton_klinger(
    rate: float, guardrail: float, adjustment: float, protect_years: float, years: int, nominal: float,
    events: list[str] | None = None,
) -> Decide:
    """Guyton-Klinger as documented; a year's portfolio return is its nominal total return."""
    state: dict[str, float] = {}
    losing = nominal < 0.0  # zero volatility: every year has the same nominal return

    def decide(year: int, balance: float, price: float) -> float:
        if year == 0:
            amount = rate * balance
        else:
            amount = state["last"]
            if losing:
                amount /= price / state["price"]  # no inflation raise: the real amount falls by inflation
            if balance > 0.0:
                current = amount / balance
                if current > rate * (1 + guardrail) and 12 * (years - year) > round(12 * protect_years):
                    amount *= 1 - adjustment
                    if events is not None:
                        events.append("cut")
                elif current < rate * (1 - guardrail):
                    amount *= 1 + adjustment
                    if events is not None:
                        events.append("raise")
        state["last"], state["price"] = amount, price
        return amount

    return decide


@pytest.mark.parametrize("pension", [0.0, 800.0])
@pytest.mark.parametrize(
    ("market", "parameters", "expected_events"),
    [
        ("mild", {"rate_pct": 3.5}, set()),
        ("mild", {}, {"cut"}),
        ("boom", {}, {"raise"}),
        ("nominal_loss", {}, {"cut"}),
        ("nominal_loss", {"rate_pct": 6.0, "guardrail_pct": 10.0, "adjustment_pct": 15.0, "protect_years": 5}, {"cut"}),
        ("real_loss", {"rate_pct": 5.5, "protect_years": 20}, {"cut"}),
        ("boom", {"rate_pct": 3.0, "guardrail_pct": 5.0, "adjustment_pct": 2.0, "protect_years": 0}, {"raise"}),
    ],
)
def test_guyton_klinger_by_hand(market: str, parameters: dict[str, float], expected_events: set[str], pension: float) -> None:
    """Guardrail cuts (capital preservation) and raises (prosperity), the freeze after a losing year."""
    nominal, inflation = MARKETS[market]
    profile = flat_profile("guyton_klinger", nominal=nominal, inflation=inflation, pension=pension, **parameters)
    events: list[str] = []
    decide = guyton_klinger(
        rate_of(profile), rate_of(profile, "guardrail_pct"), rate_of(profile, "adjustment_pct"),
        float(profile.retirement.withdrawal.parameter("protect_years")), 30, nominal, events,
    )
    assert_replayed(profile, decide)
    assert set(events) == expected_events, "the case must exercise the guardrail it is named for"


def test_guyton_klinger_freezes_after_a_nominal_loss_only_by_hand() -> None:
    """The freeze follows the nominal return: a year that loses only to inflation still gets its raise.

    Guyton and Klinger (2006) skip the inflation raise after a year whose total (nominal) return was
    negative; at 1% nominal and 3% inflation the portfolio gains nominally every year, so the real
    amount stays constant (no guardrail reached with a 50% band).
    """
    nominal, inflation = MARKETS["real_loss"]
    profile = flat_profile("guyton_klinger", nominal=nominal, inflation=inflation, guardrail_pct=50.0)
    decide = guyton_klinger(0.05, 0.5, 0.1, 15.0, 30, nominal)
    spent = assert_replayed(profile, decide)
    assert spent[1] == pytest.approx(spent[0], rel=1e-12)


def vpw(horizon_months: int, real_return: float) -> Decide:
    i = (1.0 + real_return) ** (1.0 / 12.0) - 1.0

    def decide(year: int, balance: float, price: float) -> float:
        months_left = horizon_months - 12 * year
        if months_left <= 0:
            return 12.0 * balance
        if i == 0.0:
            return 12.0 * balance / months_left
        return 12.0 * balance * i / (1.0 - (1.0 + i) ** -months_left)

    return decide


@pytest.mark.parametrize("pension", [0.0, 800.0])
@pytest.mark.parametrize(
    ("market", "horizon_age", "real_return_pct"),
    [("mild", 95.0, 3.0), ("mild", 85.0, 3.0), ("boom", 95.0, 0.0), ("nominal_loss", 90.0, -2.0), ("mild", 100.0, 5.0)],
)
def test_vpw_by_hand(market: str, horizon_age: float, real_return_pct: float, pension: float) -> None:
    nominal, inflation = MARKETS[market]
    profile = flat_profile(
        "vpw", nominal=nominal, inflation=inflation, pension=pension, horizon_age=horizon_age,
        real_return_pct=real_return_pct,
    )
    horizon_months = round(12 * (horizon_age - RETIREMENT_AGE))
    spent = assert_replayed(profile, vpw(horizon_months, real_return_pct / 100.0), final=horizon_months)
    if horizon_age < 95.0:  # past its horizon age the rule has spent everything: pensions only
        after = horizon_months // 12
        np.testing.assert_allclose(spent[after:], 12 * pension, atol=0.01)


def floor_ceiling(rate: float, floor: float, ceiling: float, max_raise: float, max_cut: float) -> Decide:
    state: dict[str, float] = {}

    def decide(year: int, balance: float, price: float) -> float:
        amount = rate * balance
        if year == 0:
            state["first"] = amount
        else:
            amount = min(max(amount, state["last"] * (1 - max_cut)), state["last"] * (1 + max_raise))
            amount = min(max(amount, floor * state["first"]), ceiling * state["first"])
        state["last"] = amount
        return amount

    return decide


@pytest.mark.parametrize("pension", [0.0, 800.0])
@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("market", ["mild", "boom", "nominal_loss", "real_loss"])
def test_floor_ceiling_by_hand(market: str, dynamic: bool, pension: float) -> None:
    nominal, inflation = MARKETS[market]
    profile = flat_profile("floor_ceiling", nominal=nominal, inflation=inflation, pension=pension, dynamic=dynamic)
    decide = floor_ceiling(0.05, 0.9, 1.25, 0.05 if dynamic else math.inf, 0.025 if dynamic else 1.0)
    spent = assert_replayed(profile, decide)
    first = spent[0] - 12 * pension
    amounts = [s - 12 * pension for s in spent]
    if market == "boom":
        assert max(amounts) == pytest.approx(1.25 * first), "the ceiling must bind"
    if market == "nominal_loss":
        assert min(amounts[:10]) == pytest.approx(0.9 * first), "the floor must bind"
    if dynamic and market in ("boom", "nominal_loss"):
        steps = np.diff(amounts[:8]) / np.array(amounts[:7])
        assert np.isclose(steps, 0.05).any() or np.isclose(steps, -0.025).any(), "the yearly cap must bind"


def samuelson_shares(gamma: float, discount: float, real_gross: float, n_years: int) -> list[float]:
    """c_y = 1 / A_{n - y}: A_n = 1 + q A_{n-1}, A_1 = 1, q = (discount E[R^(1-gamma)])^(1/gamma)."""
    q = (discount * real_gross ** (1.0 - gamma)) ** (1.0 / gamma)
    scale = [1.0]
    for _ in range(n_years - 1):
        scale.append(1.0 + q * scale[-1])
    return [1.0 / a for a in reversed(scale)]


@pytest.mark.parametrize("pension", [0.0, 800.0])
@pytest.mark.parametrize(("gamma", "discount"), [(3.0, 1.0), (1.0, 0.97), (8.0, 0.99)])
def test_merton_by_hand(gamma: float, discount: float, pension: float) -> None:
    """Samuelson's consumption share of wealth plus the pensions' present value, less the year's pensions.

    With no volatility Merton's portfolio is all in the asset with the higher return (equities), so
    R is the equities' real gross return; pensions are discounted at the bonds' real return.
    """
    nominal, inflation, bonds = 5.0, 2.0, 3.0
    profile = flat_profile(
        "merton", nominal=nominal, inflation=inflation, bonds=bonds, pension=pension, gamma=gamma, discount=discount,
    )
    years = 30
    real_gross = (1 + nominal / 100) / (1 + inflation / 100)
    safe_gross = (1 + bonds / 100) / (1 + inflation / 100)
    assert_replayed(profile, merton(gamma, discount, real_gross, safe_gross, years, pension), final=12 * years)
    shares = samuelson_shares(gamma, discount, real_gross, years)
    assert shares[-1] == 1.0 and shares[0] < shares[10] < shares[20]


@pytest.mark.parametrize("rule", ["target", "constant_dollar", "constant_percent", "vpw", "merton"])
@pytest.mark.parametrize("market", ["mild", "boom"])
def test_tax_on_the_gains_share_by_hand(rule: str, market: str) -> None:
    """Taxed as before the rules: target and merton decide what is received (the tax comes on top,
    so the money runs out sooner), the other rules what leaves the portfolio (the tax comes out of it)."""
    nominal, inflation = MARKETS[market]
    pension = 600.0
    profile = flat_profile(rule, nominal=nominal, inflation=inflation, pension=pension, tax_pct=30.0, target=5500.0)
    deflate = 1 + inflation / 100
    decisions: dict[str, tuple[Decide, int]] = {
        "target": (lambda year, balance, price: 12.0 * (5500.0 - pension), -1),
        "constant_dollar": (constant_dollar(0.04), -1),
        "constant_percent": (lambda year, balance, price: 0.04 * balance, -1),
        "vpw": (vpw(12 * 35, 0.03), 12 * 35),  # horizon_age 100 by default
        "merton": (merton(3.0, 1.0, (1 + nominal / 100) / deflate, 1.03 / deflate, 30, pension), 12 * 30),
    }
    decide, final = decisions[rule]
    spent = assert_replayed(profile, decide, final=final)
    untaxed = flat_profile(rule, nominal=nominal, inflation=inflation, pension=pension, target=5500.0)
    _, _, untaxed_spending = kernel_run(untaxed, 1)
    if rule in ("constant_dollar", "constant_percent"):
        assert spent[1] < untaxed_spending[0, 1] * 12 - 0.01, "the tax must come out of a gross rule's amount"


# --- 3. documented properties on random paths ---------------------------------------------------

N_RANDOM = 2000
PENSION = 700.0


def random_profile(rule: str, years: int = 30, **parameters: Any) -> Profile:
    """The default lognormal market (equities and bonds, stochastic inflation), no tax, a pension."""
    return profile_from_dict({
        "name": "random",
        "person": {"current_age": 60.0, "retirement_age": 65.0, "life_expectancy": 65.0 + years},
        "accounts": [{
            "name": "main", "type": "livret", "balance": 800_000.0, "allocation": {"equities": 0.7, "bonds": 0.3},
        }],
        "retirement": {
            "target_monthly_income": 3000.0, "state_pension_monthly": PENSION,
            "withdrawal": {"rule": rule, **parameters},
        },
    })


def random_run(profile: Profile, n_paths: int = N_RANDOM, seed: int = 17) -> dict[str, Any]:
    """Per path: yearly amounts W (spending less the pension, x 12), start-of-year balances B, inflation."""
    arrays = compile_profile(profile)
    outcomes, fan, spending = run_paths(arrays, seed, 0, n_paths, record_fan=True, record_spending=True)
    retired = fan[:, arrays.n_accum - 1:]  # [:, y * 12] is the balance at the start of year y
    n_years = spending.shape[1]
    starts = retired[:, 12 * np.arange(n_years)]
    depleted = np.where(outcomes.depletion == NOT_DEPLETED, arrays.n_months, outcomes.depletion) - arrays.n_accum
    # Years fully paid: the path had not run out by the end of the year.
    paid = (12 * (np.arange(n_years) + 1))[None, :] <= depleted[:, None]
    return {
        "arrays": arrays, "outcomes": outcomes, "amount": (spending - PENSION) * 12.0, "balance": starts,
        "paid": paid, "spending": spending, "seed": seed,
    }


def yearly_inflation(run: dict[str, Any], path: int) -> np.ndarray:
    """Each retirement year's inflation factor on a path, from the kernel's own draws."""
    arrays = run["arrays"]
    _, inflation = market_draws(np.uint64(run["seed"]), np.uint64(path), arrays.market, arrays.n_months)
    return inflation[arrays.n_accum:].reshape(-1, 12).prod(axis=1)


def test_constant_dollar_is_constant_in_real_terms_until_depletion() -> None:
    profile = random_profile("constant_dollar", rate_pct=6.0)
    run = random_run(profile)
    outcomes = run["outcomes"]
    first = 0.06 * outcomes.capital
    amount, paid = run["amount"], run["paid"]
    expected = np.broadcast_to(first[:, None], amount.shape)
    np.testing.assert_allclose(amount[paid], expected[paid], rtol=1e-9)
    # The year it runs out pays less; after it, only the pension.
    assert (amount[~paid] < expected[~paid] * (1 + 1e-9)).all()
    ran_out = outcomes.depletion != NOT_DEPLETED
    assert 0.05 < ran_out.mean() < 0.95, "the check must see both outcomes"


def test_constant_percent_never_depletes_and_spends_its_rate_of_the_balance() -> None:
    profile = random_profile("constant_percent", rate_pct=7.0)
    run = random_run(profile)
    outcomes = run["outcomes"]
    assert (outcomes.depletion == NOT_DEPLETED).all()
    assert run["paid"].all()
    np.testing.assert_allclose(run["amount"], 0.07 * run["balance"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(run["balance"][:, 0], outcomes.capital, rtol=1e-12)
    result = simulate(profile, 500, 3)
    assert result.success.estimate == 1.0


def test_guyton_klinger_guardrails_hold_after_each_correction() -> None:
    """Outside the protected years no withdrawal rate sits above the upper guardrail without that year's
    cut, nor below the lower one without a raise; no cut at all in the protected years."""
    rate, guardrail, adjustment, protect = 0.055, 0.2, 0.1, 10
    years = 35
    profile = random_profile(
        "guyton_klinger", years=years, rate_pct=100 * rate, guardrail_pct=100 * guardrail,
        adjustment_pct=100 * adjustment, protect_years=protect,
    )
    n_paths = 600
    run = random_run(profile, n_paths=n_paths)
    amount, balance, paid = run["amount"], run["balance"], run["paid"]
    np.testing.assert_allclose(amount[:, 0], rate * run["outcomes"].capital, rtol=1e-9)
    counts = {"cut": 0, "raise": 0, "above": 0, "below": 0, "protected_above": 0}
    for path in range(n_paths):
        inflation = yearly_inflation(run, path)
        for y in range(1, years):
            if not (paid[path, y] and balance[path, y] > 0):
                break
            change = amount[path, y] / amount[path, y - 1]
            # The change is 1 (or 1 / inflation after a losing year), times 1 - adjustment or 1 + adjustment.
            candidates = {
                kind: min(abs(change * f - factor) for f in (1.0, inflation[y - 1]))
                for kind, factor in (("none", 1.0), ("cut", 1 - adjustment), ("raise", 1 + adjustment))
            }
            kind = min(candidates, key=candidates.__getitem__)
            assert candidates[kind] < 1e-9, (path, y, change, candidates)
            withdrawal_rate = amount[path, y] / balance[path, y]
            protected = years - y <= protect
            if protected:
                assert kind != "cut", (path, y)
            elif withdrawal_rate > rate * (1 + guardrail) * (1 + 1e-12):
                counts["above"] += 1
                assert kind == "cut", (path, y, withdrawal_rate)
            if withdrawal_rate < rate * (1 - guardrail) * (1 - 1e-12):
                counts["below"] += 1
                assert kind == "raise", (path, y, withdrawal_rate)
            if protected and withdrawal_rate > rate * (1 + guardrail):
                counts["protected_above"] += 1
            if kind in counts:
                counts[kind] += 1
    assert min(counts.values()) > 10, counts


def test_vpw_depletes_exactly_at_its_horizon_when_returns_equal_its_assumption() -> None:
    """Returns equal to the assumed real return: every payment is made and nothing is left at the horizon."""
    nominal, inflation = 6.0, 2.0
    real_return_pct = 100.0 * ((1 + nominal / 100) / (1 + inflation / 100) - 1)
    horizon_age = 90.0
    profile = flat_profile(
        "vpw", nominal=nominal, inflation=inflation, years=30, pension=500.0, horizon_age=horizon_age,
        real_return_pct=real_return_pct,
    )
    outcomes, fan, spending = kernel_run(profile)
    horizon = round(12 * (horizon_age - RETIREMENT_AGE))
    capital = outcomes.capital[0]
    assert (outcomes.depletion == NOT_DEPLETED).all()
    assert simulate(profile, 20, 1).success.estimate == 1.0
    # Level payments in real terms up to the last year (the annuity recomputed every year stays on
    # track); the last year's balance is spread over its months after each month's growth, so its
    # payments rise with the return (the same total within a year's return).
    amounts = spending[:, : horizon // 12] * 12 - 12 * 500.0
    np.testing.assert_allclose(amounts[:, :-1], amounts[0, 0], rtol=1e-9)
    assert amounts[0, 0] <= amounts[0, -1] <= amounts[0, 0] * (1 + real_return_pct / 100)
    np.testing.assert_allclose(spending[:, horizon // 12:], 500.0, rtol=1e-12)  # after it: the pension
    assert np.all(fan[:, : horizon - 1] > 0.0)
    assert abs(fan[0, horizon - 1]) <= 1e-6 * capital
    np.testing.assert_allclose(fan[:, horizon - 1:], 0.0, atol=1e-6 * capital)


@pytest.mark.parametrize("dynamic", [False, True])
def test_floor_ceiling_stays_within_its_band(dynamic: bool) -> None:
    profile = random_profile("floor_ceiling", dynamic=dynamic, rate_pct=5.0, floor_pct=85.0, ceiling_pct=130.0)
    run = random_run(profile)
    amount, paid = run["amount"], run["paid"]
    first = amount[:, :1]
    np.testing.assert_allclose(first[:, 0], 0.05 * run["outcomes"].capital, rtol=1e-9)
    ratio = (amount / first)[paid]
    assert ratio.min() >= 0.85 * (1 - 1e-9) and ratio.max() <= 1.30 * (1 + 1e-9)
    assert ratio.min() < 0.85 * (1 + 1e-9) and ratio.max() > 1.30 * (1 - 1e-9), "both bounds must bind"
    if dynamic:
        both = paid[:, 1:] & paid[:, :-1]
        later, earlier = amount[:, 1:][both], amount[:, :-1][both]
        share = later / np.broadcast_to(first, amount[:, 1:].shape)[both]
        inside = (later / earlier)[~(np.isclose(share, 0.85) | np.isclose(share, 1.3))]
        assert inside.min() >= 1 - 0.025 - 1e-9 and inside.max() <= 1 + 0.05 + 1e-9


# --- the CLI and the API take the rule ----------------------------------------------------------


def test_simulate_withdrawal_override_changes_the_rule_only() -> None:
    base = simulate("default", 300, 5)
    other = simulate("default", 300, 5, withdrawal="constant_percent")
    assert other.withdrawal == "constant_percent"
    np.testing.assert_array_equal(base.paths.capital, other.paths.capital)
    assert other.success.estimate == 1.0



# --- 5. bad input -----------------------------------------------------------------------------------

FAST = settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
WRONG_TYPES = st.sampled_from(["abc", "", "5", True, False, [], [1.0], {}, {"x": 1.0}])
NON_FINITE = st.sampled_from([float("nan"), float("inf"), -float("inf")])

# Each rule's numeric parameters with their valid range (low, high, whether each end is open).
NUMBERS: dict[str, tuple[float, float, bool, bool]] = {
    "rate_pct": (0.0, 100.0, True, False),
    "guardrail_pct": (0.0, 100.0, False, False),
    "adjustment_pct": (0.0, 100.0, False, False),
    "protect_years": (0.0, 100.0, False, False),
    "horizon_age": (0.0, 125.0, False, False),
    "real_return_pct": (-20.0, 20.0, False, False),
    "floor_pct": (0.0, 100.0, False, False),
    "ceiling_pct": (100.0, 1000.0, False, False),
    "max_raise_pct": (0.0, 100.0, False, False),
    "max_cut_pct": (0.0, 100.0, False, False),
    "gamma": (0.0, 50.0, True, False),
    "discount": (0.0, 1.0, True, False),
}
RULE_NAMES = sorted(WITHDRAWAL_PARAMETERS)


def with_bonds(data: dict[str, Any]) -> dict[str, Any]:
    """BASE has one asset; merton's default assets are equities and bonds."""
    data["market"]["assets"].append({"name": "bonds", "expected_return_pct": 3.0, "volatility_pct": 5.0})
    return data


def base_with(withdrawal: dict[str, Any]) -> dict[str, Any]:
    data = with_bonds(copy.deepcopy(BASE))
    data["retirement"]["withdrawal"] = withdrawal
    return data


def outside(low: float, high: float, open_low: bool, open_high: bool) -> st.SearchStrategy[Any]:
    below = st.floats(max_value=low - max(1e-6, 1e-9 * abs(low)), allow_nan=False, allow_infinity=False)
    above = st.floats(min_value=high + max(1e-6, 1e-9 * abs(high)), allow_nan=False, allow_infinity=False)
    ends = [value for value, is_open in ((low, open_low), (high, open_high)) if is_open]
    return below | above | (st.sampled_from(ends) if ends else st.nothing())


@st.composite
def bad_parameter(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A parameter of the rule out of its range, not finite, or of the wrong type."""
    rule = draw(st.sampled_from([name for name in RULE_NAMES if WITHDRAWAL_PARAMETERS[name]]))
    name = draw(st.sampled_from(sorted(WITHDRAWAL_PARAMETERS[rule])))
    if name in NUMBERS:
        value = draw(outside(*NUMBERS[name]) | NON_FINITE | WRONG_TYPES)
    elif name == "dynamic":
        value = draw(st.sampled_from(["true", "yes", 1, 0, 1.0, [], {}]))
    else:  # equity_asset, safe_asset: a market asset's name
        value = draw(st.sampled_from([5, 1.5, True, [], {}, "", "gold", "Equities"]))
    return base_with({"rule": rule, name: value}), f"retirement.withdrawal.{name}"


@st.composite
def foreign_parameter(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid value of another rule's parameter is refused."""
    rule = draw(st.sampled_from(RULE_NAMES))
    valid = {name: default for other in RULE_NAMES for name, default in WITHDRAWAL_PARAMETERS[other].items()}
    name = draw(st.sampled_from(sorted(set(valid) - set(WITHDRAWAL_PARAMETERS[rule]))))
    withdrawal = {name: valid[name]} if rule == "target" and draw(st.booleans()) else {"rule": rule, name: valid[name]}
    return base_with(withdrawal), f"retirement.withdrawal.{name}"


@st.composite
def bad_rule(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    value = draw(WRONG_TYPES | st.sampled_from(["Target", "4%", "bengen", "guyton-klinger", 0]))
    return base_with({"rule": value}), "retirement.withdrawal.rule"


@st.composite
def inconsistent(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """Valid alone, wrong for the profile: vpw's horizon not after retirement (50 in BASE), merton's assets."""
    kind = draw(st.sampled_from(["horizon", "same_asset", "missing_asset"]))
    if kind == "horizon":
        return base_with({"rule": "vpw", "horizon_age": draw(st.floats(0.0, 50.0))}), "retirement.withdrawal.horizon_age"
    if kind == "same_asset":
        asset = draw(st.sampled_from(["equities", "bonds"]))
        return base_with({"rule": "merton", "equity_asset": asset, "safe_asset": asset}), "retirement.withdrawal.safe_asset"
    name = draw(st.sampled_from(["equity_asset", "safe_asset"]))
    return base_with({"rule": "merton", name: "gold"}), f"retirement.withdrawal.{name}"


@FAST
@given(bad_parameter() | foreign_parameter() | bad_rule() | inconsistent())
def test_bad_withdrawal_is_one_profile_error_naming_the_field(case: tuple[dict[str, Any], str]) -> None:
    data, field = case
    with pytest.raises(ProfileError) as caught:
        profile_from_dict(data)
    error = caught.value
    assert error.field == field, str(error)
    message = str(error)
    assert message == f"{error.field}: {error.rule}" and len(message.splitlines()) == 1


def test_a_foreign_parameter_error_names_the_rule_and_its_parameters() -> None:
    with pytest.raises(ProfileError) as caught:
        profile_from_dict(base_with({"rule": "constant_dollar", "gamma": 3.0}))
    assert str(caught.value) == (
        "retirement.withdrawal.gamma: is not a parameter of rule 'constant_dollar' (its parameters: rate_pct)"
    )


def test_merton_needs_its_assets_when_the_rule_is_overridden() -> None:
    profile = profile_from_dict(copy.deepcopy(BASE))  # one asset, no bonds
    with pytest.raises(ProfileError) as caught:
        simulate(profile, 10, 0, withdrawal="merton")
    assert caught.value.field == "retirement.withdrawal.safe_asset"


CLI_CASES = {
    "rate_zero": ('rule = "constant_dollar"\nrate_pct = 0', "retirement.withdrawal.rate_pct"),
    "foreign": ('rule = "vpw"\ngamma = 3', "retirement.withdrawal.gamma: is not a parameter of rule 'vpw'"),
    "dynamic_string": ('rule = "floor_ceiling"\ndynamic = "yes"', "retirement.withdrawal.dynamic"),
    "unknown_rule": ('rule = "bengen"', "retirement.withdrawal.rule"),
    "horizon": ('rule = "vpw"\nhorizon_age = 60', "retirement.withdrawal.horizon_age"),
}

PROFILE_TOML = """\
[person]
current_age = 40
retirement_age = 65
life_expectancy = 90
{person}

[[accounts]]
name = "main"
type = "pea"
balance = 5000
allocation = {{ equities = 0.6, bonds = 0.4 }}

[retirement]
target_monthly_income = 2000

[retirement.withdrawal]
{withdrawal}
"""


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_refuses_a_bad_withdrawal_in_one_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mcsim.cli.main import main

    from .test_cli import assert_one_line_error

    withdrawal, fragment = CLI_CASES[case]
    (tmp_path / "plan.toml").write_text(PROFILE_TOML.format(person="", withdrawal=withdrawal), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["simulate", "plan.toml", "--paths", "10"])
    assert done.value.code == 2
    captured = capsys.readouterr()
    assert fragment in assert_one_line_error(captured.out, captured.err)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["plan.toml"]


def test_cli_subprocess_refuses_bad_mortality_in_one_line(tmp_path: Path) -> None:
    """``mcsim simulate PROFILE.toml`` as a user runs it: exit code 2, one line, no traceback."""
    from .test_cli import assert_one_line_error, run_mcsim

    text = PROFILE_TOML.format(person='mortality = "gompertz"\ngompertz_dispersion = 0.5', withdrawal='rule = "target"')
    (tmp_path / "plan.toml").write_text(text, encoding="utf-8")
    completed = run_mcsim(["simulate", "plan.toml", "--paths", "10"], tmp_path)
    assert completed.returncode == 2, completed.stderr
    assert "person.gompertz_dispersion" in assert_one_line_error(completed.stdout, completed.stderr)


def test_cli_runs_a_valid_rule_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mcsim.cli.main import main

    text = PROFILE_TOML.format(person='mortality = "gompertz"\nmax_age = 125', withdrawal='rule = "vpw"\nhorizon_age = 125')
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    main(["simulate", str(path), "--paths", "50", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["withdrawal"] == "vpw" and data["mortality"] == "gompertz" and data["horizon_age"] == 125


# --- valid extremes give finite numbers ------------------------------------------------------------


@st.composite
def valid_withdrawal(draw: st.DrawFn) -> dict[str, Any]:
    """A rule with any subset of its parameters, each at an end of its range or inside it."""
    rule = draw(st.sampled_from(RULE_NAMES))
    withdrawal: dict[str, Any] = {"rule": rule}
    for name in WITHDRAWAL_PARAMETERS[rule]:
        if not draw(st.booleans()):
            continue
        if name in NUMBERS:
            low, high, open_low, open_high = NUMBERS[name]
            if name == "horizon_age":
                low = 50.0 + 1.0 / 12  # after retirement
            ends = [end for end, is_open in ((low, open_low), (high, open_high)) if not is_open]
            inner = st.floats(low, high, exclude_min=open_low, exclude_max=open_high)
            withdrawal[name] = draw(st.sampled_from(ends) | inner if ends else inner)
        elif name == "dynamic":
            withdrawal[name] = draw(st.booleans())
        elif name == "equity_asset":
            withdrawal["equity_asset"], withdrawal["safe_asset"] = draw(
                st.sampled_from([("equities", "bonds"), ("bonds", "equities")])
            )
    return withdrawal


def assert_finite_result(result: Any) -> None:
    for summary in (result.capital_at_retirement, result.terminal_wealth):
        values = summary.to_dict()
        assert all(math.isfinite(v) and v >= 0 for v in values.values()), values
    assert 0.0 <= result.success.estimate <= 1.0
    spending = result.spending.to_dict(include_fan=False)
    numbers = [
        spending["cut_probability"], spending["largest_cut"], spending["below_target_share"],
        spending["certainty_equivalent_monthly"], *spending["worst_year"].values(), *spending["lifetime"].values(),
    ]
    assert all(math.isfinite(v) and v >= 0 for v in numbers), spending
    if result.fan is not None:
        for name in ("p10", "p50", "p90", "min", "max"):
            values = getattr(result.fan, name)
            assert (np.isfinite(values) | np.isnan(values)).all() and not np.isinf(values).any()


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(withdrawal=valid_withdrawal(), gompertz=st.booleans(), seed=st.integers(0, 2**64 - 1))
def test_valid_withdrawals_simulate_to_finite_numbers(withdrawal: dict[str, Any], gompertz: bool, seed: int) -> None:
    data = base_with(withdrawal)
    data["market"]["assets"][0]["volatility_pct"] = 60.0
    if gompertz:
        data["person"].update(mortality="gompertz", gompertz_modal_age=70.0, gompertz_dispersion=1.0, max_age=125.0)
    result = simulate(profile_from_dict(data), 64, seed, fan=True)
    assert result.withdrawal == withdrawal["rule"]
    assert_finite_result(result)


@pytest.mark.parametrize(
    "withdrawal",
    [
        {"rule": "constant_dollar", "rate_pct": 100.0},
        {"rule": "constant_percent", "rate_pct": 100.0},
        {"rule": "guyton_klinger", "rate_pct": 100.0, "guardrail_pct": 0.0, "adjustment_pct": 100.0, "protect_years": 0.0},
        {"rule": "floor_ceiling", "rate_pct": 100.0, "floor_pct": 0.0, "ceiling_pct": 1000.0, "dynamic": True},
        {"rule": "vpw", "horizon_age": 125.0, "real_return_pct": -20.0},
        {"rule": "vpw", "horizon_age": 50.0 + 1 / 12, "real_return_pct": 20.0},
        {"rule": "merton", "gamma": 50.0, "discount": 1.0},
        {"rule": "merton", "gamma": 1e-6, "discount": 1e-6},
    ],
)
@pytest.mark.parametrize("gompertz", [False, True])
def test_valid_extremes_give_finite_numbers(withdrawal: dict[str, Any], gompertz: bool) -> None:
    data = base_with(withdrawal)
    if gompertz:
        data["person"].update(mortality="gompertz", gompertz_dispersion=1.0, max_age=125.0)
    result = simulate(profile_from_dict(data), 200, 3, fan=True)
    assert_finite_result(result)
