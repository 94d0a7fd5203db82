"""The plugin seam: hooks, the plugin manager, the agent and exporter interfaces with their registries.

``hookspecs`` declares the hooks (pluggy project ``mcsim``, entry-point group ``mcsim``), ``manager``
loads built-in and installed plugins, ``agents`` is the interface an agent backend implements and the
registry that ``--agent`` reads, ``exporters`` the same for exported policies. ``baseline_agents`` and
``dp_agent`` are the built-in plugins (the classic rules, the optimum), registered like any other.

Layering: imports the optimum, the environment and the core; never a plugin distribution.
"""

from .hookspecs import hookimpl, hookspec
from .manager import load_plugins, plugin_list, pm

__all__ = ["hookimpl", "hookspec", "load_plugins", "plugin_list", "pm"]
