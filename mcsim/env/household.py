"""Households for the learning environment: a pool of them as flat arrays, from profiles or sampled.

The environment's market has two asset classes, equities and bonds (the action chooses the equity
share), plus inflation. A profile's market provides them when it names assets ``equities`` and
``bonds``; otherwise the defaults of :class:`~mcsim.core.profile.Market` stand in. A household's accounts
are pooled into one portfolio with their balance-weighted fee and tax rate.

The sampler draws varied households for a *general* model: ages 22-60, retirement 60-70, life
expectancy 85-100, incomes, charges, capital from zero to millions, targets, pensions and
allocations, optionally with jittered market assumptions and Gompertz mortality. It is vectorized
and seeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..core.arrays import plan_arrays, retirement_ages, retirement_flows
from ..core.checks import integer, number
from ..core.errors import ParameterError
from ..core.market import HISTORICAL, RETURN_MODELS, history_fields, lognormal_monthly, no_history, semidefinite_cholesky
from ..core.mortality import FIXED, GOMPERTZ, MORTALITY_MODELS, monthly_survival
from ..core.profile import (
    ACCOUNT_TAX_ON_GAINS_PCT,
    HISTORY_MODELS,
    Market,
    MarketHistory,
    Profile,
    load_profile,
    months_between,
    profile_from_dict,
)

MAX_CHARGES = 4
"""Charges (mortgage, children, ...) per household the pool keeps; a profile with more is refused."""


class HouseholdPool(NamedTuple):
    """N households as arrays (euros of today, monthly amounts, months counted from the start age).

    Shapes: scalars per household are float64[N] (``n_accum``, ``n_decum`` int64[N]); charges are
    [N, MAX_CHARGES]; ``plan_saving`` is [N, max n_accum]; ``spending`` and ``needs`` are
    [N, max n_decum], zero-padded (``need_total`` is the sum of ``needs``); ``other_income`` is
    [N, max n_decum], the monthly pensions and additional income by month of retirement;
    ``survival`` is [N, max(n_accum + n_decum)], ``S[t]`` the probability of being alive at the end
    of month t given alive at the start age (ones with fixed mortality; see docs/whole-life.md);
    ``modal_age`` and ``dispersion`` float64[N] are the Gompertz parameters (dispersion 0: fixed
    mortality); the horizon is month ``n_accum + n_decum``; market ``drift`` and ``vol`` are [N, 2]
    (equities, bonds) and ``chol`` is [N, 2, 2]. The historical models (one series for the whole
    pool) read ``history_gross`` [n_rows, 2] and ``history_inflation`` [n_rows], as
    :class:`~mcsim.core.market.MarketArrays` does; ``period_months``, ``new_block`` and ``wrap`` alike.
    """

    start_age: np.ndarray
    n_accum: np.ndarray
    n_decum: np.ndarray
    income: np.ndarray
    income_growth: np.ndarray
    charge_amount: np.ndarray
    charge_end: np.ndarray
    plan_saving: np.ndarray
    target: np.ndarray
    pension: np.ndarray
    spending: np.ndarray
    needs: np.ndarray
    need_total: np.ndarray
    other_income: np.ndarray
    survival: np.ndarray
    modal_age: np.ndarray
    dispersion: np.ndarray
    wealth: np.ndarray
    basis: np.ndarray
    equity: np.ndarray
    fee_keep: np.ndarray
    tax_rate: np.ndarray
    model: int
    t_df: float
    drift: np.ndarray
    vol: np.ndarray
    chol: np.ndarray
    inflation_drift: np.ndarray
    inflation_vol: np.ndarray
    history_gross: np.ndarray
    history_inflation: np.ndarray
    period_months: int
    new_block: float
    wrap: bool

    @property
    def size(self) -> int:
        """Number of households."""
        return int(self.start_age.size)

    def take(self, indices: Sequence[int] | np.ndarray) -> HouseholdPool:
        """A pool of the households at ``indices`` (arrays trimmed to the longest remaining horizon)."""
        index = np.asarray(indices, dtype=np.int64)
        max_accum = int(self.n_accum[index].max())
        max_decum = int(self.n_decum[index].max())
        max_months = int((self.n_accum[index] + self.n_decum[index]).max())
        fields = {}
        for name, value in self._asdict().items():
            if isinstance(value, np.ndarray) and name not in SHARED_FIELDS:
                value = value[index]
                if name == "plan_saving":
                    value = value[:, :max_accum]
                elif name in ("spending", "needs", "other_income"):
                    value = value[:, :max_decum]
                elif name == "survival":
                    value = value[:, :max_months]
                value = np.ascontiguousarray(value)
            fields[name] = value
        return HouseholdPool(**fields)


SHARED_FIELDS = ("history_gross", "history_inflation")
"""Pool arrays that every household shares (not indexed by household)."""


def env_history(return_model: str, history: MarketHistory) -> dict[str, Any]:
    """The pool's history fields: the series' equities and bonds columns for a historical model, else empty."""
    if return_model not in HISTORY_MODELS:
        gross, inflation, period, new_block, wrap = no_history(2)
    else:
        assets = {"equities", "bonds"}
        spec = history.model_copy(update={"columns": {k: v for k, v in history.columns.items() if k in assets}})
        market = Market(return_model=return_model, history=spec)  # the default assets: equities, bonds
        gross, inflation, period, new_block, wrap = history_fields(market)
    return {"history_gross": gross, "history_inflation": inflation, "period_months": period, "new_block": new_block,
            "wrap": wrap}


def check_cohorts(pool: HouseholdPool) -> HouseholdPool:
    """The pool, or a ParameterError when historical cohorts cannot cover a household's horizon."""
    if pool.model != HISTORICAL or pool.wrap:
        return pool
    longest = int((pool.n_accum + pool.n_decum).max())
    if longest > pool.history_inflation.size:
        raise ParameterError(
            "market.history.cohorts",
            f"the series has {pool.history_inflation.size // 12} years, fewer than a household's horizon of "
            f"{longest / 12:.4g} years: no complete cohort; use cohorts = \"wrap\" or the bootstrap",
        )
    return pool


