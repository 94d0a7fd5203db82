"""Jitted kernels of the learning environment, shared by RetirementEnv and NumbaVecEnv.

Each function works on env ``b`` of a batch held in an :class:`EnvState` of arrays, so the
single-household env (a batch of one) and the batched env run the very same code: same seed,
household and actions give the same trajectory. The batched step advances every env in one call,
parallel over envs, with the terminal Monte Carlo estimates of the envs that finish included.
With the horizon ``LIFE`` an episode continues through retirement to the household's horizon,
as docs/whole-life.md states (spending decisions, survival weights, bequest; no Monte Carlo).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange

from ..core.arrays import PlanArrays
from ..core.jit import jit
from ..core.kernels import NOT_DEPLETED, decumulate, draw_market
from ..core.market import HISTORICAL, MarketArrays
from ..core.rng import next_u64, seed_stream, uniform

PLANNER = 0
CRRA = 1
MERTON = 2
REWARDS = {"planner": PLANNER, "crra": CRRA, "merton": MERTON}
RETIREMENT = 0
LIFE = 1
HORIZONS = {"retirement": RETIREMENT, "life": LIFE}

LIFE_SPENDING_SCALE = 4.0
"""In retirement the action a0 withdraws ``a0 * min(1, LIFE_SPENDING_SCALE * months / months_left)``
of the wealth at the start of each step (docs/whole-life.md)."""

SHORTFALL_SHARE = 0.1
"""The risk term averages the unfunded share of need over this share of worst paths."""
CONSUMPTION_FLOOR = 0.01
"""CRRA utilities floor consumption at this share of the reference (the target income, or for the
planner's quality of life the disposable income), so they stay finite when everything is saved."""
OBS_LIMIT = 5.0

OBS_SIZE = 11
OBS_NAMES = (
    "progress",  # months done / months to retirement
    "age",  # (age - 45) / 20
    "years_to_retirement",  # / 40
    "wealth_to_need",  # log(1 + wealth / retirement need)
    "saving_capacity",  # log(1 + max saving until retirement at today's income / retirement need)
    "charges_share",  # charges / income
    "other_income_share",  # pensions and other income / spending, at retirement
    "years_in_retirement",  # / 30
    "last_savings_rate",
    "last_equity_share",
    "income_to_target",  # log(disposable income / target income)
)
LIFE_OBS_NAMES = (
    *OBS_NAMES,  # in retirement: progress 1, no charges, saving capacity 0, income = other income,
    #              last savings rate = last spending action
    "retired",  # 1 from retirement on, else 0
    "years_left",  # months to the horizon / 12 / 30
    "wealth_to_reference",  # log(1 + wealth / a year of reference consumption)
    "other_income_to_reference",  # other income of the month (while working: at retirement) / reference
    "other_income_to_wealth",  # log(1 + other income x retirement months left / wealth)
    "expected_years_left",  # expected years alive to the horizon, given alive now / 30
    "survival_to_horizon",  # probability of reaching the horizon, given alive now
)
LIFE_OBS_SIZE = len(LIFE_OBS_NAMES)

INFO_AGE, INFO_WEALTH, INFO_SAVING, INFO_EQUITY, INFO_FUNDED, INFO_SHORTFALL, INFO_TERMINAL, INFO_CAPITAL = range(8)
INFO_CONSUMPTION = 8
"""Info column: the step's mean monthly consumption (disposable income less saving while working;
net withdrawal plus other income in retirement). In retirement INFO_SAVING is minus the gross
withdrawal per month; at the end of a life episode INFO_FUNDED and INFO_SHORTFALL are NaN (the
household chooses its spending: nothing is funded or short), INFO_TERMINAL is the horizon's bequest
term and INFO_CAPITAL the capital at retirement."""
INFO_SIZE = 9


class EnvParams(NamedTuple):
    """Scalar settings of the environment, as the kernels see them."""

    step_months: int
    max_savings_rate: float
    reward: int
    capital_weight: float
    qol_weight: float
    risk_weight: float
    gamma: float
    monthly_discount: float
    mc_paths: int
    horizon: int
    bequest_weight: float


class EnvState(NamedTuple):
    """Dynamic state of B envs.

    int64[B] ``household`` and ``month``, float64[B] money (``capital``: the wealth at retirement)
    and last action, uint64[B] ``episode_seed`` (streams of the terminal estimate), uint64[B, 4]
    ``rng``, int64[B] ``cursor`` (the next historical row; -1: a random start); working space
    float64[B, 12, 2] ``real_gross``, float64[B, 12] ``inflation``, int64[B, 24] ``bits``.
    """

    household: np.ndarray
    month: np.ndarray
    wealth: np.ndarray
    basis: np.ndarray
    price_level: np.ndarray
    capital: np.ndarray
    last_rate: np.ndarray
    last_equity: np.ndarray
    episode_seed: np.ndarray
    rng: np.ndarray
    cursor: np.ndarray
    real_gross: np.ndarray
    inflation: np.ndarray
    bits: np.ndarray


def new_state(n_envs: int) -> EnvState:
    """Zeroed state of ``n_envs`` envs (every env must be reset before its first step).

    It includes each env's working space for a step's market draws (at most 12 months), so that
    stepping allocates nothing.
    """
    return EnvState(
        household=np.zeros(n_envs, dtype=np.int64), month=np.zeros(n_envs, dtype=np.int64),
        wealth=np.zeros(n_envs), basis=np.zeros(n_envs), price_level=np.ones(n_envs), capital=np.zeros(n_envs),
        last_rate=np.zeros(n_envs), last_equity=np.zeros(n_envs),
        episode_seed=np.zeros(n_envs, dtype=np.uint64), rng=np.zeros((n_envs, 4), dtype=np.uint64),
        cursor=np.full(n_envs, -1, dtype=np.int64),
        real_gross=np.zeros((n_envs, 12, 2)), inflation=np.zeros((n_envs, 12)),
        bits=np.zeros((n_envs, 24), dtype=np.int64),
    )


@jit
def crra(x, gamma):
    """CRRA utility of ``x > 0`` with relative risk aversion ``gamma`` (log utility at 1), zero at 1."""
    if gamma == 1.0:
        return math.log(x)
    return (x ** (1.0 - gamma) - 1.0) / (1.0 - gamma)


@jit
def clip_action(value):
    """An action component clipped to [0, 1]; NaN counts as 0."""
    if not value >= 0.0:
        return 0.0
    return min(value, 1.0)


@jit
def disposable_income(pool, h, month):
    """Household ``h``'s monthly net income less running charges in ``month`` (at least zero)."""
    income = pool.income[h] * pool.income_growth[h] ** month
    for j in range(pool.charge_amount.shape[1]):
        if month < pool.charge_end[h, j]:
            income -= pool.charge_amount[h, j]
    return max(0.0, income)


@jit
def reference_consumption(pool, h):
    """The consumption that CRRA utilities are measured against: the target income (or the income)."""
    if pool.target[h] > 0.0:
        return pool.target[h]
    return max(pool.income[h], 1.0)


@jit
def household_market(pool, h):
    """The equities-and-bonds market of household ``h``."""
    return MarketArrays(
        pool.model, pool.drift[h], pool.vol[h], pool.chol[h], pool.t_df, pool.inflation_drift[h], pool.inflation_vol[h],
        pool.history_gross, pool.history_inflation, pool.period_months, pool.new_block, pool.wrap,
    )


@jit
def first_row(pool, h, position):
    """The first historical row of an episode of household ``h``.

    -1 (a random start) for the bootstrap and parametric models; for ``historical``, the start of
    the cohort at ``position`` in [0, 1) of the household's cohorts (those whose data covers its
    whole horizon, or every one with wrap).
    """
    if pool.model != HISTORICAL:
        return -1
    n_rows = pool.history_inflation.size
    period = pool.period_months
    months = pool.n_accum[h] + pool.n_decum[h]
    n_cohorts = n_rows // period if pool.wrap else max(1, (n_rows - months) // period + 1)
    return min(int(position * n_cohorts), n_cohorts - 1) * period


@jit
def terminal_paths(pool, params):
    """Monte Carlo paths of the terminal estimate at retirement.

    None for merton and the whole life, one for historical cohorts (the cohort's own continuation),
    else ``mc_paths``.
    """
    if params.reward == MERTON or params.horizon == LIFE:
        return 0
    return 1 if pool.model == HISTORICAL else params.mc_paths


@jit
def _load_rng(state, b):
    return (state.rng[b, 0], state.rng[b, 1], state.rng[b, 2], state.rng[b, 3])


@jit
def _store_rng(state, b, rng):
    for i in range(4):
        state.rng[b, i] = rng[i]


@jit
def seed_env(state, b, seed):
    """Restart env ``b``'s random stream from ``seed``."""
    _store_rng(state, b, seed_stream(seed, 0))


@jit
def reset_env(pool, params, state, b, household, position):
    """Start a new episode of env ``b``: a household drawn from the pool (or ``household`` if >= 0).

    Historical cohorts: the cohort at ``position`` in [0, 1) of the household's (drawn when < 0).
    """
    rng = _load_rng(state, b)
    u, rng = uniform(rng)
    seed, rng = next_u64(rng)
    if pool.model == HISTORICAL and position < 0.0:
        position, rng = uniform(rng)
    _store_rng(state, b, rng)
    n = pool.start_age.size
    h = household if household >= 0 else min(int(u * n), n - 1)
    state.household[b] = h
    state.month[b] = 0
    state.wealth[b] = pool.wealth[h]
    state.basis[b] = pool.basis[h]
    state.price_level[b] = 1.0
    state.capital[b] = 0.0
    state.episode_seed[b] = seed
    state.cursor[b] = first_row(pool, h, position)
    capacity = params.max_savings_rate * disposable_income(pool, h, 0)
    state.last_rate[b] = min(1.0, pool.plan_saving[h, 0] / capacity) if capacity > 0.0 else 0.0
    state.last_equity[b] = pool.equity[h]


@jit
def _clip_obs(value):
    return min(OBS_LIMIT, max(-OBS_LIMIT, value))


@jit
def observe(pool, params, state, b, out):
    """Write env ``b``'s observation into ``out``: float32[OBS_SIZE] (OBS_NAMES), or float32[LIFE_OBS_SIZE].

    With the horizon LIFE the features are LIFE_OBS_NAMES.
    """
    h = state.household[b]
    month = state.month[b]
    n_accum = pool.n_accum[h]
    left = max(n_accum - month, 0)
    age = pool.start_age[h] + month / 12.0
    need = max(pool.need_total[h], 12.0 * pool.spending[h, 0], 1.0)
    income = disposable_income(pool, h, month)
    gross = pool.income[h] * pool.income_growth[h] ** month
    spending = pool.spending[h, 0]
    out[0] = month / n_accum
    out[1] = _clip_obs((age - 45.0) / 20.0)
    out[2] = _clip_obs(left / 12.0 / 40.0)
    out[3] = _clip_obs(math.log1p(max(state.wealth[b], 0.0) / need))
    out[4] = _clip_obs(math.log1p(params.max_savings_rate * income * left / need))
    out[5] = 1.0 - income / gross if gross > 0.0 else 0.0
    out[6] = min(1.0, max(0.0, (spending - pool.needs[h, 0]) / spending)) if spending > 0.0 else 1.0
    out[7] = _clip_obs(pool.n_decum[h] / 12.0 / 30.0)
    out[8] = state.last_rate[b]
    out[9] = state.last_equity[b]
    out[10] = _clip_obs(math.log(max(income, 1.0) / max(pool.target[h], 1.0)))
    if params.horizon == LIFE:
        _observe_life(pool, state, b, out)


@jit
def _observe_life(pool, state, b, out):
    """The whole life's features (LIFE_OBS_NAMES), and the first ones' meaning in retirement."""
    h = state.household[b]
    month = state.month[b]
    n_accum = pool.n_accum[h]
    end = n_accum + pool.n_decum[h]
    retired = month >= n_accum
    other_income = pool.other_income[h, min(max(month - n_accum, 0), pool.n_decum[h] - 1)]
    wealth = max(state.wealth[b], 0.0)
    reference = reference_consumption(pool, h)
    out[0] = min(1.0, month / n_accum)
    if retired:
        out[5] = 0.0
        out[10] = _clip_obs(math.log(max(other_income, 1.0) / max(pool.target[h], 1.0)))
    left = end - month
    alive = 1.0 if month == 0 else pool.survival[h, month - 1]
    expected = 0.0
    if pool.survival[h, end - 1] < 1.0:
        if alive > 0.0:
            for t in range(month, end):
                expected += pool.survival[h, t]
            expected /= alive
    else:
        expected = float(left)
    out[11] = 1.0 if retired else 0.0
    out[12] = _clip_obs(left / 12.0 / 30.0)
    out[13] = _clip_obs(math.log1p(wealth / (12.0 * reference)))
    out[14] = _clip_obs(other_income / reference)
    out[15] = _clip_obs(math.log1p(other_income * min(left, pool.n_decum[h]) / max(wealth, 1.0)))
    out[16] = _clip_obs(expected / 12.0 / 30.0)
    out[17] = min(1.0, pool.survival[h, end - 1] / alive) if alive > 0.0 else 0.0


@jit
def _retirement_utility(pool, params, h, n_accum, depleted, paid, reference):
    """Discounted CRRA utility (per year) of one retirement path's consumption, seen from today.

    Consumption is the spending while funded, the other income plus what was paid in the
    depletion month, and the other income alone after it.
    """
    total = 0.0
    discount = params.monthly_discount ** n_accum
    for m in range(pool.n_decum[h]):
        spending = pool.spending[h, m]
        consumption = spending
        if depleted != NOT_DEPLETED and m >= depleted:
            consumption = spending - pool.needs[h, m] + (paid if m == depleted else 0.0)
        total += discount * crra(max(consumption, CONSUMPTION_FLOOR * reference) / reference, params.gamma) / 12.0
        discount *= params.monthly_discount
    return total


@jit
def retirement_path(pool, params, state, b, path):
    """One Monte Carlo path of env ``b``'s retirement phase, from its realized capital.

    The capital stays invested at the last equity share (the rest in bonds), pays its fee and the
    tax on gains, and funds each month's need net of pensions (the core kernel's ``decumulate``).
    Path j draws from stream (episode seed, j). Returns (1.0 if funded to the end else 0.0, the
    unfunded share of the total need, the discounted utility of consumption for the crra reward).
    """
    h = state.household[b]
    n_decum = pool.n_decum[h]
    equity = state.last_equity[b]
    allocation = np.empty((1, 2))
    allocation[0, 0] = equity
    allocation[0, 1] = 1.0 - equity
    plan = PlanArrays(
        np.empty(0), pool.needs[h, :n_decum], np.empty(1), np.empty(1), allocation,
        pool.fee_keep[h : h + 1], pool.tax_rate[h : h + 1], np.ones(1),
    )
    real_gross = np.empty((n_decum, 2))
    inflation = np.empty(n_decum)
    bits = np.empty(2 * n_decum, dtype=np.int64)
    draw_market(seed_stream(state.episode_seed[b], path), state.cursor[b], household_market(pool, h), real_gross, inflation,
                bits)
    balances = np.full(1, state.wealth[b])
    basis = np.full(1, state.basis[b])
    depleted, _, paid = decumulate(real_gross, inflation, 0, balances, basis, plan, state.price_level[b], np.empty(0))
    unpaid = 0.0
    if depleted != NOT_DEPLETED:
        unpaid = pool.needs[h, depleted] - paid
        for m in range(depleted + 1, n_decum):
            unpaid += pool.needs[h, m]
    need_total = pool.need_total[h]
    unfunded = min(1.0, unpaid / need_total) if need_total > 0.0 else 0.0
    utility = 0.0
    if params.reward == CRRA:
        utility = _retirement_utility(pool, params, h, pool.n_accum[h], depleted, paid, reference_consumption(pool, h))
    return (1.0 if depleted == NOT_DEPLETED else 0.0), unfunded, utility


@jit
def finish_episode(pool, params, state, b, funded, unfunded, utility, info):
    """Terminal reward of env ``b`` at retirement from its paths' results (float64[mc_paths] each).

    Planner: ``capital_weight`` times the funded probability minus ``risk_weight`` times the mean
    unfunded share over the worst SHORTFALL_SHARE of paths; crra: the mean discounted utility;
    merton: the CRRA utility of terminal wealth relative to the starting capital (no paths); horizon
    LIFE: the survivors' bequest at the horizon (no paths).
    Fills the terminal entries of ``info`` and returns the terminal reward.
    """
    h = state.household[b]
    probability = 0.0
    shortfall = 0.0
    if params.horizon == LIFE:
        end = pool.n_accum[h] + pool.n_decum[h]
        terminal = 0.0
        if params.bequest_weight > 0.0:
            terminal = params.bequest_weight * params.monthly_discount**end * pool.survival[h, end - 1] * bequest_utility(
                params, state.wealth[b], reference_consumption(pool, h)
            )
        info[INFO_FUNDED] = np.nan
        info[INFO_SHORTFALL] = np.nan
        info[INFO_TERMINAL] = terminal
        info[INFO_CAPITAL] = state.capital[b]
        return terminal
    if params.reward == MERTON:
        terminal = crra(max(state.wealth[b], 1e-300) / pool.wealth[h], params.gamma)
    else:
        n_paths = funded.size
        probability = funded.sum() / n_paths
        worst = max(1, int(math.ceil(SHORTFALL_SHARE * n_paths)))
        shortfall = np.sort(unfunded)[n_paths - worst :].mean()
        if params.reward == CRRA:
            terminal = utility.sum() / n_paths
        else:
            terminal = params.capital_weight * probability - params.risk_weight * shortfall
    info[INFO_FUNDED] = probability
    info[INFO_SHORTFALL] = shortfall
    info[INFO_TERMINAL] = terminal
    info[INFO_CAPITAL] = state.wealth[b]
    return terminal


@jit
def bequest_utility(params, wealth, reference):
    """``B(w)``: CRRA utility of a bequest counted in years of reference consumption (floored)."""
    floor = CONSUMPTION_FLOOR * reference
    return crra(max(wealth, floor * 12.0) / (12.0 * reference), params.gamma)


@jit
def life_month_utility(pool, params, h, t, consumption, wealth, reference):
    """Month ``t``'s term of the whole life's return (docs/whole-life.md).

    The survival-weighted, discounted utility of consumption and, with a bequest weight, the
    bequest of a death in month t leaving ``wealth``.
    """
    floor = CONSUMPTION_FLOOR * reference
    survival = pool.survival[h, t]
    utility = params.monthly_discount**t * survival * crra(max(consumption, floor) / reference, params.gamma) / 12.0
    if params.bequest_weight > 0.0:
        previous = 1.0 if t == 0 else pool.survival[h, t - 1]
        if previous > survival:
            utility += params.bequest_weight * params.monthly_discount ** (t + 1) * (previous - survival) * bequest_utility(
                params, wealth, reference
            )
    return utility


@jit(inline=True)
def draw_step(pool, state, b, h, months):
    """Draw env ``b``'s market for a step of ``months`` months: (real gross returns, inflation), views of its working space."""
    real_gross = state.real_gross[b, :months]
    inflation = state.inflation[b, :months]
    bits = state.bits[b, : 2 * months]
    rng, state.cursor[b] = draw_market(_load_rng(state, b), state.cursor[b], household_market(pool, h), real_gross,
                                       inflation, bits)
    _store_rng(state, b, rng)
    return real_gross, inflation


@jit(inline=True)
def end_step(state, b, month, wealth, basis, price_level, first_action, equity):
    """Store env ``b``'s state after a step (the clipped actions become its last ones)."""
    state.month[b] = month
    state.wealth[b] = wealth
    state.basis[b] = basis
    state.price_level[b] = price_level
    state.last_rate[b] = first_action
    state.last_equity[b] = equity


@jit
def retired_step(pool, params, state, b, spend_action, equity_action, info):
    """A retirement step of a LIFE episode: spend ``a0`` (docs/whole-life.md), invest at ``a1``; return (reward, done).

    The gross withdrawal ``r * W``, ``r = a0 * min(1, LIFE_SPENDING_SCALE * months / months_left)``,
    leaves at the step's start, taxed on its gains share; its net amount is spent evenly over the
    step's months on top of the month's other income; the rest grows at the equity share and pays
    the fee.
    """
    h = state.household[b]
    month = state.month[b]
    n_accum = pool.n_accum[h]
    end = n_accum + pool.n_decum[h]
    spend = clip_action(spend_action)
    equity = clip_action(equity_action)
    months = min(params.step_months, end - month)
    real_gross, inflation = draw_step(pool, state, b, h, months)
    wealth = state.wealth[b]
    basis = state.basis[b]
    price_level = state.price_level[b]
    share = spend * min(1.0, LIFE_SPENDING_SCALE * months / (end - month))
    gross = share * wealth
    net = 0.0
    if wealth > 0.0 and gross > 0.0:
        gains_share = max(0.0, 1.0 - basis / (wealth * price_level))
        net = gross * (1.0 - pool.tax_rate[h] * gains_share)
        basis *= 1.0 - gross / wealth
        wealth = wealth - gross
    fee_keep = pool.fee_keep[h]
    reference = reference_consumption(pool, h)
    reward = 0.0
    consumed = 0.0
    for m in range(months):
        t = month + m
        price_level *= inflation[m]
        growth = equity * real_gross[m, 0] + (1.0 - equity) * real_gross[m, 1]
        wealth = wealth * growth * fee_keep
        consumption = net / months + pool.other_income[h, t - n_accum]
        consumed += consumption
        reward += life_month_utility(pool, params, h, t, consumption, wealth, reference)
    month += months
    end_step(state, b, month, wealth, basis, price_level, spend, equity)
    info[INFO_AGE] = pool.start_age[h] + month / 12.0
    info[INFO_WEALTH] = wealth
    info[INFO_SAVING] = -gross / months
    info[INFO_EQUITY] = equity
    info[INFO_CONSUMPTION] = consumed / months
    return reward, month >= end


@jit
def step_env(pool, params, state, b, rate_action, equity_action, info):
    """Advance env ``b`` by one decision (``step_months`` months, fewer at the end); return (reward, done).

    The reward is the step's quality-of-life term; at the end (done) the caller adds the terminal
    reward (:func:`finish_episode`). ``info`` (float64[INFO_SIZE]) receives age, wealth, mean
    monthly saving, equity share and mean monthly consumption. With the horizon LIFE the episode
    goes on after retirement (:func:`retired_step`) and its working months weigh by survival.
    """
    h = state.household[b]
    month = state.month[b]
    n_accum = pool.n_accum[h]
    if params.horizon == LIFE and month >= n_accum:
        return retired_step(pool, params, state, b, rate_action, equity_action, info)
    rate = clip_action(rate_action)
    equity = clip_action(equity_action)
    months = min(params.step_months, n_accum - month)
    real_gross, inflation = draw_step(pool, state, b, h, months)
    wealth = state.wealth[b]
    basis = state.basis[b]
    price_level = state.price_level[b]
    fee_keep = pool.fee_keep[h]
    reference = reference_consumption(pool, h)
    qol = 0.0
    saved = 0.0
    consumed = 0.0
    for m in range(months):
        t = month + m
        price_level *= inflation[m]
        income = disposable_income(pool, h, t)
        saving = rate * params.max_savings_rate * income
        growth = equity * real_gross[m, 0] + (1.0 - equity) * real_gross[m, 1]
        wealth = wealth * growth * fee_keep + saving
        basis += saving * price_level
        saved += saving
        consumption = income - saving
        consumed += consumption
        if params.reward == PLANNER:
            if income > 0.0:
                qol += crra(max(consumption / income, CONSUMPTION_FLOOR), params.gamma)
        elif params.reward == CRRA:
            if params.horizon == LIFE:
                qol += life_month_utility(pool, params, h, t, consumption, wealth, reference)
            else:
                floor = CONSUMPTION_FLOOR * reference
                qol += params.monthly_discount**t * crra(max(consumption, floor) / reference, params.gamma) / 12.0
    month += months
    end_step(state, b, month, wealth, basis, price_level, rate, equity)
    reward = 0.0
    if params.reward == PLANNER:
        reward = params.qol_weight * qol / n_accum
    elif params.reward == CRRA:
        reward = qol
    info[INFO_AGE] = pool.start_age[h] + month / 12.0
    info[INFO_WEALTH] = wealth
    info[INFO_SAVING] = saved / months
    info[INFO_EQUITY] = equity
    info[INFO_CONSUMPTION] = consumed / months
    if month >= n_accum:
        state.capital[b] = wealth
        if params.horizon == LIFE:
            return reward, False
    return reward, month >= n_accum


@jit
def step_one(pool, params, state, rate_action, equity_action, obs, info):
    """Step the single env of ``state`` (terminal estimate included) and observe it; return (reward, done)."""
    reward, done = step_env(pool, params, state, 0, rate_action, equity_action, info)
    if done:
        n_paths = terminal_paths(pool, params)
        funded, unfunded, utility = np.empty(n_paths), np.empty(n_paths), np.empty(n_paths)
        for j in range(n_paths):
            funded[j], unfunded[j], utility[j] = retirement_path(pool, params, state, 0, j)
        reward += finish_episode(pool, params, state, 0, funded, unfunded, utility, info)
    observe(pool, params, state, 0, obs)
    return reward, done


@jit
def reset_one(pool, params, state, seed, household, position, obs):
    """Reset the single env of ``state`` (reseeding it when ``seed`` >= 0) and observe it."""
    if seed >= 0:
        seed_env(state, 0, seed)
    reset_env(pool, params, state, 0, household, position)
    observe(pool, params, state, 0, obs)


@jit(parallel=True)
def step_batch(pool, params, state, actions, obs, terminal_obs, rewards, dones, info):
    """Step every env, auto-resetting those that finish; parallel over envs, then over terminal paths.

    The terminal Monte Carlo paths of all envs that reach retirement in this step run as one flat
    parallel loop (env x path), so the threads share that work evenly however few envs finish.
    ``actions`` float32[B, 2]; writes float32[B, OBS_SIZE] (horizon LIFE: LIFE_OBS_SIZE) ``obs`` (after any reset) and
    ``terminal_obs`` (for envs that finished), float64[B] ``rewards``, bool[B] ``dones`` and
    float64[B, INFO_SIZE] ``info``.
    """
    n_envs = actions.shape[0]
    for b in prange(n_envs):
        rewards[b], dones[b] = step_env(pool, params, state, b, actions[b, 0], actions[b, 1], info[b])
    finished = np.flatnonzero(dones)
    n_paths = terminal_paths(pool, params)
    funded = np.empty((finished.size, n_paths))
    unfunded = np.empty((finished.size, n_paths))
    utility = np.empty((finished.size, n_paths))
    for k in prange(finished.size * n_paths):
        i = k // n_paths
        j = k % n_paths
        funded[i, j], unfunded[i, j], utility[i, j] = retirement_path(pool, params, state, finished[i], j)
    for i in prange(finished.size):
        b = finished[i]
        rewards[b] += finish_episode(pool, params, state, b, funded[i], unfunded[i], utility[i], info[b])
        observe(pool, params, state, b, terminal_obs[b])
        reset_env(pool, params, state, b, -1, -1.0)
    for b in prange(n_envs):
        observe(pool, params, state, b, obs[b])


@jit(parallel=True)
def reset_batch(pool, params, state, seeds, households, positions, obs):
    """Reset every env: reseed env b when ``seeds[b] >= 0``, force its household when ``households[b] >= 0``.

    ``positions[b] >= 0`` forces its historical cohort's position.
    """
    for b in prange(seeds.size):
        if seeds[b] >= 0:
            seed_env(state, b, seeds[b])
        reset_env(pool, params, state, b, households[b], positions[b])
        observe(pool, params, state, b, obs[b])
