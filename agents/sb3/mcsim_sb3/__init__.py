"""mcsim-sb3: stable-baselines3 agents for mcsim, registered through the ``mcsim`` entry points."""

__version__ = "0.1.0"
