"""The ``mcsim`` command line: click commands (``main``), rendering (``render``, ``plot``, ``progress``).

``progress`` shows what a long command is doing, on standard error.

Layering: the top layer; it may import every other one, and nothing imports it.
"""

from .main import cli, main

__all__ = ["cli", "main"]
