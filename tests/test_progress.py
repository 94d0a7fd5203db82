"""Progress on standard error: plain lines at a steady interval off a terminal, a bar on one, stdout untouched."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numba
import pytest
from click.testing import CliRunner, Result

from mcsim.cli.main import cli
from mcsim.cli.progress import INTERVAL_ENV, Reporter, State, interval_from_env, plain_line
from mcsim.core.progress import COMPILING, phase, will_compile
from mcsim.env.household import sample_pool
from mcsim.env.policies import BASELINES
from mcsim.optimum import solver
from mcsim.optimum.policy import Optimum
from mcsim.training.evaluation import OPTIMUM, evaluate

EVERY_REPORT = {INTERVAL_ENV: "0"}
"""Plain lines at every report, so that commands of a second or two print some."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def plain(clock: FakeClock, interval: float = 10.0) -> tuple[Reporter, io.StringIO]:
    stream = io.StringIO()
    return Reporter("starting", stream=stream, live=False, interval=interval, clock=clock, heartbeat=False), stream


def test_plain_lines_come_at_a_steady_interval_and_at_the_end() -> None:
    clock = FakeClock()
    reporter, stream = plain(clock)
    with reporter:
        for now, done in ((1.0, 1), (5.0, 2), (9.9, 3)):
            clock.now = now
            reporter("evaluating", done, 20, unit="households")
        assert stream.getvalue() == ""
        clock.now = 10.0
        reporter("evaluating", 3, 20, unit="households")
        clock.now = 15.0
        reporter("evaluating", 4, 20, unit="households")  # 5 s after the last line: not yet
        clock.now = 21.0
        reporter.tick()  # nothing new reported, the line is due all the same
        clock.now = 30.0
        reporter("solving the optimum", 5, 20, unit="households")  # 9 s after the last line
        clock.now = 42.0
        reporter("solving the optimum", 6, 20, unit="households", detail="household 7")
        clock.now = 125.0
    assert stream.getvalue().splitlines() == [
        "[mcsim] evaluating: 3/20 households (15%), 10 s elapsed",
        "[mcsim] evaluating: 4/20 households (20%), 21 s elapsed",
        "[mcsim] solving the optimum: 6/20 households (30%), 42 s elapsed; household 7",
        "[mcsim] done in 2 min 05 s",
    ]


def test_a_short_command_prints_nothing() -> None:
    clock = FakeClock()
    reporter, stream = plain(clock)
    with reporter:
        for step in range(1, 8):
            clock.now = step
            reporter("simulating", step * 1000, 7000, unit="paths")
    assert stream.getvalue() == ""


def test_interval_zero_prints_every_report_and_a_failure_says_stopped() -> None:
    clock = FakeClock()
    reporter, stream = plain(clock, interval=0.0)
    with pytest.raises(KeyboardInterrupt), reporter:
        reporter("searching the minimum saving", 1, detail="trying 0 € a month")
        reporter("searching the minimum saving", 2)
        raise KeyboardInterrupt
    assert stream.getvalue().splitlines() == [
        "[mcsim] searching the minimum saving: step 1, 0 s elapsed; trying 0 € a month",
        "[mcsim] searching the minimum saving: step 2, 0 s elapsed",
        "[mcsim] stopped after 0 s",
    ]


def test_the_heartbeat_prints_while_one_long_call_runs() -> None:
    stream = io.StringIO()
    with Reporter("compiling", stream=stream, live=False, interval=0.05) as reporter:
        reporter("solving the optimum", 0, 1, unit="households")
        time.sleep(0.5)  # one long call: no report comes
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 4, lines
    assert all(line.startswith("[mcsim] solving the optimum: 0/1 households (0%)") for line in lines[:-1])
    assert lines[-1].startswith("[mcsim] done in")


def test_a_terminal_gets_a_bar_and_no_plain_line() -> None:
    stream = io.StringIO()
    with Reporter("starting", stream=stream, live=True, interval=0.0) as reporter:
        assert reporter.console.is_terminal
        reporter("evaluating", 3, 20, unit="households", detail="[not markup]")
        time.sleep(0.15)
    output = stream.getvalue()
    assert "evaluating" in output and "3/20 households" in output and "[not markup]" in output
    assert "[mcsim]" not in output


def test_line_formats() -> None:
    assert plain_line(State("simulating", 20_000, 0, "paths", "success 91.0% ± 0.60%"), 3725.0) == (
        "[mcsim] simulating: 20,000 paths, 1 h 02 min elapsed; success 91.0% ± 0.60%")
    assert plain_line(State("summarizing the paths"), 0.4) == "[mcsim] summarizing the paths, 0 s elapsed"
    assert plain_line(State("training", 9000, 8192, "steps"), 61.0) == (
        "[mcsim] training: 9,000/8,192 steps (100%), 1 min 01 s elapsed")


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("2.5", 2.5), ("soon", 10.0), ("-1", 10.0)])
def test_interval_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str, expected: float) -> None:
    monkeypatch.setenv(INTERVAL_ENV, value)
    assert interval_from_env() == expected