def _pad(rows: Sequence[np.ndarray], width: int) -> np.ndarray:
    out = np.zeros((len(rows), max(width, 1)))
    for i, row in enumerate(rows):
        out[i, : row.size] = row
    return out


def _env_market(market: Market) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """(drift[2], vol[2], correlation, inflation drift, inflation vol) of equities and bonds."""
    defaults = {asset.name: asset for asset in Market().assets}
    named = {asset.name: (index, asset) for index, asset in enumerate(market.assets)}
    drift, vol = np.empty(2), np.empty(2)
    indices = []
    for k, name in enumerate(("equities", "bonds")):
        index, asset = named.get(name, (None, defaults[name]))
        indices.append(index)
        mu, sigma = asset.expected_return_pct / 100.0, asset.volatility_pct / 100.0
        if market.return_model == "normal":
            drift[k], vol[k] = (1.0 + mu) ** (1.0 / 12.0) - 1.0, sigma / np.sqrt(12.0)
        else:
            drift[k], vol[k] = lognormal_monthly(mu, sigma)
    rho = 0.2
    if None not in indices and market.correlation is not None:
        rho = market.correlation[indices[0]][indices[1]]
    inflation_drift, inflation_vol = lognormal_monthly(
        market.inflation_mean_pct / 100.0, market.inflation_volatility_pct / 100.0
    )
    return drift, vol, rho, inflation_drift, inflation_vol


def _chol2(rho: np.ndarray) -> np.ndarray:
    rho = np.asarray(rho, dtype=float)
    chol = np.zeros((rho.size, 2, 2))
    for i, value in enumerate(rho):
        chol[i] = semidefinite_cholesky(np.array([[1.0, value], [value, 1.0]]))
    return chol


