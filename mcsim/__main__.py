"""Run the CLI as ``python -m mcsim``."""

from .cli.main import main

main()
