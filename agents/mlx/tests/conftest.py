"""The mlx plugin's tests: only our installed plugins load, and one tiny mlx run serves every module."""

from __future__ import annotations

import json
import os
from importlib.metadata import entry_points
from pathlib import Path

import pytest

# Run alone, load our installed plugins only (in the whole suite, tests/conftest.py has set the same).
_OURS = {"sb3", "mlx", "onnx", "coreml"} & set(entry_points(group="mcsim").names)
os.environ.setdefault("MCSIM_LOAD_PLUGINS", ",".join(sorted(_OURS)))

TINY = ["--agent", "mlx", "--profiles", "4", "--episodes", "3", "--network", "standard", "--envs", "8"]


def train_cli(out: Path, *extra: str) -> tuple[dict, str]:
    """``mcsim train`` TINY into ``out``: its manifest and output."""
    from click.testing import CliRunner

    from mcsim.cli.main import cli

    result = CliRunner().invoke(cli, ["train", *TINY, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text()), result.output


@pytest.fixture(scope="session")
def train_mlx() -> object:
    """:func:`train_cli`, for the test modules."""
    return train_cli


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A tiny complete mlx run (standard network, 8 envs, one rollout of 2048 steps) and its output."""
    pytest.importorskip("mlx.core")
    out = tmp_path_factory.mktemp("mlx") / "tiny"
    _, output = train_cli(out)
    return out, output