def pool_from_profiles(profiles: Sequence[Profile | str]) -> HouseholdPool:
    """A pool of the given profiles (objects, file paths or embedded names); one market model for all."""
    loaded = [load_profile(p) for p in profiles]
    if not loaded:
        raise ParameterError("profiles", "at least one profile is needed")
    models = {p.market.return_model for p in loaded}
    dfs = {p.market.student_t_df for p in loaded}
    histories = {p.market.history.model_dump_json() for p in loaded}
    if len(models) > 1 or len(dfs) > 1 or (models & set(HISTORY_MODELS) and len(histories) > 1):
        raise ParameterError("profiles", "every profile of one pool must use the same return model, df and history")
    n = len(loaded)
    rows: dict[str, list] = {name: [] for name in ("plan_saving", "spending", "needs", "other_income", "survival")}
    scalars = {name: np.zeros(n) for name in (
        "start_age", "income", "income_growth", "target", "pension", "wealth", "basis", "equity",
        "fee_keep", "tax_rate", "inflation_drift", "inflation_vol", "modal_age", "dispersion",
    )}
    n_accum, n_decum = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    charge_amount, charge_end = np.zeros((n, MAX_CHARGES)), np.zeros((n, MAX_CHARGES), dtype=np.int64)
    drift, vol, rho = np.zeros((n, 2)), np.zeros((n, 2)), np.zeros(n)
    for i, profile in enumerate(loaded):
        person, retirement = profile.person, profile.retirement
        plan = plan_arrays(profile)
        n_accum[i], n_decum[i] = plan.contributions.size, plan.needs.size
        scalars["start_age"][i] = person.current_age
        scalars["income"][i] = profile.income.monthly_net
        scalars["income_growth"][i] = (1.0 + profile.income.real_growth_pct / 100.0) ** (1.0 / 12.0)
        charges = (*profile.income.charges, *profile.income.children)
        if len(charges) > MAX_CHARGES:
            raise ParameterError("income", f"the environment takes at most {MAX_CHARGES} charges and children")
        for j, charge in enumerate(charges):
            charge_amount[i, j] = charge.monthly_amount
            charge_end[i, j] = max(0, months_between(person.current_age, charge.until_age))
        spending, other_income = retirement_flows(profile, retirement_ages(profile))
        rows["plan_saving"].append(plan.contributions)
        rows["spending"].append(spending)
        rows["needs"].append(plan.needs)
        rows["other_income"].append(other_income)
        model = MORTALITY_MODELS[person.mortality]
        if model == GOMPERTZ:
            scalars["modal_age"][i] = person.gompertz_modal_age
            scalars["dispersion"][i] = person.gompertz_dispersion
        rows["survival"].append(monthly_survival(
            model, person.gompertz_modal_age, person.gompertz_dispersion, person.current_age, n_accum[i] + n_decum[i]
        ))
        scalars["target"][i] = retirement.target_monthly_income
        scalars["pension"][i] = retirement.state_pension_monthly
        balances = plan.balances
        weights = balances / balances.sum() if balances.sum() > 0 else plan.split
        equity_index = [k for k, a in enumerate(profile.market.assets) if a.name == "equities"]
        scalars["equity"][i] = float(weights @ plan.allocation[:, equity_index[0]]) if equity_index else 0.5
        scalars["wealth"][i] = balances.sum()
        scalars["basis"][i] = plan.basis.sum()
        scalars["fee_keep"][i] = float(weights @ plan.fee_keep)
        scalars["tax_rate"][i] = float(weights @ plan.tax_rate)
        drift[i], vol[i], rho[i], scalars["inflation_drift"][i], scalars["inflation_vol"][i] = _env_market(profile.market)
    needs = _pad(rows["needs"], int(n_decum.max()))
    return check_cohorts(HouseholdPool(
        n_accum=n_accum, n_decum=n_decum, charge_amount=charge_amount, charge_end=charge_end,
        plan_saving=_pad(rows["plan_saving"], int(n_accum.max())),
        spending=_pad(rows["spending"], int(n_decum.max())),
        needs=needs, need_total=needs.sum(axis=1), other_income=_pad(rows["other_income"], int(n_decum.max())),
        survival=_pad(rows["survival"], int((n_accum + n_decum).max())),
        model=RETURN_MODELS[loaded[0].market.return_model], t_df=float(loaded[0].market.student_t_df),
        drift=drift, vol=vol, chol=_chol2(rho), **scalars,
        **env_history(loaded[0].market.return_model, loaded[0].market.history),
    ))


