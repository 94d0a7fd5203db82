"""The command line on historical markets: `--market` for simulate, optimize and withdrawals, and what they say."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner, Result

from mcsim.cli.main import cli
from mcsim.cli.render import failed_cohorts
from mcsim.core.history import shipped
from mcsim.core.simulation import simulate
from tests.test_cli import assert_one_line_error, run_mcsim


def invoke(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_simulate_historical_names_its_cohorts_and_the_json_lists_them() -> None:
    text = " ".join(invoke("simulate", "--market", "historical").stdout.split())
    assert "1,110 historical cohorts of shiller_monthly, starting 1871-01 to 1963-06" in text
    assert "Cohorts that succeed" in text and "no sampling interval" in text and "CI" not in text
    data = json.loads(invoke("simulate", "--market", "historical", "--json").stdout)
    assert data["return_model"] == "historical" and data["n_paths"] == 1110
    assert data["cohorts"] == {"series": "shiller_monthly", "count": 1110, "first": "1871-01", "last": "1963-06",
                               "wrap": False, "failed": []}


def test_the_cohorts_that_fail_are_listed_by_start_date() -> None:
    result = simulate("default", market="historical", monthly_contribution=100.0)
    failed = np.flatnonzero(~result.paths.succeeded)
    assert 0 < failed.size < result.n_paths
    history = shipped("shiller_monthly")
    assert result.cohorts is not None
    assert result.cohorts.failed == tuple(history.date(int(k)) for k in failed)


def test_failed_cohorts_are_shown_as_ranges() -> None:
    starts = ("1929-08", "1929-09", "1929-10", "1937-01", "1965-12", "1966-01")
    assert failed_cohorts(starts) == "1929-08 to 1929-10, 1937-01, 1965-12 to 1966-01"
    assert failed_cohorts(("1929", "1930", "1966")) == "1929 to 1930, 1966"
    assert failed_cohorts(tuple(f"{1900 + 2 * k}" for k in range(14)), shown=3).endswith("1904 and 11 more")


def test_bootstrap_is_seeded_like_the_parametric_models() -> None:
    first = json.loads(invoke("simulate", "--market", "bootstrap", "--paths", "300", "--seed", "4", "--json").stdout)
    again = json.loads(invoke("simulate", "--market", "bootstrap", "--paths", "300", "--seed", "4", "--json").stdout)
    other = json.loads(invoke("simulate", "--market", "bootstrap", "--paths", "300", "--seed", "5", "--json").stdout)
    assert first == again and first["cohorts"] is None and first["return_model"] == "bootstrap"
    assert first["capital_at_retirement"] != other["capital_at_retirement"]
    assert "returns bootstrapped from shiller_monthly (5-year mean blocks)" in " ".join(
        invoke("simulate", "--market", "bootstrap", "--paths", "300").stdout.split()
    )


def test_optimize_and_withdrawals_run_on_the_cohorts() -> None:
    text = " ".join(invoke("optimize", "--market", "historical").stdout.split())
    assert "on 1,110 historical cohorts of shiller_monthly" in text
    data = json.loads(invoke("withdrawals", "--market", "historical", "--json").stdout)
    assert data["n_paths"] == 1110 and data["cohorts"]["count"] == 1110
    assert {rule["n_paths"] for rule in data["rules"].values()} == {1110}


def test_a_market_the_profile_cannot_map_is_one_line(tmp_path: Path) -> None:
    result = run_mcsim(["simulate", "crypto_holder", "--market", "historical"], tmp_path)
    assert result.returncode == 2
    line = assert_one_line_error(result.stdout, result.stderr)
    assert "market.history.columns.crypto" in line and "equities, bonds" in line
    result = run_mcsim(["simulate", "--market", "martian"], tmp_path)
    assert result.returncode == 2 and "'martian' is not one of" in assert_one_line_error(result.stdout, result.stderr)
    assert list(tmp_path.iterdir()) == []
