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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ..env.vec_env import NumbaVecEnv
from .manager import load_plugins, pm

MLP_ACTIVATIONS = ("tanh", "relu")
MLP_OUTPUTS = ("clip", "tanh")


@dataclass(frozen=True)
class MlpActor:
    """A deterministic actor given by its weights alone: how exporters rebuild a policy without its framework.

    ``x = obs``; for every layer but the last ``x = activation(x @ weights[i].T + biases[i])``; the
    last layer is linear, giving ``u`` in [-1, 1] units; the final action in [0, 1] is
    ``(clip(u, -1, 1) + 1) / 2`` for ``output="clip"`` (a clipped Gaussian's mean) or
    ``(tanh(u) + 1) / 2`` for ``output="tanh"`` (a squashed one). ``weights[i]`` is float32[out, in]
    (the layout of torch's and MLX's ``Linear``), ``biases[i]`` float32[out]; the first layer reads
    the raw observation (no normalization), the last writes 2 actions.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activation: str = "tanh"
    output: str = "clip"

    def __post_init__(self) -> None:
        if self.activation not in MLP_ACTIVATIONS or self.output not in MLP_OUTPUTS:
            raise ValueError(f"activation must be one of {MLP_ACTIVATIONS} and output one of {MLP_OUTPUTS}")
        if not self.weights or len(self.weights) != len(self.biases):
            raise ValueError("an MlpActor needs as many bias vectors as weight matrices, at least one")
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            inputs = self.weights[i - 1].shape[0] if i else weight.shape[1]
            if weight.ndim != 2 or weight.shape[1] != inputs or bias.shape != (weight.shape[0],):
                raise ValueError(f"layer {i}: weight {weight.shape} and bias {bias.shape} do not chain")
        if self.weights[-1].shape[0] != 2:
            raise ValueError(f"the last layer must write 2 actions (it writes {self.weights[-1].shape[0]})")

    @property
    def observation_size(self) -> int:
        """The observations the first layer reads."""
        return int(self.weights[0].shape[1])

    def forward(self, obs: np.ndarray) -> np.ndarray:
        """The final actions in [0, 1] for float32[B, n] observations, in NumPy (float32): the exports' reference."""
        x = np.asarray(obs, dtype=np.float32)
        act = np.tanh if self.activation == "tanh" else (lambda v: np.maximum(v, np.float32(0.0)))
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ weight.T + bias
            if i < len(self.weights) - 1:
                x = act(x)
        unit = np.clip(x, -1.0, 1.0) if self.output == "clip" else np.tanh(x)
        return ((unit + 1.0) * 0.5).astype(np.float32)


HYPERPARAMETER_KINDS = ("float", "int", "choice")


