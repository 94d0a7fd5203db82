"""Export a run directory's agent with a registered exporter (the ``export-*`` commands' shared path)."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import ParameterError
from ..plugins.exporters import get_exporter
from .trainer import load_agent


def export_run(run: str | Path, output: str | Path | None, name: str, distribution: str) -> Path:
    """Export the agent of run directory ``run`` with exporter ``name`` (to ``RUN/policy<suffix>`` by default).

    Checks the run first, then the output path (its suffix, its folder), then exports; every problem
    is a ParameterError naming the run or ``--output``.
    """
    agent, manifest = load_agent(run)
    exporter = get_exporter(name, f"pip install {distribution}")
    path = Path(output) if output else Path(run) / f"policy{exporter.suffix}"
    if path.suffix != exporter.suffix:
        raise ParameterError("--output", f"the {name} export must end in {exporter.suffix} (got '{path}')")
    if not path.parent.is_dir():
        raise ParameterError("--output", f"folder '{path.parent}' does not exist")
    return exporter.export(agent, manifest, path)
