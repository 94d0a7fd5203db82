"""Every Numba option of the project, in one place.

Kernels are compiled lazily at first call and cached on disk (``cache=True``), so a warm start
only loads machine code. ``error_model="numpy"`` lets a division by zero give inf/nan like NumPy
instead of raising, which keeps the hot loops free of Python exception checks; the kernels floor
or guard every quantity that could go non-finite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit


def jit(fn: Callable[..., Any] | None = None, *, parallel: bool = False, inline: bool = False) -> Any:
    """Compile ``fn`` with the project's Numba options (``@jit``, ``@jit(parallel=True)``, ...).

    ``inline=True`` inlines the function into its callers at Numba's level. Helpers that take
    arrays and run once per month need it: a real call costs reference counting on every array
    argument, which made the monthly accounting three times slower. Helpers over scalars (the
    random draws) are better left to LLVM, which inlines them and keeps their state in registers.
    """
    options = {"cache": True, "error_model": "numpy", "nogil": True, "parallel": parallel}
    if inline:
        options["inline"] = "always"
    if fn is None:
        return njit(**options)
    return njit(**options)(fn)
