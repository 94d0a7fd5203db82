"""Hooks of mcsim-onnx: the exporter and the ``export-onnx`` command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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

        \\b
        Example:
          mcsim export-onnx runs/sb3-ppo-seed0 -o policy.onnx
        """
        from mcsim.errors import ParameterError
        from mcsim.exporters import get_exporter
        from mcsim.training import load_agent

        agent, manifest = load_agent(run)
        path = Path(output) if output else Path(run) / "policy.onnx"
        if path.suffix != ".onnx":
            raise ParameterError("--output", f"the file must end in .onnx (got '{path}')")
        if not path.parent.is_dir():
            raise ParameterError("--output", f"folder '{path.parent}' does not exist")
        get_exporter("onnx", "pip install mcsim-onnx").export(agent, manifest, path)
        click.echo(f"ONNX model written to {path}")
