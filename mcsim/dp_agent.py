"""Built-in plugin: the optimum (dynamic programming, :mod:`mcsim.optimum`) as the agent ``dp``.

The optimum is household-specific: it solves each household of the env's pool the first time it
acts there (a few seconds each), for the env's own objective, and then reads its policy tables at
the env's decision step and wealth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np

from .agents import Agent, AgentBackend
from .baseline_agents import PolicyAgent
from .env import EnvConfig
from .errors import ParameterError
from .hookspecs import hookimpl
from .household import HouseholdPool
from .optimum import OptimalPolicy, SolverGrid, solve_household
from .vec_env import NumbaVecEnv


class Optimum:
    """The optimal policy of every household it meets (a :class:`~mcsim.policies.Policy`).

    Solutions are kept per pool, household and objective; ``solver`` sets the grids.
    """

    def __init__(self, solver: SolverGrid | None = None) -> None:
        self.solver = solver or SolverGrid()
        self._solutions: dict[tuple[int, int, tuple], tuple[HouseholdPool, OptimalPolicy]] = {}

    def solution(self, pool: HouseholdPool, h: int, config: EnvConfig) -> OptimalPolicy:
        """Household ``h``'s optimal policy under ``config`` (solved once)."""
        objective = tuple(sorted((k, v) for k, v in asdict(config).items() if k != "mc_paths"))
        key = (id(pool), int(h), objective)
        cached = self._solutions.get(key)
        if cached is None or cached[0] is not pool:
            cached = (pool, solve_household(pool, int(h), config, self.solver))
            self._solutions[key] = cached
        return cached[1]

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """Each env's optimal action at its decision step and wealth."""
        households, months, wealth = env.households, env.months, env.wealth
        steps = months // env.config.step_months
        actions = np.empty((households.size, 2), dtype=np.float32)
        for h in np.unique(households):
            here = households == h
            actions[here] = self.solution(env.pool, int(h), env.config).actions(steps[here], wealth[here])
        return actions


class OptimumBackend(AgentBackend):
    """Makes the ``dp`` agent; its configuration may set the solver's grid sizes (:class:`SolverGrid` fields)."""

    name = "dp"
    description = "the optimum by dynamic programming, solved per household (the yardstick of % of optimum)"

    def create(self, env: NumbaVecEnv, config: dict[str, Any]) -> Agent:
        """The optimum as an agent acting in ``env``."""
        try:
            solver = SolverGrid(**config)
        except TypeError as error:
            known = ", ".join(SolverGrid.__dataclass_fields__)
            raise ParameterError("dp", f"unknown solver setting ({error}); known: {known}") from None
        return PolicyAgent(Optimum(solver), env)


@hookimpl
def register_agents(register: Callable[[AgentBackend], None]) -> None:
    """Register the optimum."""
    register(OptimumBackend())
