"""The Monte Carlo kernels: pure jitted functions over arrays.

One month of one path, in order:

1. draw the month's correlated shocks and turn them into each asset's gross return, deflated by
   the month's inflation factor (:func:`draw_real_returns`, which draws a path's months at once),
   or read the month's row of a historical series (:func:`draw_history`);
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

from .jit import jit
from .market import BOOTSTRAP, HISTORICAL, NORMAL, STUDENT_T
from .mortality import FIXED, death_month
from .rng import seed_stream, standard_gamma, standard_normal, uniform
from .withdrawal import MEMORY_SIZE, MERTON, TARGET, VPW, WITHDRAWN, merton_allocation, merton_inputs, yearly_amount

NOT_DEPLETED = -1
"""Depletion month of a path whose money lasts to the end."""


_LOG2E = 1.4426950408889634
_LN2_HIGH = 0.6931471803691238  # ln 2 split in two for an exact reduction (Cody and Waite)
_LN2_LOW = 1.9082149292705877e-10
_EXP_LIMIT = 700.0


@jit
def exp_in_place(values, scratch):
    """``values[i] <- exp(values[i])`` for float64[n] ``values``, clamped to [-700, 700].

    Same results as ``math.exp`` within 2.3e-16 relative, written so that LLVM vectorizes it
    (``math.exp`` is a scalar library call): x = k ln 2 + r with |r| <= ln 2 / 2, a degree-13
    Taylor polynomial for exp(r), and 2^k built from its exponent bits in ``scratch`` (int64[n]).
    """
    for i in range(values.size):
        x = min(_EXP_LIMIT, max(-_EXP_LIMIT, values[i]))
        k = math.floor(x * _LOG2E + 0.5)
        r = (x - k * _LN2_HIGH) - k * _LN2_LOW
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        values[i] = p * r + 1.0
        scratch[i] = (np.int64(k) + 1023) << 52
    powers = scratch.view(np.float64)
    for i in range(values.size):
        values[i] *= powers[i]


@jit
def draw_real_returns(state, market, real_gross, inflation, scratch):
    """Draw consecutive months of the market for one path.

    Fills ``real_gross`` (float64[n_months, n_assets], C-contiguous) with each asset's gross return
    in euros of today and ``inflation`` (float64[n_months]) with the month's inflation factor;
    ``scratch`` is int64[n_months * n_assets] of working space. Returns the advanced state.
    The random draws run first, in one loop that keeps the random state in registers; the
    exponentials follow in vectorized passes.
    """
    n_months, n_assets = real_gross.shape
    lognormal = market.model != NORMAL
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
        inflation[month] = inflation_log
        for k in range(n_assets):
            if lognormal:
                real_gross[month, k] = market.drift[k] + market.vol[k] * real_gross[month, k] - inflation_log
            else:
                real_gross[month, k] = max(0.0, 1.0 + market.drift[k] + market.vol[k] * real_gross[month, k])
    exp_in_place(inflation, scratch[:n_months])
    if lognormal:
        exp_in_place(real_gross.reshape(n_months * n_assets), scratch)
    else:
        for month in range(n_months):
            for k in range(n_assets):
                real_gross[month, k] /= inflation[month]
    return state


@jit
def draw_history(state, cursor, market, real_gross, inflation):
    """Fill consecutive months from the historical rows of ``market``, from row ``cursor`` on.

    ``cursor`` is the next row to read. The ``bootstrap`` model (a stationary block bootstrap)
    decides at the start of each period, with one uniform ``u``, whether to jump (``u < new_block``,
    and always on the first draw, ``cursor < 0``) to period ``floor(u / new_block * n_periods)``;
    otherwise, as for ``historical`` cohorts, the next row follows (wrapping around the end).
    Returns (the advanced random state, the next row to read).
    """
    n_rows = market.history_inflation.size
    period = market.period_months
    bootstrap = market.model == BOOTSTRAP
    n_periods = n_rows // period
    for month in range(real_gross.shape[0]):
        if bootstrap and (cursor < 0 or cursor % period == 0):
            u, state = uniform(state)
            if cursor < 0 or u < market.new_block:
                scaled = u / market.new_block if cursor >= 0 else u
                cursor = min(int(scaled * n_periods), n_periods - 1) * period
        for k in range(real_gross.shape[1]):
            real_gross[month, k] = market.history_gross[cursor, k]
        inflation[month] = market.history_inflation[cursor]
        cursor += 1
        if cursor == n_rows:
            cursor = 0
    return state, cursor


@jit
def first_row(market, path):
    """The row that path ``path`` reads first: its cohort's start for ``historical``, -1 (a random start) otherwise."""
    if market.model == HISTORICAL:
        return (np.int64(path) * market.period_months) % market.history_inflation.size
    return -1


