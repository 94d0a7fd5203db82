"""Run the CLI as ``python -m mcsim``."""

from .cli import main

main()
