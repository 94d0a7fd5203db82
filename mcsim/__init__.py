"""mcsim: Monte Carlo simulation of retirement savings, and a toolkit to learn how to save.

The public API: :func:`load_profile` and :func:`simulate` (a plan over Monte Carlo paths),
``mcsim.core.optimize.minimum_saving`` (the classic optimizer), the learning environment
``mcsim.env.RetirementEnv`` (registered as ``mcsim/Retirement-v0``) and its batched twin
``mcsim.env.NumbaVecEnv``, the optimum ``mcsim.optimum``, the plugin seam ``mcsim.plugins``.

The package is layered, each layer importing only those below it (checked by import-linter):
``cli`` > ``training`` > ``plugins`` > ``optimum`` > ``env`` > ``core``. ``mcsim.hookspecs``,
``mcsim.agents`` and ``mcsim.vec_env`` are kept as compatibility paths of what moved.
"""

from gymnasium.envs.registration import register as _register_env

from .core.errors import McsimError, ParameterError, ProfileError
from .core.profile import Profile, embedded_profile_names, load_profile
from .core.simulation import SimulationResult, simulate
from .plugins.hookspecs import hookimpl

__version__ = "0.1.0"

_register_env(id="mcsim/Retirement-v0", entry_point="mcsim.env:RetirementEnv")

__all__ = [
    "McsimError",
    "ParameterError",
    "Profile",
    "ProfileError",
    "SimulationResult",
    "__version__",
    "embedded_profile_names",
    "hookimpl",
    "load_profile",
    "simulate",
]
