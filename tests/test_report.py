"""The household report without a browser: its numbers, their formats, the page's content, the command."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcsim.cli.main import cli, main
from mcsim.core.profile import load_profile, with_market
from mcsim.report import build_report, render_html
from mcsim.report.charts import nice_step, ticks
from mcsim.report.i18n import NBSP, NNBSP, money, money_short, number, percent

from .report_helpers import MC, PATHS, SEED, lookup, never_funded, pension_covers_all, simulate_json, tiny_run

SECTIONS = ("household", "outcome", "wealth", "spending", "assumptions", "limits")
CHARTS = ("chart-wealth", "chart-spending", "chart-rules")


class Page(HTMLParser):
    """The page's elements with an id, its data-field numbers and its tags."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: dict[str, dict[str, str]] = {}
        self.fields: dict[str, str] = {}
        self.tags: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.ids[values["id"]] = values
        if "data-field" in values:
            self.fields[values["data-field"]] = values["data-value"]


@pytest.fixture(scope="module")
def default_report():
    return build_report("default", n_paths=PATHS, seed=SEED)


@pytest.fixture(scope="module")
def run_report(tmp_path_factory: pytest.TempPathFactory):
    return build_report("default", run=str(tiny_run(tmp_path_factory)), n_paths=PATHS, seed=SEED, mc_paths=MC)


# --- formats ------------------------------------------------------------------------------------------------


def test_english_and_french_numbers() -> None:
    assert money(12345.4, "en") == "€12,345"
    assert money(12345.4, "fr") == f"12{NNBSP}345{NBSP}€"
    assert money(-1234567, "fr") == f"-1{NNBSP}234{NNBSP}567{NBSP}€"
    assert money(-0.2, "en") == "€0"
    assert percent(0.8981, "en") == "89.8%"
    assert percent(0.8981, "fr") == f"89,8{NNBSP}%"
    assert number(1.5, "fr", 1) == "1,5" and number(1234.5, "en", 1) == "1,234.5"
    assert money_short(250_000, "en") == "€250k" and money_short(1_500_000, "en") == "€1.5M"
    assert money_short(1_500_000, "fr") == f"1,5{NBSP}M€" and money_short(-500_000, "en") == "-€500k"
    assert money(math.nan, "en") == percent(math.inf, "fr") == "\u2013"


def test_axis_ticks_are_round_and_cover_the_range() -> None:
    step = nice_step(1_813_717, 6)
    assert step == 500_000
    assert ticks(0, 2_000_000, step) == [0, 500_000, 1_000_000, 1_500_000, 2_000_000]
    assert nice_step(0.0, 5) > 0


# --- the numbers --------------------------------------------------------------------------------------------


def test_simulation_equals_simulate_json(default_report) -> None:
    """The report's simulation is `mcsim simulate --json`'s for the same seed and paths, to the last digit."""
    expected = simulate_json("default")
    data = default_report.to_dict()["simulation"]
    for key, value in expected.items():
        if key == "spending":
            assert {k: v for k, v in data[key].items() if k != "fan"} == value
        else:
            assert data[key] == value, key
    assert len(data["fan"]["ages"]) == 34 * 12 + 26 * 12 + 1


def test_rules_equal_mcsim_withdrawals(default_report) -> None:
    result = CliRunner().invoke(cli, ["withdrawals", "--paths", str(PATHS), "--seed", str(SEED), "--json"])
    assert result.exit_code == 0, result.output
    expected = json.loads(result.stdout)
    data = default_report.to_dict()["withdrawals"]
    assert set(data["rules"]) == set(expected["rules"]) and data["not_run"] == expected["not_run"]
    for rule, value in expected["rules"].items():
        mine = data["rules"][rule]
        assert {k: v for k, v in mine["spending"].items() if k != "fan"} == value["spending"], rule
        assert {k: v for k, v in mine.items() if k != "spending"} == {k: v for k, v in value.items() if k != "spending"}
        assert len(mine["spending"]["fan"]["p50"]) == 90 - 64  # the spending by age, each rule


def test_every_number_on_the_page_is_the_json_one(run_report) -> None:
    """Each data-field of the page holds exactly the value at that path of the JSON (both languages)."""
    data = json.loads(json.dumps(run_report.to_dict()))  # as --json prints it
    for lang in ("en", "fr"):
        page = Page(render_html(run_report, lang))
        assert len(page.fields) > 60
        for field, shown in page.fields.items():
            value = lookup(data, field)
            if value is None:
                assert shown == "", field
            else:
                assert float(shown) == value, field


