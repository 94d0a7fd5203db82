"""Property tests: any broken profile is one ProfileError naming a field; any valid one simulates finitely."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mcsim.core.errors import ProfileError
from mcsim.core.optimize import MAX_MONTHLY_SAVING, minimum_saving
from mcsim.core.profile import ACCOUNT_TAX_ON_GAINS_PCT, profile_from_dict
from mcsim.core.simulation import simulate

from .conftest import BASE

FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

NAN, INF = float("nan"), float("inf")

# --- broken profiles ------------------------------------------------------------------------------

# Numeric leaves of BASE (as paths) with their valid range; a value outside it, or not a finite
# number at all, must be refused.
NUMERIC_LEAVES: list[tuple[tuple[Any, ...], float, float]] = [
    (("person", "current_age"), 0, 125),
    (("person", "retirement_age"), 0, 125),
    (("person", "life_expectancy"), 0, 125),
    (("income", "monthly_net"), 0, 1e12),
    (("income", "real_growth_pct"), -20, 20),
    (("accounts", 0, "balance"), 0, 1e12),
    (("accounts", 0, "cost_basis"), 0, 1e12),
    (("accounts", 0, "fee_pct"), 0, 100),
    (("accounts", 0, "tax_on_gains_pct"), 0, 100),
    (("accounts", 0, "allocation", "equities"), 0, 1),
    (("plan", "savings", 0, "monthly_contribution"), 0, 1e12),
    (("plan", "savings", 0, "from_age"), 0, 125),
    (("retirement", "target_monthly_income"), 0, 1e12),
    (("retirement", "state_pension_monthly"), 0, 1e12),
    (("market", "assets", 0, "expected_return_pct"), -50, 100),
    (("market", "assets", 0, "volatility_pct"), 0, 200),
    (("market", "inflation_mean_pct"), -10, 50),
    (("market", "inflation_volatility_pct"), 0, 50),
    (("market", "student_t_df"), 2, 1000),
]
WRONG_TYPES = st.sampled_from(["abc", "", "twelve", "5", True, False, [], [1.0], {}, {"x": 1.0}])
NON_FINITE = st.sampled_from([NAN, INF, -INF])
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


def set_at(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def outside(low: float, high: float) -> st.SearchStrategy[float]:
    below = st.floats(max_value=low - max(1e-6, 1e-9 * abs(low)), allow_nan=False, allow_infinity=False)
    above = st.floats(min_value=high + max(1e-6, 1e-9 * abs(high)), allow_nan=False, allow_infinity=False)
    if low == 2:  # student_t_df: 2 itself is refused
        below = st.floats(max_value=2, allow_nan=False, allow_infinity=False)
    return below | above


@st.composite
def bad_number(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    data = copy.deepcopy(BASE)
    path, low, high = draw(st.sampled_from(NUMERIC_LEAVES))
    set_at(data, path, draw(outside(low, high) | NON_FINITE | WRONG_TYPES))
    return data, path[0]


@st.composite
def bad_weights(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    data = copy.deepcopy(BASE)
    weight = draw(st.floats(0, 1).filter(lambda w: abs(w - 1) > 1e-5))
    if draw(st.booleans()):
        data["accounts"][0]["allocation"] = {"equities": weight}
        return data, "accounts"
    data["plan"]["contribution_split"] = {"main": weight}
    return data, "plan"


@st.composite
def ages_out_of_order(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    data = copy.deepcopy(BASE)
    ages = sorted(draw(st.lists(st.floats(0, 125), min_size=3, max_size=3)))
    # Two ages less than one month apart (rounded), or the order reversed.
    gap = draw(st.floats(0, 0.49 / 12))
    current, retirement, life = draw(
        st.sampled_from(
            [
                (ages[2], ages[1], ages[0] + 1e-3),  # reversed
                (ages[1], min(125, ages[1] + gap), 125),  # retirement too soon
                (ages[0], ages[1], min(125, ages[1] + gap)),  # life too short
            ]
        )
    )
    data["person"] = {"current_age": current, "retirement_age": retirement, "life_expectancy": life}
    data["plan"]["savings"] = []
    return data, "person"


@st.composite
def bad_bands(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """Savings or spending bands outside their ages or overlapping, or reversed."""
    data = copy.deepcopy(BASE)
    kind = draw(st.sampled_from(["outside_savings", "overlap_savings", "overlap_spending", "reversed"]))
    if kind == "outside_savings":
        start = draw(st.floats(0, 39.9) | st.floats(50.1, 124))
        data["plan"]["savings"] = [{"from_age": start, "to_age": start + 0.5, "monthly_contribution": 1}]
        return data, "plan"
    if kind == "reversed":
        start = draw(st.floats(41, 49))
        end = draw(st.floats(40, start))
        data["plan"]["savings"] = [{"from_age": start, "to_age": end, "monthly_contribution": 1}]
        return data, "plan"
    split = draw(st.floats(41, 49) if kind == "overlap_savings" else st.floats(51, 59))
    overlap = draw(st.floats(0.01, 0.9))
    low, high = (40, 50) if kind == "overlap_savings" else (50, 60)
    bands = [(low, split), (split - overlap, high)]
    if kind == "overlap_savings":
        data["plan"]["savings"] = [{"from_age": a, "to_age": b, "monthly_contribution": 1} for a, b in bands]
        return data, "plan"
    data["retirement"]["spending_phases"] = [{"from_age": a, "to_age": b, "ratio": 1} for a, b in bands]
    return data, "retirement"


@st.composite
def bad_correlation(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    data = copy.deepcopy(BASE)
    n = draw(st.integers(2, 4))
    data["market"]["assets"] = [
        {"name": f"a{k}", "expected_return_pct": 5.0, "volatility_pct": 10.0} for k in range(n)
    ]
    data["accounts"][0]["allocation"] = {"a0": 1.0}
    matrix = np.eye(n)
    i, j = sorted(draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)))
    kind = draw(st.sampled_from(["asymmetric", "not_psd", "diagonal", "shape", "range", "non_finite"]))
    if kind == "asymmetric":
        upper = draw(st.floats(-1, 1))
        matrix[i, j] = upper
        matrix[j, i] = draw(st.floats(-1, 1).filter(lambda lower: abs(lower - upper) > 1e-6))
    elif kind == "not_psd":
        if n == 2:  # two assets cannot be inconsistent within [-1, 1]: go beyond it
            matrix[0, 1] = matrix[1, 0] = 1.0 + draw(st.floats(1e-6, 1.0))
        else:  # three assets whose pairwise correlations cannot hold together
            rho = draw(st.floats(0.75, 1.0))
            matrix[0, 1] = matrix[1, 0] = matrix[1, 2] = matrix[2, 1] = rho
            matrix[0, 2] = matrix[2, 0] = -rho
    elif kind == "diagonal":
        matrix[i, i] = draw(st.floats(-1, 1).filter(lambda v: abs(v - 1) > 1e-6))
    elif kind == "range":
        value = draw(st.floats(1.0001, 1e6)) * draw(st.sampled_from([-1, 1]))
        matrix[i, j] = matrix[j, i] = value
    elif kind == "non_finite":
        matrix[i, j] = matrix[j, i] = draw(NON_FINITE)
    rows = matrix.tolist()
    if kind == "shape":
        rows = draw(st.sampled_from([rows[:-1], [row[:-1] for row in rows], [*rows, [0.0] * n], []]))
    data["market"]["correlation"] = rows
    return data, "market"


@st.composite
def bad_type(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A section, a list or a string field of the wrong type, or an unknown choice."""
    data = copy.deepcopy(BASE)
    path, value = draw(
        st.sampled_from(
            [
                (("person",), "abc"),
                (("person",), [40, 50, 60]),
                (("accounts",), "main"),
                (("accounts",), []),
                (("accounts", 0), 5),
                (("accounts", 0, "allocation"), ["equities"]),
                (("accounts", 0, "type"), "mattress"),
                (("accounts", 0, "name"), 7),
                (("accounts", 0, "name"), ""),
                (("plan", "savings"), {"from_age": 40}),
                (("retirement",), None),
                (("market", "return_model"), "cauchy"),
                (("market", "assets"), []),
                (("market", "correlation"), "identity"),
                (("name",), 3.5),
            ]
        )
    )
    set_at(data, path, value)
    return data, path[0]


