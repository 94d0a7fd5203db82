"""Withdrawal rules: how much a retiree takes from the portfolio each year.

Every rule decides once a year, at the start of each year of retirement, from the balance then, and
the amount is paid in twelve equal monthly parts, in euros of today (real terms). Pensions and the
additional income are spent on top of what the rule withdraws. ``target`` and ``merton`` decide the
amount the household receives (the tax on the gains share is added on top, as the target always was);
the other rules decide the gross amount that leaves the portfolio (the tax is taken from it), as
their authors state them. With B the balance at the start of year y (y = 0 at retirement):

* ``target``: the profile's target income (and spending phases) net of pensions, month by month.
* ``constant_dollar`` (Bengen, 1994): W_0 = rate * B_0, then W_y = W_0.
* ``constant_percent``: W_y = rate * B_y.
* ``guyton_klinger`` (Guyton and Klinger, 2006): W_0 = rate * B_0; then W_y = W_{y-1}, except after
  a year whose portfolio return was negative in nominal terms, as its authors state it (the balance
  plus the year's withdrawals, at the year's closing prices, below the balance at its start), when
  the inflation raise is skipped (W_y = W_{y-1} / that year's inflation factor); then if W_y / B_y >
  rate * (1 + guardrail) and more than ``protect_years`` remain to the horizon, W_y *= 1 - adjustment
  (capital preservation); if W_y / B_y < rate * (1 - guardrail), W_y *= 1 + adjustment (prosperity).
  One correction a year.
* ``vpw`` (variable percentage withdrawal, Bogleheads): the payment of an annuity over the months
  left to ``horizon_age`` at the assumed real return: W_y = 12 B_y i / (1 - (1 + i)^-m), with
  i = (1 + real_return)^(1/12) - 1 and m months left (W_y = 12 B_y / m when i = 0); after the
  horizon age, everything left.
* ``floor_ceiling``: W_y = rate * B_y, kept within [floor * W_0, ceiling * W_0]; with ``dynamic``
  (Vanguard's dynamic spending) the change from W_{y-1} is first capped at +max_raise / -max_cut.
* ``merton`` (Merton, 1969; Samuelson, 1969): consume c_y * (B_y + P_y), P_y the present value of
  the remaining pensions and additional income at the safe asset's expected real return, c_y the
  optimal consumption share of a CRRA investor with the years left (survival-weighted with Gompertz
  mortality): c = 1 / A with A_n = 1 + q_n A_{n-1}, A_1 = 1, q = (discount * p * E[R^(1-gamma)])^(1/gamma),
  R the annual real gross return of the optimal portfolio and p the one-year survival; the withdrawal
  is that consumption less the year's pensions (never negative). The portfolio holds Merton's share
  w* of total wealth in ``equity_asset``: min(1, w* (B + P) / B) of the balance, the rest in
  ``safe_asset``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .jit import jit
from .market import NORMAL, MarketArrays
from .mortality import MORTALITY_MODELS, survival
from .profile import WITHDRAWAL_PARAMETERS, Profile, Withdrawal, months_between

TARGET, CONSTANT_DOLLAR, CONSTANT_PERCENT, GUYTON_KLINGER, VPW, FLOOR_CEILING, MERTON = range(7)
RULES = {
    "target": TARGET, "constant_dollar": CONSTANT_DOLLAR, "constant_percent": CONSTANT_PERCENT,
    "guyton_klinger": GUYTON_KLINGER, "vpw": VPW, "floor_ceiling": FLOOR_CEILING, "merton": MERTON,
}
NET_RULES = (TARGET, MERTON)
"""Rules whose amount is what the household receives (tax added on top); the others are gross."""

FIRST, LAST, START_BALANCE, WITHDRAWN, START_PRICE = range(5)
MEMORY_SIZE = 5
"""What a rule remembers from year to year, per path: float64[MEMORY_SIZE]."""

SHARE_POINTS = 1001
"""Equity shares searched for Merton's optimal mix."""


class RuleParams(NamedTuple):
    """A withdrawal rule's scalars (rates as decimals, ages as months from retirement), and the mortality.

    Scalars only, so that the yearly decision takes them without reference counting.
    """

    rule: int
    rate: float
    guardrail: float
    adjustment: float
    protect_months: int
    horizon_months: int
    real_return: float
    vpw_months: int
    floor: float
    ceiling: float
    max_raise: float
    max_cut: float
    equity_share: float
    equity_index: int
    safe_index: int
    mortality: int
    modal_age: float
    dispersion: float
    retirement_age: float


def params_row(params: RuleParams) -> np.ndarray:
    """A rule's scalars as float64[len(RuleParams._fields)] (see :func:`params_from_row`)."""
    return np.array([float(value) for value in params])


