"""Hooks of mcsim-onnx: the exporter and the ``export-onnx`` command."""

from __future__ import annotations

from collections.abc import Callable

import click

from mcsim import hookimpl


@hookimpl
def register_exporters(register: Callable[[str, object], None]) -> None:
    """Register the ONNX exporter."""
    from .exporter import OnnxExporter

    register("onnx", OnnxExporter())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``mcsim export-onnx``."""

    @cli.command(name="export-onnx", context_settings={"help_option_names": ["-h", "--help"]})
    @click.argument("run")
    @click.option("-o", "--output", default=None, help="Output file (default RUN/policy.onnx).")
    def export_onnx(run: str, output: str | None) -> None:
        """Export a trained policy to ONNX (the deterministic actor, observation to final action).

        \b
        Example:
          mcsim export-onnx runs/sb3-ppo-seed0 -o policy.onnx
        """
        from mcsim.training.export import export_run

        path = export_run(run, output, "onnx", "mcsim-onnx")
        click.echo(f"ONNX model written to {path}")
