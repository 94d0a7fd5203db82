"""Compile a validated :class:`~mcsim.core.profile.Profile` into the flat arrays the kernels read.

Month ``m`` (0-based) of a simulation runs from age ``start_age + m / 12``; the first ``n_accum``
months save (the plan's contributions), the next ``n_decum`` months withdraw (the need net of pensions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .market import MarketArrays, compile_market
from .profile import AgeBand, Profile, months_between
from .withdrawal import WithdrawalArrays, compile_withdrawal

_AGE_EPSILON = 1e-9


class PlanArrays(NamedTuple):
    """A household's cash flows and accounts as the kernels see them (euros of today).

    ``contributions`` float64[n_accum] and ``needs`` float64[n_decum] are monthly amounts;
    account arrays are float64[n_accounts] (``allocation`` float64[n_accounts, n_assets]);
    ``fee_keep`` is the monthly share of a balance left after fees; ``basis`` is nominal.
    """

    contributions: np.ndarray
    needs: np.ndarray
    balances: np.ndarray
    basis: np.ndarray
    allocation: np.ndarray
    fee_keep: np.ndarray
    tax_rate: np.ndarray
    split: np.ndarray


class ProfileArrays(NamedTuple):
    """Everything a simulation of one household needs, as arrays and scalars."""

    start_age: float
    n_accum: int
    n_decum: int
    market: MarketArrays
    plan: PlanArrays
    rule: WithdrawalArrays

    @property
    def n_months(self) -> int:
        """Months simulated from today to life expectancy."""
        return self.n_accum + self.n_decum

    def month_ages(self) -> np.ndarray:
        """Age at the end of each simulated month, float64[n_months]."""
        return self.start_age + np.arange(1, self.n_months + 1) / 12.0


def _inside(ages: np.ndarray, band: AgeBand) -> np.ndarray:
    """Mask of the ages that fall in the band [from_age, to_age)."""
    return (ages + _AGE_EPSILON >= band.from_age) & (ages + _AGE_EPSILON < band.to_age)


def _band_amounts(ages: np.ndarray, bands: Sequence[AgeBand], value: str) -> np.ndarray:
    """Sum of ``band.<value>`` over the bands that each age falls in."""
    total = np.zeros_like(ages)
    for band in bands:
        total[_inside(ages, band)] += getattr(band, value)
    return total


def retirement_spending(profile: Profile, ages: np.ndarray) -> np.ndarray:
    """Monthly spending in retirement at each age: the target income times the spending phase's ratio."""
    ratio = np.ones_like(ages)
    for phase in profile.retirement.spending_phases:
        ratio[_inside(ages, phase)] = phase.ratio
    return profile.retirement.target_monthly_income * ratio


def retirement_income(profile: Profile, ages: np.ndarray) -> np.ndarray:
    """Monthly other income in retirement at each age: the state pension plus the additional income bands."""
    retirement = profile.retirement
    return retirement.state_pension_monthly + _band_amounts(ages, retirement.additional_income, "monthly_amount")


def retirement_flows(profile: Profile, ages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monthly spending target and other income (state pension plus additional income) at each age."""
    return retirement_spending(profile, ages), retirement_income(profile, ages)


def retirement_ages(profile: Profile) -> np.ndarray:
    """Age at the start of each month of retirement (months counted from the current age)."""
    person = profile.person
    n_accum = months_between(person.current_age, person.retirement_age)
    n_decum = months_between(person.retirement_age, person.horizon_age)
    return person.current_age + (n_accum + np.arange(n_decum)) / 12.0


def plan_arrays(profile: Profile, monthly_contribution: float | None = None) -> PlanArrays:
    """Cash flows and accounts of ``profile``; a constant ``monthly_contribution`` replaces the plan's."""
    person = profile.person
    n_accum = months_between(person.current_age, person.retirement_age)
    n_decum = months_between(person.retirement_age, person.horizon_age)
    ages = person.current_age + np.arange(n_accum + n_decum) / 12.0
    working, retired = ages[:n_accum], ages[n_accum:]
    if monthly_contribution is None:
        contributions = _band_amounts(working, profile.plan.savings, "monthly_contribution")
    else:
        contributions = np.full(n_accum, float(monthly_contribution))
    needs = np.maximum(0.0, retirement_spending(profile, retired) - retirement_income(profile, retired))
    accounts = profile.accounts
    asset_index = {asset.name: k for k, asset in enumerate(profile.market.assets)}
    allocation = np.zeros((len(accounts), len(asset_index)))
    for a, account in enumerate(accounts):
        for name, weight in account.allocation.items():
            allocation[a, asset_index[name]] = weight
    allocation /= allocation.sum(axis=1, keepdims=True)
    split = np.array(profile.contribution_weights, dtype=float)
    return PlanArrays(
        contributions=contributions,
        needs=needs,
        balances=np.array([account.balance for account in accounts], dtype=float),
        basis=np.array([account.basis for account in accounts], dtype=float),
        allocation=allocation,
        fee_keep=np.array([(1.0 - account.fee_pct / 100.0) ** (1.0 / 12.0) for account in accounts]),
        tax_rate=np.array([account.tax_rate for account in accounts]),
        split=split / split.sum(),
    )


def compile_profile(profile: Profile, monthly_contribution: float | None = None) -> ProfileArrays:
    """All arrays of ``profile`` for the kernels (see :func:`plan_arrays` for ``monthly_contribution``)."""
    person = profile.person
    market = compile_market(profile.market)
    plan = plan_arrays(profile, monthly_contribution)
    spending, other_income = retirement_flows(profile, retirement_ages(profile))
    weights = plan.balances / plan.balances.sum() if plan.balances.sum() > 0 else plan.split
    return ProfileArrays(
        start_age=person.current_age,
        n_accum=months_between(person.current_age, person.retirement_age),
        n_decum=months_between(person.retirement_age, person.horizon_age),
        market=market,
        plan=plan,
        rule=compile_withdrawal(profile, market, float(weights @ plan.fee_keep), other_income, spending),
    )