@jit
def draw_market(state, cursor, market, real_gross, inflation, scratch):
    """Draw consecutive months for one path, from a parametric law or from history.

    Parametric models ignore ``cursor`` (:func:`draw_real_returns`); the historical ones read rows
    from it (:func:`draw_history`). Returns (the advanced random state, the next row to read).
    """
    if market.model == HISTORICAL or market.model == BOOTSTRAP:
        return draw_history(state, cursor, market, real_gross, inflation)
    return draw_real_returns(state, market, real_gross, inflation, scratch), cursor


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
def portfolio_and_net_share(balances, basis, tax_rate, price_level):
    """(wealth, share of a pro-rata gross withdrawal that is received after the tax on its gains share)."""
    wealth = 0.0
    taxed = 0.0
    for a in range(balances.size):
        if balances[a] > 0.0:
            wealth += balances[a]
            gains_share = max(0.0, 1.0 - basis[a] / (balances[a] * price_level))
            taxed += balances[a] * tax_rate[a] * gains_share
    if wealth <= 0.0:
        return 0.0, 1.0
    return wealth, 1.0 - taxed / wealth


@jit(inline=True)
def _scale_accounts(balances, basis, keep):
    for a in range(balances.size):
        balances[a] *= keep
        basis[a] *= keep


@jit(inline=True)
def withdraw(balances, basis, tax_rate, price_level, amount, gross):
    """Withdraw ``amount`` pro rata across accounts; return the net amount received.

    The tax on an account is ``tax_rate`` times the gains share of what leaves it, the gains share
    being ``1 - basis / (balance * price_level)`` (the basis is nominal). ``amount`` is what the
    household receives (net of tax) or, with ``gross``, what leaves the accounts (the tax is taken
    from it). When the amount needed is the whole wealth or more (a gross amount within 1e-9 of it
    counts as the whole), every account is emptied and less may be paid.
    """
    wealth, net_per_gross = portfolio_and_net_share(balances, basis, tax_rate, price_level)
    if wealth <= 0.0:
        return 0.0
    if gross:
        if amount >= wealth * (1.0 - 1e-9):
            _scale_accounts(balances, basis, 0.0)
            return wealth * net_per_gross
        _scale_accounts(balances, basis, 1.0 - amount / wealth)
        return amount * net_per_gross
    if amount >= wealth * net_per_gross:
        _scale_accounts(balances, basis, 0.0)
        return wealth * net_per_gross
    _scale_accounts(balances, basis, 1.0 - amount / (wealth * net_per_gross))
    return amount


