"""RetirementEnv: the gymnasium contract, closed forms, and the terminal estimate against the core."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest

from mcsim.core.simulation import simulate
from mcsim.env.environment import EnvConfig, RetirementEnv
from mcsim.env.household import pool_from_profiles, sample_pool
from mcsim.env.policies import ConstantMix, OwnPlan, rollout

from .conftest import make_profile


def run_episode(env: RetirementEnv, actions, seed: int, options: dict | None = None):
    obs, _ = env.reset(seed=seed, options=options)
    trajectory = [obs]
    rewards, infos = [], []
    done = False
    step = 0
    while not done:
        obs, reward, done, truncated, info = env.step(actions(step, obs))
        assert not truncated
        trajectory.append(obs)
        rewards.append(reward)
        infos.append(info)
        step += 1
    return np.array(trajectory), np.array(rewards), infos


def test_gymnasium_env_checker_passes() -> None:
    from gymnasium.utils.env_checker import check_env

    check_env(RetirementEnv(sample_pool(10, seed=1)), skip_render_check=True)
    check_env(RetirementEnv(step_months=1, reward="crra"), skip_render_check=True)


def test_sb3_env_checker_passes() -> None:
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings():
        # The [0, 1] action box is the documented design (a rate and a share), not [-1, 1].
        warnings.filterwarnings("ignore", message="We recommend you to use a symmetric and normalized Box action space")
        check_env(RetirementEnv(sample_pool(10, seed=2)), warn=True)


def test_registered_id_makes_the_env() -> None:
    env = gym.make("mcsim/Retirement-v0", step_months=6)
    obs, info = env.reset(seed=3)
    assert env.spec.id == "mcsim/Retirement-v0"
    assert env.observation_space.contains(obs) and "household" in info
    assert isinstance(env.unwrapped, RetirementEnv) and env.unwrapped.config.step_months == 6


def test_episode_length_infos_and_determinism() -> None:
    env = RetirementEnv("default")

    def policy(step: int, obs: np.ndarray) -> np.ndarray:
        return np.array([0.3 + 0.01 * step, 0.9 - 0.01 * step], dtype=np.float32)

    first = run_episode(env, policy, seed=11)
    second = run_episode(env, policy, seed=11)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    trajectory, rewards, infos = first
    assert len(rewards) == 34  # 30 to 64, one decision a year
    assert infos[0]["age"] == 31 and infos[-1]["age"] == 64
    for info in infos:
        assert {"age", "capital", "monthly_saving", "equity_share"} <= set(info)
    assert {"funded_probability", "shortfall", "terminal_reward", "capital_at_retirement"} <= set(infos[-1])
    assert infos[-1]["capital_at_retirement"] == infos[-1]["capital"]
    third = run_episode(env, policy, seed=12)
    assert not np.array_equal(first[0], third[0])  # other markets, other wealth


def test_step_months_divides_the_episode() -> None:
    env = RetirementEnv("default", step_months=3)
    _, rewards, infos = run_episode(env, lambda step, obs: np.array([0.5, 0.5]), seed=1)
    assert len(rewards) == 34 * 4
    assert infos[-1]["age"] == 64


def test_partial_last_step() -> None:
    """An accumulation that is not a whole number of steps ends with a shorter step."""
    profile = make_profile(**{"person.retirement_age": 50 + 5 / 12})
    env = RetirementEnv(profile)
    _, rewards, infos = run_episode(env, lambda step, obs: np.array([0.5, 0.5]), seed=1)
    assert len(rewards) == 11
    assert infos[-1]["age"] == pytest.approx(50 + 5 / 12)


def test_step_before_reset_and_after_end_raises() -> None:
    env = RetirementEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([0.5, 0.5]))
    run_episode(env, lambda step, obs: np.array([0.5, 0.5]), seed=1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([0.5, 0.5]))


def test_reset_options_choose_the_household() -> None:
    pool = sample_pool(30, seed=4)
    env = RetirementEnv(pool)
    for household in (0, 17, 29):
        _, info = env.reset(seed=1, options={"household": household})
        assert info["household"] == household
    with pytest.raises(ValueError, match="household"):
        env.reset(options={"household": 30})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"colour": 1})


def test_zero_volatility_accumulation_is_compound_interest() -> None:
    """Saving a constant share of a constant income at zero volatility: the annuity formula exactly."""
    profile = make_profile(**{
        "market.assets": [
            {"name": "equities", "expected_return_pct": 7.0, "volatility_pct": 0.0},
            {"name": "bonds", "expected_return_pct": 3.0, "volatility_pct": 0.0},
        ],
        "accounts.0.allocation": {"equities": 1.0},
        "accounts.0.fee_pct": 0.4,
    })
    env = RetirementEnv(profile, max_savings_rate=0.5)
    _, _, infos = run_episode(env, lambda step, obs: np.array([0.5, 0.25]), seed=1)
    equity = (1.07 / 1.02) ** (1 / 12)
    bonds = (1.03 / 1.02) ** (1 / 12)
    growth = (0.25 * equity + 0.75 * bonds) * (1 - 0.004) ** (1 / 12)
    saving = 0.5 * 0.5 * 3000.0
    months = 120
    expected = 10_000.0 * growth**months + saving * (growth**months - 1) / (growth - 1)
    assert infos[-1]["capital_at_retirement"] == pytest.approx(expected, rel=1e-9)
    assert infos[0]["monthly_saving"] == pytest.approx(saving)
    # Retirement at zero volatility: the need (1,500 a month for 10 years) is funded on every path or none.
    assert infos[-1]["funded_probability"] in (0.0, 1.0)


def test_planner_reward_decomposes() -> None:
    """Planner: quality of life each step, and capital - risk terms at the end, with the given weights."""
    profile = make_profile()
    weights = {"capital_weight": 2.0, "qol_weight": 0.5, "risk_weight": 0.7}
    env = RetirementEnv(profile, max_savings_rate=0.4, gamma=3.0, **weights)
    _, rewards, infos = run_episode(env, lambda step, obs: np.array([0.5, 0.5]), seed=5)
    consumed = 1 - 0.5 * 0.4
    utility = (consumed ** (1 - 3.0) - 1) / (1 - 3.0)
    qol_per_year = 0.5 * utility * 12 / 120
    np.testing.assert_allclose(rewards[:-1], qol_per_year, rtol=1e-9)
    terminal = 2.0 * infos[-1]["funded_probability"] - 0.7 * infos[-1]["shortfall"]
    assert infos[-1]["terminal_reward"] == pytest.approx(terminal)
    assert rewards[-1] == pytest.approx(qol_per_year + terminal)


def test_saving_more_lowers_quality_of_life_and_raises_funding() -> None:
    pool = pool_from_profiles(["mid_career_family"])
    frugal = rollout(ConstantMix(0.45, 0.6), pool, 40, seed=3, max_savings_rate=0.5)
    lavish = rollout(ConstantMix(0.05, 0.6), pool, 40, seed=3, max_savings_rate=0.5)
    assert (frugal.capital_at_retirement > lavish.capital_at_retirement).all()
    assert frugal.funded_probability.mean() > lavish.funded_probability.mean()


def test_terminal_estimate_agrees_with_the_core_simulation() -> None:
    """The env's own-plan funded probability, averaged over episodes, matches simulate() on the same plan.

    young_saver has one account (100% equities), so the env's pooled portfolio is the profile's own.
    """
    result = simulate("young_saver", 20_000, seed=1)
    episodes = rollout(OwnPlan(), "young_saver", 300, seed=9, mc_paths=200)
    funded = episodes.funded_probability
    success = result.success.estimate
    standard_error = math.sqrt(funded.var(ddof=1) / funded.size + success * (1 - success) / 20_000)
    assert abs(funded.mean() - success) < 4 * standard_error
    median_capital = np.median(episodes.capital_at_retirement)
    assert median_capital == pytest.approx(result.capital_at_retirement.median, rel=0.08)


def test_crra_reward_is_finite_and_discounted() -> None:
    env = RetirementEnv("default", reward="crra", gamma=2.0, discount=0.95)
    _, rewards, infos = run_episode(env, lambda step, obs: np.array([0.2, 0.6]), seed=2)
    assert np.isfinite(rewards).all()
    # Consumption grows with income, but discounting at 5% a year outweighs 1% growth: per-year rewards fall.
    assert rewards[1] > rewards[20] or rewards[1] < 0


def test_config_validation_names_the_field() -> None:
    for field, value in (("mc_paths", 0), ("step_months", 5), ("reward", "x"), ("qol_weight", -1.0)):
        with pytest.raises(ValueError) as error:
            EnvConfig(**{field: value})
        assert error.value.name == field
