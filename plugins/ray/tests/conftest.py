"""One local Ray cluster for the whole test session (it takes seconds to start), and the plugin registered."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

ray = pytest.importorskip("ray")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[object]:
    """Two CPUs on 127.0.0.1, a small object store, no dashboard; commands see it started and leave it running."""
    from mcsim_ray.cluster import WORKER_ENV, quiet

    quiet()
    folder = tempfile.mkdtemp(prefix="mcsim-ray-test-")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20, _temp_dir=folder,
             _node_ip_address="127.0.0.1", log_to_driver=False, logging_level="ERROR",
             runtime_env={"env_vars": WORKER_ENV})
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_plugin() -> Iterator[None]:
    """mcsim-ray's hooks registered in mcsim's plugin manager (the test session loads only the listed plugins)."""
    from mcsim_ray import plugin
    from mcsim_ray.command import sweep

    from mcsim.cli.main import cli
    from mcsim.plugins import load_plugins, pm

    load_plugins()
    registered = pm.is_registered(plugin)
    if not registered:
        pm.register(plugin, name="ray")
    previous = cli.commands.get("sweep")
    cli.add_command(sweep)  # the command line was built before the plugin was registered
    try:
        yield
    finally:
        if previous is not None:
            cli.add_command(previous)
        if not registered:
            pm.unregister(plugin)