@dataclass(frozen=True)
class Hyperparameter:
    """A learner setting that ``train --param`` and ``mcsim sweep --param`` may set: name, type and range.

    ``kind`` is ``float`` or ``int`` (within [low, high]; ``log``: searched on a log scale, as
    learning rates are) or ``choice`` (one of ``choices``). ``algorithms`` lists the algorithms it
    applies to (empty: all of the backend's). A backend declares its own in
    :attr:`AgentBackend.hyperparameters`; its learner finds the chosen values in
    ``settings["hyperparameters"]``.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    log: bool = False
    algorithms: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in HYPERPARAMETER_KINDS:
            raise ValueError(f"hyperparameter {self.name}: kind must be one of {HYPERPARAMETER_KINDS}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"hyperparameter {self.name}: a choice needs choices")
        if self.kind != "choice" and (self.low is None or self.high is None or self.low > self.high):
            raise ValueError(f"hyperparameter {self.name}: a number needs low <= high")

    @property
    def range_text(self) -> str:
        """The allowed values as text: ``[1e-06, 0.01]`` or ``one of 5, 10, 20``."""
        if self.kind == "choice":
            return "one of " + ", ".join(str(c) for c in self.choices)
        return f"{self.kind} in [{self.low:g}, {self.high:g}]"

    def value(self, raw: Any) -> Any:
        """``raw`` (a number, or text from the command line) as this setting's value; a ParameterError if it is not one."""
        where = f"--param {self.name}"
        if self.kind == "choice":
            for choice in self.choices:
                if raw == choice or str(raw) == str(choice):
                    return choice
            raise ParameterError(where, f"must be {self.range_text} (got {raw!r})")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ParameterError(where, f"must be a {self.kind} number (got {raw!r})") from None
        if isinstance(raw, bool) or not np.isfinite(number) or (self.kind == "int" and number != int(number)):
            raise ParameterError(where, f"must be a {self.kind} number (got {raw!r})")
        assert self.low is not None and self.high is not None
        if not self.low <= number <= self.high:
            raise ParameterError(where, f"must be {self.range_text} (got {raw!r})")
        return int(number) if self.kind == "int" else number


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

        None for agents without one (rules, the example's random search, agents of other frameworks).
        """
        return None

    def mlp_actor(self) -> MlpActor | None:
        """The deterministic actor as MLP weights (:class:`MlpActor`), for exporters: any framework's MLP policy.

        Exporters prefer it to :meth:`actor` and need no torch for it. None for agents without one.
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

    def details(self) -> dict[str, str]:
        """What the trainer's banner shows about the learner: ``{"device": ..., "threads": ...}`` or more rows.

        ``threads`` replaces the banner's "torch threads N" beside the Numba threads (say, for a
        backend of another framework); every other entry is a row of its own.
        """
        return {}


class AgentBackend:
    """Makes agents of one kind: ``name`` is what ``--agent`` selects.

    Rule-based backends implement :meth:`create`; learning ones set ``trainable`` and implement
    :meth:`learner` and :meth:`load`. :attr:`kind` says which it is, as `mcsim agents` lists it.
    """

    name: str = ""
    description: str = ""
    trainable: bool = False
    algorithms: tuple[str, ...] = ()
    """What ``train --algo`` may name for this backend, the default (``ppo``) among them; empty: it takes no algorithm."""
    networks: tuple[str, ...] = ()
    """What ``train --network`` may name (presets such as ``standard`` or ``solid``); empty: it takes none."""
    devices: tuple[str, ...] = ()
    """What ``train --device`` may name (``auto`` among them); empty: it takes none."""
    distributions: tuple[str, ...] = ()
    """Distributions whose versions a run's manifest records (the backend's own and its framework)."""
    hyperparameters: tuple[Hyperparameter, ...] = ()
    """The learner settings that ``train --param`` and ``mcsim sweep`` may set, with their ranges; empty: none."""

    def tunable(self, algo: str | None = None) -> dict[str, Hyperparameter]:
        """The hyperparameters that apply to ``algo`` (all of them without one), by name."""
        return {h.name: h for h in self.hyperparameters if algo is None or not h.algorithms or algo in h.algorithms}

    def hyperparameter(self, name: str, algo: str | None = None) -> Hyperparameter:
        """The hyperparameter called ``name`` for ``algo``; an unknown one is one line naming the known ones."""
        known = self.tunable(algo)
        if name in known:
            return known[name]
        which = f"'{self.name}'" + (f" ({algo})" if algo else "")
        hint = difflib.get_close_matches(name, list(known), n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        listed = ", ".join(sorted(known)) or "none"
        raise ParameterError(f"--param {name}", f"agent {which} has no such setting (it has: {listed}){suggestion}")

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

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Refuse an ``algo``, ``network`` or ``device`` outside what this backend declares, in one line.

        A backend that declares none of a kind (an empty tuple) accepts any value of it and may ignore it.
        """
        for key, allowed in (("algo", self.algorithms), ("network", self.networks), ("device", self.devices)):
            value = settings.get(key)
            if allowed and value is not None and value not in allowed:
                raise ParameterError(key, f"agent '{self.name}' offers {', '.join(allowed)} (got {value!r})")
        for name, value in (settings.get("hyperparameters") or {}).items():
            self.hyperparameter(name, settings.get("algo")).value(value)

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
