"""Progress of long computations, reported through a plain callback that the command line renders.

Every layer takes an optional :class:`OnProgress` and calls it with what it is doing and how far it
is; the layers never render anything themselves (``mcsim.cli.progress`` does, on standard error).
"""

from __future__ import annotations

from typing import Any, Protocol

COMPILING = "compiling kernels (first use)"
"""What a phase is called while its Numba kernels compile (the first run after an install or an edit)."""


class OnProgress(Protocol):
    """Told what is being done and how far: ``done`` of ``total`` ``unit`` (a ``total`` of 0: unknown).

    ``detail`` carries live figures (say, steps per second) that do not start a new phase.
    """

    def __call__(self, what: str, done: int = 0, total: int = 0, *, unit: str = "", detail: str = "") -> None:
        """Report the current phase."""
        ...


def silent(what: str, done: int = 0, total: int = 0, *, unit: str = "", detail: str = "") -> None:
    """Report nothing (the default of the library's functions)."""


def will_compile(*kernels: Any) -> bool:
    """Whether calling any of ``kernels`` (Numba dispatchers) compiles it: no code in memory nor on disk.

    Reads Numba's on-disk cache index, which is not a public API: when it cannot be read, the answer is
    that the kernel compiles (the phase is then labelled compiling, at worst needlessly).
    """
    return any(not kernel.signatures and not _cached_on_disk(kernel) for kernel in kernels)


def _cached_on_disk(kernel: Any) -> bool:
    try:
        index = kernel._cache._cache_file._load_index()
        magic = kernel.targetctx.codegen().magic_tuple()
    except (AttributeError, OSError, EOFError, ValueError):
        return False
    return any(key[1] == magic for key in index)


def phase(what: str, *kernels: Any) -> str:
    """``what``, or :data:`COMPILING` when its first call of ``kernels`` compiles them."""
    return COMPILING if will_compile(*kernels) else what