GOMPERTZ_MODAL_AGES = (82.0, 94.0)
"""Range of the sampler's Gompertz modal ages (uniform), around the profile default of 88."""
GOMPERTZ_DISPERSIONS = (8.0, 12.0)
"""Range of the sampler's Gompertz dispersions (uniform), around the profile default of 10."""
MAX_AGE = 110.0
"""The sampler's horizon age with Gompertz mortality (the profile's default ``max_age``)."""


def sample_pool(
    n: int, seed: int = 0, *, market_jitter: float = 0.0, mortality: str = "fixed", market: str = "lognormal",
    history: MarketHistory | None = None,
) -> HouseholdPool:
    """Draw ``n`` varied households (seeded, vectorized); ``market_jitter`` in [0, 1] varies the market.

    ``market`` is the return model of every household (the parametric ones around 7%/16% equities
    and 3%/6% bonds); ``historical`` and ``bootstrap`` replay ``history`` (default: Shiller's
    monthly series), the same draws of households whatever the market.

    ``mortality="gompertz"`` gives each household a Gompertz survival curve (modal age and
    dispersion drawn from their own stream, so every other draw is the same as with fixed mortality)
    and the horizon MAX_AGE instead of its life expectancy.
    """
    integer("n", n, 1, 1_000_000)
    number("market_jitter", market_jitter, 0.0, 1.0)
    if mortality not in MORTALITY_MODELS:
        raise ParameterError("mortality", f"must be one of {', '.join(MORTALITY_MODELS)} (got {mortality!r})")
    if market not in RETURN_MODELS:
        raise ParameterError("market", f"must be one of {', '.join(RETURN_MODELS)} (got {market!r})")
    normal = market == "normal"
    gompertz = MORTALITY_MODELS[mortality] == GOMPERTZ
    rng = np.random.default_rng(seed)
    start_age = np.round(rng.uniform(22, 60, n) * 12) / 12
    retirement_age = np.maximum(np.round(rng.uniform(60, 70, n)), np.ceil(start_age + 2))
    life_expectancy = np.round(rng.uniform(85, 100, n))
    horizon_age = np.full(n, MAX_AGE) if gompertz else life_expectancy
    n_accum = np.round(12 * (retirement_age - start_age)).astype(np.int64)
    n_decum = np.round(12 * (horizon_age - retirement_age)).astype(np.int64)
    income = np.clip(rng.lognormal(np.log(2800), 0.5, n), 800, 25_000)
    income_growth = (1.0 + rng.uniform(0.0, 0.02, n)) ** (1.0 / 12.0)
    charge_amount = np.zeros((n, MAX_CHARGES))
    charge_end = np.zeros((n, MAX_CHARGES), dtype=np.int64)
    has_mortgage = rng.random(n) < 0.5
    charge_amount[:, 0] = np.where(has_mortgage, rng.uniform(0.10, 0.35, n) * income, 0.0)
    charge_end[:, 0] = np.minimum(n_accum, rng.integers(12, 25 * 12, n))
    children = rng.integers(0, 4, n)
    for j in range(1, 4):
        present = children >= j
        charge_amount[:, j] = np.where(present, rng.uniform(150, 500, n), 0.0)
        charge_end[:, j] = np.minimum(n_accum, rng.integers(12, 25 * 12, n))
    disposable = np.maximum(income - charge_amount.sum(axis=1), 0.0)
    has_capital = rng.random(n) < 0.75
    wealth = np.where(has_capital, np.exp(rng.uniform(np.log(1e3), np.log(3e6), n)), 0.0)
    basis = wealth * rng.uniform(0.5, 1.0, n)
    target = income * rng.uniform(0.6, 1.1, n)
    pension = target * rng.uniform(0.3, 0.75, n)
    max_decum = int(n_decum.max())
    months = np.arange(max_decum)
    inside = months[None, :] < n_decum[:, None]
    spending = np.where(inside, target[:, None], 0.0)
    needs = np.where(inside, np.maximum(0.0, target - pension)[:, None], 0.0)
    max_accum = int(n_accum.max())
    plan_rate = rng.uniform(0.05, 0.25, n)
    plan_saving = np.where(np.arange(max_accum)[None, :] < n_accum[:, None], (plan_rate * disposable)[:, None], 0.0)
    fee_keep = (1.0 - rng.uniform(0.001, 0.01, n)) ** (1.0 / 12.0)
    tax_rates = np.array(sorted(set(ACCOUNT_TAX_ON_GAINS_PCT.values()))) / 100.0
    tax_rate = rng.choice(tax_rates, n)
    jitter = market_jitter * rng.uniform(-1.0, 1.0, (n, 6))
    drift, vol = np.empty((n, 2)), np.empty((n, 2))
    for i in range(n):
        drift[i, 0], vol[i, 0] = _monthly(0.07 + 0.02 * jitter[i, 0], 0.16 + 0.04 * jitter[i, 1], normal)
        drift[i, 1], vol[i, 1] = _monthly(0.03 + 0.01 * jitter[i, 2], 0.06 + 0.02 * jitter[i, 3], normal)
    rho = 0.2 + 0.3 * jitter[:, 4]
    inflation = [lognormal_monthly(0.02 + 0.01 * j, 0.01) for j in jitter[:, 5]]
    other_income = np.where(inside, pension[:, None], 0.0)
    modal_age, dispersion = np.zeros(n), np.zeros(n)
    survival = np.zeros((n, int((n_accum + n_decum).max())))
    if gompertz:
        mortality_rng = np.random.default_rng([seed, 1])
        modal_age = mortality_rng.uniform(*GOMPERTZ_MODAL_AGES, n)
        dispersion = mortality_rng.uniform(*GOMPERTZ_DISPERSIONS, n)
    for i in range(n):
        months = n_accum[i] + n_decum[i]
        survival[i, :months] = monthly_survival(
            GOMPERTZ if gompertz else FIXED, modal_age[i], dispersion[i], start_age[i], months
        )
    return check_cohorts(HouseholdPool(
        start_age=start_age, n_accum=n_accum, n_decum=n_decum, income=income, income_growth=income_growth,
        charge_amount=charge_amount, charge_end=charge_end, plan_saving=plan_saving, target=target,
        pension=pension, spending=spending, needs=needs, need_total=needs.sum(axis=1), other_income=other_income,
        survival=survival, modal_age=modal_age, dispersion=dispersion, wealth=wealth, basis=basis,
        equity=rng.uniform(0.0, 1.0, n), fee_keep=fee_keep, tax_rate=tax_rate, model=RETURN_MODELS[market], t_df=5.0,
        drift=drift, vol=vol, chol=_chol2(rho),
        inflation_drift=np.array([d for d, _ in inflation]), inflation_vol=np.array([v for _, v in inflation]),
        **env_history(market, history or MarketHistory()),
    ))


