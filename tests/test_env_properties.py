"""Property tests of RetirementEnv: any household, configuration and action gives finite, bounded episodes."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mcsim.core.errors import ParameterError
from mcsim.core.profile import embedded_profile_names
from mcsim.env.environment import EnvConfig, RetirementEnv
from mcsim.env.household import HouseholdPool, pool_from_profiles, sample_pool

from .conftest import make_profile

NAN, INF = float("nan"), float("inf")
NAMES = embedded_profile_names()
PROPERTIES = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

HouseholdKey = tuple[Any, ...]


@functools.cache
def household_pool(key: HouseholdKey) -> HouseholdPool:
    """The pool a strategy key names: ("profile", name) or ("sample", n, seed, market_jitter)."""
    if key[0] == "profile":
        return pool_from_profiles([key[1]])
    _, n, seed, jitter = key
    return sample_pool(n, seed, market_jitter=jitter)


HOUSEHOLDS = st.one_of(
    st.tuples(st.just("sample"), st.integers(1, 6), st.integers(0, 2**32 - 1), st.floats(0.0, 1.0)),
    st.tuples(st.just("profile"), st.sampled_from(NAMES)),
)
WEIGHTS = st.floats(0.0, 5.0)
CONFIGS = st.fixed_dictionaries({
    "reward": st.sampled_from(["planner", "crra"]),
    "step_months": st.sampled_from([1, 2, 3, 4, 6, 12]),
    "max_savings_rate": st.floats(0.0, 1.0, exclude_min=True),
    "gamma": st.floats(0.0, 10.0, exclude_min=True),
    "mc_paths": st.integers(1, 60),
    "capital_weight": WEIGHTS,
    "qol_weight": WEIGHTS,
    "risk_weight": WEIGHTS,
    "discount": st.floats(0.01, 1.0),
})
ACTION_VALUES = st.one_of(
    st.floats(0.0, 1.0),
    st.sampled_from([NAN, INF, -INF, 1e300, -1e300, 0.0, 1.0, 1.5, -0.5, 2.0**-1074]),
    st.floats(allow_nan=True, allow_infinity=True),
)
ACTIONS = st.lists(st.tuples(ACTION_VALUES, ACTION_VALUES), min_size=1, max_size=16)


def assert_finite_info(info: dict[str, Any]) -> None:
    for key, value in info.items():
        assert isinstance(value, float), key
        assert math.isfinite(value), (key, value)


@PROPERTIES
@given(households=HOUSEHOLDS, config=CONFIGS, actions=ACTIONS, seed=st.integers(0, 2**62))
@example(
    households=("profile", "default"),
    config={"reward": "planner", "step_months": 12, "max_savings_rate": 1.0, "gamma": 2.0, "mc_paths": 10,
            "capital_weight": 1.0, "qol_weight": 0.3, "risk_weight": 0.2, "discount": 0.97},
    actions=[(1.0, 0.5)],
    seed=0,
)
def test_whole_episodes_are_finite_and_inside_the_spaces(
    households: HouseholdKey, config: dict[str, Any], actions: list[tuple[float, float]], seed: int
) -> None:
    pool = household_pool(households)
    env = RetirementEnv(pool, **config)
    obs, reset_info = env.reset(seed=seed)
    assert env.observation_space.contains(obs), obs
    h = reset_info["household"]
    assert 0 <= h < pool.size
    n_steps = -(-int(pool.n_accum[h]) // config["step_months"])
    info: dict[str, Any] = {}
    for k in range(n_steps):
        obs, reward, terminated, truncated, info = env.step(np.array(actions[k % len(actions)]))
        assert env.observation_space.contains(obs), (k, obs)
        assert isinstance(reward, float) and math.isfinite(reward), (k, reward)
        assert_finite_info(info)
        assert not truncated
        assert terminated == (k == n_steps - 1), k
        assert 0.0 <= info["equity_share"] <= 1.0
        assert 0.0 <= info["monthly_saving"]
        assert info["capital"] >= 0.0
    assert info["age"] == pytest.approx(pool.start_age[h] + pool.n_accum[h] / 12.0)
    assert 0.0 <= info["funded_probability"] <= 1.0
    assert 0.0 <= info["shortfall"] <= 1.0
    assert info["capital_at_retirement"] == info["capital"]
    with pytest.raises(RuntimeError):
        env.step(np.array([0.5, 0.5]))


# --- the documented clipping of actions -----------------------------------------------------------


def trajectory(env: RetirementEnv, household: int, actions: list[tuple[float, float]]) -> list[Any]:
    obs, _ = env.reset(seed=17, options={"household": household})
    steps: list[Any] = [obs]
    done = False
    k = 0
    while not done:
        obs, reward, done, _, info = env.step(np.array(actions[k % len(actions)], dtype=np.float64))
        steps.append((obs, reward, done, info))
        k += 1
    return steps


def assert_same_trajectory(a: list[Any], b: list[Any]) -> None:
    assert len(a) == len(b)
    np.testing.assert_array_equal(a[0], b[0])
    for (obs_a, reward_a, done_a, info_a), (obs_b, reward_b, done_b, info_b) in zip(a[1:], b[1:], strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert reward_a == reward_b and done_a == done_b
        assert info_a == info_b


@pytest.mark.parametrize(
    ("weird", "plain"),
    [
        ((NAN, NAN), (0.0, 0.0)),
        ((5.0, -3.0), (1.0, 0.0)),
        ((INF, -INF), (1.0, 0.0)),
        ((-INF, INF), (0.0, 1.0)),
        ((NAN, 1e300), (0.0, 1.0)),
        ((-1e300, NAN), (0.0, 0.0)),
    ],
)
@pytest.mark.parametrize("reward", ["planner", "crra"])
def test_out_of_range_actions_act_as_their_clipped_values(
    weird: tuple[float, float], plain: tuple[float, float], reward: str
) -> None:
    pool = household_pool(("sample", 6, 123, 0.3))
    env = RetirementEnv(pool, reward=reward, step_months=3, mc_paths=20)
    for household in (0, 3):
        # Always the action, and the action between ordinary ones.
        assert_same_trajectory(trajectory(env, household, [weird]), trajectory(env, household, [plain]))
        mixed = [(0.3, 0.7), weird, (0.9, 0.1)]
        clipped = [(0.3, 0.7), plain, (0.9, 0.1)]
        assert_same_trajectory(trajectory(env, household, mixed), trajectory(env, household, clipped))
    # The step's recorded action is the clipped one.
    env.reset(seed=1)
    obs, *_ , info = env.step(np.array(weird))
    assert (obs[8], obs[9]) == plain and info["equity_share"] == plain[1]


# --- found by the properties ----------------------------------------------------------------------


def test_planner_reward_is_finite_when_the_whole_income_is_saved() -> None:
    # max_savings_rate=1 is valid and action 1 then saves all the disposable income: the consumed
    # share is 0, whose CRRA utility is -inf for gamma >= 1 (and NaN once weighted by qol_weight=0).
    for gamma in (1.0, 2.0):
        for qol_weight in (0.0, 0.3):
            env = RetirementEnv("default", max_savings_rate=1.0, gamma=gamma, qol_weight=qol_weight)
            env.reset(seed=0)
            _, reward, *_ = env.step(np.array([1.0, 0.5]))
            assert math.isfinite(reward), (gamma, qol_weight, reward)


def test_shortfall_is_at_most_one_when_nothing_is_funded() -> None:
    # Households without capital that save nothing fund nothing: the unfunded share of the need is
    # the whole of it, 1, and must not round above 1 (the sequential sum of the unpaid months
    # against the pairwise sum ``need_total``).
    pool = sample_pool(50, seed=0)
    env = RetirementEnv(pool, step_months=12, mc_paths=1)
    broke = np.flatnonzero(pool.wealth == 0.0)
    assert broke.size > 5
    for h in broke:
        env.reset(seed=0, options={"household": int(h)})
        done = False
        while not done:
            _, _, done, _, info = env.step(np.array([0.0, 0.0]))
        assert info["funded_probability"] == 0.0
        assert info["shortfall"] == pytest.approx(1.0, abs=1e-12)
        assert 0.0 <= info["shortfall"] <= 1.0, (int(h), info["shortfall"])


def test_observation_inside_its_space_with_a_fractional_current_age() -> None:
    # A valid profile whose current age is not a whole number of months before retirement, with a
    # spending phase from retirement on: the other-income feature must stay inside [-5, 5].
    profile = make_profile(**{
        "person.current_age": 40.05,
        "plan.savings": [],
        "retirement.spending_phases": [{"from_age": 50, "to_age": 60, "ratio": 0.05}],
    })
    env = RetirementEnv(profile)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs), obs


def test_merton_reward_is_finite_or_refused_for_a_household_without_capital() -> None:
    # The merton reward is the CRRA utility of terminal wealth relative to initial wealth: a
    # household starting with nothing must be refused, or its reward stay finite.
    try:
        env = RetirementEnv("young_saver", reward="merton", gamma=0.5)
    except ParameterError:
        return
    env.reset(seed=0)
    done = False
    while not done:
        _, reward, done, _, info = env.step(np.array([0.5, 0.5]))
        assert math.isfinite(reward), (reward, info)


# --- configuration errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("capital_weight", -1.0),
        ("qol_weight", -0.1),
        ("risk_weight", -5.0),
        ("risk_weight", NAN),
        ("mc_paths", 0),
        ("mc_paths", 1.5),
        ("mc_paths", True),
        ("step_months", 5),
        ("step_months", 0),
        ("step_months", 24),
        ("step_months", 12.0),
        ("reward", "x"),
        ("reward", None),
        ("gamma", 0.0),
        ("gamma", -1.0),
        ("gamma", INF),
        ("max_savings_rate", 0.0),
        ("max_savings_rate", 1.5),
        ("max_savings_rate", "0.5"),
        ("discount", 1.5),
        ("discount", 0.0),
    ],
)
def test_bad_config_raises_parameter_error_naming_the_field(name: str, value: Any) -> None:
    with pytest.raises(ParameterError) as error:
        EnvConfig(**{name: value})
    assert error.value.name == name
    with pytest.raises(ParameterError) as error:
        RetirementEnv("default", **{name: value})
    assert error.value.name == name


def test_boundary_configs_are_accepted() -> None:
    for config in (
        {"max_savings_rate": 1.0, "discount": 1.0, "mc_paths": 1, "step_months": 1},
        {"capital_weight": 0.0, "qol_weight": 0.0, "risk_weight": 0.0, "gamma": 1.0},
        {"step_months": np.int64(6), "mc_paths": np.int64(3), "reward": "crra"},
    ):
        EnvConfig(**config)
