"""The plugin manager: built-in plugins and those of installed distributions (entry-point group ``mcsim``).

``MCSIM_LOAD_PLUGINS`` limits which installed plugins load: a comma-separated list of entry-point
names, or an empty string for none (the built-in ones always load).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from typing import Any

import pluggy

from . import hookspecs

DEFAULT_PLUGINS = ("mcsim.plugins.baseline_agents", "mcsim.plugins.dp_agent")

pm = pluggy.PluginManager("mcsim")
pm.add_hookspecs(hookspecs)

_loaded = False


def load_plugins() -> None:
    """Register the built-in plugins and the installed ones, once per process."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    allowed = os.environ.get("MCSIM_LOAD_PLUGINS")
    if allowed is None:
        pm.load_setuptools_entrypoints("mcsim")
    else:
        names = {name.strip() for name in allowed.split(",") if name.strip()}
        for entry_point in importlib.metadata.entry_points(group="mcsim"):
            if entry_point.name in names and not pm.has_plugin(entry_point.name):
                pm.register(entry_point.load(), name=entry_point.name)
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        if not pm.is_registered(module):
            pm.register(module, name=module_name)


def plugin_list() -> list[dict[str, Any]]:
    """Each registered plugin: its name, the hooks it implements and its distribution's version."""
    load_plugins()
    distributions = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:
            continue
        row: dict[str, Any] = {"name": name, "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or [])}
        dist = distributions.get(id(plugin))
        if dist is not None:
            row["distribution"], row["version"] = dist.project_name, dist.version
        elif name in DEFAULT_PLUGINS:
            from .. import __version__

            row["distribution"], row["version"] = "mcsim", __version__
        rows.append(row)
    return rows
