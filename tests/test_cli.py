"""The command line: help, output formats, charts, and the one-line error contract of ``main``."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import mcsim
from mcsim.cli.main import cli, main
from mcsim.core.profile import embedded_profile_names, load_profile, profile_from_dict

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def run_mcsim(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m mcsim ARGS`` in a fresh interpreter, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mcsim", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def assert_one_line_error(stdout: str, stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, repr(stderr)
    assert lines[0].startswith("Error: ") and lines[0].strip() != "Error:", repr(stderr)
    assert "Traceback" not in stdout and "Traceback" not in stderr
    assert stdout == ""
    return lines[0]


# --- help and version -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [[], ["simulate"], ["optimize"], ["optimum"], ["profiles"], ["profile"], ["profile", "show"]]
)
def test_help_has_an_example(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert "Usage:" in result.output
    assert "Example" in result.output, f"`mcsim {' '.join(command)} --help` shows no example"


def test_short_help_option() -> None:
    assert invoke("simulate", "-h").output == invoke("simulate", "--help").output


def test_version() -> None:
    result = invoke("--version")
    assert result.output.strip() == f"mcsim, version {mcsim.__version__}"


# --- simulate -----------------------------------------------------------------------------------


def test_simulate_default_prints_a_table() -> None:
    result = invoke("simulate", "--paths", "200")
    assert "Success probability" in result.stdout
    assert "default" in result.stdout and "200 paths" in result.stdout
    assert "capital at" in result.stdout and "wealth at" in result.stdout


def test_simulate_json() -> None:
    data = json.loads(invoke("simulate", "--paths", "200", "--seed", "3", "--json").stdout)
    assert data["n_paths"] == 200 and data["seed"] == 3 and data["profile"] == "default"
    assert 0.0 <= data["success_probability"]["estimate"] <= 1.0
    assert "fan" not in data


def test_simulate_json_is_reproducible() -> None:
    first = invoke("simulate", "late_starter", "--paths", "100", "--seed", "9", "--json").stdout
    second = invoke("simulate", "late_starter", "--paths", "100", "--seed", "9", "--json", "--threads", "1").stdout
    assert json.loads(first) == json.loads(second)


def test_simulate_plot_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    result = invoke("simulate", "--paths", "100", "--plot", str(out))
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert f"Fan chart written to {out}" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"], "no temporary file left behind"


def test_simulate_json_with_plot_includes_the_fan(tmp_path: Path) -> None:
    out = tmp_path / "fan.png"
    data = json.loads(invoke("simulate", "--paths", "100", "--json", "--plot", str(out)).stdout)
    assert out.read_bytes()[:8] == PNG_MAGIC
    fan = data["fan"]
    months = 12 * (90 - 30)
    assert set(fan) == {"ages", "p10", "p50", "p90", "min", "max"}
    assert all(len(values) == months + 1 for values in fan.values())
    assert fan["ages"][0] == 30 and fan["ages"][-1] == pytest.approx(90)


def test_simulate_a_profile_file(tmp_path: Path) -> None:
    path = tmp_path / "household.json"
    path.write_text(json.dumps(load_profile("young_saver").model_dump(mode="json")), encoding="utf-8")
    from_file = json.loads(invoke("simulate", str(path), "--paths", "100", "--json").stdout)
    by_name = json.loads(invoke("simulate", "young_saver", "--paths", "100", "--json").stdout)
    assert from_file == by_name


def test_simulate_adaptive() -> None:
    data = json.loads(invoke("simulate", "--paths", "500", "--tolerance", "0.05", "--json").stdout)
    assert data["success_probability"]["half_width"] <= 0.05
    assert data["n_paths"] % 500 == 0


# --- optimize, profiles, profile show -------------------------------------------------------------


def test_optimize_json() -> None:
    data = json.loads(invoke("optimize", "--paths", "300", "--success", "0.8", "--json").stdout)
    assert data["reachable"] is True and data["target"] == 0.8 and data["n_paths"] == 300
    assert data["monthly_saving"] > 0 and data["success"] >= 0.8
    assert data["success_below"] < 0.8
    assert data["steps"][0]["phase"] == "start"


def test_optimize_table() -> None:
    result = invoke("optimize", "young_saver", "--paths", "300")
    assert "minimum constant monthly saving" in result.stdout


def test_profiles_lists_every_embedded_profile() -> None:
    output = invoke("profiles").stdout
    for name in embedded_profile_names():
        assert name in output
    described = json.loads(invoke("profiles", "--json").stdout)
    assert list(described) == embedded_profile_names()
    assert all(described.values())


def test_profile_show_prints_toml_that_parses() -> None:
    data = tomllib.loads(invoke("profile", "show", "default").stdout)
    assert profile_from_dict({**data, "name": "default"}) == load_profile("default")


def test_profile_show_json_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "household.json"
    profile = load_profile("crypto_holder")
    path.write_text(json.dumps(profile.model_dump(mode="json")), encoding="utf-8")
    assert profile_from_dict(json.loads(invoke("profile", "show", str(path)).stdout)) == profile


# --- bad input: one line on stderr, exit code 2, nothing written ----------------------------------

BROKEN_TOML = "[person]\ncurrent_age = 40\nretirement_age = \n"
NEGATIVE_BALANCE = """\
[person]
current_age = 40
retirement_age = 60
life_expectancy = 85

