"""Every Numba option of the project, in one place.

Kernels are compiled lazily at first call and cached on disk (``cache=True``), so a warm start
only loads machine code. Numba checks a cached kernel against its own source file only, although
it holds the machine code of every jitted function it calls from other modules: the project's
locators (:func:`_install_package_stamp`) stamp each cache with the sources of every module that
defines kernels, so editing one recompiles its callers elsewhere too.

``error_model="numpy"`` lets a division by zero give inf/nan like NumPy instead of raising, which
keeps the hot loops free of Python exception checks; the kernels floor or guard every quantity
that could go non-finite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from numba import njit
from numba.core import caching

PACKAGE = Path(__file__).resolve().parent.parent
KERNEL_PACKAGES = ("core", "env", "optimum")


@cache
def package_stamp() -> str:
    """A hash of the sources of every module of the package that defines jitted functions."""
    digest = hashlib.sha256()
    for folder in KERNEL_PACKAGES:
        for path in sorted((PACKAGE / folder).glob("*.py")):
            text = path.read_bytes()
            if b"@jit" in text:
                digest.update(path.name.encode() + b"\0" + text)
    return digest.hexdigest()


def _install_package_stamp() -> None:
    """Put, in front of Numba's cache locators, copies that also stamp caches with :func:`package_stamp`.

    They serve only the package's own files; others keep Numba's locators. Numba's locator classes
    are semi-private (renamed in 0.61): when they cannot be found, caching works as Numba's own.
    """
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    mixin = getattr(caching, "_SourceFileBackedLocatorMixin", None)
    if impl is None or mixin is None or getattr(impl, "_mcsim_stamped", False):
        return
    stamped = []
    for base in impl._locator_classes:
        if not issubclass(base, mixin):
            continue

        class Stamped(base):  # type: ignore[misc, valid-type]
            @classmethod
            def from_function(cls, py_func: Any, py_file: str) -> Any:
                if not Path(py_file).resolve().is_relative_to(PACKAGE):
                    return None
                return super().from_function(py_func, py_file)

            def get_source_stamp(self) -> Any:
                return (super().get_source_stamp(), package_stamp())

        Stamped.__name__ = f"PackageStamped{base.__name__}"
        stamped.append(Stamped)
    impl._locator_classes[:0] = stamped
    impl._mcsim_stamped = True


_install_package_stamp()


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