@jit
def decumulate(real_gross, inflation, first, balances, basis, plan, price_level, fan_row):
    """Withdraw ``plan.needs[j]`` in month ``first + j`` of ``real_gross``/``inflation``, for every j.

    Accounts (``balances`` and nominal ``basis``, rebalanced to ``plan.allocation``) grow, pay
    ``plan.fee_keep``, then pay the month's need net of tax (:func:`withdraw`); the first
    month that cannot be paid in full empties them and ends the phase. ``fan_row`` (float64[n] or
    empty) receives the wealth at the end of each month, zeros after depletion.
    Returns (depletion index j or NOT_DEPLETED, final wealth, amount paid in the depletion month).
    """
    record = fan_row.size > 0
    wealth = balances.sum()
    for j in range(plan.needs.size):
        month = first + j
        price_level *= inflation[month]
        wealth = grow_accounts(balances, plan.allocation, plan.fee_keep, real_gross, month)
        need = plan.needs[j]
        if need > 0.0:
            paid = withdraw(balances, basis, plan.tax_rate, price_level, need, False)
            wealth = balances.sum()
            if paid < need:
                if record:
                    fan_row[j:] = 0.0
                return j, wealth, paid
        if record:
            fan_row[j] = wealth
    return NOT_DEPLETED, wealth, 0.0


