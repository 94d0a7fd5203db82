"""The Monte Carlo kernels: pure jitted functions over arrays.

One month of one path, in order:

1. draw the month's correlated shocks and turn them into each asset's gross return, deflated by
   the month's inflation factor (:func:`draw_real_returns`, which draws a path's months at once);
2. grow each account at its allocation's return (accounts are rebalanced to their allocation every
   month) and charge its fee;
3. before retirement, add the month's contribution, split across accounts; from retirement on,
   withdraw the month's need net of pensions, pro rata across accounts, grossed up for the tax on
   the gains share of each account (:func:`withdraw`). A month whose need cannot be paid in full
   empties the accounts and is the path's depletion month; wealth stays at zero after it.

Each path draws from its own stream, seeded by (seed, path index), so results depend on the seed
alone, never on the number of threads or on how paths are split into batches.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import jit
from ._rng import seed_stream, standard_gamma, standard_normal
from .market import NORMAL, STUDENT_T

NOT_DEPLETED = -1
"""Depletion month of a path whose money lasts to the end."""


@jit
def draw_real_returns(state, market, real_gross, inflation):
    """Draw consecutive months of the market for one path.

    Fills ``real_gross`` (float64[n_months, n_assets]) with each asset's gross return in euros of
    today and ``inflation`` (float64[n_months]) with the month's inflation factor; returns the
    advanced state. Drawing a whole stretch of months in one call keeps the random state in
    registers: a call per month measured four times slower.
    """
    n_months, n_assets = real_gross.shape
    for month in range(n_months):
        for k in range(n_assets):
            z, state = standard_normal(state)
            real_gross[month, k] = z
        scale = 1.0
        if market.model == STUDENT_T:
            chi2, state = standard_gamma(state, 0.5 * market.t_df)
            scale = math.sqrt((market.t_df - 2.0) / (2.0 * chi2))
        # shocks <- scale * chol @ shocks, in place from the last asset up (asset k reads [:k + 1]).
        for k in range(n_assets - 1, -1, -1):
            correlated = 0.0
            for j in range(k + 1):
                correlated += market.chol[k, j] * real_gross[month, j]
            real_gross[month, k] = correlated * scale
        inflation_log = market.inflation_drift
        if market.inflation_vol > 0.0:
            z, state = standard_normal(state)
            inflation_log += market.inflation_vol * z
        factor = math.exp(inflation_log)
        inflation[month] = factor
        for k in range(n_assets):
            if market.model == NORMAL:
                gross = max(0.0, 1.0 + market.drift[k] + market.vol[k] * real_gross[month, k])
            else:
                gross = math.exp(market.drift[k] + market.vol[k] * real_gross[month, k])
            real_gross[month, k] = gross / factor
    return state


@jit(inline=True)
def grow_accounts(balances, allocation, fee_keep, real_gross, month):
    """Apply month ``month`` of ``real_gross`` (rebalanced to ``allocation``) and fees; return the wealth."""
    wealth = 0.0
    for a in range(balances.size):
        growth = 0.0
        for k in range(real_gross.shape[1]):
            growth += allocation[a, k] * real_gross[month, k]
        balances[a] *= growth * fee_keep[a]
        wealth += balances[a]
    return wealth


@jit(inline=True)
def contribute(balances, basis, split, amount, price_level):
    """Add ``amount`` (euros of today) across accounts by ``split``; the nominal basis grows with it."""
    for a in range(balances.size):
        balances[a] += amount * split[a]
        basis[a] += amount * split[a] * price_level


@jit(inline=True)
def withdraw(balances, basis, tax_rate, price_level, need):
    """Withdraw ``need`` net of tax, pro rata across accounts; return the net amount paid.

    The tax on an account is ``tax_rate`` times the gains share of what leaves it, the gains share
    being ``1 - basis / (balance * price_level)`` (the basis is nominal). When the gross amount
    needed is the whole wealth or more, every account is emptied and less than ``need`` is paid.
    """
    wealth = 0.0
    taxed = 0.0
    for a in range(balances.size):
        if balances[a] > 0.0:
            wealth += balances[a]
            gains_share = max(0.0, 1.0 - basis[a] / (balances[a] * price_level))
            taxed += balances[a] * tax_rate[a] * gains_share
    if wealth <= 0.0:
        return 0.0
    net_per_gross = 1.0 - taxed / wealth
    if need >= wealth * net_per_gross:
        for a in range(balances.size):
            balances[a] = 0.0
            basis[a] = 0.0
        return wealth * net_per_gross
    keep = 1.0 - need / (wealth * net_per_gross)
    for a in range(balances.size):
        balances[a] *= keep
        basis[a] *= keep
    return need


@jit
def simulate_path(state, market, plan, n_accum, real_gross, inflation, accounts, fan_row):
    """Run one path from today to life expectancy: save for ``n_accum`` months, then withdraw.

    Working space: ``real_gross`` float64[n_months, n_assets], ``inflation`` float64[n_months] and
    ``accounts`` float64[2, n_accounts] (balances, nominal basis). ``fan_row`` is float64[n_months]
    (or empty) and receives the wealth at the end of each month.
    Returns (capital at retirement, depletion month or NOT_DEPLETED, terminal wealth).
    """
    draw_real_returns(state, market, real_gross, inflation)
    n_months = inflation.size
    record = fan_row.size > 0
    balances = accounts[0]
    basis = accounts[1]
    balances[:] = plan.balances
    basis[:] = plan.basis
    price_level = 1.0
    wealth = 0.0
    for month in range(n_accum):
        price_level *= inflation[month]
        wealth = grow_accounts(balances, plan.allocation, plan.fee_keep, real_gross, month)
        amount = plan.contributions[month]
        if amount > 0.0:
            contribute(balances, basis, plan.split, amount, price_level)
            wealth += amount
        if record:
            fan_row[month] = wealth
    capital = wealth
    depletion = NOT_DEPLETED
    for month in range(n_accum, n_months):
        price_level *= inflation[month]
        wealth = grow_accounts(balances, plan.allocation, plan.fee_keep, real_gross, month)
        need = plan.needs[month - n_accum]
        if need > 0.0:
            paid = withdraw(balances, basis, plan.tax_rate, price_level, need)
            wealth = balances.sum()
            if paid < need:
                depletion = month
        if record:
            fan_row[month] = wealth
        if depletion != NOT_DEPLETED:
            if record:
                fan_row[month:] = 0.0
            break
    return capital, depletion, wealth


@jit(parallel=True)
def simulate_paths(seed, first_path, market, plan, n_accum, capital, depletion, terminal, fan):
    """Run paths ``first_path .. first_path + capital.size - 1`` in parallel over paths.

    Writes float64 ``capital`` and ``terminal`` and int64 ``depletion`` (each [n_paths]); ``fan`` is
    float64[n_paths, n_months] to record monthly wealth, or float64[0, 0] to skip it.
    """
    n_months = n_accum + plan.needs.size
    n_assets = market.drift.size
    n_accounts = plan.balances.size
    no_fan = np.empty(0)
    for p in prange(capital.size):
        real_gross = np.empty((n_months, n_assets))
        inflation = np.empty(n_months)
        accounts = np.empty((2, n_accounts))
        fan_row = fan[p] if fan.shape[0] > 0 else no_fan
        capital[p], depletion[p], terminal[p] = simulate_path(
            seed_stream(seed, first_path + p), market, plan, n_accum, real_gross, inflation, accounts, fan_row
        )


@jit
def market_draws(seed, path, market, n_months):
    """The real gross returns and inflation factors that path ``path`` sees, month by month.

    Same draws as :func:`simulate_paths`: float64[n_months, n_assets] and float64[n_months]. Tests
    feed them to the NumPy reference to check the kernel path by path.
    """
    real_gross = np.empty((n_months, market.drift.size))
    inflation = np.empty(n_months)
    draw_real_returns(seed_stream(seed, path), market, real_gross, inflation)
    return real_gross, inflation
