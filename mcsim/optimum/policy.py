"""The optimum as a policy: each household's solved policy tables, read at the env's decision step and wealth.

The optimum is household-specific: it solves each household of the env's pool the first time it
acts there (a few seconds each), for the env's own objective, and keeps the solution by content.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, replace

import numpy as np

from ..core.errors import ParameterError
from ..core.market import BOOTSTRAP, HISTORICAL
from ..core.progress import OnProgress, phase, silent
from ..env.environment import EnvConfig
from ..env.household import SHARED_FIELDS, HouseholdPool
from ..env.vec_env import NumbaVecEnv
from .kernels import retirement_values, solve_stage
from .solver import OptimalPolicy, SolverGrid, decision_steps, solve_household


def check_parametric(pool: HouseholdPool) -> None:
    """A ParameterError for a pool of historical markets: the optimum is defined for parametric laws only."""
    if pool.model in (HISTORICAL, BOOTSTRAP):
        raise ParameterError(
            "market", "the optimum is defined for parametric markets (lognormal, normal, student_t): "
            "not available on historical or bootstrapped returns"
        )


def household_key(pool: HouseholdPool, h: int) -> str:
    """A digest of everything that defines household ``h`` of ``pool`` (equal households, equal keys)."""
    digest = hashlib.sha256()
    for name, value in pool._asdict().items():
        row = value[h] if isinstance(value, np.ndarray) and name not in SHARED_FIELDS else value
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(row).tobytes())
    return digest.hexdigest()


class Optimum:
    """The optimal policy of every household it meets (a :class:`~mcsim.env.policies.Policy`).

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
        check_parametric(pool)
        key = (household_key(pool, h), tuple(sorted(asdict(config).items())))
        if key not in self._solutions:
            self._solutions[key] = solve_household(pool, int(h), config, self.solver)
        return self._solutions[key]

    def prepare(self, pool: HouseholdPool, config: EnvConfig, progress: OnProgress | None = None) -> None:
        """Solve every household of ``pool`` for an env configured by ``config`` now, telling ``progress``.

        Acting then finds every solution made (a roll-out would otherwise solve them silently, one by one).
        """
        report = progress or silent
        objective = self.objective(config)
        what = phase("solving the optimum", solve_stage, retirement_values)
        for h in range(pool.size):
            report(what, h, pool.size, unit="households")
            self.solution(pool, h, objective)
            what = "solving the optimum"
        report(what, pool.size, pool.size, unit="households")

    def act(self, obs: np.ndarray, env: NumbaVecEnv) -> np.ndarray:
        """Each env's optimal action at its decision step and wealth (over the whole life too)."""
        households, months, wealth = env.households, env.months, env.wealth
        steps = decision_steps(months, env.pool.n_accum[households], env.config.step_months)
        objective = self.objective(env.config)
        actions = np.empty((households.size, 2), dtype=np.float32)
        for h in np.unique(households):
            here = households == h
            actions[here] = self.solution(env.pool, int(h), objective).actions(steps[here], wealth[here])
        return actions
