"""mcsim-example: a template plugin with one small agent backend (random search over constant mixes)."""

__version__ = "0.1.0"
