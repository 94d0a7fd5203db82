"""mcsim sweep: a two-trial sweep of a tiny PPO run on a local cluster, interrupted and resumed; bad options."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcsim.cli.main import cli, main

pytest.importorskip("ray")
pytest.importorskip("optuna")
pytest.importorskip("mcsim_sb3")

TINY = ["--seeds", "0-1", "--param", "n_epochs=choice:2", "--param", "learning_rate=3e-4", "--samples", "1",
        "--search", "random", "--profiles", "2", "--episodes", "3", "--envs", "8", "--evaluations", "2",
        "--max-concurrent", "1"]


@pytest.fixture(scope="session")
def sweep(ray_cluster: object, ray_plugin: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep interrupted with Ctrl-C (SIGINT) once its first trial has a checkpoint, then resumed to its end."""
    out = tmp_path_factory.mktemp("sweeps") / "tiny"
    env = {**os.environ, "MCSIM_LOAD_PLUGINS": "sb3,ray"}
    process = subprocess.Popen([sys.executable, "-m", "mcsim", "sweep", *TINY, "--out", str(out)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (out / "trials" / "c000-seed0" / "checkpoint").is_dir() and process.poll() is None:
        assert time.monotonic() < deadline, "the first trial never checkpointed"
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode in (0, 130), output
    result = CliRunner().invoke(cli, ["sweep", "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    return out


def test_resume_finishes_the_sweep(sweep: Path) -> None:
    summary = json.loads((sweep / "sweep.json").read_text())
    assert summary["trials_planned"] == summary["trials_run"] == 2 and not summary["interrupted"]
    [row] = summary["configurations"]
    assert row["network"] == "standard" and row["params"] == {"n_epochs": 2, "learning_rate": 3e-4}
    assert [run["seed"] for run in row["runs"]] == [0, 1]
    assert row["objective"]["n_runs"] == 2 and "low" not in row["objective"], "no interval from two seeds"
    assert summary["best_run"]["run"] in {run["run"] for run in row["runs"]}
    for run in row["runs"]:
        manifest = json.loads((Path(run["run"]) / "manifest.json").read_text())
        assert manifest["config"]["hyperparameters"] == {"n_epochs": 2, "learning_rate": 3e-4}
        assert manifest["eval_history"] and all("win_share" in entry for entry in manifest["eval_history"])


def test_a_trial_is_a_run_that_evaluate_and_predict_take(sweep: Path, tmp_path: Path) -> None:
    best = json.loads((sweep / "sweep.json").read_text())["best_run"]["run"]
    result = CliRunner().invoke(cli, ["evaluate", best, "--profiles", "2", "--mc", "4", "--no-optimum", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["runs"][best]["n_households"] == 2
    result = CliRunner().invoke(cli, ["sweep", "--out", str(sweep), "--resume"])  # nothing left: the table again
    assert result.exit_code == 0 and "Best run:" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--param", "n_epoch=choice:2"], "--param n_epoch: agent 'sb3' (ppo) has no such setting"),
    (["--param", "learning_rate=loguniform:1e-5:1"], "--param learning_rate: must be float in [1e-06, 0.01] (got '1')"),
    (["--param", "n_epochs=uniform:2:5"], "the setting is an integer; use randint"),
    (["--param", "learning_rate=loguniform:1e-3:1e-5"], "LOW must be below HIGH"),
    (["--param", "n_epochs"], "--param: write NAME=SPEC"),
    (["--search", "grid", "--param", "learning_rate=loguniform:1e-5:1e-3"], "grid takes choice:... and fixed values"),
    (["--seeds", "4-1"], "--seeds: write 0-4 or 0,3,7"),
    (["--network", "huge"], "--network: agent 'sb3' offers standard"),
    (["--agent", "own-plan"], "is rule-based: there is nothing to sweep"),
    (["--resume"], "holds no sweep to resume"),
])
def test_bad_options_are_one_line(ray_plugin: None, args: list[str], message: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["sweep", *args, "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "s").exists()


def test_without_the_plugin_sweep_says_what_to_install() -> None:
    from mcsim.cli.main import PLUGIN_COMMANDS, _missing_plugin_command

    assert PLUGIN_COMMANDS["sweep"] == "mcsim-ray"
    result = CliRunner().invoke(_missing_plugin_command("sweep", "mcsim-ray"), ["--seeds", "0-4"])
    assert result.exit_code == 2 and "sweep comes with the mcsim-ray plugin: pip install mcsim-ray" in result.output
