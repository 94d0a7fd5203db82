"""Built-in plugin: the optimum (dynamic programming, :mod:`mcsim.optimum`) as the agent ``dp``.

The optimum is household-specific: it solves each household of the env's pool the first time it
acts there (a few seconds each), for the env's own objective, and then reads its policy tables at
the env's decision step and wealth.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, replace
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


def household_key(pool: HouseholdPool, h: int) -> str:
    """A digest of everything that defines household ``h`` of ``pool`` (equal households, equal keys)."""
    digest = hashlib.sha256()
    for name, value in pool._asdict().items():
        row = value[h] if isinstance(value, np.ndarray) else value
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(row).tobytes())
    return digest.hexdigest()


class Optimum:
    """The optimal policy of every household it meets (a :class:`~mcsim.policies.Policy`).

    It optimizes the env's objective (its config), with the terminal estimate of ``mc_paths``
    paths when given (say, the training reward's 50 while evaluation episodes run with one), else
    the env's own. Solutions are kept per household (by content) and objective; ``solver`` sets
    the grids.
    """

    def __init__(self, solver: SolverGrid | None = None, mc_paths: int | None = None) -> None:
        self.solver = solver or SolverGrid()
        self.mc_paths = mc_paths
        self._solutions: dict[tuple[str, tuple], OptimalPolicy] = {}

    def objective(self, config: EnvConfig) -> EnvConfig:
        """The configuration solved for in an env configured by ``config``."""
        return config if self.mc_paths is None else replace(config, mc_paths=self.mc_paths)

    def solution(self, pool: HouseholdPool, h: int, config: EnvConfig) -> OptimalPolicy:
        """Household ``h``'s optimal policy under ``config`` (solved once)."""
        key = (household_key(pool, h), tuple(sorted(asdict(config).items())))
        if key not in self._solutions:
            self._solutions[key] = solve_household(pool, int(h), config, self.solver)
        return self._solutions[key]

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """Each env's optimal action at its decision step and wealth."""
        households, months, wealth = env.households, env.months, env.wealth
        steps = months // env.config.step_months
        objective = self.objective(env.config)
        actions = np.empty((households.size, 2), dtype=np.float32)
        for h in np.unique(households):
            here = households == h
            actions[here] = self.solution(env.pool, int(h), objective).actions(steps[here], wealth[here])
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
