"""Core ML export: the saved spec, and its numbers through the NumPy ML-program interpreter."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

os.environ.setdefault("MCSIM_LOAD_PLUGINS", "sb3,onnx,coreml")

from mcsim_coreml.mil import UnsupportedOp, run_program  # noqa: E402

from mcsim.cli.main import cli, main  # noqa: E402
from mcsim.training.trainer import load_agent  # noqa: E402

TINY = ["--profiles", "4", "--episodes", "3", "--network", "standard", "--envs", "4"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    run = tmp_path_factory.mktemp("coreml") / "run"
    result = CliRunner().invoke(cli, ["train", *TINY, "--out", str(run)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["export-coreml", str(run)])
    assert result.exit_code == 0, result.output
    return run, run / "policy.mlpackage"


def test_spec_has_inputs_outputs_descriptions_and_metadata(exported: tuple[Path, Path]) -> None:
    import coremltools as ct

    _, package = exported
    spec = ct.utils.load_spec(str(package))
    (model_input,), (model_output,) = spec.description.input, spec.description.output
    assert model_input.name == "observation" and "progress" in model_input.shortDescription
    assert model_output.name == "action" and "savings rate" in model_output.shortDescription
    ranges = model_input.type.multiArrayType.shapeRange.sizeRanges
    assert (ranges[1].lowerBound, ranges[1].upperBound) == (11, 11)
    metadata = dict(spec.description.metadata.userDefined)
    assert metadata["agent"] == "sb3" and metadata["algo"] == "ppo" and "mcsim_version" in metadata
    assert metadata["observation_layout"].split(",")[0] == "progress"
    assert spec.WhichOneof("Type") == "mlProgram"


def test_ml_program_matches_torch_on_10000_observations(exported: tuple[Path, Path]) -> None:
    run, package = exported
    agent, _ = load_agent(run)
    observations = np.random.default_rng(2).uniform(-5, 5, (10_000, 11)).astype(np.float32)
    actions = run_program(package, {"observation": observations})["action"]
    assert actions.shape == (10_000, 2)
    assert np.abs(actions - agent.predict(observations)).max() <= 1e-5


@pytest.mark.skipif(sys.platform != "darwin", reason="Core ML predicts on macOS only")
def test_core_ml_prediction_matches_torch(exported: tuple[Path, Path]) -> None:
    import coremltools as ct

    run, package = exported
    agent, _ = load_agent(run)
    observations = np.random.default_rng(3).uniform(-5, 5, (10_000, 11)).astype(np.float32)
    predicted = ct.models.MLModel(str(package)).predict({"observation": observations})["action"]
    assert np.abs(predicted - agent.predict(observations)).max() <= 1e-5


def test_an_unknown_op_fails_by_name(exported: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    import coremltools as ct

    _, package = exported
    copy = tmp_path / "copy.mlpackage"
    shutil.copytree(package, copy)
    spec_path = copy / "Data" / "com.apple.CoreML" / "model.mlmodel"
    spec = ct.utils.load_spec(str(copy))
    function = spec.mlProgram.functions["main"]
    block = function.block_specializations[function.opset]
    next(op for op in block.operations if op.type == "tanh").type = "gelu"
    spec_path.write_bytes(spec.SerializeToString())
    with pytest.raises(UnsupportedOp, match="'gelu'"):
        run_program(copy, {"observation": np.zeros((2, 11), dtype=np.float32)})


def test_bad_output_is_one_line(exported: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run, _ = exported
    with pytest.raises(SystemExit) as stop:
        main(["export-coreml", str(run), "-o", str(tmp_path / "policy.onnx")])
    assert stop.value.code == 2
    assert "must end in .mlpackage" in capsys.readouterr().err
