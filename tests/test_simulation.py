"""The simulation API: reproducibility, statistics, adaptive batches, fan."""

from __future__ import annotations

import numpy as np
import pytest

from mcsim.core.arrays import compile_profile
from mcsim.core.errors import ParameterError
from mcsim.core.profile import load_profile
from mcsim.core.simulation import numba_threads, run_paths, simulate
from mcsim.core.stats import wilson_interval


def test_same_seed_bit_identical_with_one_thread_or_two() -> None:
    with numba_threads(1):
        one = simulate("crypto_holder", 3000, seed=42, fan=True)
    with numba_threads(2):
        two = simulate("crypto_holder", 3000, seed=42, fan=True)
    for field in ("capital", "depletion", "terminal"):
        np.testing.assert_array_equal(getattr(one.paths, field), getattr(two.paths, field))
    np.testing.assert_array_equal(one.fan.p50, two.fan.p50)


def test_batch_split_is_bit_identical() -> None:
    arrays = compile_profile(load_profile("default"))
    whole, whole_fan, _ = run_paths(arrays, 9, 0, 1000, record_fan=True)
    first, first_fan, _ = run_paths(arrays, 9, 0, 337, record_fan=True)
    rest, rest_fan, _ = run_paths(arrays, 9, 337, 663, record_fan=True)
    for field in ("capital", "depletion", "terminal"):
        joined = np.concatenate([getattr(first, field), getattr(rest, field)])
        np.testing.assert_array_equal(getattr(whole, field), joined)
    np.testing.assert_array_equal(whole_fan, np.concatenate([first_fan, rest_fan]))


def test_different_seeds_differ() -> None:
    a = simulate("default", 500, seed=1)
    b = simulate("default", 500, seed=2)
    assert not np.array_equal(a.paths.capital, b.paths.capital)


def test_adaptive_stops_at_tolerance_and_equals_fixed_run() -> None:
    adaptive = simulate("crypto_holder", 1000, seed=3, tolerance=0.01, confidence=0.95)
    assert adaptive.n_paths % 1000 == 0 and adaptive.n_paths > 1000
    assert adaptive.success.half_width <= 0.01
    # One batch fewer would not have met the tolerance.
    fewer = simulate("crypto_holder", adaptive.n_paths - 1000, seed=3)
    assert fewer.success.half_width > 0.01
    fixed = simulate("crypto_holder", adaptive.n_paths, seed=3)
    np.testing.assert_array_equal(adaptive.paths.terminal, fixed.paths.terminal)
    assert adaptive.success == fixed.success


def test_adaptive_respects_max_paths() -> None:
    result = simulate("crypto_holder", 500, seed=3, tolerance=0.0001, max_paths=1700)
    assert result.n_paths == 1700


def test_statistics_are_those_of_the_paths() -> None:
    result = simulate("mid_career_family", 4000, seed=8, fan=True)
    capital = result.paths.capital
    assert result.capital_at_retirement.mean == pytest.approx(capital.mean())
    assert result.capital_at_retirement.p10 == pytest.approx(np.percentile(capital, 10))
    assert result.capital_at_retirement.median == pytest.approx(np.median(capital))
    assert result.capital_at_retirement.max == capital.max()
    successes = int((result.paths.depletion < 0).sum())
    assert result.success == wilson_interval(successes, 4000, 0.95)
    assert result.depletion.probability == pytest.approx(1 - successes / 4000)
    assert sum(result.depletion.by_age.values()) == 4000 - successes
    assert result.retirement_age <= result.depletion.ages.min <= result.life_expectancy
    fan = result.fan
    assert fan.ages[0] == 42 and fan.ages[-1] == pytest.approx(90)
    assert (fan.min <= fan.p10 + 1e-6).all() and (fan.p10 <= fan.p50 + 1e-6).all()
    assert (fan.p50 <= fan.p90 + 1e-6).all() and (fan.p90 <= fan.max + 1e-6).all()
    retirement_index = 12 * (64 - 42)
    assert fan.p50[retirement_index] == pytest.approx(np.median(capital), rel=1e-5)


def test_wilson_interval_known_values() -> None:
    # Wilson 95% interval for 81 successes in 263 trials (Newcombe, 1998): 0.2553 to 0.3662.
    interval = wilson_interval(81, 263, 0.95)
    assert interval.low == pytest.approx(0.2553, abs=1e-4)
    assert interval.high == pytest.approx(0.3662, abs=1e-4)
    all_successes = wilson_interval(100, 100, 0.95)
    assert all_successes.high == 1.0 and all_successes.low < 1.0


def test_to_dict_is_json_ready() -> None:
    import json

    result = simulate("default", 200, seed=1, fan=True)
    text = json.dumps(result.to_dict())
    data = json.loads(text)
    assert data["n_paths"] == 200 and len(data["fan"]["p50"]) == 12 * 60 + 1


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_paths": 0}, "n_paths"),
        ({"n_paths": 2.5}, "n_paths"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"tolerance": 0.0}, "tolerance"),
        ({"confidence": 1.0}, "confidence"),
        ({"threads": 0}, "threads"),
        ({"monthly_contribution": float("nan")}, "monthly_contribution"),
        ({"monthly_contribution": -5.0}, "monthly_contribution"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs: dict, name: str) -> None:
    with pytest.raises(ParameterError) as error:
        simulate("default", **{"n_paths": 10, **kwargs})
    assert error.value.name == name


def test_fan_memory_guard() -> None:
    """Adaptive runs with a fan stop where the fan's memory allows; asking for more is refused."""
    result = simulate("default", 2000, seed=1, fan=True, tolerance=0.01)
    assert result.fan is not None and result.success.half_width <= 0.01
    with pytest.raises(ParameterError) as error:
        simulate("default", 2000, seed=1, fan=True, tolerance=0.01, max_paths=5_000_000)
    assert error.value.name == "fan" and "max_paths" in error.value.rule
    with pytest.raises(ParameterError) as error:
        simulate("default", 1_000_000, seed=1, fan=True)
    assert "n_paths" in error.value.rule
