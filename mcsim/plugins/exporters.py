"""Exporters of trained policies (ONNX, Core ML, ...), registered by plugins through ``register_exporters``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import ParameterError
from ..env.environment import observation_names
from .agents import Agent, MlpActor
from .manager import load_plugins, pm


class Exporter:
    """Writes an agent's deterministic actor to a file; ``runtime`` loads such a file back as an agent."""

    name: str = ""
    suffix: str = ""
    install_hint: str = ""

    def export(self, agent: Agent, manifest: dict[str, Any], path: Path) -> Path:
        """Write ``agent``'s actor to ``path``."""
        raise NotImplementedError

    def runtime(self, path: Path) -> Agent:
        """An agent that acts with the exported file alone (no torch), if this format has a runtime here."""
        raise ParameterError("runtime", f"the {self.name} export has no runtime on this platform")


def exporters() -> dict[str, Exporter]:
    """Every registered exporter by name."""
    load_plugins()
    found: dict[str, Exporter] = {}

    def register(name: str, exporter: Exporter) -> None:
        if name in found:
            raise ParameterError("exporter", f"'{name}' is registered twice")
        found[name] = exporter

    pm.hook.register_exporters(register=register)
    return found


def get_exporter(name: str, install_hint: str) -> Exporter:
    """The exporter called ``name``, or an error saying which distribution to install."""
    found = exporters()
    if not name.strip():
        raise ParameterError("exporter", f"no exporter named (installed: {', '.join(sorted(found)) or 'none'})")
    if name not in found:
        raise ParameterError(name, f"no {name} exporter is installed: {install_hint}")
    return found[name]


def observation_layout(manifest: dict[str, Any]) -> tuple[str, ...]:
    """The features a run's policy reads, in order: its horizon's (11 to retirement, 18 over the whole life)."""
    return observation_names(str(manifest.get("env", {}).get("horizon", "retirement")))


def actor_of(agent: Agent, run: str | Path) -> Any:
    """The agent's torch actor, or an error: rule-based and framework-free agents have none to export."""
    actor = agent.actor()
    if actor is None:
        raise ParameterError("run", f"the agent of {run} has no torch actor to export ({type(agent).__name__})")
    return actor


def export_source(agent: Agent, run: str | Path) -> MlpActor | Any:
    """What an exporter converts: the agent's :class:`MlpActor` when it has one, else its torch actor.

    The weights serve any framework (the mlx backend's); an agent with neither (rules, the example's
    random search) is one ParameterError.
    """
    weights = agent.mlp_actor()
    if weights is not None:
        return weights
    actor = agent.actor()
    if actor is None:
        raise ParameterError("run", f"the agent of {run} has no actor to export: neither MLP weights nor a torch "
                                    f"actor ({type(agent).__name__})")
    return actor
