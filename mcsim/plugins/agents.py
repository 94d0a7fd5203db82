"""The agent interface and the registry of agent backends that plugins fill.

An :class:`AgentBackend` (registered through the ``register_agents`` hook) makes :class:`Agent`
objects: a learning backend trains one on a vectorized environment, a rule-based one builds it
directly. Every agent acts on a batch of observations, so a learned policy, the classic baselines
and (later) the optimum are evaluated the same way, on the same paths.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ..env.vec_env import NumbaVecEnv
from .manager import load_plugins, pm


class Agent(ABC):
    """A strategy: actions float32[B, 2] (savings rate, equity share) for observations float32[B, 11]."""

    @abstractmethod
    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of observations."""

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """Actions in ``env`` (the :class:`~mcsim.env.policies.Policy` protocol); rule-based agents may read the env."""
        return self.predict(obs, deterministic=True)

    def actor(self) -> Any | None:
        """The deterministic actor, for exporters: a torch module from raw observations to final actions.

        None for agents without one (rules, the example's random search).
        """
        return None


class Learner(ABC):
    """A learning backend's training state: the current agent, and how to learn, save and restore it."""

    @property
    @abstractmethod
    def agent(self) -> Agent:
        """The policy as it stands now."""

    @property
    @abstractmethod
    def timesteps(self) -> int:
        """Environment steps learned from so far (restored ones included)."""

    @abstractmethod
    def learn(self, timesteps: int, on_progress: Callable[[int, int, list[float]], bool]) -> None:
        """Learn for up to ``timesteps`` more steps.

        ``on_progress(timesteps, episodes_finished, returns_of_finished_episodes)`` is called after
        each batch of steps; learning stops early when it returns False.
        """

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the weights and a JSON description into ``directory`` (nothing pickled)."""

    @abstractmethod
    def restore(self, directory: Path) -> None:
        """Continue from what :meth:`save` wrote (weights and optimizer state)."""


class AgentBackend:
    """Makes agents of one kind: ``name`` is what ``--agent`` selects.

    Rule-based backends implement :meth:`create`; learning ones set ``trainable`` and implement
    :meth:`learner` and :meth:`load`. :attr:`kind` says which it is, as `mcsim agents` lists it.
    """

    name: str = ""
    description: str = ""
    trainable: bool = False

    @property
    def kind(self) -> str:
        """``"learns"`` (trainable), ``"rule"`` (built directly) or ``"optimum"`` (the yardstick, built by solving)."""
        return "learns" if self.trainable else "rule"

    def create(self, env: NumbaVecEnv, config: dict[str, Any]) -> Agent:
        """A rule-based agent for ``env``."""
        raise ParameterError("agent", f"'{self.name}' learns: train it with `mcsim train --agent {self.name}`")

    def learner(self, env: Any, settings: dict[str, Any], log_dir: Path) -> Learner:
        """A learner of this backend on the vectorized ``env`` (``settings``: algo, network, device, seed...)."""
        raise ParameterError("agent", f"'{self.name}' is rule-based: it needs no training")

    def load(self, directory: Path) -> Agent:
        """The agent that a learner saved into ``directory``; loading never unpickles."""
        raise ParameterError("agent", f"'{self.name}' saves no weights")


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
