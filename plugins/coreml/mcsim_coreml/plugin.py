"""Hooks of mcsim-coreml: the exporter and the ``export-coreml`` command."""

from __future__ import annotations

from collections.abc import Callable

import click

from mcsim import hookimpl


@hookimpl
def register_exporters(register: Callable[[str, object], None]) -> None:
    """Register the Core ML exporter."""
    from .exporter import CoreMLExporter

    register("coreml", CoreMLExporter())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``mcsim export-coreml``."""

    @cli.command(name="export-coreml", context_settings={"help_option_names": ["-h", "--help"]})
    @click.argument("run")
    @click.option("-o", "--output", default=None, help="Output package (default RUN/policy.mlpackage).")
    def export_coreml(run: str, output: str | None) -> None:
        """Export a trained policy as a Core ML ML program (.mlpackage), float32.

        Converts and saves on Linux; the model predicts on macOS (iOS 16 / macOS 13 and later).

        \b
        Example:
          mcsim export-coreml runs/sb3-ppo-seed0 -o policy.mlpackage
        """
        from mcsim.training.export import export_run

        path = export_run(run, output, "coreml", "mcsim-coreml")
        click.echo(f"Core ML package written to {path}")
