"""Executors: where blocks of work run (this process, or a cluster), registered through ``register_executors``.

The core hands an executor a picklable function and an iterable of blocks; the executor calls
``fn(shared, block)`` for each block, in this process or on workers, and yields the results in the
order of the blocks, so a command's output is the same whichever executor computed it. ``shared``
(a run's weights, the settings) is sent once per worker, not once per block. The core ships the
in-process executor ``local``; mcsim-ray registers ``ray`` (local cluster, or ``address``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..core.errors import ParameterError
from .manager import load_plugins, pm

LOCAL = "local"
PLUGIN_EXECUTORS = {"ray": "mcsim-ray"}
"""Executors that a plugin provides: without it, asking for one names the distribution to install."""


class Executor:
    """Maps a function over blocks, yielding the results in the blocks' order.

    ``fn`` and ``shared`` must be picklable when the executor runs them elsewhere (a module-level
    function, plain data): the in-process executor never pickles them.
    """

    name: str = ""
    description: str = ""

    def map_blocks(self, fn: Callable[[Any, Any], Any], blocks: Iterable[Any], *, shared: Any = None,
                   address: str | None = None, workdir: Path | None = None) -> Iterator[Any]:
        """``fn(shared, block)`` for each block, in order.

        ``address``: the cluster to use (None: the executor's default); ``workdir``: a folder the
        executor may use for its temporary files (a local cluster's). Blocks are read lazily, a
        bounded number ahead of the results, so memory stays flat however many blocks there are.
        """
        raise NotImplementedError


class LocalExecutor(Executor):
    """Every block in this process, one after another (Numba's kernels still use every core)."""

    name = LOCAL
    description = "this process, block after block"

    def map_blocks(self, fn: Callable[[Any, Any], Any], blocks: Iterable[Any], *, shared: Any = None,
                   address: str | None = None, workdir: Path | None = None) -> Iterator[Any]:
        """``fn(shared, block)`` for each block here; ``address`` must be None."""
        if address is not None:
            raise ParameterError("address", "the local executor runs in this process: an address needs --ray")
        for block in blocks:
            yield fn(shared, block)


def executors() -> dict[str, Executor]:
    """Every executor by name: ``local`` and those that plugins register (a name registered twice is an error)."""
    load_plugins()
    found: dict[str, Executor] = {LOCAL: LocalExecutor()}

    def register(name: str, executor: Executor) -> None:
        if name in found:
            raise ParameterError("executor", f"'{name}' is registered twice")
        if not isinstance(executor, Executor):
            raise TypeError(f"executor {name!r} is {executor!r}, not an mcsim.plugins.executors.Executor")
        found[name] = executor

    pm.hook.register_executors(register=register)
    return found


def get_executor(name: str) -> Executor:
    """The executor called ``name``; a plugin's that is not installed says which distribution to install."""
    found = executors()
    if name in found:
        return found[name]
    if name in PLUGIN_EXECUTORS:
        distribution = PLUGIN_EXECUTORS[name]
        raise ParameterError(f"--{name}", f"comes with the {distribution} plugin: pip install {distribution}")
    raise ParameterError("executor", f"unknown executor '{name}' (installed: {', '.join(sorted(found))})")
