"""Mortality: Gompertz death ages drawn per path against the closed form, fixed lifetimes, success under death."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from mcsim.core.arrays import compile_profile
from mcsim.core.errors import ProfileError
from mcsim.core.kernels import NOT_DEPLETED
from mcsim.core.mortality import FIXED, GOMPERTZ, death_month, monthly_survival, survival
from mcsim.core.profile import Profile, profile_from_dict
from mcsim.core.simulation import run_paths, simulate

from .conftest import BASE

GOMPERTZ_PERSON = {"mortality": "gompertz", "gompertz_modal_age": 88.0, "gompertz_dispersion": 10.0, "max_age": 110.0}


def profile(person: dict[str, Any] | None = None, volatility: float = 15.0, **retirement: Any) -> Profile:
    """BASE a year before retiring at 65 with 300,000 euros (6% nominal, 2% inflation, no tax)."""
    data = copy.deepcopy(BASE)
    data["person"] = {"current_age": 64.0, "retirement_age": 65.0, "life_expectancy": 90.0, **(person or {})}
    data["plan"] = {}
    data["accounts"][0]["balance"] = 300_000.0
    data["market"]["assets"][0]["volatility_pct"] = volatility
    data["retirement"].update(retirement)
    return profile_from_dict(data)


def test_survival_is_the_gompertz_hazard_integrated() -> None:
    """S(x | x0) = exp(-integral of exp((t - m) / b) / b from x0 to x), integrated numerically here."""
    m, b, x0 = 87.0, 9.5, 65.0
    ages = np.array([65.0, 66.0, 70.0, 85.0, 100.0, 110.0])
    grid = np.linspace(x0, ages.max(), 200_001)
    hazard = np.exp((grid - m) / b) / b
    cumulative = np.concatenate(([0.0], np.cumsum(0.5 * (hazard[1:] + hazard[:-1]) * np.diff(grid))))
    expected = np.exp(-np.interp(ages, grid, cumulative))
    np.testing.assert_allclose(survival(GOMPERTZ, m, b, x0, ages), expected, rtol=1e-7)
    np.testing.assert_array_equal(survival(FIXED, m, b, x0, ages), np.ones(ages.size))
    # The modal age is the mode of the death age's density S(x) * hazard(x).
    fine = np.linspace(60.0, 110.0, 50_001)
    density = survival(GOMPERTZ, m, b, 0.0, fine) * np.exp((fine - m) / b) / b
    assert fine[np.argmax(density)] == pytest.approx(m, abs=0.01)


def test_death_month_inverts_the_monthly_survival_exactly() -> None:
    """Month t is the one whose end is not seen: S[t] < 1 - u <= S[t - 1] (S[-1] = 1); n_months past the horizon."""
    m, b, x0, n_months = 88.0, 10.0, 65.0, 12 * 45
    alive = monthly_survival(GOMPERTZ, m, b, x0, n_months)
    for u in np.concatenate((np.random.default_rng(0).random(5000), [0.0, 1e-12, 0.5, 1 - 1e-12])):
        t = death_month(GOMPERTZ, m, b, x0, n_months, u)
        if t == n_months:
            assert 1.0 - u <= alive[-1] * (1 + 1e-12), u
            continue
        assert 0 <= t < n_months
        assert alive[t] < (1.0 - u) * (1 + 1e-12), (u, t)
        assert t == 0 or 1.0 - u <= alive[t - 1] * (1 + 1e-12), (u, t)
    assert death_month(FIXED, m, b, x0, n_months, 0.999) == n_months


def ks_distance(lived: np.ndarray, person: dict[str, float], n_decum: int) -> float:
    """Largest gap between the empirical CDF of the months lived and the closed form's.

    A person alive at retirement who lives ``t`` whole months dies in month t, before its end:
    P(lived <= t) = 1 - S(retirement + (t + 1) / 12) for t < n_decum, and lived = n_decum past the horizon.
    """
    t = np.arange(n_decum)
    model = 1.0 - survival(GOMPERTZ, person["gompertz_modal_age"], person["gompertz_dispersion"], 65.0, 65.0 + (t + 1) / 12)
    empirical = np.searchsorted(np.sort(lived), t, side="right") / lived.size
    # The empirical CDF jumps at the months: compare just before each jump too.
    before = np.concatenate(([0.0], empirical[:-1]))
    model_before = np.concatenate(([0.0], model[:-1]))
    return float(max(np.abs(empirical - model).max(), np.abs(before - model_before).max()))


@pytest.mark.parametrize(
    "person",
    [GOMPERTZ_PERSON, {**GOMPERTZ_PERSON, "gompertz_modal_age": 80.0, "gompertz_dispersion": 4.0, "max_age": 100.0}],
)
def test_gompertz_months_lived_follow_the_closed_form_survival(person: dict[str, float]) -> None:
    """A Kolmogorov-Smirnov test of the simulated months lived against mortality.survival (alpha 0.001)."""
    arrays = compile_profile(profile(person))
    n = 20_000
    outcomes, _, _ = run_paths(arrays, 21, 0, n)
    lived = outcomes.lived
    assert lived.min() >= 0 and lived.max() <= arrays.n_decum
    critical = stats.kstwo.ppf(0.999, n)  # conservative for a distribution on whole months
    assert ks_distance(lived, person, arrays.n_decum) < critical
    # The test has power: a modal age one year off is rejected on the same draws.
    shifted = {**person, "gompertz_modal_age": person["gompertz_modal_age"] + 1.0}
    assert ks_distance(lived, shifted, arrays.n_decum) > 2 * critical
    # Those who outlive the horizon: the closed form's share, within 4.5 standard errors.
    modal, dispersion = person["gompertz_modal_age"], person["gompertz_dispersion"]
    beyond = survival(GOMPERTZ, modal, dispersion, 65.0, np.array([person["max_age"]]))[0]
    assert abs((lived == arrays.n_decum).mean() - beyond) <= 4.5 * math.sqrt(beyond * (1 - beyond) / n) + 1e-12


def test_death_depends_on_the_seed_and_path_only() -> None:
    arrays = compile_profile(profile(GOMPERTZ_PERSON))
    whole, _, _ = run_paths(arrays, 4, 0, 400)
    tail, _, _ = run_paths(arrays, 4, 150, 250)
    np.testing.assert_array_equal(whole.lived[150:], tail.lived)
    other, _, _ = run_paths(arrays, 5, 0, 400)
    assert (other.lived != whole.lived).mean() > 0.9


def test_fixed_mortality_lives_to_the_horizon() -> None:
    fixed = profile()
    arrays = compile_profile(fixed)
    outcomes, fan, spending = run_paths(arrays, 2, 0, 300, record_fan=True, record_spending=True)
    assert arrays.n_decum == 12 * 25
    assert (outcomes.lived == arrays.n_decum).all()
    assert np.isfinite(fan).all() and np.isfinite(spending).all()
    result = simulate(fixed, 200, 2)
    assert result.mortality == "fixed" and result.horizon_age == 90.0


def test_gompertz_horizon_is_max_age_and_nothing_is_recorded_after_death() -> None:
    gompertz = profile(GOMPERTZ_PERSON)
    arrays = compile_profile(gompertz)
    assert arrays.n_decum == 12 * (110 - 65)
    outcomes, fan, spending = run_paths(arrays, 3, 0, 500, record_fan=True, record_spending=True)
    retired = fan[:, arrays.n_accum:]
    months = np.arange(arrays.n_decum)[None, :]
    alive = months < outcomes.lived[:, None]
    assert np.isfinite(retired[alive]).all() and np.isnan(retired[~alive]).all()
    years = np.arange(spending.shape[1])[None, :]
    alive_in_year = 12 * years < outcomes.lived[:, None]
    assert np.isfinite(spending[alive_in_year]).all() and np.isnan(spending[~alive_in_year]).all()
    assert np.isfinite(fan[:, : arrays.n_accum]).all()
    # The wealth left is the wealth at death.
    died = (outcomes.lived > 0) & (outcomes.lived < arrays.n_decum)
    rows = np.flatnonzero(died)
    np.testing.assert_allclose(outcomes.terminal[rows], retired[rows, outcomes.lived[rows] - 1])


def test_success_under_gompertz_means_the_money_lasted_as_long_as_the_person() -> None:
    """No volatility: the money runs out in a known month d; a path that dies before living it succeeds."""
    needs = {"target_monthly_income": 2600.0, "state_pension_monthly": 1000.0}
    fixed = profile({"life_expectancy": 110.0}, volatility=0.0, **needs)
    gompertz = profile(GOMPERTZ_PERSON, volatility=0.0, **needs)
    fixed_arrays, gompertz_arrays = compile_profile(fixed), compile_profile(gompertz)
    assert fixed_arrays.n_decum == gompertz_arrays.n_decum
    reference, _, _ = run_paths(fixed_arrays, 9, 0, 4)
    assert (reference.depletion == reference.depletion[0]).all() and reference.depletion[0] != NOT_DEPLETED
    d = int(reference.depletion[0]) - fixed_arrays.n_accum  # retirement month the money runs out in
    outcomes, _, _ = run_paths(gompertz_arrays, 9, 0, 5000)
    lived = outcomes.lived
    dies_first = lived <= d
    assert 0.2 < dies_first.mean() < 0.8, "the check must see both outcomes"
    assert (outcomes.depletion[dies_first] == NOT_DEPLETED).all()
    assert (outcomes.depletion[~dies_first] == gompertz_arrays.n_accum + d).all()
    result = simulate(gompertz, 5000, 9)
    assert result.success.estimate == pytest.approx(dies_first.mean())
    # The closed form: the success probability is the probability of dying before living month d.
    expected = 1.0 - survival(GOMPERTZ, 88.0, 10.0, 65.0, np.array([65.0 + d / 12]))[0]
    assert abs(result.success.estimate - expected) < 4.5 * math.sqrt(expected * (1 - expected) / 5000)


# --- bad input ------------------------------------------------------------------------------------

FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
WRONG_TYPES = st.sampled_from(["abc", "", "5", True, False, [], [1.0], {}, {"x": 1.0}])
NON_FINITE = st.sampled_from([float("nan"), float("inf"), -float("inf")])


def outside(low: float, high: float) -> st.SearchStrategy[float]:
    below = st.floats(max_value=low - max(1e-6, 1e-9 * abs(low)), allow_nan=False, allow_infinity=False)
    above = st.floats(min_value=high + max(1e-6, 1e-9 * abs(high)), allow_nan=False, allow_infinity=False)
    return below | above


PERSON_NUMBERS = {"gompertz_modal_age": (40.0, 120.0), "gompertz_dispersion": (1.0, 30.0), "max_age": (0.0, 125.0)}


@st.composite
def bad_person(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    data = copy.deepcopy(BASE)
    if draw(st.booleans()):
        data["person"]["mortality"] = draw(WRONG_TYPES | st.sampled_from(["Gompertz", "weibull", "none", 1, 0.5, None]))
        return data, "person.mortality"
    name = draw(st.sampled_from(sorted(PERSON_NUMBERS)))
    data["person"]["mortality"] = draw(st.sampled_from(["fixed", "gompertz"]))
    data["person"][name] = draw(outside(*PERSON_NUMBERS[name]) | NON_FINITE | WRONG_TYPES)
    return data, f"person.{name}"


@st.composite
def max_age_too_soon(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """With Gompertz mortality the horizon is max_age: at least a month after retirement (50 in BASE)."""
    data = copy.deepcopy(BASE)
    data["person"].update(mortality="gompertz", max_age=draw(st.floats(0.0, 50.0 + 0.49 / 12)))
    return data, "person.max_age"


@FAST
@given(bad_person() | max_age_too_soon())
def test_bad_mortality_is_one_profile_error_naming_the_field(case: tuple[dict[str, Any], str]) -> None:
    data, field = case
    with pytest.raises(ProfileError) as caught:
        profile_from_dict(data)
    error = caught.value
    assert error.field == field, str(error)
    assert str(error) == f"{error.field}: {error.rule}" and len(str(error).splitlines()) == 1


def test_max_age_before_retirement_is_fine_with_fixed_mortality() -> None:
    data = copy.deepcopy(BASE)
    data["person"]["max_age"] = 20.0
    assert profile_from_dict(data).person.horizon_age == 60.0


@pytest.mark.parametrize(
    "person",
    [
        {"gompertz_dispersion": 1.0, "gompertz_modal_age": 40.0},  # everyone dies in the first month
        {"gompertz_dispersion": 1.0, "gompertz_modal_age": 120.0, "max_age": 125.0},
        {"gompertz_dispersion": 30.0, "gompertz_modal_age": 120.0, "max_age": 125.0},
        {"gompertz_dispersion": 30.0, "gompertz_modal_age": 40.0, "max_age": 50.0 + 1 / 12},
    ],
)
def test_extreme_gompertz_profiles_give_finite_numbers(person: dict[str, float]) -> None:
    data = copy.deepcopy(BASE)
    data["person"].update(mortality="gompertz", **person)
    result = simulate(profile_from_dict(data), 200, 1, fan=True)
    lived = result.paths.lived
    assert lived.min() >= 0 and lived.max() <= round(12 * (result.horizon_age - 50.0))
    for summary in (result.capital_at_retirement, result.terminal_wealth):
        assert all(math.isfinite(v) for v in summary.to_dict().values())
    assert 0.0 <= result.success.estimate <= 1.0
    spending = result.spending.to_dict(include_fan=False)
    assert all(math.isfinite(v) for v in (
        spending["cut_probability"], spending["largest_cut"], spending["below_target_share"],
        spending["certainty_equivalent_monthly"], *spending["worst_year"].values(), *spending["lifetime"].values(),
    )), spending
