"""How a plugin tests itself: register it, then use it through mcsim's own registry and CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcsim.cli import cli
from mcsim.plugins import pm
from mcsim.plugins.agents import get_backend
from mcsim.training import load_agent


@pytest.fixture
def example_plugin() -> Iterator[None]:
    from mcsim_example import plugin

    if not pm.is_registered(plugin):
        pm.register(plugin, name="example")
    try:
        yield
    finally:
        pm.unregister(plugin)


def test_the_agent_is_registered(example_plugin: None) -> None:
    backend = get_backend("example")
    assert backend.trainable and "random search" in backend.description


def test_train_evaluate_and_load_end_to_end(example_plugin: None, tmp_path: Path) -> None:
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "--agent", "example", "--profiles", "3", "--episodes", "8",
                                 "--envs", "8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["config"]["agent"] == "example"
    agent, _ = load_agent(out)
    actions = agent.predict([[0.0] * 11, [1.0] * 11])
    assert actions.shape == (2, 2) and (actions == actions[0]).all()
    evaluated = runner.invoke(cli, ["evaluate", str(out), "--profiles", "2", "--mc", "20", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert "policy" in json.loads(evaluated.output)["runs"][str(out)]["overall"]