[[accounts]]
name = "main"
type = "pea"
balance = -5
allocation = { equities = 1.0 }

[retirement]
target_monthly_income = 2000
"""
# An unknown field whose (quoted) name holds a line break.
NEWLINE_KEY = NEGATIVE_BALANCE.replace("balance = -5", 'balance = 5\n"colour\\nred" = 1')


BAD_INPUTS = {
    "broken_toml": (["simulate", "broken.toml", "--plot", "out.png"], "not valid TOML"),
    "broken_json": (["optimize", "broken.json"], "not valid JSON"),
    "negative_balance": (["simulate", "negative.toml", "--plot", "out.png"], "accounts[0].balance"),
    "newline_key": (["simulate", "newline.toml"], "unknown field"),
    "negative_paths": (["simulate", "--paths", "-5"], "--paths"),
    "zero_paths": (["optimize", "--paths", "0"], "--paths"),
    "paths_abc": (["simulate", "--paths", "abc"], "'abc' is not a valid int"),
    "success_above_one": (["optimize", "--success", "1.5"], "--success"),
    "success_nan": (["optimize", "--success", "nan"], "finite"),
    "tolerance_zero": (["simulate", "--tolerance", "0"], "--tolerance"),
    "seed_negative": (["simulate", "--seed", "-1"], "--seed"),
    "plot_missing_folder": (["simulate", "--paths", "50", "--plot", "missing/out.png"], "does not exist"),
    "plot_jpg": (["simulate", "--paths", "50", "--plot", "x.jpg"], "must end in .png"),
    "plot_is_folder": (["simulate", "--paths", "50", "--plot", "folder.png"], "is a directory"),
    "unknown_profile": (["simulate", "defualt"], "did you mean 'default'?"),
    "unknown_profile_show": (["profile", "show", "mid_carer_family"], "did you mean 'mid_career_family'?"),
    "missing_file": (["simulate", "nowhere.toml"], "no such file"),
    "unknown_option": (["simulate", "--bogus"], "--bogus"),
    "unknown_command": (["simulate-all"], "No such command"),
}


def prepare(folder: Path) -> set[str]:
    """Write the input files the bad cases read; return the names of everything in the folder."""
    (folder / "broken.toml").write_text(BROKEN_TOML, encoding="utf-8")
    (folder / "broken.json").write_text('{"person": {"current_age": 40,', encoding="utf-8")
    (folder / "negative.toml").write_text(NEGATIVE_BALANCE, encoding="utf-8")
    (folder / "newline.toml").write_text(NEWLINE_KEY, encoding="utf-8")
    (folder / "folder.png").mkdir()
    return {path.name for path in folder.iterdir()}


def test_the_newline_profile_is_valid_toml() -> None:
    data = tomllib.loads(NEWLINE_KEY)
    assert "colour\nred" in data["accounts"][0]


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, case: str) -> None:
    args, fragment = BAD_INPUTS[case]
    before = prepare(tmp_path)
    completed = run_mcsim(args, tmp_path)
    assert completed.returncode == 2, (completed.returncode, completed.stderr)
    line = assert_one_line_error(completed.stdout, completed.stderr)
    assert fragment in line
    assert {path.name for path in tmp_path.iterdir()} == before, "a bad run must write nothing"
    assert not any((tmp_path / "folder.png").iterdir())


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["simulate", "--paths", "0"], "--paths"),
        (["optimize", "--success", "0"], "--success"),
        (["simulate", "--confidence", "1"], "--confidence"),
        (["simulate", "--plot", "missing/x.png", "--paths", "10"], "does not exist"),
        (["profile", "show", "nope"], "profile: 'nope'"),
        (["profile", "show"], "Missing argument"),
    ],
)
def test_main_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 2
    captured = capsys.readouterr()
    assert fragment in assert_one_line_error(captured.out, captured.err)
    assert list(tmp_path.iterdir()) == []


def test_main_success_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    main(["profiles", "--json"])  # returns without SystemExit on success
    assert json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["simulate", "--help"]])
def test_main_help_and_version_succeed(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    try:
        main(args)
    except SystemExit as done:
        assert done.code in (0, None)
    captured = capsys.readouterr()
    assert captured.out and captured.err == ""


def test_subprocess_success(tmp_path: Path) -> None:
    completed = run_mcsim(["simulate", "--paths", "100", "--json"], tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["n_paths"] == 100
    assert completed.stderr == ""


# A valid profile at the schema's limits (see tests/test_properties.py): its best paths grow past
# what float32 can hold. The chart and the JSON must still come out, without a traceback.
LIMITS_TOML = """\
[person]
current_age = 0
retirement_age = 100
life_expectancy = 125

