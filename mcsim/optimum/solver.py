"""The optimum of a household's decision problem, by dynamic programming: the yardstick of every strategy.

For one household the environment's state is (decision step, wealth): income, charges and needs are
known in advance, and the market is independent from month to month. Backward induction solves it:

* wealth on a grid uniform in ``log(wealth + shift)`` (a few hundred points), values interpolated
  linearly in it (CRRA values as log certainty-equivalents, so homothetic problems interpolate
  exactly);
* each step's decision (savings rate, equity share) chosen on a 21 x 21 grid, then refined locally;
* the step's portfolio return (rebalanced monthly, fee included) as a lognormal whose mean and
  variance match the monthly mix of equities and bonds, its expectation by Gauss-Hermite
  quadrature; the month's saving grows with the same draw over the rest of the step;
* after the last step, the environment's terminal reward as a function of wealth and of the
  retirement equity share (the last decision's), computed once on the grid from ``terminal_paths``
  retirement paths of the core kernel's market draws (:func:`mcsim.optimum.kernels.retirement_values`).

Approximations, all stated: the tax at retirement needs the nominal basis, which the state does
not carry; the solver uses the basis ratio that its policy reaches on the median market path (from
a coarse solve first). Student-t markets enter through their lognormal moments.

The consumption stage (:func:`solve_consumption`) decides consumption as a share of wealth and the
equity share: Samuelson's (1969) problem, the retirement phase with the withdrawal as a decision.

Over the whole life (``EnvConfig(horizon="life")``, docs/whole-life.md) the retirement steps are
decisions too: backward induction first over them (the spending action and the equity share, each
month's utility weighted by survival, the bequests), then over the working steps with the first
retirement step's values as their terminal value. The tax of a withdrawal needs the basis, which
the state does not carry: each retirement step uses the gains share that a coarse solve's policy
reaches at that step on the median market (:func:`median_path`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..core.checks import integer, number
from ..core.errors import ParameterError
from ..core.market import NORMAL, MarketArrays
from ..env.environment import EnvConfig
from ..env.household import HouseholdPool
from ..env.kernels import CONSUMPTION_FLOOR, household_market, reference_consumption
from ..env.policies import disposable_incomes
from .kernels import (
    ACCUMULATION,
    CERTAINTY,
    CONSUMPTION,
    CRRA_REWARD,
    IDENTITY,
    NO_REWARD,
    PLANNER_REWARD,
    RETIREMENT,
    retirement_values,
    solve_stage,
)

try:  # the environment's spending parametrisation (docs/whole-life.md)
    from ..env.kernels import LIFE_SPENDING_SCALE
except ImportError:  # pragma: no cover - until the env's whole life lands
    LIFE_SPENDING_SCALE = 4.0

MAX_TABLE = 5_000_000
"""Largest wealth points x terminal paths: each thread holds one such float64 table (40 MB)."""
FINE_EQUITIES = 401
"""Portfolio returns are tabulated at this many equity shares and interpolated between them."""


@dataclass(frozen=True)
class SolverGrid:
    """Sizes of the solver's grids.

    :param wealth_points: points of the wealth grid.
    :param rate_points: savings rates (or consumption shares) of the coarse action grid.
    :param equity_points: equity shares of the coarse action grid and columns of the terminal table.
    :param nodes: Gauss-Hermite nodes of each step's expectation.
    :param terminal_paths: retirement paths of the terminal reward.
    :param tolerance: the local refinement stops when its step is under this.
    :param seed: seed of the terminal paths.
    """

    wealth_points: int = 300
    rate_points: int = 21
    equity_points: int = 21
    nodes: int = 16
    terminal_paths: int = 1000
    tolerance: float = 5e-4
    seed: int = 20_240_601

    def __post_init__(self) -> None:
        integer("wealth_points", self.wealth_points, 10, 100_000)
        integer("rate_points", self.rate_points, 2, 1001)
        integer("equity_points", self.equity_points, 2, 1001)
        integer("nodes", self.nodes, 1, 200)
        integer("terminal_paths", self.terminal_paths, 1, 1_000_000)
        if self.wealth_points * self.terminal_paths > MAX_TABLE:
            raise ParameterError(
                "terminal_paths", f"wealth_points x terminal_paths must be at most {MAX_TABLE:,} "
                f"(got {self.wealth_points:,} x {self.terminal_paths:,})")
        number("tolerance", self.tolerance, 0.0, 0.5, open_low=True)
        integer("seed", self.seed, 0, 2**63 - 1)


@dataclass(frozen=True)
class WealthGrid:
    """Wealth at ``exp(x0 + i * dx) - shift`` for i < n."""

    x0: float
    dx: float
    shift: float
    n: int

    @classmethod
    def spanning(cls, low: float, high: float, n: int, shift: float) -> WealthGrid:
        """N points from ``low`` to ``high``, uniform in ``log(wealth + shift)``."""
        x0 = math.log(low + shift)
        return cls(x0, (math.log(high + shift) - x0) / (n - 1), float(shift), int(n))

    @property
    def wealth(self) -> np.ndarray:
        """The grid's wealth points, float64[n]."""
        return np.maximum(np.exp(self.x0 + self.dx * np.arange(self.n)) - self.shift, 0.0)

    def position(self, wealth: np.ndarray) -> np.ndarray:
        """Fractional grid index of ``wealth`` (clamped to the grid)."""
        x = np.log(np.maximum(np.asarray(wealth, dtype=float) + self.shift, 1e-300))
        return np.clip((x - self.x0) / self.dx, 0.0, self.n - 1.0)


