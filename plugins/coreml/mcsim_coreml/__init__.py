"""mcsim-coreml: export trained policies as Core ML ML programs (.mlpackage)."""

__version__ = "0.1.0"
