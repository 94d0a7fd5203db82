"""The plugin manager: built-in plugins and those of installed distributions (entry-point group ``mcsim``).

``MCSIM_LOAD_PLUGINS`` limits which installed plugins load: a comma-separated list of entry-point
names, or an empty string for none (the built-in ones always load). Names that match no installed
plugin are reported with a :class:`PluginWarning` (the CLI prints it as one line on stderr).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import warnings
from collections.abc import Iterable
from typing import Any

import pluggy

from . import hookspecs

DEFAULT_PLUGINS = ("mcsim.plugins.baseline_agents", "mcsim.plugins.dp_agent")

pm = pluggy.PluginManager("mcsim")
pm.add_hookspecs(hookspecs)

_loaded = False


class PluginWarning(UserWarning):
    """A plugin setting that does not do what it says (a name in MCSIM_LOAD_PLUGINS that matches nothing)."""


def unmatched_plugin_names(allowed: str, installed: Iterable[str]) -> str | None:
    """The warning for the names in ``allowed`` (MCSIM_LOAD_PLUGINS) that match no installed entry point."""
    names = [name.strip() for name in allowed.split(",") if name.strip()]
    known = set(installed)
    unmatched = [name for name in names if name not in known]
    if not unmatched:
        return None
    verb = "matches" if len(unmatched) == 1 else "match"
    return (f"MCSIM_LOAD_PLUGINS: {', '.join(repr(name) for name in unmatched)} {verb} no installed plugin "
            f"(installed: {', '.join(sorted(known)) or 'none'})")


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
        entry_points = importlib.metadata.entry_points(group="mcsim")
        for entry_point in entry_points:
            if entry_point.name in names and not pm.has_plugin(entry_point.name):
                pm.register(entry_point.load(), name=entry_point.name)
        message = unmatched_plugin_names(allowed, entry_points.names)
        if message is not None:
            warnings.warn(message, PluginWarning, stacklevel=2)
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
