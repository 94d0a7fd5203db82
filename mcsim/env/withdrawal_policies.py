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
from typing import Any

import numpy as np

from ..core.market import MarketArrays
from ..core.mortality import FIXED, GOMPERTZ
from ..core.profile import Withdrawal, withdrawal_from_dict
from ..core.withdrawal import (
    MEMORY_SIZE,
    MERTON,
    TARGET,
    WITHDRAWN,
    WithdrawalArrays,
    merton_inputs,
    withdrawal_arrays,
    yearly_amount,
)
from .household import HouseholdPool
from .kernels import LIFE_SPENDING_SCALE
from .policies import Policy
from .vec_env import NumbaVecEnv

ENV_ASSETS = ["equities", "bonds"]


def withdrawal_rule(rule: str, parameters: dict[str, Any] | None = None) -> Withdrawal:
    """A validated :class:`~mcsim.core.profile.Withdrawal` (one-line ProfileError when it is not)."""
    return withdrawal_from_dict({"rule": rule, **(parameters or {})})


def household_rule(pool: HouseholdPool, h: int, withdrawal: Withdrawal) -> WithdrawalArrays:
    """Household ``h``'s rule for the kernels' :func:`~mcsim.core.withdrawal.yearly_amount`."""
    n_decum = int(pool.n_decum[h])
    market = MarketArrays(
        pool.model, pool.drift[h], pool.vol[h], pool.chol[h], pool.t_df, pool.inflation_drift[h], pool.inflation_vol[h]
    )
    gompertz = pool.dispersion[h] > 0
    mortality = (GOMPERTZ, float(pool.modal_age[h]), float(pool.dispersion[h])) if gompertz else (FIXED, 0.0, 1.0)
    retirement_age = float(pool.start_age[h] + pool.n_accum[h] / 12.0)
    return withdrawal_arrays(
        withdrawal, ENV_ASSETS, market, float(pool.fee_keep[h]), pool.other_income[h, :n_decum].copy(),
        pool.spending[h, :n_decum].copy(), retirement_age, mortality,
    )


@dataclass
class WithdrawalPolicy:
    """Save and invest as ``saving`` until retirement, then spend by withdrawal rule ``rule``.

    ``parameters`` are the rule's (``rate_pct``, ...; the defaults of ``[retirement.withdrawal]``);
    for ``merton``, gamma and discount come from the environment.
    """

    saving: Policy
    rule: str = "constant_dollar"
    parameters: dict[str, Any] = field(default_factory=dict)
    _rules: dict[tuple[int, int], WithdrawalArrays] = field(default_factory=dict, init=False, repr=False)
    _memory: np.ndarray = field(default_factory=lambda: np.zeros((0, MEMORY_SIZE)), init=False, repr=False)
    _amount: np.ndarray = field(default_factory=lambda: np.zeros(0), init=False, repr=False)

    def __post_init__(self) -> None:
        self._withdrawal = withdrawal_rule(self.rule, self.parameters)

    def _household_rule(self, env: NumbaVecEnv, h: int) -> WithdrawalArrays:
        key = (id(env.pool), int(h))
        if key not in self._rules:
            withdrawal = self._withdrawal
            if withdrawal.rule == "merton":
                withdrawal = withdrawal.model_copy(update={"gamma": env.config.gamma, "discount": env.config.discount})
            self._rules[key] = household_rule(env.pool, int(h), withdrawal)
        return self._rules[key]

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """The saving baseline's actions, with the rule's spending (and merton's equity) in retirement."""
        actions = self.saving.act(obs, env)
        if not env.config.life:
            return actions
        if self._memory.shape[0] != env.num_envs:
            self._memory = np.zeros((env.num_envs, MEMORY_SIZE))
            self._amount = np.zeros(env.num_envs)
        pool, households, months = env.pool, env.households, env.months
        wealth, basis, price_level = env.wealth, env.basis, env.price_level
        step_months = env.config.step_months
        for b in np.flatnonzero(months >= pool.n_accum[households]):
            h = households[b]
            done = int(months[b] - pool.n_accum[h])
            left = int(pool.n_decum[h]) - done
            months_in_step = min(step_months, left)
            rule = self._household_rule(env, h)
            w = float(wealth[b])
            if done == 0:
                self._memory[b] = 0.0
            kind = rule.params.rule
            if done % 12 == 0:
                share, future_income, income = merton_inputs(rule.params, rule.arrays, done // 12)
                self._amount[b] = yearly_amount(
                    rule.params, self._memory[b], done // 12, done, w, float(price_level[b]), share, future_income, income
                )
            if kind == TARGET:
                amount = float(pool.needs[h, done : done + months_in_step].sum())
            else:
                amount = self._amount[b] * months_in_step / 12.0
            gross = amount
            if kind in (TARGET, MERTON) and w > 0.0:
                gains = max(0.0, 1.0 - basis[b] / (w * price_level[b]))
                gross = amount / max(1.0 - pool.tax_rate[h] * gains, 1e-12)
            self._memory[b, WITHDRAWN] += gross
            scale = min(1.0, LIFE_SPENDING_SCALE * months_in_step / left)
            actions[b, 0] = min(1.0, gross / (w * scale)) if w > 0.0 else 0.0
            if kind == MERTON and w > 0.0:
                total = w + rule.arrays.other_value[done // 12]
                actions[b, 1] = min(1.0, rule.params.equity_share * total / w)
            elif kind == MERTON:
                actions[b, 1] = 1.0
        return actions
