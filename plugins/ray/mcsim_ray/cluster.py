"""The Ray cluster a command runs on: a local one started and stopped with it, or one at an address.

A local cluster listens on 127.0.0.1 only, sends no usage statistics, starts no dashboard, sizes its
object store for the machine (a tenth of the memory, 80 MB to 2 GB; ``MCSIM_RAY_OBJECT_STORE_MB``
overrides it) and keeps its temporary files in a folder beside the command's output (or in the
system's temporary folder when that path is too long for Ray's sockets), removed afterwards. Its
workers run Numba on one thread each: Ray gives each task one core. ``address`` (or ``RAY_ADDRESS``)
joins a running cluster instead; a cluster already started in this process (tests) is used as it is.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcsim.core.errors import ParameterError

MAX_TEMP_PATH = 22
"""Ray's unix sockets live under its temporary folder (``<folder>/session_<date>_<pid>/sockets/plasma_store``,
64 bytes more with our folder's 20), and a socket path is limited to 107 bytes."""
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def quiet() -> None:
    """No usage statistics, no telemetry prompts, fewer log lines (before ray starts)."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")


def object_store_bytes() -> int:
    """The local object store's size: ``MCSIM_RAY_OBJECT_STORE_MB``, else a tenth of the memory within 80 MB and 2 GB."""
    override = os.environ.get("MCSIM_RAY_OBJECT_STORE_MB")
    if override:
        return int(float(override) * 2**20)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 8 * 2**30
    return int(min(2 * 2**30, max(80 * 2**20, total // 10)))


def temp_folder(workdir: Path | None) -> str:
    """A fresh folder for a local cluster's files: under ``workdir`` when its path is short enough, else the system's."""
    base = None
    if workdir is not None:
        resolved = Path(workdir).resolve()
        if len(str(resolved)) <= MAX_TEMP_PATH:
            base = str(resolved)
    return tempfile.mkdtemp(prefix=".mcsim-ray-" if base else "mcsim-ray-", dir=base)


def reachable(address: str, timeout: float = 5.0) -> None:
    """A ParameterError unless ``address`` (``host:port`` or ``ray://host:port``) accepts a connection.

    Ray itself retries an unreachable head for minutes; this says so in one line at once.
    """
    import socket

    if address == "auto":
        return
    where = address.removeprefix("ray://")
    host, _, port = where.rpartition(":")
    if not host or not port.isdigit():
        raise ParameterError("--address", f"write host:port or ray://host:port (got {address!r})")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise ParameterError("--address", f"no Ray cluster answers at {address} ({error.strerror or error})") from None


@contextmanager
def cluster(address: str | None = None, workdir: Path | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray, initialized for the ``with`` block: a local cluster (stopped after) or the one at ``address``."""
    quiet()
    import ray

    if ray.is_initialized():
        yield ray
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    folder = None
    try:
        if address:
            reachable(address)
            try:
                ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False,
                         runtime_env={"env_vars": WORKER_ENV})
            except (ConnectionError, ValueError, RuntimeError) as error:
                raise ParameterError("--address", f"cannot join the Ray cluster at {address} ({error})") from None
        else:
            folder = temp_folder(workdir)
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                     object_store_memory=object_store_bytes(), _temp_dir=folder, _node_ip_address="127.0.0.1",
                     logging_level=logging.ERROR, log_to_driver=False, runtime_env={"env_vars": WORKER_ENV})
        yield ray
    finally:
        if ray.is_initialized():
            ray.shutdown()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