@jit
def params_from_row(row):
    """The :class:`RuleParams` of a row made by :func:`params_row` (rules stacked by household)."""
    return RuleParams(
        int(row[0]), row[1], row[2], row[3], int(row[4]), int(row[5]), row[6], int(row[7]), row[8], row[9], row[10],
        row[11], row[12], int(row[13]), int(row[14]), int(row[15]), row[16], row[17], row[18],
    )


class RuleArrays(NamedTuple):
    """A withdrawal rule's arrays.

    ``consumption_share``, ``other_value`` and ``year_income`` are float64[n_years] (merton only,
    else empty): the consumption share of total wealth, the value of the other income of the
    following years and the other income of the year itself; ``other_income`` float64[n_decum] is
    the monthly pension and additional income, ``target`` float64[n_decum] the monthly spending target.
    """

    consumption_share: np.ndarray
    other_value: np.ndarray
    year_income: np.ndarray
    other_income: np.ndarray
    target: np.ndarray


class WithdrawalArrays(NamedTuple):
    """A withdrawal rule for the kernels, which take its ``params`` and ``arrays`` as two arguments.

    (Numba's parallel loops cannot take a tuple nested in a tuple.)
    """

    params: RuleParams
    arrays: RuleArrays


def _year_sums(monthly: np.ndarray) -> np.ndarray:
    """Sums of consecutive 12-month blocks (the last one possibly shorter)."""
    n_years = -(-monthly.size // 12)
    padded = np.zeros(n_years * 12)
    padded[: monthly.size] = monthly
    return padded.reshape(n_years, 12).sum(axis=1)


def real_annual_moments(
    market: MarketArrays, fee_keep: float, shares: np.ndarray, equity: int, safe: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the annual real log-return of monthly-rebalanced mixes of two assets.

    Each month's real gross return of the mix is matched to a lognormal by its first two moments
    (exact for each asset); a year is twelve independent months. ``shares`` are equity weights.
    """
    n = market.drift.size
    # Real monthly log-returns: drift_k + vol_k (chol z)_k - (inflation_drift + inflation_vol z_i).
    loadings = np.zeros((n + 1, n + 1))
    loadings[:n, :n] = market.vol[:, None] * market.chol
    loadings[:n, n] = -market.inflation_vol
    cov = loadings @ loadings.T
    mean = market.drift - market.inflation_drift
    pair = [equity, safe]
    mu = mean[pair]
    sigma = cov[np.ix_(pair, pair)]
    if market.model == NORMAL:
        # Normal returns: the gross return is 1 + drift + vol z, deflated; use its lognormal fit.
        gross_mean = (1.0 + market.drift[pair]) * math.exp(-market.inflation_drift + 0.5 * market.inflation_vol**2)
        mu = np.log(gross_mean) - 0.5 * np.diag(sigma)
    first = np.exp(mu + 0.5 * np.diag(sigma))
    second = np.exp(mu[:, None] + mu[None, :] + 0.5 * (np.diag(sigma)[:, None] + np.diag(sigma)[None, :]) + sigma)
    weights = np.stack([shares, 1.0 - shares], axis=1)
    m1 = weights @ first * fee_keep
    m2 = np.einsum("si,ij,sj->s", weights, second, weights) * fee_keep**2
    log_var = np.log(np.maximum(m2 / (m1 * m1), 1.0))
    log_mean = np.log(m1) - 0.5 * log_var
    return 12.0 * log_mean, 12.0 * log_var


def merton_rule(
    market: MarketArrays, fee_keep: float, gamma: float, discount: float, equity: int, safe: int,
    one_year_survival: np.ndarray,
) -> tuple[float, np.ndarray, float]:
    """Merton's equity share, the consumption share by year, and the safe asset's annual real gross return.

    ``one_year_survival`` float64[n_years]: probability of living through year y given alive at its
    start. The consumption share of year y follows Samuelson's recursion over the years left.
    """
    shares = np.linspace(0.0, 1.0, SHARE_POINTS)
    mean, var = real_annual_moments(market, fee_keep, shares, equity, safe)
    one_minus = 1.0 - gamma
    # Certainty-equivalent log-return of each mix: mean + (1 - gamma) var / 2.
    best = int(np.argmax(mean + 0.5 * one_minus * var))
    moment = math.exp(one_minus * mean[best] + 0.5 * one_minus * one_minus * var[best])  # E[R^(1-gamma)]
    n_years = one_year_survival.size
    scale = np.ones(n_years)  # A_n^(1/gamma) for the years left from year y
    # Near risk neutrality (gamma -> 0) with a growing mix, q^(1/gamma) overflows: the share's limit,
    # 1 / inf = 0 (consume nothing before the last year), is the right one.
    with np.errstate(over="ignore"):
        for y in range(n_years - 2, -1, -1):
            q = (discount * one_year_survival[y] * moment) ** (1.0 / gamma)
            scale[y] = 1.0 + q * scale[y + 1]
    safe_mean, safe_var = real_annual_moments(market, fee_keep, np.zeros(1), equity, safe)
    safe_gross = math.exp(safe_mean[0] + 0.5 * safe_var[0])
    return float(shares[best]), 1.0 / scale, safe_gross


def compile_withdrawal(
    profile: Profile, market: MarketArrays, fee_keep: float, other_income: np.ndarray, target: np.ndarray
) -> WithdrawalArrays:
    """The profile's withdrawal rule and mortality for the kernels.

    ``other_income`` and ``target`` are float64[n_decum] monthly amounts; ``fee_keep`` is the
    monthly fee factor of the portfolio (the accounts' average), used by the merton rule's moments.
    """
    person = profile.person
    return withdrawal_arrays(
        profile.retirement.withdrawal, [asset.name for asset in profile.market.assets], market, fee_keep,
        other_income, target, person.retirement_age,
        (MORTALITY_MODELS[person.mortality], person.gompertz_modal_age, person.gompertz_dispersion),
    )


def withdrawal_arrays(
    withdrawal: Withdrawal, assets: list[str], market: MarketArrays, fee_keep: float, other_income: np.ndarray,
    target: np.ndarray, retirement_age: float, mortality: tuple[int, float, float],
) -> WithdrawalArrays:
    """A validated rule for the kernels, for a retiree at ``retirement_age`` in ``market`` (assets named by ``assets``).

    ``mortality`` is (model, modal age, dispersion) as in :mod:`mcsim.core.mortality`; see
    :func:`compile_withdrawal` for the rest.
    """
    rule = RULES[withdrawal.rule]
    n_decum = other_income.size
    n_years = -(-n_decum // 12)
    equity_index = safe_index = 0
    equity_share = 0.0
    consumption_share = np.empty(0)
    other_value = np.empty(0)
    year_income = np.empty(0)
    model, modal_age, dispersion = mortality
    if rule == MERTON:
        equity_index = assets.index(withdrawal.parameter("equity_asset"))
        safe_index = assets.index(withdrawal.parameter("safe_asset"))
        starts = retirement_age + np.arange(n_years + 1) * 1.0
        alive = survival(model, modal_age, dispersion, retirement_age, starts)
        one_year = alive[1:] / np.maximum(alive[:-1], 1e-300)
        equity_share, consumption_share, safe_gross = merton_rule(
            market, fee_keep, float(withdrawal.parameter("gamma")), float(withdrawal.parameter("discount")),
            equity_index, safe_index, one_year,
        )
        # Present value at the start of year y of the other income of years y, y+1, ..., paid monthly
        # (counted at the start of its year), discounted at the safe return and survival.
        yearly = year_income = _year_sums(other_income)
        other_value = np.zeros(n_years)
        running = 0.0
        for y in range(n_years - 1, -1, -1):
            next_value = running * one_year[y] / safe_gross
            running = yearly[y] + next_value
            other_value[y] = running - yearly[y]  # what comes after this year's own income
    vpw_months = months_between(retirement_age, float(withdrawal.parameter("horizon_age"))) if rule == VPW else 0
    rate = withdrawal.parameter("rate_pct") if "rate_pct" in WITHDRAWAL_PARAMETERS[withdrawal.rule] else 0.0
    dynamic = rule == FLOOR_CEILING and bool(withdrawal.parameter("dynamic"))
    params = RuleParams(
        rule=rule,
        rate=float(rate) / 100.0,
        guardrail=_decimal(withdrawal, "guardrail_pct"),
        adjustment=_decimal(withdrawal, "adjustment_pct"),
        protect_months=int(round(12.0 * withdrawal.parameter("protect_years"))) if rule == GUYTON_KLINGER else 0,
        horizon_months=int(n_decum),
        real_return=_decimal(withdrawal, "real_return_pct"),
        vpw_months=vpw_months,
        floor=_decimal(withdrawal, "floor_pct"),
        ceiling=_decimal(withdrawal, "ceiling_pct"),
        max_raise=_decimal(withdrawal, "max_raise_pct") if dynamic else math.inf,
        max_cut=_decimal(withdrawal, "max_cut_pct") if dynamic else 1.0,
        equity_share=float(equity_share),
        equity_index=int(equity_index),
        safe_index=int(safe_index),
        mortality=int(model),
        modal_age=float(modal_age),
        dispersion=float(dispersion),
        retirement_age=float(retirement_age),
    )
    arrays = RuleArrays(
        consumption_share=consumption_share,
        other_value=other_value,
        year_income=year_income,
        other_income=np.ascontiguousarray(other_income, dtype=float),
        target=np.ascontiguousarray(target, dtype=float),
    )
    return WithdrawalArrays(params, arrays)


def _decimal(withdrawal: Withdrawal, name: str) -> float:
    """A percentage parameter of the rule as a decimal (0 when the rule has no such parameter)."""
    if name not in WITHDRAWAL_PARAMETERS[withdrawal.rule]:
        return 0.0
    return float(withdrawal.parameter(name)) / 100.0


@jit
def yearly_amount(rule, memory, year, months_done, balance, price_level, consumption_share, future_income, income):
    """The rule's amount for retirement year ``year`` (per year, euros of today), from the balance at its start.

    ``rule`` is a :class:`RuleParams`; ``months_done`` months of retirement are behind; ``memory``
    (float64[MEMORY_SIZE]) carries the rule's state from year to year and is updated here. The
    merton rule also takes the year's consumption share, the value of the other income of the
    following years and the year's own other income (:func:`merton_inputs`). For NET_RULES the
    amount is what the household receives, for the others what leaves the portfolio.
    """
    kind = rule.rule
    amount = 0.0
    if kind == CONSTANT_DOLLAR:
        amount = rule.rate * balance if year == 0 else memory[FIRST]
    elif kind == CONSTANT_PERCENT:
        amount = rule.rate * balance
    elif kind == GUYTON_KLINGER:
        if year == 0:
            amount = rule.rate * balance
        else:
            amount = memory[LAST]
            start = memory[START_BALANCE]
            # A losing year is one whose nominal return was negative: its real loss is not enough.
            if start > 0.0 and (balance + memory[WITHDRAWN]) * price_level < start * memory[START_PRICE]:
                amount *= memory[START_PRICE] / price_level  # no inflation raise after a losing year
            if balance > 0.0:
                current = amount / balance
                months_left = rule.horizon_months - months_done
                if current > rule.rate * (1.0 + rule.guardrail) and months_left > rule.protect_months:
                    amount *= 1.0 - rule.adjustment
                elif current < rule.rate * (1.0 - rule.guardrail):
                    amount *= 1.0 + rule.adjustment
    elif kind == VPW:
        months_left = rule.vpw_months - months_done
        if months_left <= 0:
            amount = 12.0 * balance
        else:
            i = (1.0 + rule.real_return) ** (1.0 / 12.0) - 1.0
            if abs(i) < 1e-12:
                amount = 12.0 * balance / months_left
            else:
                amount = 12.0 * balance * i / -math.expm1(-months_left * math.log1p(i))
    elif kind == FLOOR_CEILING:
        amount = rule.rate * balance
        if year > 0:
            amount = min(max(amount, memory[LAST] * (1.0 - rule.max_cut)), memory[LAST] * (1.0 + rule.max_raise))
            amount = min(max(amount, rule.floor * memory[FIRST]), rule.ceiling * memory[FIRST])
    elif kind == MERTON:
        amount = max(0.0, consumption_share * (balance + future_income + income) - income)
    if year == 0:
        memory[FIRST] = amount
    memory[LAST] = amount
    memory[START_BALANCE] = balance
    memory[WITHDRAWN] = 0.0
    memory[START_PRICE] = price_level
    return amount


@jit(inline=True)
def merton_inputs(params, arrays, year):
    """(consumption share, value of the following years' other income, the year's other income) of year ``year``.

    ``params`` and ``arrays`` are a rule's :class:`RuleParams` and :class:`RuleArrays`; zeros for
    the rules other than merton.
    """
    if params.rule != MERTON:
        return 0.0, 0.0, 0.0
    return arrays.consumption_share[year], arrays.other_value[year], arrays.year_income[year]


@jit
def merton_allocation(params, arrays, balance, year, allocation):
    """Fill every account's row of ``allocation`` (float64[n_accounts, n_assets]) with the merton rule's mix.

    Merton's share of total wealth (the balance at the start of ``year`` plus the value of the
    pensions to come) in equities, at most the whole balance; the rest in the safe asset.
    """
    share = 1.0
    if balance > 0.0:
        share = min(1.0, params.equity_share * (balance + arrays.other_value[year]) / balance)
    allocation[:, :] = 0.0
    allocation[:, params.equity_index] = share
    allocation[:, params.safe_index] = 1.0 - share
