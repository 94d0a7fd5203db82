"""A slow, obviously-correct NumPy reference of the Monte Carlo model, vectorized over paths.

Written from the model's description (see ``mcsim.core.kernels``), sharing no code with the kernels:
returns are drawn with NumPy's own Generator (or taken from the kernel's draws, to compare path
by path), and each month is written out step by step over arrays of paths.
"""

from __future__ import annotations

import numpy as np

from mcsim.core.arrays import ProfileArrays
from mcsim.core.market import NORMAL, STUDENT_T, MarketArrays


def draw_market(
    market: MarketArrays, n_paths: int, n_months: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Real gross returns float64[n_paths, n_months, n_assets] and inflation float64[n_paths, n_months]."""
    n_assets = market.drift.size
    shocks = rng.standard_normal((n_paths, n_months, n_assets)) @ market.chol.T
    if market.model == STUDENT_T:
        chi2 = rng.chisquare(market.t_df, (n_paths, n_months))
        shocks *= np.sqrt((market.t_df - 2.0) / chi2)[:, :, None]
    inflation = np.exp(market.inflation_drift + market.inflation_vol * rng.standard_normal((n_paths, n_months)))
    if market.model == NORMAL:
        gross = np.maximum(0.0, 1.0 + market.drift + market.vol * shocks)
    else:
        gross = np.exp(market.drift + market.vol * shocks)
    return gross / inflation[:, :, None], inflation


def run_reference(
    arrays: ProfileArrays, real_gross: np.ndarray, inflation: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Capital at retirement, depletion month (-1 if none), terminal wealth and monthly wealth per path."""
    plan = arrays.plan
    n_paths, n_months, _ = real_gross.shape
    balances = np.tile(plan.balances, (n_paths, 1))
    basis = np.tile(plan.basis, (n_paths, 1))  # nominal euros
    price_level = np.ones(n_paths)
    capital = np.zeros(n_paths)
    depletion = np.full(n_paths, -1)
    wealth_by_month = np.zeros((n_paths, n_months))
    for month in range(n_months):
        price_level = price_level * inflation[:, month]
        # Rebalanced to each account's allocation every month, so an account earns the weighted return.
        account_growth = real_gross[:, month, :] @ plan.allocation.T
        balances = balances * account_growth * plan.fee_keep
        if month < arrays.n_accum:
            amount = plan.contributions[month]
            balances = balances + amount * plan.split
            basis = basis + amount * plan.split * price_level[:, None]
            if month == arrays.n_accum - 1:
                capital = balances.sum(axis=1)
        else:
            need = plan.needs[month - arrays.n_accum]
            withdrawing = (depletion == -1) & (need > 0)
            wealth = balances.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                gains_share = np.where(balances > 0, np.maximum(0.0, 1.0 - basis / (balances * price_level[:, None])), 0.0)
                tax_share = np.where(wealth > 0, (balances * plan.tax_rate * gains_share).sum(axis=1) / wealth, 0.0)
            net_available = wealth * (1.0 - tax_share)
            fails = withdrawing & (need >= net_available)
            pays = withdrawing & ~fails
            with np.errstate(divide="ignore", invalid="ignore"):
                keep = np.where(pays, 1.0 - need / net_available, 1.0)
            keep = np.where(fails, 0.0, keep)
            balances = balances * keep[:, None]
            basis = basis * keep[:, None]
            depletion = np.where(fails, month, depletion)
        wealth_by_month[:, month] = balances.sum(axis=1)
    return capital, depletion, balances.sum(axis=1), wealth_by_month


def simulate_reference(
    arrays: ProfileArrays, n_paths: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The reference model on its own random numbers (NumPy's PCG64)."""
    rng = np.random.default_rng(seed)
    real_gross, inflation = draw_market(arrays.market, n_paths, arrays.n_months, rng)
    return run_reference(arrays, real_gross, inflation)
