"""Built-in plugin: the classic strategies as agents (no training), registered like any plugin.

Over the whole life (``horizon="life"``) a saving baseline spends in retirement by a withdrawal rule
of the core (:class:`~mcsim.env.withdrawal_policies.WithdrawalPolicy`). The rules are not backends
of their own (7 rules x 4 saving baselines would crowd ``mcsim agents``): each saving backend takes
a ``withdrawal`` key in its configuration, a rule's name or a table ``{"rule": ..., parameters}``,
and :func:`life_baselines` enumerates every combination for the whole life's evaluations, named
``SAVING/RULE`` (``glide-path/vpw``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ..env.policies import Bisection, ConstantMix, GlidePath, OwnPlan, Policy
from ..env.vec_env import NumbaVecEnv
from ..env.withdrawal_policies import (  # noqa: F401 (re-exported: the plugin's view of the whole life's baselines)
    WITHDRAWAL_RULES,
    WithdrawalPolicy,
    baseline_name,
    life_baselines,
    split_baseline_name,
    withdrawal_rule,
)
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
        """The rule as an agent in ``env``; with a ``withdrawal`` key, spending by that rule once retired."""
        settings = dict(config)
        withdrawal = settings.pop("withdrawal", None)
        policy = self.make_policy(settings)
        if withdrawal is not None:
            policy = WithdrawalPolicy(policy, *withdrawal_setting(withdrawal))
        return PolicyAgent(policy, env)


def withdrawal_setting(value: Any) -> tuple[str, dict[str, Any]]:
    """A ``withdrawal`` configuration value as (rule, parameters), validated (one-line errors).

    ``value`` is a rule's name or a table with ``rule`` and the rule's parameters.
    """
    if isinstance(value, str):
        rule, parameters = value, {}
    elif isinstance(value, dict) and isinstance(value.get("rule"), str):
        parameters = {key: item for key, item in value.items() if key != "rule"}
        rule = value["rule"]
    else:
        raise ParameterError("withdrawal", f"must be a rule's name ({', '.join(WITHDRAWAL_RULES)}) or a table "
                                           f"with its 'rule' and parameters (got {value!r})")
    withdrawal_rule(rule, parameters)
    return rule, parameters


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
