"""The Merton configuration: a known optimum for the environment and its learners.

No income, CRRA utility of terminal wealth, one lognormal risky asset and a risk-free rate over a
fixed horizon. With continuous rebalancing the optimal policy is the constant equity share
``(mu - r) / (gamma * sigma^2)`` (Merton, 1969), in continuous-time terms: ``mu = ln(1 + expected
return)``, ``r = ln(1 + rate)`` and ``sigma^2`` the variance of the annual log-return. The
environment rebalances monthly, which moves the optimum by a negligible amount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.checks import integer, number
from ..core.market import LOGNORMAL, lognormal_monthly
from ..core.profile import MarketHistory
from ..env.household import HouseholdPool, env_history
from ..env.policies import ConstantMix, rollout


@dataclass(frozen=True)
class MertonProblem:
    """A Merton portfolio problem.

    Annual ``expected_return`` and ``volatility`` of the risky asset, risk-free ``rate``, risk
    aversion ``gamma``, horizon ``years``.
    """

    expected_return: float = 0.07
    volatility: float = 0.20
    rate: float = 0.02
    gamma: float = 2.0
    years: int = 20

    def __post_init__(self) -> None:
        number("expected_return", self.expected_return, -0.5, 1.0)
        number("volatility", self.volatility, 1e-6, 2.0)
        number("rate", self.rate, -0.5, 1.0)
        number("gamma", self.gamma, 1e-6, 50.0)
        integer("years", self.years, 1, 100)

    @property
    def log_variance(self) -> float:
        """Variance of the risky asset's annual log-return."""
        return math.log1p((self.volatility / (1.0 + self.expected_return)) ** 2)

    @property
    def optimal_share(self) -> float:
        """Merton's optimal constant equity share, clipped to [0, 1]."""
        excess = math.log1p(self.expected_return) - math.log1p(self.rate)
        return min(1.0, max(0.0, excess / (self.gamma * self.log_variance)))

    def pool(self) -> HouseholdPool:
        """The one-household pool: wealth 1, no income, no fees or tax, no inflation."""
        months = 12 * self.years
        drift = np.array([lognormal_monthly(self.expected_return, self.volatility)[0], math.log1p(self.rate) / 12.0])
        vol = np.array([lognormal_monthly(self.expected_return, self.volatility)[1], 0.0])
        one = np.ones(1)
        zero = np.zeros(1)
        return HouseholdPool(
            start_age=np.array([40.0]), n_accum=np.array([months]), n_decum=np.array([1]),
            income=zero, income_growth=one, charge_amount=np.zeros((1, 1)), charge_end=np.zeros((1, 1), dtype=np.int64),
            plan_saving=np.zeros((1, months)), target=zero, pension=zero, spending=np.zeros((1, 1)),
            needs=np.zeros((1, 1)), need_total=zero, other_income=np.zeros((1, 1)), survival=np.ones((1, months + 1)),
            modal_age=zero, dispersion=zero, wealth=one, basis=one, equity=np.array([self.optimal_share]),
            fee_keep=one, tax_rate=zero, model=LOGNORMAL, t_df=5.0, drift=drift[None, :], vol=vol[None, :],
            chol=np.eye(2)[None, :, :], inflation_drift=zero, inflation_vol=zero,
            **env_history("lognormal", MarketHistory()),
        )

    def env_config(self) -> dict[str, object]:
        """Environment settings of the problem (pass them to RetirementEnv or NumbaVecEnv)."""
        return {"reward": "merton", "gamma": float(self.gamma)}


def constant_share_utility(
    problem: MertonProblem, share: float, n_paths: int = 20_000, seed: int = 0
) -> tuple[float, float]:
    """Expected CRRA utility of terminal wealth holding ``share`` in the risky asset, with its standard error.

    Monte Carlo over ``n_paths`` episodes of the environment; the same seed gives the same markets
    for every share (common random numbers), so shares compare path by path.
    """
    result = rollout(ConstantMix(0.0, share), problem.pool(), n_paths, seed, **problem.env_config())
    returns = result.returns
    return float(returns.mean()), float(returns.std(ddof=1) / math.sqrt(returns.size))
