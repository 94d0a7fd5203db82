"""mcsim-mlx: PPO written on Apple's MLX, registered through the ``mcsim`` entry points."""

__version__ = "0.1.0"
