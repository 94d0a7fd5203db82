"""ONNX and Core ML exports of an mlx run, built from its weights: parity with MLX's own forward within 1e-5."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("mlx.core")

from mcsim.cli.main import cli  # noqa: E402
from mcsim.training.trainer import load_agent  # noqa: E402


def observations(seed: int, n: int = 10_000) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-5, 5, (n, 11)).astype(np.float32)


def test_onnx_export_matches_mlx_on_10000_observations(tiny: tuple[Path, str], tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    run, path = tiny[0], tmp_path / "policy.onnx"
    result = CliRunner().invoke(cli, ["export-onnx", str(run), "-o", str(path)])
    assert result.exit_code == 0, result.output
    agent, _ = load_agent(run)
    obs = observations(1)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    exported = session.run(["action"], {"observation": obs})[0]
    assert exported.shape == (10_000, 2)
    assert np.abs(exported - agent.predict(obs)).max() <= 1e-5
    metadata = {entry.key: entry.value for entry in onnx.load(str(path)).metadata_props}
    assert metadata["agent"] == "mlx" and metadata["algo"] == "ppo" and metadata["network"] == "standard"


def test_onnx_export_and_its_runtime_need_no_torch(tiny: tuple[Path, str]) -> None:
    """The weight-based path: exporting an mlx run, and predicting from the export, never import torch."""
    pytest.importorskip("onnxruntime")
    run = tiny[0]
    code = (
        "import sys; sys.modules['torch'] = None\n"  # any import of torch now fails
        "from mcsim.cli.main import main\n"
        "try:\n"
        f"    main(['export-onnx', {str(run)!r}])\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        f"main(['predict', {str(run)!r}, '--runtime', 'onnx', '--mc', '30', '--no-optimum', '--json'])\n"
    )
    env = {**os.environ, "MCSIM_LOAD_PLUGINS": "mlx,onnx"}  # as installed without mcsim-sb3 (which brings torch)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout[done.stdout.index("{"):])
    assert data["phases"] and "policy" in data["evaluation"]["overall"]


def test_core_ml_program_matches_mlx_on_10000_observations(tiny: tuple[Path, str], tmp_path: Path) -> None:
    ct = pytest.importorskip("coremltools")
    from mcsim_coreml.mil import run_program

    run, package = tiny[0], tmp_path / "policy.mlpackage"
    result = CliRunner().invoke(cli, ["export-coreml", str(run), "-o", str(package)])
    assert result.exit_code == 0, result.output
    agent, _ = load_agent(run)
    obs = observations(2)
    actions = run_program(package, {"observation": obs})["action"]
    assert actions.shape == (10_000, 2)
    assert np.abs(actions - agent.predict(obs)).max() <= 1e-5
    spec = ct.utils.load_spec(str(package))
    (model_input,), (model_output,) = spec.description.input, spec.description.output
    assert model_input.name == "observation" and model_output.name == "action"
    metadata = dict(spec.description.metadata.userDefined)
    assert metadata["agent"] == "mlx" and metadata["observation_layout"].split(",")[0] == "progress"
    assert "torch_version" not in metadata


@pytest.mark.skipif(sys.platform != "darwin", reason="Core ML predicts on macOS only")
def test_core_ml_prediction_matches_mlx(tiny: tuple[Path, str], tmp_path: Path) -> None:
    ct = pytest.importorskip("coremltools")
    run, package = tiny[0], tmp_path / "policy.mlpackage"
    assert CliRunner().invoke(cli, ["export-coreml", str(run), "-o", str(package)]).exit_code == 0
    agent, _ = load_agent(run)
    obs = observations(3)
    predicted = ct.models.MLModel(str(package)).predict({"observation": obs})["action"]
    assert np.abs(predicted - agent.predict(obs)).max() <= 1e-5