def _interpolate_rows(table: np.ndarray, rows: np.ndarray, position: np.ndarray) -> np.ndarray:
    """``table[rows[b]]`` at fractional index ``position[b]``, linearly."""
    i = np.minimum(position.astype(np.int64), table.shape[1] - 2)
    t = position - i
    return table[rows, i] + t * (table[rows, i + 1] - table[rows, i])


def gauss_hermite(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) of the expectation over a standard normal."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    return z, w / w.sum()


def monthly_portfolio_moments(market: MarketArrays, fee_keep: float, equities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the log of a lognormal matching the month's real portfolio return (fee included).

    The portfolio holds ``equities`` (float64[n]) in asset 0 and the rest in asset 1, rebalanced
    monthly; its gross real return's first two moments are exact for the lognormal and normal
    models (Student-t shocks: those of the lognormal model with the same parameters).
    """
    drift, vol = market.drift[:2], market.vol[:2]
    correlation = (market.chol @ market.chol.T)[:2, :2]
    if market.model == NORMAL:
        inverse = math.exp(-market.inflation_drift + 0.5 * market.inflation_vol**2)
        inverse_square = math.exp(-2.0 * market.inflation_drift + 2.0 * market.inflation_vol**2)
        nominal = 1.0 + drift
        first = nominal * inverse
        second = (np.outer(nominal, nominal) + np.outer(vol, vol) * correlation) * inverse_square
    else:
        mean = drift - market.inflation_drift
        cov = np.outer(vol, vol) * correlation + market.inflation_vol**2
        first = np.exp(mean + 0.5 * np.diag(cov))
        second = np.exp(mean[:, None] + mean[None, :] + 0.5 * (np.diag(cov)[:, None] + np.diag(cov)[None, :]) + cov)
    e = np.asarray(equities, dtype=float)
    mix_first = e * first[0] + (1.0 - e) * first[1]
    mix_second = e**2 * second[0, 0] + (1.0 - e) ** 2 * second[1, 1] + 2.0 * e * (1.0 - e) * second[0, 1]
    variance = np.log(np.maximum(mix_second / mix_first**2, 1.0))
    return np.log(mix_first) - 0.5 * variance + math.log(fee_keep), variance


def step_tables(
    market: MarketArrays, fee_keep: float, incomes: np.ndarray, n_months: np.ndarray, nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per step k, fine equity share j and node q: the step's growth factor and its savings' growth.

    ``incomes`` float64[K, months per step] is each month's disposable income. The growth factor is
    ``A = exp(n m + sqrt(n v) z_q)`` over the step's n months; the saving of month i grows by
    ``A ** ((n - 1 - i) / n)``, so the contributions factor is ``sum_i income_i A ** ((n - 1 - i) / n)``.
    Returns float64[K, FINE_EQUITIES, nodes] growth and contributions, and the weights float64[nodes].
    """
    z, weights = gauss_hermite(nodes)
    mean, variance = monthly_portfolio_moments(market, fee_keep, np.linspace(0.0, 1.0, FINE_EQUITIES))
    n_steps = n_months.size
    growth = np.empty((n_steps, FINE_EQUITIES, nodes))
    contributions = np.zeros((n_steps, FINE_EQUITIES, nodes))
    for k in range(n_steps):
        n = int(n_months[k])
        log_growth = n * mean[:, None] + np.sqrt(n * variance)[:, None] * z[None, :]
        growth[k] = np.exp(log_growth)
        for i in range(n):
            if incomes[k, i] > 0.0:
                contributions[k] += incomes[k, i] * np.exp(log_growth * (n - 1 - i) / n)
    return growth, contributions, weights


@dataclass(frozen=True)
class OptimalPolicy:
    """The optimal decisions of one household on the wealth grid, step by step.

    ``rate`` and ``equity`` are float64[n_steps, n_wealth] (the savings-rate action, 1.0 saving the
    maximum rate, and the equity share; over the whole life, the rows from ``n_working`` on are the
    retirement steps, whose first action is spending); ``values`` the optimal value there
    (interpolation space); ``value`` the optimal expected return of an episode from the household's
    starting wealth. ``basis_ratio`` is the nominal basis per euro of capital at retirement of the
    tax approximation, ``basis_ratios`` (whole life) that of each retirement step.
    """

    grid: WealthGrid
    rate: np.ndarray
    equity: np.ndarray
    values: np.ndarray
    value: float
    step_months: int
    basis_ratio: float
    seconds: float
    n_working: int | None = None
    basis_ratios: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_steps(self) -> int:
        """Decision steps: to retirement, or over the whole life."""
        return int(self.rate.shape[0])

    @property
    def life(self) -> bool:
        """Whether the policy covers the whole life (retirement steps included)."""
        return self.n_working is not None

    def actions(self, steps: np.ndarray, wealth: np.ndarray) -> np.ndarray:
        """Actions float32[B, 2] at decision ``steps`` int[B] and ``wealth`` float[B], interpolated in log wealth.

        Steps count decisions from the start (:func:`decision_steps` of the env's months).
        """
        rows = np.minimum(np.asarray(steps, dtype=np.int64), self.n_steps - 1)
        position = self.grid.position(wealth)
        out = np.empty((rows.size, 2), dtype=np.float32)
        out[:, 0] = _interpolate_rows(self.rate, rows, position)
        out[:, 1] = _interpolate_rows(self.equity, rows, position)
        return out


def decision_steps(months: np.ndarray, n_accum: np.ndarray | int, step_months: int) -> np.ndarray:
    """The decision step of env ``months`` (int[B]): steps restart at retirement, which no step straddles."""
    months = np.asarray(months, dtype=np.int64)
    n_accum = np.asarray(n_accum, dtype=np.int64)
    working = -(-n_accum // step_months)
    return np.where(months < n_accum, months // step_months, working + (months - n_accum) // step_months)


@dataclass(frozen=True)
class _Problem:
    """What the kernels need of one household and objective (see :func:`solve_household`)."""

    kind: int
    mode: int
    gamma: float
    reference: float
    max_rate: float
    qol_scale: float
    weights: np.ndarray = field(repr=False)

    def packed(self, grid: WealthGrid) -> tuple:
        return (self.kind, self.mode, self.gamma, self.reference, self.max_rate, self.qol_scale,
                grid.x0, grid.dx, grid.shift)


def household_incomes(pool: HouseholdPool, h: int) -> np.ndarray:
    """Disposable income of each month to retirement, float64[n_accum] (the env's ``disposable_income``)."""
    return disposable_incomes(pool, np.array([h]), np.arange(int(pool.n_accum[h]))[None, :])[0]


def is_life(config: EnvConfig) -> bool:
    """Whether ``config`` is the environment over the whole life."""
    return getattr(config, "horizon", "retirement") == "life"


def household_survival(pool: HouseholdPool, h: int) -> np.ndarray:
    """``S[t]``, alive at the end of month t of the life (float64[n_accum + n_decum]); ones without mortality."""
    months = int(pool.n_accum[h] + pool.n_decum[h])
    survival = getattr(pool, "survival", None)
    if survival is None:
        return np.ones(months)
    return np.asarray(survival[h, :months], dtype=float)


def lifetime_weight(pool: HouseholdPool, h: int, config: EnvConfig, from_month: int = 0) -> float:
    """Weight of a constant utility over the rest of life in the crra objective: sum of discount^t / 12.

    Over the whole life each month also counts with its survival probability ``S[t]``.
    """
    months = np.arange(from_month, int(pool.n_accum[h] + pool.n_decum[h]))
    weights = config.params().monthly_discount ** months / 12.0
    if is_life(config):
        weights = weights * household_survival(pool, h)[from_month:]
    return float(weights.sum())


def crra_inverse(utility: np.ndarray | float, gamma: float) -> np.ndarray:
    """The x whose CRRA utility (the env's ``crra``) is ``utility``."""
    u = np.asarray(utility, dtype=float)
    if gamma == 1.0:
        return np.exp(u)
    return np.maximum(1.0 + (1.0 - gamma) * u, 0.0) ** (1.0 / (1.0 - gamma))


def certainty_equivalent(pool: HouseholdPool, h: int, config: EnvConfig, mean_return: float) -> float:
    """The constant consumption with the same expected utility as ``mean_return`` (an episode's mean return).

    crra objective: euros a month, over the whole life (saving years and retirement; whole-life
    horizon: each month weighted by survival, the bequest term included in the return); merton: the
    terminal wealth, in units of the starting capital times that capital.
    """
    if config.reward == "merton":
        return float(pool.wealth[h] * crra_inverse(mean_return, config.gamma))
    if config.reward != "crra":
        raise ValueError("certainty equivalents exist for the crra and merton objectives")
    weight = lifetime_weight(pool, h, config)
    return float(reference_consumption(pool, h) * crra_inverse(mean_return / weight, config.gamma))


def _wealth_grid(pool: HouseholdPool, h: int, config: EnvConfig, incomes: np.ndarray, n: int) -> WealthGrid:
    """A grid wide enough for the household.

    Without income: multiplicative around the starting capital (six standard deviations of the
    all-equity log-return over the horizon, the whole life's included). Otherwise from zero to four
    standard deviations above saving the most at the best drift (and at least three times the
    retirement need), uniform in ``log(wealth + shift)`` with ``shift`` a fiftieth of the need or
    capital: relative spacing above it, absolute below.
    """
    years = pool.n_accum[h] / 12.0
    if is_life(config) and not config.max_savings_rate * float(incomes.sum()) > 0.0:
        years += pool.n_decum[h] / 12.0
    market = household_market(pool, h)
    mean, variance = monthly_portfolio_moments(market, float(pool.fee_keep[h]), np.array([0.0, 1.0]))
    drift = 12.0 * float(np.max(np.abs(mean))) * years
    sigma = math.sqrt(12.0 * float(variance.max()) * years)
    start = float(pool.wealth[h])
    saved = config.max_savings_rate * float(incomes.sum())
    need = float(pool.need_total[h])
    if saved <= 0.0 and start > 0.0:
        spread = 6.0 * sigma + drift + 1.0
        return WealthGrid.spanning(start * math.exp(-spread), start * math.exp(spread), n, 0.0)
    high = max((start + saved) * math.exp(4.0 * sigma + drift), 3.0 * need, 1.0)
    shift = min(max(need, start, 1.0) / 50.0, high / 100.0)
    return WealthGrid.spanning(0.0, high, n, shift)


def terminal_values(
    pool: HouseholdPool, h: int, config: EnvConfig, wealth: np.ndarray, equities: np.ndarray, n_paths: int, seed: int,
    basis_ratio: float,
) -> np.ndarray:
    """The environment's expected terminal reward at each sorted ``wealth`` and retirement equity share.

    float64[n_eq, n_w], over ``n_paths`` retirement paths of stream ``seed``: the expectation of
    the estimate the environment makes from ``config.mc_paths`` paths (planner: weighted funded
    probability and shortfall, the shortfall's worst-10% mean taken within blocks of that many
    paths; crra: mean discounted utility; merton: the utility of the capital itself), with a
    nominal basis of ``basis_ratio`` per euro of capital at retirement (in euros of today).
    """
    wealth = np.ascontiguousarray(wealth, dtype=float)
    if config.reward == "merton":
        utility = np.array([_crra(max(w, 1e-300) / pool.wealth[h], config.gamma) for w in wealth])
        return np.repeat(utility[None, :], len(equities), axis=0)
    n_decum = int(pool.n_decum[h])
    needs = np.ascontiguousarray(pool.needs[h, :n_decum])
    spending = np.ascontiguousarray(pool.spending[h, :n_decum])
    reference = reference_consumption(pool, h)
    discounts = np.zeros(n_decum)
    funded_utility = np.zeros(n_decum + 1)
    depleted_utility = np.zeros(n_decum + 1)
    if config.reward == "crra":
        discounts = config.params().monthly_discount ** (pool.n_accum[h] + np.arange(n_decum)) / 12.0
        floor = CONSUMPTION_FLOOR * reference
        full = _crra(np.maximum(spending, floor) / reference, config.gamma) * discounts
        short = _crra(np.maximum(spending - needs, floor) / reference, config.gamma) * discounts
        funded_utility[1:] = np.cumsum(full)
        depleted_utility[:-1] = np.cumsum(short[::-1])[::-1]
    equities = np.ascontiguousarray(equities, dtype=float)
    funded = np.empty((equities.size, wealth.size))
    shortfall = np.empty_like(funded)
    utility = np.empty_like(funded)
    retirement_values(
        household_market(pool, h), needs, spending, float(pool.fee_keep[h]), float(pool.tax_rate[h]), float(basis_ratio),
        equities, wealth, int(n_paths), int(config.mc_paths), int(seed), funded_utility, depleted_utility, discounts,
        reference, float(config.gamma), funded, shortfall, utility,
    )
    if config.reward == "crra":
        return utility
    return config.capital_weight * funded - config.risk_weight * shortfall


def _terminal_table(
    pool: HouseholdPool, h: int, config: EnvConfig, grid: WealthGrid, solver: SolverGrid, problem: _Problem,
    basis_ratio: float,
) -> np.ndarray:
    """The terminal reward on the grid in interpolation space, float64[equity columns, n_wealth]."""
    if config.reward == "merton":
        return np.log(np.maximum(grid.wealth, 1e-300) / pool.wealth[h])[None, :]
    equities = np.linspace(0.0, 1.0, solver.equity_points)
    values = terminal_values(pool, h, config, grid.wealth, equities, solver.terminal_paths, solver.seed, basis_ratio)
    return _to_space(values, problem.mode, problem.weights[-1], config.gamma)


def _to_space(value: np.ndarray, mode: int, weight: float, gamma: float) -> np.ndarray:
    """Values in the interpolation space of ``mode`` (``CERTAINTY``: the log certainty equivalent of ``value / weight``)."""
    if mode == IDENTITY:
        return value
    return np.log(np.maximum(crra_inverse(value / weight, gamma), 1e-300))


def _from_space(y: np.ndarray | float, mode: int, weight: float, gamma: float) -> np.ndarray:
    """Values of ``y`` in the interpolation space of ``mode``: the inverse of :func:`_to_space`."""
    y = np.asarray(y, dtype=float)
    if mode == IDENTITY:
        return y
    if gamma == 1.0:
        return weight * y
    return weight * np.expm1((1.0 - gamma) * y) / (1.0 - gamma)


def _household_problem(pool: HouseholdPool, h: int, config: EnvConfig, n_steps: int) -> _Problem:
    n_accum = int(pool.n_accum[h])
    sm = config.step_months
    if config.reward == "planner":
        return _Problem(PLANNER_REWARD, IDENTITY, float(config.gamma), 1.0, float(config.max_savings_rate),
                        float(config.qol_weight) / n_accum, np.ones(n_steps + 1))
    if config.reward == "merton":
        return _Problem(NO_REWARD, CERTAINTY, float(config.gamma), 1.0, float(config.max_savings_rate), 0.0,
                        np.ones(n_steps + 1))
    weights = np.array([lifetime_weight(pool, h, config, min(k * sm, n_accum)) for k in range(n_steps + 1)])
    return _Problem(CRRA_REWARD, CERTAINTY, float(config.gamma), reference_consumption(pool, h),
                    float(config.max_savings_rate), 0.0, weights)


def _policy_basis_ratio(pool: HouseholdPool, h: int, config: EnvConfig, solver: SolverGrid) -> float | np.ndarray:
    """The basis ratio at retirement of the optimal policy on the median market, from a coarse solve.

    Over the whole life, the ratio at the start of each retirement step. The household's own ratio
    when no tax applies (the ratio then does not matter).
    """
    start = float(pool.wealth[h])
    own = float(pool.basis[h]) / start if start > 0.0 else 1.0
    if pool.tax_rate[h] <= 0.0 or config.reward == "merton":
        return own
    coarse = replace(solver, wealth_points=min(solver.wealth_points, 100), rate_points=min(solver.rate_points, 11),
                     equity_points=min(solver.equity_points, 11), nodes=min(solver.nodes, 8),
                     terminal_paths=min(solver.terminal_paths, 200), tolerance=max(solver.tolerance, 4e-3))
    policy = solve_household(pool, h, config, coarse, basis_ratio=own)
    path = median_path(pool, h, config, policy)
    if policy.life:
        return path.basis_ratios
    return path.basis_ratio


def solve_household(
    pool: HouseholdPool, h: int, config: EnvConfig | None = None, solver: SolverGrid | None = None,
    basis_ratio: float | np.ndarray | None = None,
) -> OptimalPolicy:
    """The optimal policy of household ``h`` of ``pool`` for the environment configured by ``config``.

    ``basis_ratio`` (nominal basis per euro of capital at retirement; whole life: one per retirement
    step, or one for all) fixes the tax approximation; by default it is the ratio that a coarse
    solve's policy reaches on the median market.
    """
    config = config or EnvConfig()
    solver = solver or SolverGrid()
    if config.reward == "merton" and not pool.wealth[h] > 0.0:
        raise ParameterError("households", "the merton reward needs a positive starting capital")
    started = time.perf_counter()
    if is_life(config):
        return _solve_life(pool, h, config, solver, basis_ratio, started)
    n_accum = int(pool.n_accum[h])
    sm = config.step_months
    n_steps = -(-n_accum // sm)
    incomes_flat = household_incomes(pool, h)
    incomes = np.zeros((n_steps, sm))
    discounts = np.zeros((n_steps, sm))
    n_months = np.empty(n_steps, dtype=np.int64)
    monthly_discount = config.params().monthly_discount
    for k in range(n_steps):
        months = np.arange(k * sm, min((k + 1) * sm, n_accum))
        n_months[k] = months.size
        incomes[k, : months.size] = incomes_flat[months]
        discounts[k, : months.size] = monthly_discount**months / 12.0
    market = household_market(pool, h)
    growth, contributions, weights = step_tables(market, float(pool.fee_keep[h]), incomes, n_months, solver.nodes)
    problem = _household_problem(pool, h, config, n_steps)
    grid = _wealth_grid(pool, h, config, incomes_flat, solver.wealth_points)
    tables = (growth, contributions, weights, incomes, discounts, n_months, np.zeros(n_steps), problem.weights,
              np.zeros(n_steps))
    if basis_ratio is None:
        basis_ratio = _policy_basis_ratio(pool, h, config, solver)
    ratio = number("basis_ratio", basis_ratio, 0.0, 1e6)
    controls = np.linspace(0.0, 1.0, solver.rate_points)
    equities = np.linspace(0.0, 1.0, solver.equity_points)
    rate = np.empty((n_steps, grid.n))
    equity = np.empty_like(rate)
    values = np.empty_like(rate)
    terminal = np.ascontiguousarray(_terminal_table(pool, h, config, grid, solver, problem, ratio))
    solve_stage(ACCUMULATION, problem.packed(grid), tables, no_life(n_steps, sm), terminal, controls, equities,
                solver.tolerance, rate, equity, values)
    policy = OptimalPolicy(grid, rate, equity, values, 0.0, sm, ratio, 0.0)
    start_y = np.interp(grid.position(np.array([pool.wealth[h]])), np.arange(grid.n), values[0])
    value = float(_from_space(start_y[0], problem.mode, problem.weights[0], config.gamma))
    return replace(policy, value=value, seconds=time.perf_counter() - started)


def no_life(n_steps: int, step_months: int) -> tuple:
    """The ``life`` tables of a stage without the whole life's terms (:mod:`mcsim.optimum.kernels`)."""
    zeros = np.zeros((n_steps, step_months))
    return (np.ones(n_steps), np.ones(n_steps), zeros, zeros, zeros, np.zeros(n_steps, dtype=np.bool_), np.zeros(2),
            np.zeros(2))


@dataclass(frozen=True)
class LifeTimeline:
    """The whole life's months and weights for household ``h`` (docs/whole-life.md).

    float64[T] ``utility`` (``discount**(t/12) * S[t] / 12``, month t's utility weight) and
    ``bequest`` (the weight of a death in month t); ``terminal`` the survivors' bequest weight at
    the horizon; ``remaining[t]`` the total weight of months t.. on (terminal included). ``working``
    and ``retired`` list each decision step's (first month, months).
    """

    n_accum: int
    n_decum: int
    utility: np.ndarray
    bequest: np.ndarray
    terminal: float
    remaining: np.ndarray
    working: list[tuple[int, int]]
    retired: list[tuple[int, int]]

    @classmethod
    def of(cls, pool: HouseholdPool, h: int, config: EnvConfig) -> LifeTimeline:
        """The timeline of household ``h`` under ``config``."""
        n_accum, n_decum, sm = int(pool.n_accum[h]), int(pool.n_decum[h]), int(config.step_months)
        months = n_accum + n_decum
        survival = household_survival(pool, h)
        discount = config.params().monthly_discount ** np.arange(months + 1)
        weight = float(getattr(config, "bequest_weight", 0.0))
        utility = discount[:months] * survival / 12.0
        deaths = np.concatenate(([1.0], survival[:-1])) - survival
        bequest = weight * discount[1:] * deaths
        terminal = weight * discount[months] * survival[-1]
        remaining = np.append(np.cumsum((utility + bequest)[::-1])[::-1], 0.0) + terminal
        working = [(t, min(sm, n_accum - t)) for t in range(0, n_accum, sm)]
        retired = [(n_accum + t, min(sm, n_decum - t)) for t in range(0, n_decum, sm)]
        return cls(n_accum, n_decum, utility, bequest, float(terminal), remaining, working, retired)


def life_stage(
    pool: HouseholdPool, h: int, config: EnvConfig, life: LifeTimeline, retired: bool, nodes: int,
    basis_ratios: np.ndarray | None = None,
) -> tuple[tuple, tuple]:
    """The kernels' ``tables`` and ``life`` tables of the working (``retired=False``) or retirement steps.

    ``basis_ratios`` (one per retirement step) set the net share of a gross withdrawal.
    """
    sm = int(config.step_months)
    steps = life.retired if retired else life.working
    n_steps = len(steps)
    n_months = np.array([n for _, n in steps], dtype=np.int64)
    month = {name: np.zeros((n_steps, sm)) for name in ("income", "utility", "bequest", "other")}
    incomes = household_incomes(pool, h)
    for k, (t0, n) in enumerate(steps):
        month["utility"][k, :n] = life.utility[t0 : t0 + n]
        month["bequest"][k, :n] = life.bequest[t0 : t0 + n]
        if retired:
            month["other"][k, :n] = pool.other_income[h, t0 - life.n_accum : t0 - life.n_accum + n]
        else:
            month["income"][k, :n] = incomes[t0 : t0 + n]
    market = household_market(pool, h)
    fee_keep = float(pool.fee_keep[h])
    growth, contributions, weights = step_tables(market, fee_keep, month["income"], n_months, nodes)
    value_weight = np.array([life.remaining[t0] for t0, _ in steps] + [life.remaining[steps[-1][0] + steps[-1][1]]])
    tables = (growth, contributions, weights, month["income"], month["utility"], n_months, np.zeros(n_steps),
              value_weight, np.zeros(n_steps))
    total = life.n_accum + life.n_decum
    rate_scale, net_keep = np.ones(n_steps), np.ones(n_steps)
    if retired:
        rate_scale = np.array([min(1.0, LIFE_SPENDING_SCALE * n / (total - t0)) for t0, n in steps])
        ratios = np.ones(n_steps) if basis_ratios is None else np.asarray(basis_ratios, dtype=float)
        net_keep = 1.0 - float(pool.tax_rate[h]) * np.maximum(0.0, 1.0 - ratios)
    log_mean, log_var = monthly_portfolio_moments(market, fee_keep, np.linspace(0.0, 1.0, FINE_EQUITIES))
    life_tables = (rate_scale, net_keep, month["utility"], month["other"], month["bequest"],
                   (month["bequest"] > 0.0).any(axis=1), log_mean, log_var)
    return tables, life_tables


def _solve_life(
    pool: HouseholdPool, h: int, config: EnvConfig, solver: SolverGrid, basis_ratio: float | np.ndarray | None,
    started: float,
) -> OptimalPolicy:
    """:func:`solve_household` over the whole life: the retirement steps, then the working steps."""
    if config.reward != "crra":
        raise ParameterError("reward", f"the whole life needs the crra reward (got {config.reward!r})")
    life = LifeTimeline.of(pool, h, config)
    reference = reference_consumption(pool, h)
    grid = _wealth_grid(pool, h, config, household_incomes(pool, h), solver.wealth_points)
    n_working, n_retired = len(life.working), len(life.retired)
    if basis_ratio is None:
        basis_ratio = _policy_basis_ratio(pool, h, config, solver)
    ratios = np.broadcast_to(np.asarray(basis_ratio, dtype=float), (n_retired,)).copy()
    for ratio in ratios:
        number("basis_ratio", float(ratio), 0.0, 1e6)
    problem = (CRRA_REWARD, CERTAINTY, float(config.gamma), float(reference), float(config.max_savings_rate), 0.0,
               grid.x0, grid.dx, grid.shift)
    controls = np.linspace(0.0, 1.0, solver.rate_points)
    equities = np.linspace(0.0, 1.0, solver.equity_points)
    rate = np.empty((n_working + n_retired, grid.n))
    equity = np.empty_like(rate)
    values = np.empty_like(rate)
    # After the last step: the survivors' bequest (its weight is zero when there is none).
    terminal = np.log(np.maximum(grid.wealth / (12.0 * reference), CONSUMPTION_FLOOR))[None, :]
    if n_retired:
        tables, life_tables = life_stage(pool, h, config, life, True, solver.nodes, ratios)
        solve_stage(RETIREMENT, problem, tables, life_tables, terminal, controls, equities, solver.tolerance,
                    rate[n_working:], equity[n_working:], values[n_working:])
        if grid.wealth[0] == 0.0:
            # Retired with nothing, every decision ties: take the next point's, so the policy is smooth there.
            rate[n_working:, 0], equity[n_working:, 0] = rate[n_working:, 1], equity[n_working:, 1]
        terminal = np.ascontiguousarray(values[n_working][None, :])
    if n_working:
        tables, life_tables = life_stage(pool, h, config, life, False, solver.nodes)
        solve_stage(ACCUMULATION, problem, tables, life_tables, terminal, controls, equities, solver.tolerance,
                    rate[:n_working], equity[:n_working], values[:n_working])
    start_y = np.interp(grid.position(np.array([pool.wealth[h]])), np.arange(grid.n), values[0])
    value = float(_from_space(start_y[0], CERTAINTY, life.remaining[0], config.gamma))
    return OptimalPolicy(grid, rate, equity, values, value, int(config.step_months), float(ratios[0]) if n_retired else 1.0,
                         time.perf_counter() - started, n_working, ratios)


@dataclass(frozen=True)
class MedianPath:
    """The optimal policy along the median market (every shock zero): per step, start age, wealth and decisions.

    Per decision step: ``monthly_saving`` and ``savings_rate`` (zero once retired),
    ``monthly_consumption`` (disposable income less saving while working; the net withdrawal spread
    over the step plus the other income once retired), ``monthly_withdrawal`` (the gross withdrawal
    spread over the step) and ``withdrawal_rate`` (the share of wealth withdrawn at the step's
    start), ``equity_share``, ``retired``. ``capital`` is the wealth at retirement, ``basis_ratio``
    the nominal basis per euro of it; ``basis_ratios`` that at each retirement step's start (whole life).
    """

    ages: np.ndarray
    wealth: np.ndarray
    monthly_saving: np.ndarray
    savings_rate: np.ndarray
    equity_share: np.ndarray
    capital: float
    basis_ratio: float
    monthly_consumption: np.ndarray = field(default_factory=lambda: np.empty(0))
    monthly_withdrawal: np.ndarray = field(default_factory=lambda: np.empty(0))
    withdrawal_rate: np.ndarray = field(default_factory=lambda: np.empty(0))
    retired: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    basis_ratios: np.ndarray = field(default_factory=lambda: np.empty(0))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON: one row per decision step."""
        rows = []
        for i, (a, w, s, r, e) in enumerate(zip(self.ages, self.wealth, self.monthly_saving, self.savings_rate,
                                                self.equity_share, strict=True)):
            row = {"age": float(a), "wealth": float(w), "monthly_saving": float(s), "savings_rate": float(r),
                   "equity_share": float(e)}
            if self.monthly_consumption.size:
                row.update(phase="retired" if self.retired[i] else "working",
                           monthly_consumption=float(self.monthly_consumption[i]),
                           monthly_withdrawal=float(self.monthly_withdrawal[i]),
                           withdrawal_rate=float(self.withdrawal_rate[i]))
            rows.append(row)
        return {"by_age": rows, "capital_at_retirement": self.capital}


def median_path(pool: HouseholdPool, h: int, config: EnvConfig, policy: OptimalPolicy) -> MedianPath:
    """Follow ``policy`` on the market whose monthly shocks are all zero (the env's monthly accounting).

    A whole-life policy is followed through retirement too: each retirement step withdraws its
    share of wealth at the start, pays the tax on the gains share of the withdrawal (the basis
    shrinks with the wealth), spends the net evenly over the step with the other income.
    """
    market = household_market(pool, h)
    if market.model == NORMAL:
        gross = (1.0 + market.drift[:2]) / math.exp(market.inflation_drift)
    else:
        gross = np.exp(market.drift[:2] - market.inflation_drift)
    inflation = math.exp(market.inflation_drift)
    incomes = household_incomes(pool, h)
    n_accum = incomes.size
    sm = config.step_months
    n_working = -(-n_accum // sm)
    n_steps = policy.n_steps if policy.life else n_working
    wealth, basis, price_level = float(pool.wealth[h]), float(pool.basis[h]), 1.0
    total = n_accum + int(pool.n_decum[h])
    fee_keep, tax_rate = float(pool.fee_keep[h]), float(pool.tax_rate[h])
    rows: dict[str, list[float]] = {name: [] for name in (
        "ages", "wealth", "saving", "rate", "equity", "consumption", "withdrawal", "withdrawal_rate", "ratios")}
    capital, capital_ratio = wealth, 1.0
    for k in range(n_steps):
        action, equity = (float(a) for a in policy.actions(np.array([k]), np.array([wealth]))[0])
        retired = k >= n_working
        first = n_accum + (k - n_working) * sm if retired else k * sm
        months = range(first, min(first + sm, total if retired else n_accum))
        if retired and k == n_working:
            capital = wealth
            capital_ratio = basis / (wealth * price_level) if wealth > 0.0 else 1.0
        rows["ages"].append(pool.start_age[h] + months[0] / 12.0)
        rows["wealth"].append(wealth)
        rows["equity"].append(equity)
        growth = (equity * gross[0] + (1.0 - equity) * gross[1]) * fee_keep
        if retired:
            ratio = basis / (wealth * price_level) if wealth > 0.0 else 1.0
            rows["ratios"].append(ratio)
            share = action * min(1.0, LIFE_SPENDING_SCALE * len(months) / (total - first))
            withdrawn = share * wealth
            net = withdrawn * (1.0 - tax_rate * max(0.0, 1.0 - ratio))
            basis *= 1.0 - share
            wealth -= withdrawn
            other = pool.other_income[h, months[0] - n_accum : months[-1] + 1 - n_accum]
            rows["saving"].append(0.0)
            rows["rate"].append(0.0)
            rows["consumption"].append(net / len(months) + float(np.mean(other)))
            rows["withdrawal"].append(withdrawn / len(months))
            rows["withdrawal_rate"].append(share)
            for _ in months:
                price_level *= inflation
                wealth *= growth
            continue
        saved = consumed = 0.0
        for t in months:
            price_level *= inflation
            saving = action * config.max_savings_rate * incomes[t]
            wealth = wealth * growth + saving
            basis += saving * price_level
            saved += saving
            consumed += incomes[t] - saving
        rows["saving"].append(saved / len(months))
        rows["rate"].append(action * config.max_savings_rate)
        rows["consumption"].append(consumed / len(months))
        rows["withdrawal"].append(0.0)
        rows["withdrawal_rate"].append(0.0)
    if not policy.life or n_steps == n_working:
        capital = wealth
        capital_ratio = basis / (wealth * price_level) if wealth > 0.0 else 1.0
    arrays = {name: np.array(values) for name, values in rows.items()}
    retired = np.arange(n_steps) >= n_working
    extra = {}
    if policy.life:
        extra = {"monthly_consumption": arrays["consumption"], "monthly_withdrawal": arrays["withdrawal"],
                 "withdrawal_rate": arrays["withdrawal_rate"], "retired": retired, "basis_ratios": arrays["ratios"]}
    return MedianPath(arrays["ages"], arrays["wealth"], arrays["saving"], arrays["rate"], arrays["equity"],
                      float(capital), float(capital_ratio), **extra)


@dataclass(frozen=True)
class ConsumptionPolicy:
    """The consumption stage's optimal decisions: float64[n_steps, n_wealth] consumption share and equity share.

    The last step consumes everything. ``values`` holds the optimal value as the log of its
    certainty-equivalent consumption relative to ``reference`` (exact at any scale, where the
    utility itself saturates); ``weights`` the discounted years left at each step.
    """

    grid: WealthGrid
    consumption: np.ndarray
    equity: np.ndarray
    values: np.ndarray
    weights: np.ndarray
    gamma: float
    reference: float = 1.0

    def _log_ratio(self, step: int, wealth: float) -> float:
        return float(np.interp(self.grid.position(np.array([wealth]))[0], np.arange(self.grid.n), self.values[step]))

    def value(self, step: int, wealth: float) -> float:
        """Optimal expected discounted utility from ``step`` at ``wealth``."""
        return float(_from_space(self._log_ratio(step, wealth), CERTAINTY, self.weights[step], self.gamma))

    def certainty_equivalent(self, step: int, wealth: float) -> float:
        """The constant consumption over the remaining steps with the optimal value from ``step`` at ``wealth``."""
        return self.reference * math.exp(self._log_ratio(step, wealth))


def solve_consumption(
    market: MarketArrays, years: int, gamma: float, discount: float, wealth_range: tuple[float, float], *,
    fee_keep: float = 1.0, income: np.ndarray | None = None, reference: float = 1.0, step_months: int = 12,
    solver: SolverGrid | None = None,
) -> ConsumptionPolicy:
    """Solve the consumption stage over ``years`` (decisions every ``step_months`` months).

    Each step the household consumes a share of its wealth plus that step's ``income`` (float[n_steps],
    none by default), at the start of the step, and invests the rest at the chosen equity share
    until the next; utility ``discount ** (years elapsed) * crra(consumption / reference)``; the last
    step consumes all. Wealth on a log grid over ``wealth_range``. Values are solved as certainty
    equivalents (see :mod:`mcsim.optimum.kernels`), so ``reference`` only sets their unit.
    """
    solver = solver or SolverGrid()
    integer("years", years, 1, 200)
    number("gamma", gamma, 0.0, 50.0, open_low=True)
    number("discount", discount, 0.0, 1.0, open_low=True)
    number("reference", reference, 0.0, 1e15, open_low=True)
    low, high = (number("wealth_range", value, 0.0, 1e15, open_low=True) for value in wealth_range)
    if not high > low:
        raise ParameterError("wealth_range", f"must be increasing (got {wealth_range!r})")
    if integer("step_months", step_months, 1, 12) and 12 % step_months:
        raise ParameterError("step_months", f"must divide 12: 1, 2, 3, 4, 6 or 12 (got {step_months!r})")
    n_steps = 12 * years // step_months
    other = np.zeros(n_steps) if income is None else np.asarray(income, dtype=float)
    if other.shape != (n_steps,) or not np.isfinite(other).all() or (other < 0).any():
        raise ParameterError("income", f"must be {n_steps} finite amounts >= 0, one per step (got shape {other.shape})")
    utility_weight = discount ** (np.arange(n_steps) * step_months / 12.0)
    value_weight = np.cumsum(utility_weight[::-1])[::-1]
    grid = WealthGrid.spanning(low, high, solver.wealth_points, 0.0)
    n_months = np.full(n_steps, step_months, dtype=np.int64)
    growth, contributions, weights = step_tables(market, fee_keep, np.zeros((n_steps, step_months)), n_months, solver.nodes)
    # The last step's value is the utility of consuming all: its certainty equivalent is that consumption.
    terminal = np.log(np.maximum(grid.wealth + other[-1], CONSUMPTION_FLOOR * reference) / reference)[None, :]
    consumption = np.ones((n_steps, grid.n))
    equity = np.zeros((n_steps, grid.n))
    values = np.empty((n_steps, grid.n))
    values[-1] = terminal[0]
    if n_steps > 1:
        tables = (growth, contributions, weights, np.zeros((n_steps, step_months)), np.zeros((n_steps, step_months)),
                  n_months, utility_weight, value_weight, other)
        problem = (CRRA_REWARD, CERTAINTY, float(gamma), float(reference), 1.0, 0.0, grid.x0, grid.dx, grid.shift)
        solve_stage(CONSUMPTION, problem, tables, no_life(n_steps, step_months), np.ascontiguousarray(terminal),
                    np.linspace(0.0, 1.0, solver.rate_points), np.linspace(0.0, 1.0, solver.equity_points),
                    solver.tolerance, consumption[:-1], equity[:-1], values[:-1])
    return ConsumptionPolicy(grid, consumption, equity, values, value_weight, float(gamma), float(reference))


def _crra(x: np.ndarray, gamma: float) -> np.ndarray:
    if gamma == 1.0:
        return np.log(x)
    return (x ** (1.0 - gamma) - 1.0) / (1.0 - gamma)