def test_first_use_is_labelled_compiling() -> None:
    kernel = numba.njit(lambda x: x + 1)  # no disk cache: its first call compiles
    assert will_compile(kernel) and phase("simulating", kernel) == COMPILING
    kernel(1)
    assert not will_compile(kernel) and phase("simulating", kernel) == "simulating"


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env=EVERY_REPORT, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def progress_lines(result: Result) -> list[str]:
    assert "[mcsim]" not in result.stdout
    return [line for line in result.stderr.splitlines() if line.startswith("[mcsim] ")]


def test_optimize_reports_each_candidate_on_stderr_and_json_on_stdout() -> None:
    result = invoke("optimize", "young_saver", "--paths", "200", "--success", "0.8", "--json")
    data = json.loads(result.stdout)
    lines = progress_lines(result)
    assert len(lines) >= len(data["steps"])
    assert any("searching the minimum saving for 80.0% success: step 3" in line for line in lines)
    assert lines[-1].startswith("[mcsim] done in")


def test_adaptive_simulate_reports_its_batches() -> None:
    result = invoke("simulate", "--paths", "300", "--tolerance", "0.03", "--json")
    assert json.loads(result.stdout)["n_paths"] > 300
    lines = progress_lines(result)
    assert any("simulating: 600 paths" in line and "stops at ± 3.00%" in line for line in lines), lines


def test_optimum_reports_the_solve_and_each_strategy() -> None:
    result = invoke("optimum", "late_starter", "--wealth-points", "20", "--mc", "20", "--json")
    json.loads(result.stdout)
    lines = progress_lines(result)
    assert any("solving the optimum: 0/1 households" in line for line in lines), lines
    for i, name in enumerate([OPTIMUM, *BASELINES], 1):
        assert any(f"evaluating: {name} ({i}/5 strategies)" in line for line in lines), name


def test_evaluate_solves_the_optimum_once_per_household_with_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    solves = []
    solve = solver.solve_household
    monkeypatch.setattr("mcsim.optimum.policy.solve_household", lambda *a, **k: solves.append(a[1]) or solve(*a, **k))
    reports = []
    pool = sample_pool(2, seed=3)
    from mcsim.env.environment import EnvConfig

    optimum = Optimum(solver.SolverGrid(wealth_points=20, terminal_paths=50), mc_paths=5)
    evaluate({OPTIMUM: optimum, "glide-path": BASELINES["glide-path"]}, pool, 3, 0, EnvConfig(),
             progress=lambda what, done=0, total=0, **_: reports.append((what, done, total)))
    assert solves == [0, 1], "every household solved once, before the roll-outs"
    solving = [r for r in reports if r[0] in ("solving the optimum", COMPILING) and r[2] == 2]
    assert [done for _, done, _ in solving] == [0, 1, 2]
    assert reports.index(solving[-1]) < min(i for i, r in enumerate(reports) if r[0].startswith("evaluating"))


@pytest.fixture(scope="module")
def redirected_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    pytest.importorskip("mcsim_sb3")
    out = tmp_path_factory.mktemp("runs") / "tiny"
    result = invoke("train", "--profiles", "4", "--episodes", "3", "--network", "standard", "--envs", "8",
                    "--out", str(out))
    return out, result


def test_redirected_train_prints_progress_during_the_run(redirected_run: tuple[Path, Result]) -> None:
    _, result = redirected_run
    lines = progress_lines(result)
    training = [line for line in lines if line.startswith("[mcsim] training: ")]
    assert training and all(" steps (" in line for line in training), lines
    assert any("evaluating the baselines on 8 held-out households" in line for line in lines)
    output = result.output
    assert output.index("[mcsim] training: ") < output.index("Saved ")


def test_evaluate_and_predict_report_their_strategies(redirected_run: tuple[Path, Result]) -> None:
    run, _ = redirected_run
    result = invoke("evaluate", str(run), "--profiles", "2", "--mc", "20", "--no-optimum", "--json")
    json.loads(result.stdout)
    lines = progress_lines(result)
    assert any(f"loading {run}" in line for line in lines)
    assert any("evaluating: policy (1/5 strategies): " in line and "decision steps" in line for line in lines), lines
    predicted = invoke("predict", str(run), "--mc", "20", "--no-optimum", "--json")
    json.loads(predicted.stdout)
    assert any("evaluating: bisection (5/5 strategies)" in line for line in progress_lines(predicted))
