"""The profile schema: each rule names the field it concerns; files, embedded profiles, round trip."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mcsim.core.errors import ProfileError
from mcsim.core.profile import Profile, embedded_profile_names, load_profile, profile_from_dict

from .conftest import BASE, make_profile

TWO_ASSETS = [
    {"name": "equities", "expected_return_pct": 7.0, "volatility_pct": 16.0},
    {"name": "bonds", "expected_return_pct": 3.0, "volatility_pct": 6.0},
]
THREE_ASSETS = [*TWO_ASSETS, {"name": "gold", "expected_return_pct": 4.0, "volatility_pct": 15.0}]

# BASE as TOML, with one placeholder value to replace (the first account's balance).
BASE_TOML = """\
name = "test"

[person]
current_age = 40
retirement_age = 50
life_expectancy = 60

[income]
monthly_net = 3000

[[accounts]]
name = "main"
type = "livret"
balance = {balance}
allocation = {{ equities = 1.0 }}

[[plan.savings]]
from_age = 40
to_age = 50
monthly_contribution = 500

[retirement]
target_monthly_income = 2500
state_pension_monthly = 1000

[market]
inflation_mean_pct = 2.0
inflation_volatility_pct = 0.0

[[market.assets]]
name = "equities"
expected_return_pct = {expected_return}
volatility_pct = 15.0
"""


def broken(**changes: Any) -> ProfileError:
    """The ProfileError that ``make_profile(**changes)`` raises."""
    with pytest.raises(ProfileError) as error:
        make_profile(**changes)
    return error.value


def broken_dict(data: dict[str, Any]) -> ProfileError:
    with pytest.raises(ProfileError) as error:
        profile_from_dict(data)
    return error.value


def broken_file(path: Path) -> ProfileError:
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    return error.value


def assert_rule(error: ProfileError, field: str, fragment: str) -> None:
    assert error.field == field, str(error)
    assert fragment in error.rule, str(error)
    assert str(error) == f"{field}: {error.rule}"
    assert "\n" not in str(error)


def test_base_profile_is_valid() -> None:
    profile = make_profile()
    assert isinstance(profile, Profile) and profile.name == "test"


# --- files --------------------------------------------------------------------------------------


def test_malformed_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[person\ncurrent_age = 40\n", encoding="utf-8")
    assert_rule(broken_file(path), str(path), "not valid TOML")


def test_malformed_json_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"person": {"current_age": 40,}', encoding="utf-8")
    error = broken_file(path)
    assert_rule(error, str(path), "not valid JSON")
    assert "line 1" in error.rule


def test_unknown_file_suffix(tmp_path: Path) -> None:
    path = tmp_path / "household.yaml"
    path.write_text(json.dumps(BASE), encoding="utf-8")
    assert_rule(broken_file(path), str(path), "must end in .toml or .json")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    assert_rule(broken_file(path), str(path), "no such file")


def test_json_file_that_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert_rule(broken_file(path), "profile", "must be a table")


def test_valid_toml_and_json_files_load(tmp_path: Path) -> None:
    toml_path = tmp_path / "base.toml"
    toml_path.write_text(BASE_TOML.format(balance="10000", expected_return="6.0"), encoding="utf-8")
    json_path = tmp_path / "base.json"
    json_path.write_text(json.dumps(BASE), encoding="utf-8")
    assert load_profile(toml_path) == load_profile(json_path) == make_profile()


# --- fields -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("person.current_age", "person.current_age"),
        ("accounts.0.type", "accounts[0].type"),
        ("retirement.target_monthly_income", "retirement.target_monthly_income"),
    ],
)
def test_missing_required_field(path: str, field: str) -> None:
    data = copy.deepcopy(BASE)
    *parents, leaf = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    del node[leaf]
    assert_rule(broken_dict(data), field, "required field is missing")


def test_missing_required_section() -> None:
    data = copy.deepcopy(BASE)
    del data["retirement"]
    assert_rule(broken_dict(data), "retirement", "required field is missing")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("accounts.0.balance", "accounts[0].balance"),
        ("accounts.0.cost_basis", "accounts[0].cost_basis"),
        ("income.monthly_net", "income.monthly_net"),
        ("plan.savings.0.monthly_contribution", "plan.savings[0].monthly_contribution"),
        ("retirement.target_monthly_income", "retirement.target_monthly_income"),
        ("retirement.state_pension_monthly", "retirement.state_pension_monthly"),
        ("market.assets.0.volatility_pct", "market.assets[0].volatility_pct"),
    ],
)
def test_negative_amount(path: str, field: str) -> None:
    assert_rule(broken(**{path: -1.0}), field, "greater than or equal to 0")


def test_money_above_the_maximum() -> None:
    assert_rule(broken(**{"accounts.0.balance": 1e13}), "accounts[0].balance", "less than or equal to")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("surprise", "surprise"),
        ("person.height", "person.height"),
        ("accounts.0.colour", "accounts[0].colour"),
        ("market.assets.0.ticker", "market.assets[0].ticker"),
    ],
)
def test_unknown_extra_field(path: str, field: str) -> None:
    assert_rule(broken(**{path: 1}), field, "unknown field")


def misspelt(path: str, wrong: str) -> dict[str, Any]:
    """BASE with the key at ``path`` (dotted, list indices as numbers) renamed to ``wrong``."""
    data = copy.deepcopy(BASE)
    *parents, leaf = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[wrong] = node.pop(leaf)
    return data


@pytest.mark.parametrize(
    ("path", "wrong", "field", "closest"),
    [
        ("person.retirement_age", "retirment_age", "person.retirment_age", "retirement_age"),
        ("retirement", "retirment", "retirment", "retirement"),
        ("accounts.0.allocation", "alocation", "accounts[0].alocation", "allocation"),
        ("market.assets.0.expected_return_pct", "expected_return", "market.assets[0].expected_return",
         "expected_return_pct"),
        ("plan.savings.0.monthly_contribution", "monthly_contrib", "plan.savings[0].monthly_contrib",
         "monthly_contribution"),
    ],
)
def test_a_misspelt_required_key_is_reported_as_unknown_with_the_closest_name(
    path: str, wrong: str, field: str, closest: str
) -> None:
    error = broken_dict(misspelt(path, wrong))
    assert str(error) == f"{field}: unknown field (did you mean {closest}?)"


def test_the_unknown_key_comes_first_and_other_problems_are_counted() -> None:
    data = misspelt("person.retirement_age", "retirment_age")
    data["retirement"]["target_monthly_income"] = -1.0
    error = broken_dict(data)
    assert_rule(error, "person.retirment_age", "unknown field (did you mean retirement_age?)")
    assert error.rule.endswith("(and 1 more problem)")


def test_an_unknown_key_far_from_every_field_gets_no_suggestion() -> None:
    assert broken(**{"person.zzz": 1}).rule == "unknown field"


@pytest.mark.parametrize("retirement_age", [40, 39, 40 + 0.4 / 12])
def test_retirement_age_not_after_current_age(retirement_age: float) -> None:
    error = broken(**{"person.retirement_age": retirement_age})
    assert_rule(error, "person.retirement_age", "after current_age")


@pytest.mark.parametrize("life_expectancy", [50, 45])
def test_life_expectancy_not_after_retirement_age(life_expectancy: float) -> None:
    error = broken(**{"person.life_expectancy": life_expectancy})
    assert_rule(error, "person.life_expectancy", "after retirement_age")


@pytest.mark.parametrize("allocation", [{"equities": 0.9}, {"equities": 0.5, "bonds": 0.6}])
def test_allocation_weights_must_sum_to_one(allocation: dict[str, float]) -> None:
    error = broken(**{"market.assets": TWO_ASSETS, "accounts.0.allocation": allocation})
    assert_rule(error, "accounts[0].allocation", "sum to 1")


def test_empty_allocation() -> None:
    assert_rule(broken(**{"accounts.0.allocation": {}}), "accounts[0].allocation", "at least one entry")


def test_allocation_naming_an_unknown_asset() -> None:
    error = broken(**{"accounts.0.allocation": {"equities": 0.5, "gold": 0.5}})
    assert_rule(error, "accounts[0].allocation.gold", "unknown asset class")
    assert "equities" in error.rule


def test_contribution_split_naming_an_unknown_account() -> None:
    error = broken(**{"plan.contribution_split": {"main": 0.5, "elsewhere": 0.5}})
    assert_rule(error, "plan.contribution_split.elsewhere", "unknown account")
    assert "main" in error.rule


def test_contribution_split_must_sum_to_one() -> None:
    error = broken(**{"plan.contribution_split": {"main": 0.7}})
    assert_rule(error, "plan.contribution_split", "sum to 1")


@pytest.mark.parametrize(
    "band",
    [
        {"from_age": 35, "to_age": 45, "monthly_contribution": 100},
        {"from_age": 45, "to_age": 55, "monthly_contribution": 100},
    ],
)
def test_savings_phase_outside_working_ages(band: dict[str, float]) -> None:
    error = broken(**{"plan.savings": [band]})
    assert_rule(error, "plan.savings[0]", "must lie between person.current_age (40) and person.retirement_age (50)")


def test_savings_phases_overlapping() -> None:
    bands = [
        {"from_age": 44, "to_age": 50, "monthly_contribution": 200},
        {"from_age": 40, "to_age": 45, "monthly_contribution": 100},
    ]
    assert_rule(broken(**{"plan.savings": bands}), "plan.savings[0]", "overlaps another band")


def test_savings_band_ends_before_it_starts() -> None:
    band = {"from_age": 45, "to_age": 45, "monthly_contribution": 100}
    assert_rule(broken(**{"plan.savings": [band]}), "plan.savings[0].to_age", "must be after from_age")


def test_spending_phases_overlapping() -> None:
    phases = [{"from_age": 50, "to_age": 56, "ratio": 1.0}, {"from_age": 55, "to_age": 60, "ratio": 0.8}]
    error = broken(**{"retirement.spending_phases": phases})
    assert_rule(error, "retirement.spending_phases[1]", "overlaps another band")


def test_spending_phase_outside_retirement() -> None:
    phases = [{"from_age": 45, "to_age": 55, "ratio": 1.0}]
    error = broken(**{"retirement.spending_phases": phases})
    assert_rule(error, "retirement.spending_phases[0]", "must lie between")


def test_additional_income_may_overlap() -> None:
    streams = [
        {"from_age": 50, "to_age": 60, "monthly_amount": 100},
        {"from_age": 55, "to_age": 60, "monthly_amount": 200},
    ]
    assert len(make_profile(**{"retirement.additional_income": streams}).retirement.additional_income) == 2


# --- correlation --------------------------------------------------------------------------------


def broken_correlation(assets: list[dict[str, Any]], matrix: list[list[float]]) -> ProfileError:
    return broken(**{"market.assets": assets, "market.correlation": matrix})


@pytest.mark.parametrize("matrix", [[[1.0, 0.2]], [[1.0, 0.2], [0.2]], [[1.0, 0.2, 0.0], [0.2, 1.0, 0.0]]])
def test_correlation_not_square(matrix: list[list[float]]) -> None:
    assert_rule(broken_correlation(TWO_ASSETS, matrix), "market.correlation", "must be a 2x2 matrix")


def test_correlation_not_symmetric() -> None:
    error = broken_correlation(TWO_ASSETS, [[1.0, 0.3], [0.2, 1.0]])
    assert_rule(error, "market.correlation[0][1]", "symmetric")


def test_correlation_diagonal_not_one() -> None:
    error = broken_correlation(TWO_ASSETS, [[1.0, 0.2], [0.2, 0.9]])
    assert_rule(error, "market.correlation[1][1]", "diagonal must be 1")


def test_correlation_entry_outside_unit_interval() -> None:
    error = broken_correlation(TWO_ASSETS, [[1.0, 1.5], [1.5, 1.0]])
    assert_rule(error, "market.correlation[0][1]", "must lie in [-1, 1]")


def test_correlation_not_positive_semidefinite() -> None:
    matrix = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]
    error = broken_correlation(THREE_ASSETS, matrix)
    assert_rule(error, "market.correlation", "positive semi-definite")


def test_singular_correlation_is_accepted() -> None:
    profile = make_profile(**{"market.assets": TWO_ASSETS, "market.correlation": [[1.0, 1.0], [1.0, 1.0]]})
    assert profile.market.correlation == ((1.0, 1.0), (1.0, 1.0))


# --- non-finite numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "expected_return", "field"),
    [
        ("nan", "6.0", "accounts[0].balance"),
        ("inf", "6.0", "accounts[0].balance"),
        ("10000", "nan", "market.assets[0].expected_return_pct"),
        ("10000", "-inf", "market.assets[0].expected_return_pct"),
    ],
)
def test_nan_and_infinity_in_toml(tmp_path: Path, balance: str, expected_return: str, field: str) -> None:
    path = tmp_path / "profile.toml"
    path.write_text(BASE_TOML.format(balance=balance, expected_return=expected_return), encoding="utf-8")
    assert_rule(broken_file(path), field, "finite number")


@pytest.mark.parametrize(
    ("literal", "path", "field"),
    [
        ("NaN", ("accounts", 0, "balance"), "accounts[0].balance"),
        ("Infinity", ("accounts", 0, "balance"), "accounts[0].balance"),
        ("-Infinity", ("market", "inflation_mean_pct"), "market.inflation_mean_pct"),
        ("NaN", ("person", "life_expectancy"), "person.life_expectancy"),
    ],
)
def test_nan_and_infinity_in_json(tmp_path: Path, literal: str, path: tuple[Any, ...], field: str) -> None:
    data = copy.deepcopy(BASE)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "@LITERAL@"
    text = json.dumps(data).replace('"@LITERAL@"', literal)
    assert literal in text
    file = tmp_path / "profile.json"
    file.write_text(text, encoding="utf-8")
    assert_rule(broken_file(file), field, "finite number")


# --- names --------------------------------------------------------------------------------------


def test_duplicate_account_names() -> None:
    accounts = [copy.deepcopy(BASE["accounts"][0]), {**BASE["accounts"][0], "type": "pea"}]
    error = broken(**{"accounts": accounts})
    assert_rule(error, "accounts[1].name", "duplicate account name 'main'")


def test_duplicate_asset_names() -> None:
    assets = [TWO_ASSETS[0], {**TWO_ASSETS[1], "name": "equities"}]
    error = broken(**{"market.assets": assets})
    assert_rule(error, "market.assets[1].name", "duplicate asset name 'equities'")


def test_unknown_account_type() -> None:
    assert_rule(broken(**{"accounts.0.type": "bitcoin"}), "accounts[0].type", "input should be")


@pytest.mark.parametrize("df", [2, 1.5, 0, -3])
def test_student_t_df_must_exceed_two(df: float) -> None:
    error = broken(**{"market.return_model": "student_t", "market.student_t_df": df})
    assert_rule(error, "market.student_t_df", "greater than 2")


def test_student_t_df_just_above_two_is_accepted() -> None:
    profile = make_profile(**{"market.return_model": "student_t", "market.student_t_df": 2.0001})
    assert profile.market.student_t_df == 2.0001


# --- embedded profiles --------------------------------------------------------------------------


def test_unknown_embedded_name_suggests_the_closest() -> None:
    with pytest.raises(ProfileError) as error:
        load_profile("defualt")
    assert_rule(error.value, "profile", "did you mean 'default'?")
    assert "mid_career_family" in error.value.rule


def test_unknown_embedded_name_without_a_close_match() -> None:
    with pytest.raises(ProfileError) as error:
        load_profile("zzzzzz")
    assert_rule(error.value, "profile", "neither a file nor an embedded profile")
    assert "did you mean" not in error.value.rule


def test_embedded_profiles_all_load() -> None:
    names = embedded_profile_names()
    assert len(names) >= 5 and names[0] == "default"
    assert len(set(names)) == len(names)
    for name in names:
        profile = load_profile(name)
        assert profile.name == name
        assert profile.description
    assert load_profile(None) == load_profile("default")


@pytest.mark.parametrize("name", embedded_profile_names())
def test_profile_round_trips_through_json(tmp_path: Path, name: str) -> None:
    profile = load_profile(name)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(profile.model_dump(mode="json")), encoding="utf-8")
    again = load_profile(path)
    assert again == profile
    assert again.model_dump(mode="json") == profile.model_dump(mode="json")


def test_profile_is_frozen() -> None:
    profile = make_profile()
    with pytest.raises(ValidationError, match="frozen"):
        profile.person.current_age = 20  # type: ignore[misc]


@pytest.mark.parametrize("value", [True, "5", "1e3"])
def test_numbers_are_strict(value) -> None:
    """A boolean or a numeric string in a file is an error, not silently 1.0 or 5.0."""
    with pytest.raises(ProfileError) as error:
        make_profile(**{"accounts.0.balance": value})
    assert error.value.field == "accounts[0].balance"
    assert "valid number" in error.value.rule