def test_page_sections_charts_and_strategy(run_report) -> None:
    text = render_html(run_report, "en")
    page = Page(text)
    for key in (*SECTIONS, "strategy", "rules"):
        assert key in page.ids, key
    for chart in (*CHARTS, "chart-saving", "chart-equity"):
        assert int(page.ids[chart]["data-points"]) > 10, chart
    for table in ("outcome-table", "rules-table", "phases-table", "comparison-table", "accounts-table"):
        assert table in page.ids
    strategy = run_report.to_dict()["strategy"]
    assert set(strategy["evaluation"]["overall"]) == {"policy", "own-plan", "glide-path", "constant-mix", "bisection",
                                                      "optimum"}
    assert [line["name"] for line in strategy["by_strategy"]] == ["policy", "own-plan", "optimum"]
    assert "% of optimum" in text and "Learned strategy" in text


def test_strategy_equals_mcsim_predict(run_report, tmp_path_factory: pytest.TempPathFactory) -> None:
    run = str(tiny_run(tmp_path_factory))
    result = CliRunner().invoke(cli, ["predict", run, "default", "--mc", str(MC), "--seed", str(SEED), "--json"])
    assert result.exit_code == 0, result.output
    expected = json.loads(result.stdout)
    mine = json.loads(json.dumps(run_report.to_dict()["strategy"]))
    for key in ("phases", "by_age", "evaluation"):
        assert mine[key] == expected[key], key


def test_page_is_self_contained(default_report) -> None:
    """No script, stylesheet link, image, font or URL: nothing the page could fetch."""
    text = render_html(default_report, "en")
    page = Page(text)
    assert not page.tags & {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "source", "base"}
    assert re.findall(r"https?://[^\"'\s<]+", text) == ["http://www.w3.org/2000/svg"] * text.count("<svg ")
    assert "url(" not in text and "@import" not in text and "@font-face" not in text and " src=" not in text
    assert "default-src 'none'" in text
    assert "nan" not in re.sub(r"<[^>]+>", "", text).lower().split()


def test_same_inputs_same_bytes(default_report) -> None:
    again = build_report("default", n_paths=PATHS, seed=SEED)
    assert render_html(again, "fr") == render_html(default_report, "fr")


def test_french_page(default_report) -> None:
    text = render_html(default_report, "fr")
    assert '<html lang="fr">' in text and "Bilan retraite" in text and "Les hypothèses" in text
    success = default_report.simulation.success.estimate
    assert f">{percent(success, 'fr')}<" in text and f"{NNBSP}%" in percent(success, "fr")
    capital = default_report.simulation.capital_at_retirement.p50
    assert f">{money(capital, 'fr')}<" in text and money(capital, "fr").endswith(f"{NBSP}€")


@pytest.mark.parametrize("profile", [pension_covers_all, never_funded, lambda: "crypto_holder",
                                     lambda: with_market(load_profile("default"), "historical"),
                                     lambda: load_profile("late_starter").model_copy(
                                         update={"person": load_profile("late_starter").person.model_copy(
                                             update={"mortality": "gompertz"})})],
                         ids=["pension-covers-all", "never-funded", "crypto", "historical", "gompertz"])
def test_odd_households_render_with_full_charts(profile) -> None:
    data = build_report(profile(), n_paths=500, seed=1)
    json.dumps(data.to_dict(), allow_nan=False)
    for lang in ("en", "fr"):
        text = render_html(data, lang)
        page = Page(text)
        for chart in CHARTS:
            assert int(page.ids[chart]["data-points"]) > 0, chart
        assert text.count("<polyline") + text.count("<polygon") > 6
        assert "nan" not in re.sub(r"<[^>]+>", " ", text).lower().split()


# --- the command --------------------------------------------------------------------------------------------


def test_report_command_writes_the_page_and_prints_json(tmp_path: Path) -> None:
    out = tmp_path / "bilan.html"
    result = CliRunner().invoke(cli, ["report", "--paths", "500", "--seed", "2", "--lang", "fr", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["simulation"] == build_report("default", n_paths=500, seed=2).to_dict()["simulation"]
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<html lang="fr">' in text
    result = CliRunner().invoke(cli, ["report", "young_saver", "--paths", "300", "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0 and result.stdout.startswith(f"Report written to {tmp_path / 'r.html'} (")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-o", "{tmp}/missing/report.html"], "-o: folder"),
        (["-o", "{tmp}/report.txt"], "-o: the report file must end in .html"),
        (["-o", "{tmp}"], "-o:"),
        (["--lang", "de"], "--lang"),
        (["--run", "{tmp}/no-such-run"], "--run:"),
        (["--run", "{tmp}"], "not a run directory"),
        (["--paths", "0"], "--paths"),
        (["nope"], "nope"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(args: list[str], fragment: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    with pytest.raises(SystemExit) as done:
        main(["report", "--paths", "200", "-o", str(tmp_path / "report.html"), *args])  # the last -o or --paths wins
    assert done.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], captured.err
    assert captured.out == ""
    assert not list(tmp_path.rglob("*")), "nothing written"
