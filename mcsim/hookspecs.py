"""Compatibility path of the hook specifications: they live in :mod:`mcsim.plugins.hookspecs`."""

from .plugins.hookspecs import hookimpl, hookspec, register_agents, register_commands, register_exporters

__all__ = ["hookimpl", "hookspec", "register_agents", "register_commands", "register_exporters"]
