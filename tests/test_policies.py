"""Baseline policies and roll-outs on common random numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mcsim.core.arrays import plan_arrays
from mcsim.core.errors import ParameterError
from mcsim.core.profile import embedded_profile_names, load_profile
from mcsim.env.household import HouseholdPool, pool_from_profiles, sample_pool
from mcsim.env.kernels import OBS_SIZE
from mcsim.env.policies import BASELINES, ConstantMix, GlidePath, OwnPlan, Policy, rollout
from mcsim.env.vec_env import NumbaVecEnv


@pytest.fixture(scope="module")
def households() -> HouseholdPool:
    return sample_pool(12, seed=21, market_jitter=0.5)


def obs_with_ages(ages: np.ndarray) -> np.ndarray:
    obs = np.zeros((ages.size, OBS_SIZE), dtype=np.float32)
    obs[:, 1] = (ages - 45.0) / 20.0
    return obs


# --- act() ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_rate", [0.5, 0.2, 1.0])
def test_constant_mix_actions(max_rate: float) -> None:
    env = NumbaVecEnv(3, "default", seed=0, max_savings_rate=max_rate)
    obs = env.reset()
    actions = ConstantMix(0.15, 0.6).act(obs, env)
    assert actions.shape == (3, 2) and actions.dtype == np.float32
    np.testing.assert_allclose(actions[:, 0], min(1.0, 0.15 / max_rate), rtol=1e-6)
    np.testing.assert_allclose(actions[:, 1], 0.6, rtol=1e-6)
    # A rate above what the env allows saves the most it allows.
    assert np.all(ConstantMix(0.4, 0.0).act(obs, env)[:, 0] == np.float32(min(1.0, 0.4 / max_rate)))
    assert np.all(ConstantMix(0.0, 1.0).act(obs, env) == np.array([0.0, 1.0], dtype=np.float32))


def test_glide_path_actions() -> None:
    env = NumbaVecEnv(6, "default", seed=0, max_savings_rate=0.5)
    env.reset()
    ages = np.array([25.0, 10.0, 45.0, 64.0, 110.0, 120.0])
    actions = GlidePath(0.1).act(obs_with_ages(ages), env)
    assert actions.shape == (6, 2) and actions.dtype == np.float32
    np.testing.assert_allclose(actions[:, 0], 0.2, rtol=1e-6)
    np.testing.assert_allclose(actions[:, 1], [0.85, 1.0, 0.65, 0.46, 0.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(actions[:, 1], np.clip((110.0 - ages) / 100.0, 0.0, 1.0), atol=1e-5)


def test_glide_path_reads_the_age_of_real_observations() -> None:
    pool = pool_from_profiles([name for name in embedded_profile_names() if name != "crypto_holder"])
    env = NumbaVecEnv(pool.size, pool, seed=1)
    env.set_options([{"household": i} for i in range(pool.size)])
    obs = env.reset()
    actions = GlidePath().act(obs, env)
    np.testing.assert_allclose(actions[:, 1], np.clip((110.0 - pool.start_age) / 100.0, 0, 1), atol=1e-5)


@pytest.mark.parametrize("name", embedded_profile_names())
def test_own_plan_first_action(name: str) -> None:
    profile = load_profile(name)
    plan = plan_arrays(profile)
    env = NumbaVecEnv(1, name, seed=0, step_months=1, max_savings_rate=0.5)
    obs = env.reset()
    actions = OwnPlan().act(obs, env)
    assert actions.shape == (1, 2) and actions.dtype == np.float32
    charges = sum(c.monthly_amount for c in (*profile.income.charges, *profile.income.children))
    disposable = max(0.0, profile.income.monthly_net - charges)
    assert actions[0, 0] == pytest.approx(min(1.0, plan.contributions[0] / (0.5 * disposable)), rel=1e-6)
    assert actions[0, 1] == pytest.approx(env.pool.equity[0], rel=1e-6)


# --- OwnPlan reproduces the profile's plan --------------------------------------------------------


def run_own_plan(name: str, step_months: int) -> list[dict[str, Any]]:
    env = NumbaVecEnv(1, name, seed=3, step_months=step_months)
    obs = env.reset()
    infos = []
    for _ in range(10_000):
        obs, _, dones, step_infos = env.step(OwnPlan().act(obs, env))
        infos.append(step_infos[0])
        if dones[0]:
            return infos
    raise AssertionError("the episode did not end")


@pytest.mark.parametrize("name", embedded_profile_names())
def test_own_plan_saves_the_plans_contributions_yearly(name: str) -> None:
    profile = load_profile(name)
    plan = plan_arrays(profile)
    pool = pool_from_profiles([name])
    infos = run_own_plan(name, 12)
    n_accum = plan.contributions.size
    assert len(infos) == -(-n_accum // 12)
    for k, info in enumerate(infos):
        expected = plan.contributions[12 * k : 12 * (k + 1)].mean()
        assert info["monthly_saving"] == pytest.approx(expected, rel=1e-6), k
        assert info["equity_share"] == pytest.approx(pool.equity[0], rel=1e-6)
    assert "capital_at_retirement" in infos[-1]


def test_own_plan_on_the_default_profile_by_hand() -> None:
    infos = run_own_plan("default", 12)
    assert len(infos) == 34
    savings = np.array([info["monthly_saving"] for info in infos])
    np.testing.assert_allclose(savings[:10], 400.0, rtol=1e-6)
    np.testing.assert_allclose(savings[10:], 600.0, rtol=1e-6)
    # livret A 8000 in bonds, PEA 12000 at 90% equities.
    for info in infos:
        assert info["equity_share"] == pytest.approx(0.54, rel=1e-6)


def test_own_plan_saves_the_plans_contributions_monthly() -> None:
    plan = plan_arrays(load_profile("mid_career_family"))
    infos = run_own_plan("mid_career_family", 1)
    savings = np.array([info["monthly_saving"] for info in infos])
    np.testing.assert_allclose(savings, plan.contributions, rtol=1e-6)


# --- roll-outs on common random numbers ----------------------------------------------------------


def test_rollout_same_policy_same_seed_is_identical(households: HouseholdPool) -> None:
    for policy in BASELINES.values():
        a = rollout(policy, households, 24, seed=5)
        b = rollout(policy, households, 24, seed=5)
        for field in a._fields:
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        assert np.all(np.isfinite(a.returns))


def test_rollout_assigns_households_in_turn(households: HouseholdPool) -> None:
    result = rollout(ConstantMix(), households, 30, seed=0)
    np.testing.assert_array_equal(result.households, np.arange(30) % households.size)
    assert result.returns.shape == result.funded_probability.shape == result.shortfall.shape == (30,)
    assert np.all((result.funded_probability >= 0) & (result.funded_probability <= 1))
    assert np.all((result.shortfall >= 0) & (result.shortfall <= 1))
    assert np.all(result.capital_at_retirement >= 0)


def test_rollout_different_seeds_see_different_markets(households: HouseholdPool) -> None:
    a = rollout(ConstantMix(0.0, 0.0), households, 24, seed=0)
    b = rollout(ConstantMix(0.0, 0.0), households, 24, seed=1)
    c = rollout(ConstantMix(0.0, 0.0), households, 24, seed=0)
    np.testing.assert_array_equal(a.capital_at_retirement, c.capital_at_retirement)
    with_capital = households.wealth[a.households] > 0
    assert with_capital.sum() > 3
    assert np.all(a.capital_at_retirement[with_capital] != b.capital_at_retirement[with_capital])


def test_rollout_more_saving_never_lowers_capital_path_by_path(households: HouseholdPool) -> None:
    capitals = [
        rollout(ConstantMix(rate, 0.7), households, 36, seed=9).capital_at_retirement for rate in (0.0, 0.05, 0.15, 0.3)
    ]
    for low, high in zip(capitals, capitals[1:], strict=False):
        assert np.all(high >= low)
        assert np.any(high > low)


def test_rollout_capital_is_linear_in_the_savings_rate_under_common_random_numbers(households: HouseholdPool) -> None:
    # Same seed, same equity share: the markets are common, so the capital at retirement is
    # affine in the savings rate path by path (equal steps of rate add equal capital).
    # 0.1 / 0.5 = 0.2 etc.: the float32 actions 0.2, 0.4 are exact multiples of each other.
    c1, c2, c4 = (
        rollout(ConstantMix(rate, 0.5), households, 24, seed=4, max_savings_rate=0.5).capital_at_retirement
        for rate in (0.05, 0.1, 0.2)
    )
    c0 = rollout(ConstantMix(0.0, 0.5), households, 24, seed=4, max_savings_rate=0.5).capital_at_retirement
    scale = np.maximum(np.abs(c4), 1.0)
    np.testing.assert_allclose((c2 - c0) / scale, 2 * (c1 - c0) / scale, atol=1e-6)
    np.testing.assert_allclose((c4 - c0) / scale, 2 * (c2 - c0) / scale, atol=1e-6)
    assert np.all(c4 - c0 > 0)


def test_rollout_returns_compare_episode_by_episode(households: HouseholdPool) -> None:
    # Common random numbers: the equity share changes the capital path by path, but paths whose
    # household starts with nothing and saves nothing end with nothing whatever the share.
    shares = [rollout(ConstantMix(0.0, e), households, 24, seed=2) for e in (0.0, 1.0)]
    no_capital = households.wealth[shares[0].households] == 0
    assert np.all(shares[0].capital_at_retirement[no_capital] == 0.0)
    assert np.all(shares[1].capital_at_retirement[no_capital] == 0.0)
    assert np.any(shares[0].capital_at_retirement[~no_capital] != shares[1].capital_at_retirement[~no_capital])


# --- bad parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: ConstantMix(1.5, 0.5), "savings_rate"),
        (lambda: ConstantMix(-0.1, 0.5), "savings_rate"),
        (lambda: ConstantMix(float("nan"), 0.5), "savings_rate"),
        (lambda: ConstantMix(0.1, 1.5), "equity"),
        (lambda: ConstantMix(0.1, "0.5"), "equity"),
        (lambda: GlidePath(1.5), "savings_rate"),
        (lambda: GlidePath(-1.0), "savings_rate"),
    ],
)
def test_bad_policy_parameters_are_refused(make: Any, name: str) -> None:
    with pytest.raises(ParameterError) as error:
        make()
    assert error.value.name == name


@pytest.mark.parametrize("n_episodes", [0, -1, 1.5, True, None, 200_000])
def test_bad_n_episodes_is_refused(n_episodes: Any) -> None:
    with pytest.raises(ParameterError) as error:
        rollout(ConstantMix(), "default", n_episodes)
    assert error.value.name == "n_episodes"


def test_rollout_passes_config_to_the_env() -> None:
    with pytest.raises(ParameterError) as error:
        rollout(ConstantMix(), "default", 2, step_months=5)
    assert error.value.name == "step_months"
    policy: Policy = GlidePath()
    yearly = rollout(policy, "default", 4, seed=0, step_months=12)
    monthly = rollout(policy, "default", 4, seed=0, step_months=1)
    assert np.all(np.isfinite(yearly.returns)) and np.all(np.isfinite(monthly.returns))


def test_numpy_disposable_incomes_match_the_kernel() -> None:
    from mcsim.env.household import sample_pool
    from mcsim.env.kernels import disposable_income
    from mcsim.env.policies import disposable_incomes

    pool = sample_pool(50, seed=9)
    households = np.arange(50)
    months = np.random.default_rng(1).integers(0, 400, (50, 12))
    expected = np.array([[disposable_income(pool, h, m) for m in row] for h, row in zip(households, months, strict=True)])
    np.testing.assert_allclose(disposable_incomes(pool, households, months), expected, rtol=1e-12)
