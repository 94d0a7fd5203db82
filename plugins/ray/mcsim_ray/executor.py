"""The ``ray`` executor: each block a Ray task, a bounded number in flight, results in the blocks' order."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from mcsim.plugins.executors import Executor

from .cluster import cluster


def _call(fn: Callable[[Any, Any], Any], shared: Any, block: Any) -> Any:
    return fn(shared, block)


class RayExecutor(Executor):
    """Blocks as Ray tasks (one core each) on a local cluster or the one at ``address``.

    ``shared`` goes to the object store once; at most two tasks per core are in flight, so the blocks
    are read (and the results written) as the cluster goes, and memory stays flat.
    """

    name = "ray"
    description = "Ray tasks: a local cluster, or --address"

    def map_blocks(self, fn: Callable[[Any, Any], Any], blocks: Iterable[Any], *, shared: Any = None,
                   address: str | None = None, workdir: Path | None = None) -> Iterator[Any]:
        """``fn(shared, block)`` for each block on Ray workers, yielded in order."""
        with cluster(address, workdir) as ray:
            task = ray.remote(num_cpus=1, max_retries=0)(_call)
            shared_ref = ray.put(shared)
            window = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
            pending: deque[Any] = deque()
            try:
                for block in blocks:
                    pending.append(task.remote(fn, shared_ref, block))
                    if len(pending) >= window:
                        yield _result(ray, pending.popleft())
                while pending:
                    yield _result(ray, pending.popleft())
            finally:
                for ref in pending:
                    ray.cancel(ref, force=True)


def _result(ray: Any, ref: Any) -> Any:
    """A task's result; a task that failed with mcsim's one-line error raises that error, not Ray's traceback."""
    from mcsim.core.errors import McsimError

    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, McsimError):
            raise cause from None
        raise