def _monthly(mean: float, volatility: float, normal: bool) -> tuple[float, float]:
    """Monthly (drift, vol) of an annual mean and volatility: the normal model's, or the lognormal's."""
    if normal:
        return (1.0 + mean) ** (1.0 / 12.0) - 1.0, volatility / np.sqrt(12.0)
    return lognormal_monthly(mean, volatility)


def _annual(drift: float, vol: float) -> tuple[float, float]:
    """Annual arithmetic mean and volatility (percent) of a monthly lognormal (drift, vol).

    The inverse of :func:`~mcsim.core.market.lognormal_monthly`.
    """
    variance = 12.0 * vol * vol
    mean = np.exp(12.0 * drift + 0.5 * variance) - 1.0
    return 100.0 * mean, 100.0 * (1.0 + mean) * np.sqrt(np.expm1(variance))


def household_profile(pool: HouseholdPool, h: int) -> Profile:
    """Household ``h`` of a pool as a profile: one account holding its capital, equities and bonds.

    Its own plan is the pool's planned saving; spending and the state pension are constant at the
    first retirement month's (exact for sampled households); its mortality is the household's
    (Gompertz with ``max_age`` the horizon when its dispersion is positive). The classic optimizer
    runs on such a profile.
    """
    start = float(pool.start_age[h])
    retirement = start + int(pool.n_accum[h]) / 12.0
    end = retirement + int(pool.n_decum[h]) / 12.0
    charges = [
        {"name": f"charge {j + 1}", "monthly_amount": float(pool.charge_amount[h, j]),
         "until_age": start + int(pool.charge_end[h, j]) / 12.0}
        for j in range(pool.charge_amount.shape[1]) if pool.charge_amount[h, j] > 0
    ]
    (equity_mean, equity_vol), (bond_mean, bond_vol) = (_annual(pool.drift[h, k], pool.vol[h, k]) for k in range(2))
    inflation_mean, inflation_vol = _annual(pool.inflation_drift[h], pool.inflation_vol[h])
    rho = float(np.clip(pool.chol[h, 1, 0], -1.0, 1.0))
    equity = float(pool.equity[h])
    spending = float(pool.spending[h, 0])
    person: dict[str, object] = {"current_age": start, "retirement_age": retirement, "life_expectancy": end}
    if pool.dispersion[h] > 0.0:
        person.update(mortality="gompertz", gompertz_modal_age=float(pool.modal_age[h]),
                      gompertz_dispersion=float(pool.dispersion[h]), max_age=end,
                      life_expectancy=min(end, max(retirement + 1.0, float(pool.modal_age[h]))))
    data = {
        "name": f"household {h}",
        "person": person,
        "income": {"monthly_net": float(pool.income[h]),
                   "real_growth_pct": 100.0 * (float(pool.income_growth[h]) ** 12 - 1.0), "charges": charges},
        "accounts": [{"name": "portfolio", "type": "other", "balance": float(pool.wealth[h]),
                      "cost_basis": float(pool.basis[h]), "allocation": {"equities": equity, "bonds": 1.0 - equity},
                      "fee_pct": 100.0 * (1.0 - float(pool.fee_keep[h]) ** 12),
                      "tax_on_gains_pct": 100.0 * float(pool.tax_rate[h])}],
        "plan": {"savings": [{"from_age": start, "to_age": retirement,
                              "monthly_contribution": float(pool.plan_saving[h, 0])}]},
        "retirement": {"target_monthly_income": spending, "state_pension_monthly": float(pool.other_income[h, 0])},
        "market": {
            "assets": [{"name": "equities", "expected_return_pct": equity_mean, "volatility_pct": equity_vol},
                       {"name": "bonds", "expected_return_pct": bond_mean, "volatility_pct": bond_vol}],
            "correlation": [[1.0, rho], [rho, 1.0]],
            "inflation_mean_pct": inflation_mean, "inflation_volatility_pct": inflation_vol,
            "return_model": {v: k for k, v in RETURN_MODELS.items()}[pool.model], "student_t_df": float(pool.t_df),
        },
    }
    return profile_from_dict(data)
