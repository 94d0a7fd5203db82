"""mcsim: Monte Carlo simulation of retirement savings, and a toolkit to learn how to save.

The public API: :func:`load_profile` and :func:`simulate` (a plan over Monte Carlo paths),
:func:`minimum_saving` (the classic optimizer). The kernels live in ``mcsim._kernels``.
"""

from .errors import McsimError, ParameterError, ProfileError
from .profile import Profile, embedded_profile_names, load_profile
from .simulation import SimulationResult, simulate

__version__ = "0.1.0"

__all__ = [
    "McsimError",
    "ParameterError",
    "Profile",
    "ProfileError",
    "SimulationResult",
    "__version__",
    "embedded_profile_names",
    "load_profile",
    "simulate",
]
