"""The plugin module named by the entry point: registers the sb3 backend like any third-party plugin."""

from __future__ import annotations

from collections.abc import Callable

from mcsim import hookimpl
from mcsim.plugins.agents import AgentBackend


@hookimpl
def register_agents(register: Callable[[AgentBackend], None]) -> None:
    """Register the stable-baselines3 backend as ``sb3``."""
    from .backend import Sb3Backend

    register(Sb3Backend())
