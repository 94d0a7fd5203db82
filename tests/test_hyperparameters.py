"""Backends declare the learner settings that `train --param` and `mcsim sweep` may set, with their ranges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcsim.cli.main import cli, main
from mcsim.core.errors import ParameterError
from mcsim.plugins.agents import Hyperparameter, get_backend

pytest.importorskip("mcsim_sb3")


def test_a_hyperparameter_checks_its_values() -> None:
    rate = Hyperparameter("learning_rate", "float", 1e-6, 1e-2, log=True)
    epochs = Hyperparameter("n_epochs", "int", 1, 50)
    network = Hyperparameter("activation", "choice", choices=("tanh", "relu"))
    assert rate.value("3e-4") == 3e-4 and epochs.value("10") == 10 and network.value("relu") == "relu"
    for parameter, raw, message in [(rate, "1", "must be float in [1e-06, 0.01] (got '1')"),
                                    (epochs, "2.5", "must be a int number (got '2.5')"),
                                    (epochs, "x", "must be a int number (got 'x')"),
                                    (rate, "nan", "must be a float number"),
                                    (network, "gelu", "must be one of tanh, relu (got 'gelu')")]:
        with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            parameter.value(raw)
    with pytest.raises(ValueError):
        Hyperparameter("x", "float", 2.0, 1.0)


def test_sb3_declares_its_settings_by_algorithm() -> None:
    backend = get_backend("sb3")
    assert {"learning_rate", "n_epochs", "ent_coef", "batch_size", "n_steps", "gamma", "gae_lambda",
            "clip_range"} <= set(backend.tunable("ppo"))
    assert "n_epochs" not in backend.tunable("sac") and "tau" in backend.tunable("sac")
    with pytest.raises(ParameterError, match="did you mean 'n_epochs'"):
        backend.hyperparameter("n_epoch", "ppo")
    backend.check_settings({"algo": "ppo", "hyperparameters": {"n_epochs": 5}})
    with pytest.raises(ParameterError, match="--param clip_range: agent 'sb3' \\(sac\\) has no such setting"):
        backend.check_settings({"algo": "sac", "hyperparameters": {"clip_range": 0.2}})


@pytest.mark.parametrize(("param", "message"), [
    ("n_epoch=3", "--param n_epoch: agent 'sb3' (ppo) has no such setting"),
    ("learning_rate=1", "--param learning_rate: must be float in [1e-06, 0.01] (got '1')"),
    ("learning_rate", "--param: write NAME=VALUE (got 'learning_rate')"),
])
def test_train_refuses_a_bad_param_in_one_line(param: str, message: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["train", "--param", param, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_train_records_the_settings_and_the_win_share(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--profiles", "2", "--episodes", "1", "--network", "standard",
                                      "--envs", "8", "--param", "n_epochs=2", "--param", "learning_rate=1e-4",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["hyperparameters"] == {"n_epochs": 2, "learning_rate": 1e-4}
    assert all(0.0 <= entry["win_share"] <= 1.0 for entry in manifest["eval_history"])
    agents = json.loads(CliRunner().invoke(cli, ["agents", "--json"]).output)
    sb3 = next(row for row in agents if row["name"] == "sb3")
    assert {"name": "n_epochs", "kind": "int", "low": 1, "high": 50, "choices": [], "log": False,
            "algorithms": ["ppo"], "description": "passes over each rollout"} in sb3["hyperparameters"]
