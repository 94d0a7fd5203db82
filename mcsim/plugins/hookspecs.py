"""The hooks a plugin can implement: the plugin author's reference.

A plugin is a module (or object) with functions marked ``@mcsim.hookimpl``, named like the hooks
below; a distribution exposes it under the entry-point group ``mcsim``::

    [project.entry-points.mcsim]
    my_agent = "my_package.plugin"

First-party plugins (the baseline agents, ``mcsim-sb3``) register exactly like third-party ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import pluggy

hookspec = pluggy.HookspecMarker("mcsim")
hookimpl = pluggy.HookimplMarker("mcsim")


@hookspec
def register_agents(register: Callable[[Any], None]) -> None:
    """Register agent backends: call ``register(backend)`` with an ``mcsim.plugins.agents.AgentBackend``.

    A backend turns an environment and a configuration into an agent that acts, saves and loads.
    Names must be unique across plugins; a clash is an error naming both plugins.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``mcsim`` command group (e.g. ``@cli.command() def export_coreml(...)``)."""


@hookspec
def register_exporters(register: Callable[[str, Any], None]) -> None:
    """Register exporters of trained policies: call ``register(name, exporter)``.

    An exporter writes a trained agent's deterministic actor to a file format (ONNX, Core ML).
    """


@hookspec
def register_executors(register: Callable[[str, Any], None]) -> None:
    """Register executors that spread work over processes or machines: call ``register(name, executor)``.

    An executor is an ``mcsim.plugins.executors.Executor``: ``map_blocks(fn, blocks, shared=...)`` calls
    ``fn(shared, block)`` for every block, wherever it runs, and yields the results in the blocks' order.
    ``mcsim predict --batch`` and ``mcsim evaluate`` take one with ``--ray`` (the ``ray`` executor of mcsim-ray).
    """