@st.composite
def unknown_field(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    data = copy.deepcopy(BASE)
    section = draw(st.sampled_from([(), ("person",), ("income",), ("accounts", 0), ("market",), ("market", "assets", 0)]))
    key = "zz_" + draw(NAMES)
    node: Any = data
    for part in section:
        node = node[part]
    node[key] = draw(st.floats(allow_nan=False) | WRONG_TYPES)
    return data, section[0] if section else key


BROKEN = st.one_of(
    bad_number(), bad_weights(), ages_out_of_order(), bad_bands(), bad_correlation(), bad_type(), unknown_field()
)


@FAST
@given(BROKEN)
def test_broken_profile_is_one_profile_error_naming_a_field(case: tuple[dict[str, Any], str]) -> None:
    data, section = case
    with pytest.raises(ProfileError) as caught:
        profile_from_dict(data)
    error = caught.value
    message = str(error)
    assert error.field and error.rule
    assert message == f"{error.field}: {error.rule}"
    assert "\n" not in message and "\r" not in message
    assert error.field.startswith(section), message


@FAST
@given(
    key=st.text(min_size=1, max_size=20),
    place=st.sampled_from(["extra_field", "asset", "split", "duplicate_account"]),
)
@example(key="bad\nkey", place="extra_field")
@example(key="two\nlines", place="asset")
def test_user_text_in_an_error_stays_on_one_line(key: str, place: str) -> None:
    """Names taken from the file (keys, account names) must not break the one-line message."""
    data = copy.deepcopy(BASE)
    if place == "extra_field":
        data["person"]["x" + key] = 1
    elif place == "asset":
        data["accounts"][0]["allocation"] = {"x" + key: 1.0}
    elif place == "split":
        data["plan"]["contribution_split"] = {"x" + key: 1.0}
    else:
        data["accounts"] = [{**data["accounts"][0], "name": key}, {**data["accounts"][0], "name": key}]
    with pytest.raises(ProfileError) as caught:
        profile_from_dict(data)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, repr(message)


# --- valid extremes -------------------------------------------------------------------------------


def unit_weights(draw: st.DrawFn, names: list[str]) -> dict[str, float]:
    raw = [draw(st.floats(0, 1)) for _ in names]
    if sum(raw) < 1e-3:
        raw[0] = 1.0
    total = sum(raw)
    return {name: value / total for name, value in zip(names, raw, strict=True)}


@st.composite
def correlation_matrix(draw: st.DrawFn, n: int) -> list[list[float]] | None:
    if n == 1 or draw(st.booleans()):
        return None if draw(st.booleans()) else np.eye(n).tolist()
    rank = draw(st.integers(1, n))
    factors = np.array(
        [[draw(st.floats(-1, 1)) for _ in range(rank)] for _ in range(n)]
    )
    norms = np.linalg.norm(factors, axis=1)
    factors[norms < 1e-3] = 1.0
    factors /= np.linalg.norm(factors, axis=1, keepdims=True)
    matrix = factors @ factors.T
    matrix = np.clip(0.5 * (matrix + matrix.T), -1.0, 1.0)
    np.fill_diagonal(matrix, 1.0)
    return matrix.tolist()


MONEY = st.sampled_from([0.0, 1e9]) | st.floats(0, 1e9)


@st.composite
def extreme_profiles(draw: st.DrawFn) -> dict[str, Any]:
    current = draw(st.sampled_from([0.0, 18.0, 64.5, 123.0]) | st.floats(0, 123))
    remaining = math.floor((125 - current) * 12 - 1e-6)
    n_accum = draw(st.integers(1, remaining - 1))
    n_decum = draw(st.integers(1, remaining - n_accum))
    retirement = current + n_accum / 12
    life = retirement + n_decum / 12

    n_assets = draw(st.integers(1, 3))
    assets = [
        {
            "name": f"asset{k}",
            "expected_return_pct": draw(st.sampled_from([-50.0, 0.0, 100.0]) | st.floats(-50, 100)),
            "volatility_pct": draw(st.sampled_from([0.0, 200.0]) | st.floats(0, 200)),
        }
        for k in range(n_assets)
    ]
    asset_names = [asset["name"] for asset in assets]
    n_accounts = draw(st.integers(1, 3))
    accounts = []
    for a in range(n_accounts):
        account: dict[str, Any] = {
            "name": f"account {a}",
            "type": draw(st.sampled_from(sorted(ACCOUNT_TAX_ON_GAINS_PCT))),
            "balance": draw(MONEY),
            "allocation": unit_weights(draw, asset_names),
            "fee_pct": draw(st.sampled_from([0.0, 100.0]) | st.floats(0, 100)),
        }
        if draw(st.booleans()):
            account["cost_basis"] = draw(MONEY)
        if draw(st.booleans()):
            account["tax_on_gains_pct"] = draw(st.sampled_from([0.0, 100.0]) | st.floats(0, 100))
        accounts.append(account)

    plan: dict[str, Any] = {}
    if draw(st.booleans()):
        contribution = draw(st.sampled_from([0.0, 1e9, 1e12]) | st.floats(0, 1e6))
        plan["savings"] = [{"from_age": current, "to_age": retirement, "monthly_contribution": contribution}]
    if draw(st.booleans()):
        plan["contribution_split"] = unit_weights(draw, [account["name"] for account in accounts])

    retirement_section: dict[str, Any] = {
        "target_monthly_income": draw(st.sampled_from([0.0, 1e6]) | st.floats(0, 1e5)),
        "state_pension_monthly": draw(st.floats(0, 1e4)),
    }
    if draw(st.booleans()):
        middle = retirement + max(1, n_decum // 2) / 12
        retirement_section["spending_phases"] = [
            {"from_age": retirement, "to_age": middle, "ratio": draw(st.floats(0, 10))},
        ]
        if middle < life - 1e-6:
            retirement_section["spending_phases"].append({"from_age": middle, "to_age": life, "ratio": draw(st.floats(0, 10))})
    if draw(st.booleans()):
        retirement_section["additional_income"] = [
            {"from_age": retirement, "to_age": life, "monthly_amount": draw(MONEY)},
        ]

    return {
        "name": "extreme",
        "person": {"current_age": current, "retirement_age": retirement, "life_expectancy": life},
        "income": {
            "monthly_net": draw(st.sampled_from([0.0, 1e6]) | st.floats(0, 1e5)),
            "real_growth_pct": draw(st.floats(-20, 20)),
        },
        "accounts": accounts,
        "plan": plan,
        "retirement": retirement_section,
        "market": {
            "assets": assets,
            "correlation": draw(correlation_matrix(n_assets)),
            "inflation_mean_pct": draw(st.sampled_from([-10.0, 50.0]) | st.floats(-10, 50)),
            "inflation_volatility_pct": draw(st.sampled_from([0.0, 50.0]) | st.floats(0, 50)),
            "return_model": draw(st.sampled_from(["lognormal", "normal", "student_t"])),
            "student_t_df": draw(st.sampled_from([2.000001, 2.01, 1000.0]) | st.floats(2.0001, 1000)),
        },
    }


# A valid profile at the schema's limits: 125 years of saving a trillion a month at +100% a year and
# 200% volatility, under 10% deflation. Its wealth reaches about 1e55 euros on the best path.
LIMITS = {
    "name": "limits",
    "person": {"current_age": 0, "retirement_age": 100, "life_expectancy": 125},
    "accounts": [{"name": "main", "type": "cto", "balance": 1e12, "allocation": {"equities": 1.0}}],
    "plan": {"savings": [{"from_age": 0, "to_age": 100, "monthly_contribution": 1e12}]},
    "retirement": {"target_monthly_income": 1000},
    "market": {
        "assets": [{"name": "equities", "expected_return_pct": 100, "volatility_pct": 200}],
        "inflation_mean_pct": -10,
        "inflation_volatility_pct": 50,
    },
}


def assert_finite_summary(summary: Any) -> None:
    values = summary.to_dict()
    assert all(math.isfinite(value) for value in values.values()), values
    assert values["min"] <= values["p10"] <= values["p50"] <= values["p90"] <= values["max"]
    assert values["min"] >= 0


@SLOW
@given(data=extreme_profiles(), seed=st.integers(0, 2**64 - 1), fan=st.booleans())
@example(data=LIMITS, seed=1, fan=True)
def test_valid_extreme_profiles_simulate_to_finite_statistics(data: dict[str, Any], seed: int, fan: bool) -> None:
    profile = profile_from_dict(data)
    result = simulate(profile, n_paths=64, seed=seed, fan=fan)
    assert result.n_paths == 64
    assert_finite_summary(result.capital_at_retirement)
    assert_finite_summary(result.terminal_wealth)
    success = result.success
    assert 0.0 <= success.low <= success.estimate <= success.high <= 1.0
    assert 0.0 <= result.depletion.probability <= 1.0
    assert result.depletion.probability == pytest.approx(1.0 - success.estimate)
    if fan:
        n_months = round(12 * (profile.person.life_expectancy - profile.person.current_age))
        for name in ("ages", "p10", "p50", "p90", "min", "max"):
            values = getattr(result.fan, name)
            assert values.shape == (n_months + 1,)
            assert np.isfinite(values).all(), f"fan.{name} is not finite"
    else:
        assert result.fan is None


@settings(max_examples=10, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=extreme_profiles(), target=st.sampled_from([0.5, 0.9, 1.0]) | st.floats(0.01, 1.0), seed=st.integers(0, 1000))
def test_minimum_saving_on_extremes_is_finite(data: dict[str, Any], target: float, seed: int) -> None:
    result = minimum_saving(profile_from_dict(data), target=target, n_paths=50, seed=seed, precision=10.0)
    assert math.isfinite(result.monthly_saving) and 0.0 <= result.monthly_saving <= MAX_MONTHLY_SAVING
    assert 0.0 <= result.success <= 1.0
    assert result.steps and all(math.isfinite(step.success) and 0 <= step.success <= 1 for step in result.steps)
    if result.reachable:
        assert result.success >= target
    else:
        assert result.success < target and result.monthly_saving == MAX_MONTHLY_SAVING
