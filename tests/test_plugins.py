"""The plugin system: hooks, the agent registry, and the CLI commands that list them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from click.testing import CliRunner

from mcsim import hookimpl
from mcsim.cli.main import cli
from mcsim.core.errors import ParameterError
from mcsim.env.policies import rollout
from mcsim.env.vec_env import NumbaVecEnv
from mcsim.plugins.agents import Agent, AgentBackend, agent_backends, get_backend
from mcsim.plugins.manager import pm


class HalfAgent(Agent):
    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return np.full((obs.shape[0], 2), 0.5, dtype=np.float32)


class HalfBackend(AgentBackend):
    name = "half"
    description = "half of everything"

    def create(self, env: NumbaVecEnv, config: dict) -> Agent:
        return HalfAgent()


class HalfPlugin:
    __name__ = "half-plugin"

    @hookimpl
    def register_agents(self, register) -> None:
        register(HalfBackend())

    @hookimpl
    def register_commands(self, cli) -> None:
        pass


@pytest.fixture
def half_plugin() -> Iterator[None]:
    plugin = HalfPlugin()
    pm.register(plugin, name="half-plugin")
    try:
        yield
    finally:
        pm.unregister(name="half-plugin")


def test_builtin_baselines_are_registered_through_the_hook() -> None:
    backends = agent_backends()
    baselines = {"own-plan", "glide-path", "constant-mix", "bisection"}
    assert baselines <= set(backends)
    assert not any(backends[name].trainable for name in baselines)


def test_a_plugin_adds_an_agent_and_it_acts_like_any_policy(half_plugin: None) -> None:
    backend = get_backend("half")
    env = NumbaVecEnv(4, seed=0)
    agent = backend.create(env, {})
    episodes = rollout(agent, "default", 4, seed=1)
    assert np.isfinite(episodes.returns).all()


def test_plugin_is_gone_after_unregistering(half_plugin: None) -> None:
    assert "half" in agent_backends()
    pm.unregister(name="half-plugin")
    try:
        assert "half" not in agent_backends()
    finally:
        pm.register(HalfPlugin(), name="half-plugin")


def test_unknown_agent_lists_the_installed_ones_and_suggests() -> None:
    with pytest.raises(ParameterError) as error:
        get_backend("glide-paht")
    assert error.value.name == "agent"
    assert "own-plan" in error.value.rule and "did you mean 'glide-path'" in error.value.rule


def test_two_plugins_with_one_agent_name_is_an_error(half_plugin: None) -> None:
    class Twin:
        @hookimpl
        def register_agents(self, register) -> None:
            register(HalfBackend())

    pm.register(Twin(), name="twin")
    try:
        with pytest.raises(ParameterError, match="registered by both"):
            agent_backends()
    finally:
        pm.unregister(name="twin")


def test_cli_lists_plugins_and_agents(half_plugin: None) -> None:
    runner = CliRunner()
    plugins = json.loads(runner.invoke(cli, ["plugins"]).output)
    names = {row["name"]: row for row in plugins}
    assert names["mcsim.plugins.baseline_agents"]["hooks"] == ["register_agents"]
    assert names["mcsim.plugins.baseline_agents"]["distribution"] == "mcsim"
    assert set(names["half-plugin"]["hooks"]) == {"register_agents", "register_commands"}
    result = runner.invoke(cli, ["agents"])
    assert result.exit_code == 0
    assert "half" in result.output and "own-plan" in result.output
    rows = json.loads(runner.invoke(cli, ["agents", "--json"]).output)
    assert {"name": "half", "kind": "rule", "trainable": False, "description": "half of everything",
            "algorithms": [], "networks": [], "devices": [], "hyperparameters": []} in rows


def test_agents_call_dp_the_optimum_as_the_readme_does() -> None:
    runner = CliRunner()
    kinds = {row["name"]: row["kind"] for row in json.loads(runner.invoke(cli, ["agents", "--json"]).output)}
    assert kinds["dp"] == "optimum" and kinds["sb3"] == "learns" and kinds["own-plan"] == "rule"
    lines = {line.split()[0]: line.split()[1] for line in runner.invoke(cli, ["agents"]).output.splitlines()}
    assert lines["dp"] == "optimum" and lines["glide-path"] == "rule"


def test_baseline_agents_act_like_their_policies() -> None:
    from mcsim.env.policies import GlidePath

    env = NumbaVecEnv(3, "default", seed=2)
    obs = env.reset()
    agent = get_backend("glide-path").create(env, {"savings_rate": 0.2})
    np.testing.assert_array_equal(agent.predict(obs), GlidePath(0.2).act(obs, env))
