"""``mcsim sweep``: see :mod:`mcsim_ray.sweep`."""

from __future__ import annotations

import click


@click.command(name="sweep", context_settings={"help_option_names": ["-h", "--help"]})
def sweep() -> None:
    """Sweep training settings on Ray Tune (not yet)."""
