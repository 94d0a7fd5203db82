"""The Merton configuration: the analytic optimum, and the environment agreeing with it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from mcsim.core.errors import ParameterError
from mcsim.env.environment import RetirementEnv
from mcsim.env.policies import ConstantMix, rollout
from mcsim.optimum.merton import MertonProblem, constant_share_utility

PATHS = 20_000


def crra(x: float, gamma: float) -> float:
    return math.log(x) if gamma == 1.0 else (x ** (1.0 - gamma) - 1.0) / (1.0 - gamma)


def test_optimal_share_by_hand() -> None:
    problem = MertonProblem(expected_return=0.07, volatility=0.20, rate=0.02, gamma=2.0, years=20)
    # mu = ln 1.07 = 0.0676586, r = ln 1.02 = 0.0198026, sigma^2 = ln(1 + (0.2 / 1.07)^2) = 0.0343411
    assert problem.log_variance == pytest.approx(0.0343411, abs=1e-7)
    assert problem.optimal_share == pytest.approx((0.0676586 - 0.0198026) / (2.0 * 0.0343411), abs=1e-5)
    assert problem.optimal_share == pytest.approx(0.696775, abs=1e-6)
    # Twice the risk aversion, half the share.
    cautious = MertonProblem(expected_return=0.07, volatility=0.20, rate=0.02, gamma=4.0)
    assert cautious.optimal_share == pytest.approx(problem.optimal_share / 2.0, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "share"),
    [
        ({"expected_return": 0.01, "rate": 0.03}, 0.0),  # negative excess return: no risk at all
        ({"expected_return": 0.02, "rate": 0.02}, 0.0),
        ({"expected_return": 0.20, "volatility": 0.10, "gamma": 1.0}, 1.0),  # would lever up
        ({"volatility": 1e-6}, 1.0),
    ],
)
def test_optimal_share_is_clipped(kwargs: dict[str, Any], share: float) -> None:
    assert MertonProblem(**kwargs).optimal_share == share


def test_pool_and_env_config() -> None:
    problem = MertonProblem(gamma=3.0, years=7)
    pool = problem.pool()
    assert pool.size == 1
    assert pool.wealth[0] == 1.0 and pool.income[0] == 0.0
    assert pool.n_accum[0] == 84
    assert pool.equity[0] == problem.optimal_share
    assert problem.env_config() == {"reward": "merton", "gamma": 3.0}
    env = RetirementEnv(pool, **problem.env_config())
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_analytic_share_beats_its_neighbours() -> None:
    problem = MertonProblem()
    best = problem.optimal_share
    assert 0.3 < best < 0.8
    shares = (best - 0.2, best, best + 0.2)
    returns = [rollout(ConstantMix(0.0, s), problem.pool(), PATHS, 0, **problem.env_config()).returns for s in shares]
    utility, error = constant_share_utility(problem, best, PATHS, seed=0)
    assert utility == returns[1].mean()
    assert 0.0 < error < 0.01
    assert returns[1].mean() > returns[0].mean() and returns[1].mean() > returns[2].mean()
    # Common random numbers make the comparison sharp: the paired difference is well above its error.
    for other in (returns[0], returns[2]):
        diff = returns[1] - other
        assert diff.mean() > 3.0 * diff.std(ddof=1) / math.sqrt(diff.size)


def test_clipped_optimum_scores_at_least_as_high_as_less_risk() -> None:
    problem = MertonProblem(expected_return=0.15, volatility=0.15, rate=0.0, gamma=1.0, years=10)
    assert problem.optimal_share == 1.0
    full, _ = constant_share_utility(problem, 1.0, PATHS, seed=1)
    less, _ = constant_share_utility(problem, 0.8, PATHS, seed=1)
    assert full >= less


def test_same_seed_same_utility_and_seeds_differ() -> None:
    problem = MertonProblem(years=5)
    assert constant_share_utility(problem, 0.5, 500, seed=4) == constant_share_utility(problem, 0.5, 500, seed=4)
    assert constant_share_utility(problem, 0.5, 500, seed=4) != constant_share_utility(problem, 0.5, 500, seed=5)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_terminal_reward_is_crra_of_terminal_wealth_without_volatility(gamma: float, share: float) -> None:
    mu, r, years = 0.06, 0.02, 10
    problem = MertonProblem(expected_return=mu, volatility=1e-6, rate=r, gamma=gamma, years=years)
    # Rebalanced monthly to ``share``: each month grows by the mix of the two monthly gross returns.
    monthly = share * (1.0 + mu) ** (1.0 / 12.0) + (1.0 - share) * (1.0 + r) ** (1.0 / 12.0)
    wealth = monthly ** (12 * years)
    result = rollout(ConstantMix(0.0, share), problem.pool(), 6, seed=0, **problem.env_config())
    np.testing.assert_allclose(result.capital_at_retirement, wealth, rtol=1e-4)
    np.testing.assert_allclose(result.returns, crra(wealth, gamma), rtol=1e-4, atol=1e-6)
    if share in (0.0, 1.0):
        # The pure strategies compound at the annual rates themselves.
        assert wealth == pytest.approx((1.0 + (mu if share else r)) ** years, rel=1e-12)
    utility, _ = constant_share_utility(problem, share, 6, seed=0)
    assert utility == pytest.approx(crra(wealth, gamma), rel=1e-4, abs=1e-6)


def test_terminal_reward_by_hand_with_the_single_env() -> None:
    problem = MertonProblem(expected_return=0.06, volatility=1e-6, rate=0.02, gamma=2.0, years=3)
    env = RetirementEnv(problem.pool(), step_months=12, **problem.env_config())
    env.reset(seed=0)
    rewards, infos = [], []
    done = False
    while not done:
        _, reward, done, truncated, info = env.step(np.array([0.0, 0.5]))
        assert not truncated
        rewards.append(reward)
        infos.append(info)
    assert len(rewards) == 3
    assert rewards[:-1] == [0.0, 0.0]  # no income, no step reward
    wealth = (0.5 * 1.06 ** (1 / 12) + 0.5 * 1.02 ** (1 / 12)) ** 36
    assert infos[-1]["capital_at_retirement"] == pytest.approx(wealth, rel=1e-5)
    assert rewards[-1] == pytest.approx(1.0 - 1.0 / wealth, rel=1e-4)  # crra(W, 2) = 1 - 1 / W
    assert infos[-1]["terminal_reward"] == rewards[-1]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("expected_return", float("nan")),
        ("expected_return", 2.0),
        ("expected_return", -0.6),
        ("expected_return", "0.07"),
        ("volatility", 0.0),
        ("volatility", 1e-7),
        ("volatility", 2.5),
        ("volatility", float("inf")),
        ("rate", -0.6),
        ("rate", 1.5),
        ("gamma", 0.0),
        ("gamma", -1.0),
        ("gamma", 60.0),
        ("years", 0),
        ("years", 101),
        ("years", 1.5),
        ("years", True),
    ],
)
def test_bad_parameters_are_refused(name: str, value: Any) -> None:
    with pytest.raises(ParameterError) as error:
        MertonProblem(**{name: value})
    assert error.value.name == name
