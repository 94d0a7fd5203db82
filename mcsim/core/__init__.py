"""The core: profiles, markets and the Monte Carlo simulation of a plan, with no learning in sight.

``profile`` validates a household at the edge, ``arrays`` and ``market`` compile it into flat
arrays, ``rng`` and ``kernels`` are the Numba Monte Carlo (one random stream per path),
``simulation`` and ``optimize`` are the Python API over them, ``stats`` summarizes outcomes;
``errors``, ``checks``, ``jit``, ``threads`` (the thread count a repeated parallel call adapts to
load) and ``progress`` (the callback through which long computations report, rendered by the
command line) are shared by every layer above.

Layering: the core imports no other layer of mcsim, nor gymnasium, torch or any plugin distribution
(checked by import-linter, see ``[tool.importlinter]`` in pyproject.toml).
"""
