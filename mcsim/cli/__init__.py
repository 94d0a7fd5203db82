"""The ``mcsim`` command line: click commands (``main``), terminal rendering (``render``), charts (``plot``).

Layering: the top layer; it may import every other one, and nothing imports it.
"""

from .main import cli, main

__all__ = ["cli", "main"]
