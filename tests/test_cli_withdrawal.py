"""The command line of retirement spending: `simulate --withdrawal`, the spending section and chart, `withdrawals`."""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mcsim.cli.main import cli, main
from mcsim.core.profile import WITHDRAWAL_PARAMETERS, load_profile
from tests.test_cli import PNG_MAGIC, assert_one_line_error, run_mcsim

RULES = list(WITHDRAWAL_PARAMETERS)
SPENDING_KEYS = {
    "gamma", "discount", "cut_probability", "cut_threshold", "largest_cut", "worst_year", "below_target_share",
    "lifetime", "certainty_equivalent_monthly", "at_retirement", "at_end",
}
PATHS = "64"


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def simulate_json(*args: str) -> dict:
    return json.loads(invoke("simulate", "--paths", PATHS, "--json", *args).stdout)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


# --- simulate --withdrawal ------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
def test_simulate_each_rule_has_the_spending_keys(rule: str) -> None:
    data = simulate_json("--withdrawal", rule, "--seed", "2")
    assert data["withdrawal"] == rule and data["mortality"] == "fixed"
    spending = data["spending"]
    assert set(spending) == SPENDING_KEYS
    assert set(spending["worst_year"]) == {"median", "p10"}
    for key in ("lifetime", "at_retirement", "at_end"):
        assert spending[key]["median"] >= 0.0
    assert 0.0 <= spending["cut_probability"] <= 1.0 and 0.0 <= spending["below_target_share"] <= 1.0
    assert spending["certainty_equivalent_monthly"] > 0.0


def test_simulate_without_withdrawal_is_the_profiles_rule() -> None:
    assert simulate_json() == simulate_json("--withdrawal", "target")


def test_gamma_and_discount_reach_the_certainty_equivalent() -> None:
    mild = simulate_json("--withdrawal", "constant_percent", "--gamma", "1")["spending"]
    averse = simulate_json("--withdrawal", "constant_percent", "--gamma", "8", "--discount", "0.97")["spending"]
    assert (mild["gamma"], mild["discount"]) == (1.0, 1.0)
    assert (averse["gamma"], averse["discount"]) == (8.0, 0.97)
    assert averse["certainty_equivalent_monthly"] < mild["certainty_equivalent_monthly"]
    assert averse["lifetime"] == mild["lifetime"], "gamma values spending; it does not change it"


def test_simulate_prints_the_spending_section() -> None:
    output = invoke("simulate", "--paths", PATHS, "--withdrawal", "guyton_klinger", "--gamma", "4").stdout
    assert "Success probability" in output
    assert "Spending in retirement: withdrawal rule guyton_klinger, mortality fixed (to 90)" in output
    for label in ("a month at 64", "a month at the end", "a month in the worst year", "lifetime"):
        assert label in output
    assert "A cut of more than 10% in a year on" in output and "below the target" in output
    assert "Certainty equivalent" in output and "CRRA gamma 4" in output


def test_gompertz_mortality_in_the_heading(tmp_path: Path) -> None:
    data = load_profile("default").model_dump(mode="json")
    data["person"].update(mortality="gompertz", gompertz_modal_age=90.0, gompertz_dispersion=9.0, max_age=105.0)
    path = tmp_path / "gompertz.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    output = invoke("simulate", str(path), "--paths", PATHS).stdout
    assert "mortality gompertz (modal age 90, dispersion 9, to 105 at most)" in output
    assert "wealth at death" in output


