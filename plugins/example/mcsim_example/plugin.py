"""The module the entry point names: one ``@hookimpl`` per hook the plugin implements."""

from __future__ import annotations

from collections.abc import Callable

from mcsim import hookimpl
from mcsim.plugins.agents import AgentBackend

from .agent import RandomSearchBackend


@hookimpl
def register_agents(register: Callable[[AgentBackend], None]) -> None:
    """Register the random-search agent as ``example``."""
    register(RandomSearchBackend())
