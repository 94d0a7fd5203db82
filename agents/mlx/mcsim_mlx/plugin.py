"""The plugin module named by the entry point: registers the MLX backend as ``mlx``."""

from __future__ import annotations

from collections.abc import Callable

from mcsim import hookimpl
from mcsim.plugins.agents import AgentBackend


@hookimpl
def register_agents(register: Callable[[AgentBackend], None]) -> None:
    """Register the MLX backend as ``mlx`` (MLX is imported when it trains or loads, not here)."""
    from .backend import MlxBackend

    register(MlxBackend())