[[accounts]]
name = "main"
type = "cto"
balance = 1e12
allocation = { equities = 1.0 }

[[plan.savings]]
from_age = 0
to_age = 100
monthly_contribution = 1e12

[retirement]
target_monthly_income = 1000

[market]
inflation_mean_pct = -10
inflation_volatility_pct = 50

[[market.assets]]
name = "equities"
expected_return_pct = 100
volatility_pct = 200
"""


def test_plot_of_a_valid_extreme_profile(tmp_path: Path) -> None:
    (tmp_path / "limits.toml").write_text(LIMITS_TOML, encoding="utf-8")
    completed = run_mcsim(["simulate", "limits.toml", "--paths", "64", "--seed", "1", "--json", "--plot", "out.png"], tmp_path)
    assert "Traceback" not in completed.stderr, completed.stderr[-2000:]
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "out.png").read_bytes()[:8] == PNG_MAGIC
    for token in ("NaN", "Infinity"):  # strict JSON has neither
        assert token not in completed.stdout
    json.loads(completed.stdout)


def test_export_commands_without_their_plugin_say_how_to_install() -> None:
    import subprocess
    import sys

    env = {**__import__("os").environ, "MCSIM_LOAD_PLUGINS": ""}
    for command, distribution in (("export-coreml", "mcsim-coreml"), ("export-onnx", "mcsim-onnx")):
        done = subprocess.run([sys.executable, "-m", "mcsim", command, "runs/x"], capture_output=True, text=True, env=env)
        assert done.returncode == 2
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and f"pip install {distribution}" in lines[0]
