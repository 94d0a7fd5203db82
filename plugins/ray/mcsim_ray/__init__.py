"""mcsim-ray: Ray Tune sweeps of trainings (``mcsim sweep``) and the ``ray`` executor (``--ray``)."""

__version__ = "0.1.0"
