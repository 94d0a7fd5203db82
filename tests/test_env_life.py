"""The environment over the whole life (``horizon="life"``): docs/whole-life.md, step by step.

A slow, obviously-correct Python reference of the life episode, written from the contract and
sharing no code with the kernels, is fed the env's own market draws (the env's random stream
after reset, drawn for the whole episode at once) and the same actions, and matched step by step.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from mcsim.core.errors import ParameterError
from mcsim.core.kernels import draw_real_returns
from mcsim.core.profile import Profile
from mcsim.env.environment import EnvConfig, RetirementEnv, observation_space
from mcsim.env.household import pool_from_profiles, sample_pool
from mcsim.env.kernels import LIFE_OBS_NAMES, LIFE_OBS_SIZE, OBS_SIZE, household_market
from mcsim.env.policies import BASELINES, ConstantMix, GlidePath, rollout
from mcsim.env.vec_env import NumbaVecEnv

from .conftest import make_profile

LIFE = {"reward": "crra", "horizon": "life"}


def rich_profile(**changes: object) -> Profile:
    """A household with growth, a charge, taxed gains, a fee, an extra income band in retirement."""
    return make_profile(**{
        "income.real_growth_pct": 1.0,
        "income.charges": [{"name": "mortgage", "monthly_amount": 400.0, "until_age": 45.0}],
        "accounts.0.type": "cto",
        "accounts.0.cost_basis": 6000.0,
        "accounts.0.fee_pct": 0.5,
        "accounts.0.allocation": {"equities": 0.7, "bonds": 0.3},
        "market.assets": [
            {"name": "equities", "expected_return_pct": 6.0, "volatility_pct": 15.0},
            {"name": "bonds", "expected_return_pct": 3.0, "volatility_pct": 5.0},
        ],
        "market.inflation_volatility_pct": 1.0,
        "retirement.additional_income": [{"name": "rent", "from_age": 52.0, "to_age": 55.0, "monthly_amount": 300.0}],
        **changes,
    })


def crra(x: float, gamma: float) -> float:
    return math.log(x) if gamma == 1.0 else (x ** (1.0 - gamma) - 1.0) / (1.0 - gamma)


def reference_life(profile: Profile, config: EnvConfig, actions: np.ndarray, real_gross: np.ndarray,
                   inflation: np.ndarray, fee_keep: float, tax_rate: float) -> dict[str, np.ndarray]:
    """The life episode of one household written from docs/whole-life.md, month by month.

    Returns per step: the reward (the horizon's bequest included in the last), the wealth at its end
    and the mean monthly consumption.
    """
    person, income, retirement = profile.person, profile.income, profile.retirement
    x0 = person.current_age
    n_accum = round(12 * (person.retirement_age - x0))
    horizon = person.life_expectancy if person.mortality == "fixed" else person.max_age
    T = n_accum + round(12 * (horizon - person.retirement_age))
    if person.mortality == "fixed":
        S = np.ones(T)
    else:
        m, b = person.gompertz_modal_age, person.gompertz_dispersion
        S = np.array([math.exp(math.exp((x0 - m) / b) * (1 - math.exp((t + 1) / 12 / b))) for t in range(T)])
    reference = retirement.target_monthly_income
    floor = 0.01 * reference
    gamma, discount, weight = config.gamma, config.discount, config.bequest_weight

    def bequest(w: float) -> float:
        return crra(max(w, floor * 12) / (12 * reference), gamma)

    def month_utility(t: int, consumption: float, w_end: float) -> float:
        u = discount ** (t / 12) * S[t] * crra(max(consumption, floor) / reference, gamma) / 12
        previous = 1.0 if t == 0 else S[t - 1]
        return u + weight * discount ** ((t + 1) / 12) * (previous - S[t]) * bequest(w_end)

    def disposable(t: int) -> float:
        age = x0 + t / 12
        gross = income.monthly_net * (1 + income.real_growth_pct / 100) ** (t / 12)
        return max(0.0, gross - sum(c.monthly_amount for c in income.charges if age < c.until_age - 1e-9))

    def other_income(t: int) -> float:
        age = x0 + t / 12
        return retirement.state_pension_monthly + sum(
            band.monthly_amount for band in retirement.additional_income if band.from_age <= age + 1e-9 < band.to_age
        )

    W = sum(a.balance for a in profile.accounts)
    basis = sum(a.basis for a in profile.accounts)
    price = 1.0
    rewards, wealth, consumption = [], [], []
    t = step = 0
    while t < T:
        a0, a1 = actions[step]
        reward = consumed = 0.0
        if t < n_accum:
            months = min(config.step_months, n_accum - t)
            for _ in range(months):
                price *= inflation[t]
                saving = a0 * config.max_savings_rate * disposable(t)
                W = W * (a1 * real_gross[t, 0] + (1 - a1) * real_gross[t, 1]) * fee_keep + saving
                basis += saving * price
                consumed += disposable(t) - saving
                reward += month_utility(t, disposable(t) - saving, W)
                t += 1
        else:
            months = min(config.step_months, T - t)
            r = a0 * min(1.0, 4 * months / (T - t))
            G = r * W
            net = G * (1 - tax_rate * max(0.0, 1 - basis / (W * price)))
            basis *= 1 - G / W
            W = W - G
            for _ in range(months):
                price *= inflation[t]
                W = W * (a1 * real_gross[t, 0] + (1 - a1) * real_gross[t, 1]) * fee_keep
                c = net / months + other_income(t)
                consumed += c
                reward += month_utility(t, c, W)
                t += 1
        if t == T:
            reward += weight * discount ** (T / 12) * S[T - 1] * bequest(W)
        rewards.append(reward)
        wealth.append(W)
        consumption.append(consumed / months)
        step += 1
    return {"rewards": np.array(rewards), "wealth": np.array(wealth), "consumption": np.array(consumption)}


def episode_draws(env: RetirementEnv, n_months: int) -> tuple[np.ndarray, np.ndarray]:
    """The market the env's episode will meet: its stream after reset, drawn for the whole episode."""
    rng = tuple(np.uint64(v) for v in env._state.rng[0])
    real_gross, inflation = np.empty((n_months, 2)), np.empty(n_months)
    draw_real_returns(rng, household_market(env.pool, 0), real_gross, inflation, np.empty(2 * n_months, dtype=np.int64))
    return real_gross, inflation


@pytest.mark.parametrize(
    ("changes", "config"),
    [
        ({}, {"step_months": 12}),
        ({}, {"step_months": 3, "bequest_weight": 0.5, "gamma": 3.0}),
        ({"person.mortality": "gompertz", "person.max_age": 72.0}, {"step_months": 12}),
        ({"person.mortality": "gompertz", "person.max_age": 70.5, "person.gompertz_modal_age": 60.0},
         {"step_months": 6, "bequest_weight": 2.0, "discount": 0.95}),
    ],
    ids=["fixed", "fixed-bequest-quarterly", "gompertz", "gompertz-bequest"],
)
def test_life_episode_matches_the_reference_step_by_step(changes: dict, config: dict) -> None:
    profile = rich_profile(**changes)
    env = RetirementEnv(profile, **LIFE, **config)
    pool = env.pool
    T = int(pool.n_accum[0] + pool.n_decum[0])
    env.reset(seed=7)
    real_gross, inflation = episode_draws(env, T)
    steps = int(np.ceil(pool.n_accum[0] / env.config.step_months) + np.ceil(pool.n_decum[0] / env.config.step_months))
    rng = np.random.default_rng(3)
    actions = rng.uniform(0.0, 1.0, (steps, 2))
    actions[-1, 0] = 1.0
    actions[3, 0] = 0.0
    rewards, wealth, consumption, infos = [], [], [], []
    done = False
    while not done:
        _, reward, done, truncated, info = env.step(actions[len(rewards)])
        assert not truncated
        rewards.append(reward)
        wealth.append(info["capital"])
        consumption.append(info["monthly_consumption"])
        infos.append(info)
    expected = reference_life(profile, env.config, actions, real_gross, inflation,
                              float(pool.fee_keep[0]), float(pool.tax_rate[0]))
    assert len(rewards) == steps
    np.testing.assert_allclose(wealth, expected["wealth"], rtol=1e-11, atol=1e-6)
    np.testing.assert_allclose(consumption, expected["consumption"], rtol=1e-11)
    np.testing.assert_allclose(rewards, expected["rewards"], rtol=1e-9, atol=1e-13)
    assert wealth[-1] == 0.0  # a0 = 1 over the last step spends everything
    assert infos[-1]["age"] == pytest.approx(profile.person.horizon_age)
    assert math.isnan(infos[-1]["funded_probability"])
    n_working = int(np.ceil(pool.n_accum[0] / env.config.step_months))
    assert infos[-1]["capital_at_retirement"] == infos[n_working - 1]["capital"]


def zero_volatility_profile() -> Profile:
    """Real returns of exactly zero (2% nominal, 2% inflation), no fee, no tax."""
    return make_profile(**{
        "market.assets": [
            {"name": "equities", "expected_return_pct": 2.0, "volatility_pct": 0.0},
            {"name": "bonds", "expected_return_pct": 2.0, "volatility_pct": 0.0},
        ],
        "accounts.0.type": "livret",
    })


def test_zero_volatility_even_drawdown_is_a_constant_consumption() -> None:
    """The baselines' spending (1/years left a year, everything in the last step) at zero real return.

    Retirement consumption is the capital over the months of retirement plus the pension, every
    month, and the wealth ends at zero; the return is the closed-form sum of its utilities.
    """
    profile = zero_volatility_profile()
    config = EnvConfig(**LIFE, max_savings_rate=0.5, gamma=2.0, discount=0.96)
    result = rollout(ConstantMix(0.25, 0.4), profile, 1, seed=3, record=True, **LIFE, max_savings_rate=0.5,
                     gamma=2.0, discount=0.96)
    saving = 0.5 * 0.5 * 3000.0
    capital = 10_000.0 + 120 * saving
    assert result.capital_at_retirement[0] == pytest.approx(capital, rel=1e-12)
    spending = capital / 120 + 1000.0
    # Actions are float32: 1/3 of the third-to-last year is 1/3 to 1e-8.
    np.testing.assert_allclose(result.monthly_consumption[0, 10:], spending, rtol=1e-7)
    np.testing.assert_allclose(result.monthly_consumption[0, :10], 3000.0 - saving, rtol=1e-12)
    assert abs(result.wealth[0, -1]) < 1e-6 and result.wealth[0, 9] == pytest.approx(capital, rel=1e-12)
    d = config.discount ** (1 / 12)
    working = sum(d**t * crra((3000.0 - saving) / 2500.0, 2.0) / 12 for t in range(120))
    retired = sum(d**t * crra(spending / 2500.0, 2.0) / 12 for t in range(120, 240))
    assert result.returns[0] == pytest.approx(working + retired, rel=1e-8)


def test_constant_spending_action_at_zero_volatility_withdraws_one_over_years_left() -> None:
    """a0 = 0.25 withdraws W / years left a year while four years or more are left, a quarter after."""
    env = RetirementEnv(zero_volatility_profile(), **LIFE)
    env.reset(seed=1)
    for _ in range(10):
        env.step(np.array([0.0, 0.5]))
    wealth = env._state.wealth[0]
    for years_left in range(10, 0, -1):
        _, _, done, _, info = env.step(np.array([0.25, 0.5]))
        share = 1 / years_left if years_left >= 4 else 0.25
        assert -12 * info["monthly_saving"] == pytest.approx(share * wealth, rel=1e-12)
        assert info["monthly_consumption"] == pytest.approx(share * wealth / 12 + 1000.0, rel=1e-12)
        wealth *= 1 - share
        assert info["capital"] == pytest.approx(wealth, rel=1e-12)
    assert done


@pytest.mark.parametrize(
    ("mortality", "config"),
    [("fixed", {"step_months": 12}), ("gompertz", {"step_months": 6, "bequest_weight": 0.3, "gamma": 4.0})],
)
def test_vec_env_follows_the_single_env(mortality: str, config: dict) -> None:
    """Env b of NumbaVecEnv(seed=s) and RetirementEnv reset with s + b: same trajectory, auto-reset included."""
    pool = sample_pool(10, seed=21, mortality=mortality)
    n_envs, seed = 3, 40
    vec = NumbaVecEnv(n_envs, pool, seed=seed, **LIFE, **config)
    singles = [RetirementEnv(pool, **LIFE, **config) for _ in range(n_envs)]
    vec_obs = vec.reset()
    assert vec_obs.shape == (n_envs, LIFE_OBS_SIZE)
    np.testing.assert_array_equal(vec_obs, np.stack([env.reset(seed=seed + b)[0] for b, env in enumerate(singles)]))
    rng = np.random.default_rng(0)
    episodes = np.zeros(n_envs, dtype=int)
    while episodes.min() < 2:
        actions = rng.uniform(-0.1, 1.1, (n_envs, 2)).astype(np.float32)
        vec_obs, vec_rewards, vec_dones, vec_infos = vec.step(actions)
        for b, env in enumerate(singles):
            obs, reward, done, _, info = env.step(actions[b])
            assert vec_dones[b] == done and vec_rewards[b] == np.float32(reward)
            for key, value in info.items():
                assert vec_infos[b][key] == value or (math.isnan(value) and math.isnan(vec_infos[b][key])), key
            if done:
                np.testing.assert_array_equal(vec_infos[b]["terminal_observation"], obs)
                obs, _ = env.reset()
                episodes[b] += 1
            np.testing.assert_array_equal(vec_obs[b], obs)


def test_observations_stay_in_their_box_over_whole_lives() -> None:
    pool = sample_pool(40, seed=5, mortality="gompertz")
    vec = NumbaVecEnv(40, pool, seed=1, **LIFE, bequest_weight=1.0)
    vec.set_options([{"household": h} for h in range(40)])
    obs = vec.reset()
    space = observation_space("life")
    rng = np.random.default_rng(1)
    seen = [obs]
    running = np.ones(40, dtype=bool)
    retired_flags = set()
    while running.any():
        obs, rewards, dones, infos = vec.step(rng.uniform(0, 1, (40, 2)).astype(np.float32))
        assert np.isfinite(rewards).all()
        for b in np.flatnonzero(dones & running):
            seen.append(infos[b]["terminal_observation"][None, :])
        seen.append(obs[running])
        retired_flags.update(obs[running, 11].tolist())
        running &= ~dones
    seen = np.concatenate(seen)
    assert all(space.contains(row) for row in seen)
    assert retired_flags == {0.0, 1.0}
    assert len(LIFE_OBS_NAMES) == LIFE_OBS_SIZE == 18 and OBS_SIZE == 11
    assert seen[:, 17].min() < 0.5 and seen[:, 12].max() > 1.5  # survival to 110 is low; long lives are long


def test_gymnasium_and_sb3_env_checkers_pass_on_the_life_env() -> None:
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(RetirementEnv(sample_pool(10, seed=1, mortality="gompertz"), **LIFE, bequest_weight=1.0),
              skip_render_check=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="We recommend you to use a symmetric and normalized Box action space")
        sb3_check_env(RetirementEnv(sample_pool(10, seed=2), **LIFE, step_months=3), warn=True)


def test_baselines_spend_in_retirement_and_rollout_covers_the_life() -> None:
    """Every saving baseline spends its documented default in retirement: an even draw-down."""
    pool = sample_pool(6, seed=8)
    results = {}
    for name in ("constant-mix", "glide-path", "own-plan"):
        results[name] = rollout(BASELINES[name], pool, 6, seed=2, record=True, **LIFE)
    for name, result in results.items():
        assert np.isfinite(result.returns).all(), name
        assert np.isnan(result.funded_probability).all()
        n_steps = (pool.n_accum + 11) // 12 + (pool.n_decum + 11) // 12
        assert (np.isfinite(result.ages).sum(axis=1) == n_steps[result.households]).all()
        for i, h in enumerate(result.households):
            retired = result.ages[i] > pool.start_age[h] + pool.n_accum[h] / 12 + 1e-9
            consumption = result.monthly_consumption[i][retired]
            assert (consumption >= pool.other_income[h, 0] - 1e-9).all(), name
            assert (result.monthly_saving[i][retired] < 0).all(), name
            assert abs(result.wealth[i][np.isfinite(result.wealth[i])][-1]) < 1e-6, name
    # The retirement spending is a setting; spending nothing leaves wealth at the horizon.
    frugal = rollout(GlidePath(0.15, retirement_spending=0.0), pool, 6, seed=2, record=True, **LIFE)
    assert (frugal.returns < results["glide-path"].returns).all()


def test_the_retirement_horizon_keeps_its_observation_and_ignores_the_life_settings() -> None:
    env = RetirementEnv("default")
    assert env.observation_space.shape == (OBS_SIZE,)
    assert RetirementEnv("default", **LIFE).observation_space.shape == (LIFE_OBS_SIZE,)
    pool = pool_from_profiles(["default"])
    plain = rollout(ConstantMix(), pool, 4, seed=1, reward="crra")
    with_bequest = rollout(ConstantMix(), pool, 4, seed=1, reward="crra", bequest_weight=5.0)
    np.testing.assert_array_equal(plain.returns, with_bequest.returns)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"horizon": "death"}, "horizon"),
        ({"horizon": "life"}, "reward"),
        ({"horizon": "life", "reward": "merton"}, "reward"),
        ({"horizon": "life", "reward": "crra", "bequest_weight": -1.0}, "bequest_weight"),
        ({"bequest_weight": float("nan")}, "bequest_weight"),
        ({"horizon": 1}, "horizon"),
    ],
)
def test_bad_life_settings_are_one_line(settings: dict, field: str) -> None:
    with pytest.raises(ParameterError) as error:
        EnvConfig(**settings)
    assert error.value.name == field
    assert "\n" not in str(error.value)
    with pytest.raises(ParameterError):
        NumbaVecEnv(2, **settings)
