"""Hooks of mcsim-ray: the ``ray`` executor and the ``sweep`` command (ray is imported only when used)."""

from __future__ import annotations

from collections.abc import Callable

import click

from mcsim import hookimpl


@hookimpl
def register_executors(register: Callable[[str, object], None]) -> None:
    """Register the Ray executor (``--ray``)."""
    from .executor import RayExecutor

    register("ray", RayExecutor())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``mcsim sweep``."""
    from .command import sweep

    cli.add_command(sweep)
