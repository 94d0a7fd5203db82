"""Built-in plugin: the classic strategies as agents (no training), registered like any plugin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..env.policies import Bisection, ConstantMix, GlidePath, OwnPlan, Policy
from ..env.vec_env import NumbaVecEnv
from .agents import Agent, AgentBackend
from .hookspecs import hookimpl


@dataclass
class PolicyAgent(Agent):
    """An agent that follows a rule-based policy in the env it was created for."""

    policy: Policy
    env: NumbaVecEnv

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """The policy's actions for ``obs``, read in the agent's env."""
        return self.policy.act(np.asarray(obs, dtype=np.float32), self.env)

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """The policy's actions in ``env``."""
        return self.policy.act(obs, env)


class PolicyBackend(AgentBackend):
    """A backend for a rule-based policy built from its configuration."""

    def __init__(self, name: str, description: str, make_policy: Callable[[dict[str, Any]], Policy]) -> None:
        self.name = name
        self.description = description
        self.make_policy = make_policy

    def create(self, env: NumbaVecEnv, config: dict[str, Any]) -> Agent:
        """The rule as an agent in ``env``."""
        return PolicyAgent(self.make_policy(config), env)


BACKENDS = (
    PolicyBackend("own-plan", "the profile's own savings phases and allocation", lambda config: OwnPlan()),
    PolicyBackend(
        "glide-path", "a fixed savings rate (15% of disposable income) with 110 minus age in equities",
        lambda config: GlidePath(**config),
    ),
    PolicyBackend(
        "constant-mix", "a fixed savings rate (15%) and a fixed equity share (60%)", lambda config: ConstantMix(**config)
    ),
    PolicyBackend(
        "bisection", "the classic optimizer's minimum constant saving for 90% success, the household's allocation",
        lambda config: Bisection(**config),
    ),
)


@hookimpl
def register_agents(register: Callable[[AgentBackend], None]) -> None:
    """Register the rule-based baselines."""
    for backend in BACKENDS:
        register(backend)
