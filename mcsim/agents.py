"""The agent interface and the registry of agent backends that plugins fill.

An :class:`AgentBackend` (registered through the ``register_agents`` hook) makes :class:`Agent`
objects: a learning backend trains one on a vectorized environment, a rule-based one builds it
directly. Every agent acts on a batch of observations, so a learned policy, the classic baselines
and (later) the optimum are evaluated the same way, on the same paths.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from .errors import ParameterError
from .plugins import load_plugins, pm
from .vec_env import NumbaVecEnv


class Agent(ABC):
    """A strategy: actions float32[B, 2] (savings rate, equity share) for observations float32[B, 11]."""

    @abstractmethod
    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of observations."""

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """Actions in ``env`` (the :class:`~mcsim.policies.Policy` protocol); rule-based agents may read the env."""
        return self.predict(obs, deterministic=True)


class AgentBackend(ABC):
    """Makes agents of one kind: ``name`` is what ``--agent`` selects."""

    name: str = ""
    description: str = ""
    trainable: bool = False

    @abstractmethod
    def create(self, env: NumbaVecEnv, config: dict[str, Any]) -> Agent:
        """An agent for ``env``: trained on it (learning backends) or built from its households (rules)."""


def agent_backends() -> dict[str, AgentBackend]:
    """Every registered backend by name; two plugins registering one name is an error naming both."""
    load_plugins()
    backends: dict[str, AgentBackend] = {}
    owners: dict[str, str] = {}
    for plugin_name, plugin in pm.list_name_plugin():
        if plugin is None or not hasattr(plugin, "register_agents"):
            continue

        def register(backend: AgentBackend, owner: str = plugin_name) -> None:
            if not isinstance(backend, AgentBackend) or not backend.name:
                raise TypeError(f"plugin {owner} registered {backend!r}, not a named AgentBackend")
            if backend.name in backends:
                raise ParameterError("agent", f"'{backend.name}' is registered by both {owners[backend.name]} and {owner}")
            backends[backend.name] = backend
            owners[backend.name] = owner

        plugin.register_agents(register=register)
    return backends


def get_backend(name: str) -> AgentBackend:
    """The backend called ``name``; an unknown name is an error listing the known ones."""
    backends = agent_backends()
    if name in backends:
        return backends[name]
    hint = difflib.get_close_matches(name, list(backends), n=1)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
    raise ParameterError("agent", f"unknown agent '{name}' (installed: {', '.join(sorted(backends))}){suggestion}")
