"""mcsim: Monte Carlo simulation of retirement savings, and a toolkit to learn how to save.

The public API: :func:`load_profile` and :func:`simulate` (a plan over Monte Carlo paths),
``mcsim.optimize.minimum_saving`` (the classic optimizer), the learning environment
``mcsim.env.RetirementEnv`` (registered as ``mcsim/Retirement-v0``) and its batched twin
``mcsim.vec_env.NumbaVecEnv``. The kernels live in ``mcsim._kernels`` and ``mcsim._env_kernels``.
"""

from gymnasium.envs.registration import register as _register_env

from .errors import McsimError, ParameterError, ProfileError
from .hookspecs import hookimpl
from .profile import Profile, embedded_profile_names, load_profile
from .simulation import SimulationResult, simulate

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
