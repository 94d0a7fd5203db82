"""`mcsim data`: the shipped series listed, one series' statistics (shipped or a CSV), and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from mcsim.cli.main import cli, main
from mcsim.core.history import shipped
from mcsim.core.history_stats import series_stats


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def direct(real: np.ndarray) -> dict[str, float]:
    """Arithmetic mean, sample s.d. and geometric mean of annual returns, computed here."""
    return {"mean": real.mean(), "sd": real.std(ddof=1), "geometric": np.exp(np.log1p(real).mean()) - 1.0}


def shiller_annual(column: str) -> np.ndarray:
    series = shipped("shiller_monthly")
    monthly = series.real(column)[: 12 * 152]  # 1871-01 .. 2022-12: the complete calendar years
    return np.prod(1.0 + monthly.reshape(-1, 12), axis=1) - 1.0


def test_listing_shows_both_series_and_their_spans() -> None:
    output = invoke("data").output
    for fragment in ("shiller_monthly", "monthly", "1871-01..2023-05", "1,829",
                     "damodaran_annual", "annual", "1928..2024", "tbond_10y", "inflation"):
        assert fragment in output
    assert "8.40%" in output and "17.87%" in output  # Shiller's equities: annual real mean and s.d.


def test_listing_json_matches_a_direct_computation() -> None:
    rows = json.loads(invoke("data", "--json").output)
    assert [row["name"] for row in rows] == ["shiller_monthly", "damodaran_annual"]
    shiller, damodaran = rows
    assert (shiller["first"], shiller["last"], shiller["periods"]) == ("1871-01", "2023-05", 1829)
    assert shiller["years"] == [1871, 2022] and shiller["columns"] == ["equities", "bonds"]
    assert (damodaran["first"], damodaran["last"], damodaran["periods"]) == ("1928", "2024", 97)
    for key, value in direct(shiller_annual("equities")).items():
        assert shiller["stats"]["equities"][key] == pytest.approx(value, rel=1e-12)
    for key, value in direct(shipped("damodaran_annual").real("gold")).items():
        assert damodaran["stats"]["gold"][key] == pytest.approx(value, rel=1e-12)
    assert damodaran["stats"]["inflation"]["mean"] == pytest.approx(shipped("damodaran_annual").inflation.mean())


def test_show_prints_the_statistics_of_a_shipped_series() -> None:
    output = invoke("data", "show", "damodaran_annual").output
    real = shipped("damodaran_annual").real("sp500")
    stats = direct(real)
    worst, best = int(np.argmin(real)), int(np.argmax(real))
    line = next(line for line in output.splitlines() if line.startswith("sp500"))
    for value in (stats["mean"], stats["sd"], stats["geometric"]):
        assert f"{100 * value:.2f}%" in line
    assert f"{100 * real[worst]:.2f}% ({1928 + worst})" in line
    assert f"{100 * real[best]:.2f}% ({1928 + best})" in line
    assert "1928..2024" in output


def test_show_json_of_a_monthly_series() -> None:
    report = json.loads(invoke("data", "show", "shiller_monthly", "--json").output)
    assert report == json.loads(json.dumps(series_stats(shipped("shiller_monthly")).to_dict()))
    annual = shiller_annual("bonds")
    bonds = report["stats"]["bonds"]
    assert bonds["worst"] == pytest.approx(annual.min(), rel=1e-12) and bonds["worst_year"] == 1871 + int(annual.argmin())
    assert bonds["mean"] == pytest.approx(annual.mean(), rel=1e-12)


def test_show_a_csv_file_with_real_returns(tmp_path: Path) -> None:
    real = np.array([0.1, -0.05, 0.2, 0.03, -0.15, 0.08, 0.12, 0.01, -0.02, 0.06])
    inflation = np.linspace(0.0, 0.045, 10)
    lines = ["year,stocks,inflation"] + [f"{2000 + i},{r},{f}" for i, (r, f) in enumerate(zip(real, inflation, strict=True))]
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = json.loads(invoke("data", "show", str(path), "--real", "--json").output)
    assert report["name"] == "mine" and report["first"] == "2000" and report["last"] == "2009"
    for key, value in direct(real).items():
        assert report["stats"]["stocks"][key] == pytest.approx(value, abs=1e-14)
    assert report["stats"]["stocks"]["best_year"] == 2002
    assert "mine: annual, 2000..2009" in invoke("data", "show", str(path), "--real").output


@pytest.mark.parametrize(("args", "fragment"), [
    (["data", "show", "bitcoin"], "NAME: 'bitcoin' is neither a shipped series"),
    (["data", "show", "absent.csv"], "market.history.file: absent.csv: no such file"),
    (["data", "show", "shiller_monthly", "--real"], "--real: applies to a CSV file"),
])
def test_bad_names_are_one_line_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0]


@pytest.mark.parametrize("command", [["data"], ["data", "show"]])
def test_help_has_an_example(command: list[str]) -> None:
    assert "Example" in invoke(*command, "--help").output
