"""ONNX export: parity with torch, metadata, the torch-free runtime, and clear refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from click.testing import CliRunner

os.environ.setdefault("MCSIM_LOAD_PLUGINS", "sb3,onnx")

from mcsim.cli.main import cli, main  # noqa: E402
from mcsim.training.trainer import load_agent  # noqa: E402

TINY = ["--profiles", "4", "--episodes", "3", "--network", "standard", "--envs", "4"]


def train(out: Path, *extra: str) -> Path:
    result = CliRunner().invoke(cli, ["train", *TINY, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("onnx")
    return {
        "ppo": train(base / "ppo"),
        "sac": train(base / "sac", "--algo", "sac", "--timesteps", "1100"),
        "td3": train(base / "td3", "--algo", "td3", "--timesteps", "1100"),
    }


@pytest.mark.parametrize("algo", ["ppo", "sac", "td3"])
def test_onnxruntime_matches_torch_on_10000_observations(runs: dict[str, Path], algo: str) -> None:
    run = runs[algo]
    result = CliRunner().invoke(cli, ["export-onnx", str(run)])
    assert result.exit_code == 0, result.output
    agent, _ = load_agent(run)
    observations = np.random.default_rng(1).uniform(-5, 5, (10_000, 11)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(run / "policy.onnx"), providers=["CPUExecutionProvider"])
    exported = session.run(["action"], {"observation": observations})[0]
    assert exported.shape == (10_000, 2)
    assert np.abs(exported - agent.predict(observations)).max() <= 1e-5


def test_metadata_inputs_and_outputs(runs: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "policy.onnx"
    assert CliRunner().invoke(cli, ["export-onnx", str(runs["ppo"]), "-o", str(path)]).exit_code == 0
    model = onnx.load(str(path))
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    assert metadata["agent"] == "sb3" and metadata["algo"] == "ppo" and "mcsim_version" in metadata
    (graph_input,), (graph_output,) = model.graph.input, model.graph.output
    assert graph_input.name == "observation" and graph_output.name == "action"
    assert [d.dim_value for d in graph_input.type.tensor_type.shape.dim][1:] == [11]
    assert oct(path.stat().st_mode & 0o777) != oct(0o600), "an export is not a private temp file"


def test_predict_with_the_onnx_runtime_needs_no_torch(runs: dict[str, Path]) -> None:
    run = runs["ppo"]
    assert CliRunner().invoke(cli, ["export-onnx", str(run)]).exit_code == 0
    code = (
        "import sys; sys.modules['torch'] = None\n"  # any import of torch now fails
        "from mcsim.cli.main import main\n"
        f"main(['predict', {str(run)!r}, '--runtime', 'onnx', '--mc', '30', '--json'])\n"
    )
    env = {**os.environ, "MCSIM_LOAD_PLUGINS": "sb3,onnx"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["phases"] and "policy" in data["evaluation"]["overall"]


def test_refusals_are_one_line(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for args, fragment in (
        (["export-onnx", str(runs["ppo"]), "-o", str(tmp_path / "policy.txt")], "must end in .onnx"),
        (["export-onnx", str(tmp_path / "nothing")], "not a run directory"),
        (["predict", str(tmp_path / "nothing"), "--runtime", "onnx"], "not a run directory"),
    ):
        with pytest.raises(SystemExit) as stop:
            main(args)
        assert stop.value.code == 2
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(lines) == 1 and fragment in lines[0], lines


def test_an_agent_without_a_torch_actor_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("mcsim_example")
    from mcsim_example import plugin

    from mcsim.plugins.manager import pm

    pm.register(plugin, name="example")
    try:
        run = train(tmp_path / "example", "--agent", "example")
        with pytest.raises(SystemExit) as stop:
            main(["export-onnx", str(run)])
    finally:
        pm.unregister(plugin)
    assert stop.value.code == 2
    assert "has no actor to export" in capsys.readouterr().err
    assert not (run / "policy.onnx").exists()