def test_plot_draws_the_spending_fan_below_the_wealth_fan(tmp_path: Path) -> None:
    wealth_only = tmp_path / "wealth.png"
    from mcsim.cli.plot import write_fan_chart
    from mcsim.core.simulation import simulate

    result = simulate("default", 64, fan=True)
    without_spending = dataclasses.replace(result, spending=None)
    write_fan_chart(without_spending, wealth_only)
    out = tmp_path / "both.png"
    data = json.loads(invoke("simulate", "--paths", PATHS, "--withdrawal", "vpw", "--json", "--plot", str(out)).stdout)
    width, height = png_size(out)
    assert width == png_size(wealth_only)[0] and height > 1.4 * png_size(wealth_only)[1], "a second panel"
    fan = data["spending"]["fan"]
    assert set(fan) == {"ages", "p10", "p50", "p90"}
    assert fan["ages"][0] == 64 and len(fan["ages"]) == 90 - 64
    assert all(low <= mid <= high for low, mid, high in zip(fan["p10"], fan["p50"], fan["p90"], strict=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["both.png", "wealth.png"]


# --- withdrawals ----------------------------------------------------------------------------------


def test_withdrawals_table_has_every_rule() -> None:
    output = invoke("withdrawals", "--paths", PATHS).stdout
    title = "default: every withdrawal rule on the same paths: 64 paths, seed 0, lognormal returns; mortality fixed (to 90)"
    assert title in output
    rows = [line.split()[0] for line in output.splitlines() if line.split() and line.split()[0] in RULES]
    assert rows == RULES
    for column in ("success", "CE / month", "worst year", "cut > 10%", "below target", "lifetime", "wealth at"):
        assert column in output


def test_withdrawals_equal_simulate_on_the_same_paths() -> None:
    data = json.loads(invoke("withdrawals", "late_starter", "--paths", PATHS, "--seed", "5", "--gamma", "2", "--json").stdout)
    assert list(data["rules"]) == RULES and data["not_run"] == {}
    assert (data["n_paths"], data["seed"], data["gamma"]) == (64, 5, 2.0)
    for rule in RULES:
        alone = simulate_json("late_starter", "--withdrawal", rule, "--seed", "5", "--gamma", "2")
        compared = data["rules"][rule]
        assert compared["success_probability"] == alone["success_probability"], rule
        assert compared["spending"] == alone["spending"], rule
        assert compared["capital_at_retirement"] == alone["capital_at_retirement"], "common random numbers"


def test_withdrawals_keep_the_profiles_own_parameters(tmp_path: Path) -> None:
    data = load_profile("default").model_dump(mode="json", exclude_none=True)
    data["retirement"]["withdrawal"] = {"rule": "constant_dollar", "rate_pct": 3.0}
    path = tmp_path / "three.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    own = json.loads(invoke("withdrawals", str(path), "--paths", PATHS, "--json").stdout)["rules"]["constant_dollar"]
    default = json.loads(invoke("withdrawals", "--paths", PATHS, "--json").stdout)["rules"]["constant_dollar"]
    assert own["spending"] == simulate_json(str(path))["spending"], "the profile's rule, with its own rate"
    assert own["spending"]["at_retirement"]["median"] < default["spending"]["at_retirement"]["median"]
    assert own["success_probability"]["estimate"] >= default["success_probability"]["estimate"]


def test_withdrawals_list_a_rule_the_profile_cannot_run(tmp_path: Path) -> None:
    data = load_profile("default").model_dump(mode="json", exclude_none=True)
    data["market"]["assets"][1]["name"] = "obligations"
    data["market"]["correlation"] = data["market"].get("correlation", [[1.0, 0.0], [0.0, 1.0]])
    for account in data["accounts"]:
        account["allocation"] = {("obligations" if k == "bonds" else k): v for k, v in account["allocation"].items()}
    path = tmp_path / "renamed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    report = json.loads(invoke("withdrawals", str(path), "--paths", PATHS, "--json").stdout)
    assert list(report["rules"]) == [rule for rule in RULES if rule != "merton"]
    assert "safe_asset" in report["not_run"]["merton"]
    output = invoke("withdrawals", str(path), "--paths", PATHS).stdout
    assert output.splitlines()[-1].startswith("merton: not run (")


# --- bad input: one line on stderr, exit code 2, nothing written ----------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["simulate", "--withdrawal", "four_percent"], "--withdrawal"),
        (["simulate", "--withdrawal", ""], "--withdrawal"),
        (["simulate", "--gamma", "0"], "--gamma"),
        (["simulate", "--gamma", "nan"], "finite"),
        (["simulate", "--gamma", "abc"], "--gamma"),
        (["simulate", "--discount", "1.5"], "--discount"),
        (["simulate", "--withdrawal", "vpw", "--plot", "missing/x.png"], "does not exist"),
        (["withdrawals", "--gamma", "-1"], "--gamma"),
        (["withdrawals", "--paths", "0"], "--paths"),
        (["withdrawals", "defualt"], "did you mean 'default'?"),
        (["withdrawals", "--withdrawal", "vpw"], "--withdrawal"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 2
    captured = capsys.readouterr()
    assert fragment in assert_one_line_error(captured.out, captured.err)
    assert list(tmp_path.iterdir()) == []


def test_a_rule_the_profile_cannot_run_is_one_line_in_a_fresh_process(tmp_path: Path) -> None:
    (tmp_path / "one_asset.toml").write_text(
        "[person]\ncurrent_age = 60\nretirement_age = 62\nlife_expectancy = 85\n\n"
        '[[accounts]]\nname = "main"\ntype = "pea"\nbalance = 300000\nallocation = { equities = 1.0 }\n\n'
        "[retirement]\ntarget_monthly_income = 1500\n\n"
        '[[market.assets]]\nname = "equities"\nexpected_return_pct = 6\nvolatility_pct = 15\n',
        encoding="utf-8",
    )
    completed = run_mcsim(["simulate", "one_asset.toml", "--withdrawal", "merton", "--plot", "out.png"], tmp_path)
    assert completed.returncode == 2, completed.stderr
    assert "safe_asset" in assert_one_line_error(completed.stdout, completed.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one_asset.toml"]


@pytest.mark.parametrize("command", [["simulate"], ["withdrawals"]])
def test_help_has_an_example(command: list[str]) -> None:
    output = invoke(*command, "--help").output
    assert "Example" in output and "--gamma" in output


def test_spending_at_retirement_and_at_the_end_of_each_path() -> None:
    import numpy as np

    from mcsim.core.spending import Spending, path_spending

    spending = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.nan], [np.nan, np.nan, np.nan]])
    paths = path_spending(spending, np.array([36, 14, 0]), np.full(3, 2.0), 2.0, 3.0, 1.0)
    np.testing.assert_array_equal(paths.first, [1.0, 4.0, np.nan])
    np.testing.assert_array_equal(paths.last, [3.0, 5.0, np.nan])
    summary = Spending.of(paths, 2.0, 3.0, 1.0)
    assert (summary.at_retirement.min, summary.at_retirement.max) == (1.0, 4.0), "over the paths that live it"
    assert (summary.at_end.min, summary.at_end.max) == (3.0, 5.0)
