"""Training and judging agents: the shared trainer, run directories, evaluation against baselines, reports.

``trainer`` trains any registered backend on a vectorized env into a run directory and loads it back,
``rundirs`` reads and checks run directories (and finds the run to resume), ``runio`` writes files
atomically, ``evaluation`` scores strategies on common random paths, ``reports`` assembles what
``evaluate``, ``predict`` and ``optimum`` show, ``export`` exports a run.

Layering: imports the plugin seam, the optimum, the environment and the core; never the CLI.
"""

from .trainer import TrainConfig, Trainer, load_agent

__all__ = ["TrainConfig", "Trainer", "load_agent"]