@jit
def retire(real_gross, inflation, first, balances, basis, plan, params, rule, price_level, allocation, memory, n_live,
           fan_row, spend_row):
    """Retirement months ``first .. first + n_live - 1``: grow, then pay the withdrawal rule's amount.

    The rule decides each year's amount at the start of the year (:func:`yearly_amount`); ``target``
    pays ``plan.needs`` month by month. The rules that spend everything by an age (``vpw`` by its
    horizon age, ``merton`` by the horizon) spread what is left evenly over the months of their last
    year, so that they end empty rather than short. ``allocation`` (float64[n_accounts, n_assets]) and ``memory``
    (float64[MEMORY_SIZE]) are working space. ``fan_row`` (float64[n] or empty) receives the wealth
    at the end of each month; ``spend_row`` (float64[n_years] or empty) each retirement year's mean
    monthly spending (amount received plus other income) over the months lived.
    Returns (first month index j that could not be paid in full or NOT_DEPLETED, final wealth).
    """
    record = fan_row.size > 0
    record_spending = spend_row.size > 0
    kind = params.rule
    net = kind == TARGET or kind == MERTON
    final = params.vpw_months if kind == VPW else (params.horizon_months if kind == MERTON else -1)
    allocation[:, :] = plan.allocation  # the merton rule changes it each year
    wealth = balances.sum()
    depleted = NOT_DEPLETED
    monthly = 0.0
    spent = 0.0
    withdrawn = 0.0
    for j in range(n_live):
        month = first + j
        if j % 12 == 0:
            if kind != TARGET:
                memory[WITHDRAWN] = withdrawn
                withdrawn = 0.0
                share, future_income, income = merton_inputs(params, rule, j // 12)
                monthly = yearly_amount(params, memory, j // 12, j, wealth, price_level, share, future_income, income) / 12.0
                if kind == MERTON:
                    merton_allocation(params, rule, wealth, j // 12, allocation)
            spent = 0.0
        price_level *= inflation[month]
        wealth = grow_accounts(balances, allocation, plan.fee_keep, real_gross, month)
        need = plan.needs[j] if kind == TARGET else monthly
        spreading = final >= 0 and final - 12 * (j // 12) <= 12
        if spreading:
            need = wealth / max(final - j, 1)
        paid = 0.0
        if need > 0.0 and depleted == NOT_DEPLETED:
            gross = spreading or not net
            # A gross amount falls short when it exceeds the wealth (after this month's growth).
            short = need > wealth * (1.0 + 1e-9) if gross else False
            paid = withdraw(balances, basis, plan.tax_rate, price_level, need, gross)
            if gross:
                withdrawn += need
            else:
                short = paid < need
            wealth = balances.sum()
            if short:
                depleted = j
        if record:
            fan_row[j] = wealth
        if record_spending:
            spent += paid + rule.other_income[j]
            if j % 12 == 11 or j == n_live - 1:
                spend_row[j // 12] = spent / (j % 12 + 1)
    return depleted, wealth


@jit
def simulate_path(state, path, market, plan, params, rule, n_accum, real_gross, inflation, scratch, accounts, allocation,
                  memory, fan_row, spend_row):
    """Run one path from today to the horizon (or the retiree's death): save for ``n_accum`` months, then withdraw.

    ``state`` is the path's random stream and ``path`` its index (a historical cohort's number).
    Working space: ``real_gross`` float64[n_months, n_assets], ``inflation`` float64[n_months],
    ``scratch`` int64[n_months * n_assets], ``accounts`` float64[2, n_accounts] (balances, basis),
    ``allocation`` float64[n_accounts, n_assets] and ``memory`` float64[MEMORY_SIZE].
    ``fan_row`` is float64[n_months] (or empty) and receives the wealth at the end of each month
    (NaN after death); ``spend_row`` float64[n_years of retirement] (or empty) receives each
    retirement year's mean monthly spending (NaN after death).
    Returns (capital at retirement, depletion month or NOT_DEPLETED, wealth at death or at the
    horizon, months of retirement lived).
    """
    state, _ = draw_market(state, first_row(market, path), market, real_gross, inflation, scratch)
    n_decum = plan.needs.size
    lived = n_decum
    if params.mortality != FIXED:
        u, state = uniform(state)
        lived = death_month(params.mortality, params.modal_age, params.dispersion, params.retirement_age, n_decum, u)
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
    retired_fan = fan_row[n_accum:] if record else fan_row
    if record:
        retired_fan[lived:] = np.nan
    if spend_row.size > 0:
        spend_row[:] = np.nan
    depleted, terminal = retire(
        real_gross, inflation, n_accum, balances, basis, plan, params, rule, price_level, allocation, memory, lived,
        retired_fan, spend_row,
    )
    depletion = NOT_DEPLETED if depleted == NOT_DEPLETED else n_accum + depleted
    return wealth, depletion, terminal, lived


@jit(parallel=True)
def simulate_paths(seed, first_path, market, plan, params, rule, n_accum, capital, depletion, terminal, lived, fan, spending):
    """Run paths ``first_path .. first_path + capital.size - 1`` in parallel over paths.

    Writes float64 ``capital`` and ``terminal`` and int64 ``depletion`` and ``lived`` (each
    [n_paths]); ``fan`` is float64[n_paths, n_months] to record monthly wealth, or float64[0, 0] to
    skip it; ``spending`` float64[n_paths, n_years of retirement] (or [0, 0]) the yearly spending.
    """
    n_months = n_accum + plan.needs.size
    n_assets = market.drift.size
    n_accounts = plan.balances.size
    no_row = np.empty(0)
    for p in prange(capital.size):
        real_gross = np.empty((n_months, n_assets))
        inflation = np.empty(n_months)
        scratch = np.empty(n_months * n_assets, dtype=np.int64)
        accounts = np.empty((2, n_accounts))
        allocation = np.empty((n_accounts, n_assets))
        memory = np.zeros(MEMORY_SIZE)
        fan_row = fan[p] if fan.shape[0] > 0 else no_row
        spend_row = spending[p] if spending.shape[0] > 0 else no_row
        capital[p], depletion[p], terminal[p], lived[p] = simulate_path(
            seed_stream(seed, first_path + p), first_path + p, market, plan, params, rule, n_accum, real_gross, inflation,
            scratch, accounts, allocation, memory, fan_row, spend_row,
        )


@jit
def market_draws(seed, path, market, n_months):
    """The real gross returns and inflation factors that path ``path`` sees, month by month.

    Same draws as :func:`simulate_paths`: float64[n_months, n_assets] and float64[n_months]. Tests
    feed them to the NumPy reference to check the kernel path by path.
    """
    real_gross = np.empty((n_months, market.drift.size))
    inflation = np.empty(n_months)
    scratch = np.empty(n_months * market.drift.size, dtype=np.int64)
    draw_market(seed_stream(seed, path), first_row(market, path), market, real_gross, inflation, scratch)
    return real_gross, inflation
