"""Withdrawal rules as policies of the whole-life environment: a saving baseline, then a spending rule.

:class:`WithdrawalPolicy` acts as its saving baseline until retirement (savings rate and equity
share) and then spends by one of the core's withdrawal rules (:mod:`mcsim.core.withdrawal`), decided
once a year from the wealth at the start of the year, as in the Monte Carlo kernel. Each step's
amount becomes the environment's spending action: the gross share of wealth withdrawn at the step's
start, divided by the action's scale (docs/whole-life.md), clipped to [0, 1]. Net rules (``target``,
``merton``) are grossed up for the tax on the gains share. The equity share stays the saving
baseline's, except for ``merton``, which holds Merton's share of wealth plus pensions to come.
The ``merton`` rule takes the environment's gamma and discount, so it answers the objective the
environment scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..core.jit import jit
from ..core.market import MarketArrays
from ..core.mortality import FIXED, GOMPERTZ
from ..core.profile import WITHDRAWAL_PARAMETERS, Withdrawal, withdrawal_from_dict
from ..core.withdrawal import (
    MEMORY_SIZE,
    MERTON,
    TARGET,
    WITHDRAWN,
    WithdrawalArrays,
    params_from_row,
    params_row,
    withdrawal_arrays,
    yearly_amount,
)
from .household import HouseholdPool
from .kernels import LIFE_SPENDING_SCALE
from .policies import BASELINES, Policy
from .vec_env import NumbaVecEnv

ENV_ASSETS = ["equities", "bonds"]
WITHDRAWAL_RULES: tuple[str, ...] = tuple(WITHDRAWAL_PARAMETERS)
"""The core's withdrawal rules, in the order the whole life's evaluations list them."""


def withdrawal_rule(rule: str, parameters: dict[str, Any] | None = None) -> Withdrawal:
    """A validated :class:`~mcsim.core.profile.Withdrawal` (one-line ProfileError when it is not)."""
    return withdrawal_from_dict({"rule": rule, **(parameters or {})})


def household_rule(pool: HouseholdPool, h: int, withdrawal: Withdrawal) -> WithdrawalArrays:
    """Household ``h``'s rule for the kernels' :func:`~mcsim.core.withdrawal.yearly_amount`."""
    n_decum = int(pool.n_decum[h])
    market = MarketArrays(
        pool.model, pool.drift[h], pool.vol[h], pool.chol[h], pool.t_df, pool.inflation_drift[h], pool.inflation_vol[h],
        pool.history_gross, pool.history_inflation, pool.period_months, pool.new_block, pool.wrap,
    )
    gompertz = pool.dispersion[h] > 0
    mortality = (GOMPERTZ, float(pool.modal_age[h]), float(pool.dispersion[h])) if gompertz else (FIXED, 0.0, 1.0)
    retirement_age = float(pool.start_age[h] + pool.n_accum[h] / 12.0)
    return withdrawal_arrays(
        withdrawal, ENV_ASSETS, market, float(pool.fee_keep[h]), pool.other_income[h, :n_decum].copy(),
        pool.spending[h, :n_decum].copy(), retirement_age, mortality,
    )


class PoolRules(NamedTuple):
    """One rule for every household of a pool.

    float64[N, len(RuleParams)] ``rows`` of scalars (:func:`~mcsim.core.withdrawal.params_row`) and
    merton's float64[N, max years] arrays.
    """

    rows: np.ndarray
    consumption_share: np.ndarray
    other_value: np.ndarray
    year_income: np.ndarray


def pool_rules(pool: HouseholdPool, withdrawal: Withdrawal) -> PoolRules:
    """``withdrawal`` for each household of ``pool``."""
    rules = [household_rule(pool, h, withdrawal) for h in range(pool.size)]
    n_years = max(1, max(rule.arrays.consumption_share.size for rule in rules))

    def stacked(name: str) -> np.ndarray:
        out = np.zeros((pool.size, n_years))
        for h, rule in enumerate(rules):
            values = getattr(rule.arrays, name)
            out[h, : values.size] = values
        return out

    return PoolRules(
        np.stack([params_row(rule.params) for rule in rules]), stacked("consumption_share"), stacked("other_value"),
        stacked("year_income"),
    )


@jit
def rule_actions(rules, needs, n_accum, n_decum, tax_rate, households, months, wealth, basis, price_level,
                 step_months, memory, amount, actions):
    """Set the retired envs' actions (float32[B, 2]) by the rule, deciding at each retirement year's start.

    ``memory`` float64[B, MEMORY_SIZE] and ``amount`` float64[B] (the year's amount) carry each env's
    rule state from step to step; the other arrays are the pool's (by household) and the envs'.
    """
    for b in range(households.size):
        h = households[b]
        done = months[b] - n_accum[h]
        if done < 0:
            continue
        params = params_from_row(rules.rows[h])
        kind = params.rule
        left = n_decum[h] - done
        months_in_step = min(step_months, left)
        w = wealth[b]
        year = done // 12
        if done == 0:
            memory[b, :] = 0.0
        if done % 12 == 0:
            share, future_income, income = 0.0, 0.0, 0.0
            if kind == MERTON:
                share = rules.consumption_share[h, year]
                future_income = rules.other_value[h, year]
                income = rules.year_income[h, year]
            amount[b] = yearly_amount(params, memory[b], year, done, w, price_level[b], share, future_income, income)
        if kind == TARGET:
            step_amount = needs[h, done : done + months_in_step].sum()
        else:
            step_amount = amount[b] * months_in_step / 12.0
        gross = step_amount
        if (kind == TARGET or kind == MERTON) and w > 0.0:
            gains = max(0.0, 1.0 - basis[b] / (w * price_level[b]))
            gross = step_amount / max(1.0 - tax_rate[h] * gains, 1e-12)
        memory[b, WITHDRAWN] += gross
        scale = min(1.0, LIFE_SPENDING_SCALE * months_in_step / left)
        actions[b, 0] = min(1.0, gross / (w * scale)) if w > 0.0 else 0.0
        if kind == MERTON:
            actions[b, 1] = min(1.0, params.equity_share * (w + rules.other_value[h, year]) / w) if w > 0.0 else 1.0


@dataclass
class WithdrawalPolicy:
    """Save and invest as ``saving`` until retirement, then spend by withdrawal rule ``rule``.

    ``parameters`` are the rule's (``rate_pct``, ...; the defaults of ``[retirement.withdrawal]``);
    for ``merton``, gamma and discount come from the environment.
    """

    saving: Policy
    rule: str = "constant_dollar"
    parameters: dict[str, Any] = field(default_factory=dict)
    _rules: tuple[HouseholdPool, float, float, PoolRules] | None = field(default=None, init=False, repr=False)
    _memory: np.ndarray = field(default_factory=lambda: np.zeros((0, MEMORY_SIZE)), init=False, repr=False)
    _amount: np.ndarray = field(default_factory=lambda: np.zeros(0), init=False, repr=False)

    def __post_init__(self) -> None:
        self._withdrawal = withdrawal_rule(self.rule, self.parameters)

    def pool_rules(self, env: NumbaVecEnv) -> PoolRules:
        """The rule for every household of ``env``'s pool, kept for the last pool and objective it served.

        The pool itself is kept with it (compared by identity): an id alone could be reused by
        another pool once the first is gone.
        """
        gamma, discount = env.config.gamma, env.config.discount
        kept = self._rules
        if kept is None or kept[0] is not env.pool or kept[1:3] != (gamma, discount):
            withdrawal = self._withdrawal
            if withdrawal.rule == "merton":
                withdrawal = withdrawal.model_copy(update={"gamma": gamma, "discount": discount})
            kept = self._rules = (env.pool, gamma, discount, pool_rules(env.pool, withdrawal))
        return kept[3]

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """The saving baseline's actions, with the rule's spending (and merton's equity) in retirement."""
        actions = self.saving.act(obs, env)
        if not env.config.life:
            return actions
        if self._memory.shape[0] != env.num_envs:
            self._memory = np.zeros((env.num_envs, MEMORY_SIZE))
            self._amount = np.zeros(env.num_envs)
        pool = env.pool
        rule_actions(
            self.pool_rules(env), pool.needs, pool.n_accum, pool.n_decum, pool.tax_rate, env.households, env.months,
            env.wealth, env.basis, env.price_level, env.config.step_months, self._memory, self._amount, actions,
        )
        return actions


def baseline_name(saving: str, rule: str) -> str:
    """The name of saving baseline ``saving`` spending by withdrawal rule ``rule``: ``SAVING/RULE``."""
    return f"{saving}/{rule}"


def split_baseline_name(name: str) -> tuple[str, str] | None:
    """(saving baseline, withdrawal rule) of a :func:`baseline_name`, or None for any other strategy."""
    saving, _, rule = name.partition("/")
    return (saving, rule) if saving in BASELINES and rule in WITHDRAWAL_RULES else None


def life_baselines(savings: tuple[str, ...] | None = None, rules: tuple[str, ...] = WITHDRAWAL_RULES) -> dict[str, Policy]:
    """The baselines over the whole life: each saving baseline with each withdrawal rule (default parameters).

    Fresh policies on every call (a withdrawal policy keeps each roll-out's yearly state); the saving
    baselines are :data:`~mcsim.env.policies.BASELINES`' own, so the bisection's savings are computed
    once per pool. Ordered by saving baseline, then rule.
    """
    return {
        baseline_name(saving, rule): WithdrawalPolicy(BASELINES[saving], rule)
        for saving in (savings or tuple(BASELINES)) for rule in rules
    }
