"""The optimum over the whole life, reported: its strategy by age on the median market and its value.

``mcsim optimum --horizon life`` prints it. Every strategy as a share of the optimum over the whole
life comes with the withdrawal-rule baselines (``mcsim evaluate``); here the optimum stands alone:
the solver's value beside its value simulated in the environment on the same objective.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..core.profile import load_profile
from ..core.progress import OnProgress, silent
from ..env.environment import EnvConfig
from ..env.household import pool_from_profiles
from ..env.policies import rollout
from .policy import Optimum
from .solver import MedianPath, OptimalPolicy, SolverGrid, certainty_equivalent, median_path


@dataclass(frozen=True)
class LifeOptimumReport:
    """A household's optimum over the whole life.

    ``policy`` and its ``path`` on the median market (every shock zero); ``solver_value`` the
    expected lifetime utility the solver finds, ``simulated_value`` the mean return of the
    optimal policy over ``n_paths`` lives of the environment (``simulated_error`` its standard
    error); ``*_ce`` their certainty-equivalent consumption (euros a month over the life, survival
    weighted).
    """

    profile: str
    config: EnvConfig
    policy: OptimalPolicy
    path: MedianPath
    solver_ce: float
    simulated_value: float
    simulated_error: float
    simulated_ce: float
    n_paths: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "profile": self.profile, "horizon": "life", "reward": self.config.reward, "gamma": self.config.gamma,
            "discount": self.config.discount, "bequest_weight": self.config.bequest_weight,
            "step_months": self.config.step_months,
            "solver_value": self.policy.value, "solver_certainty_equivalent": self.solver_ce,
            "simulated_value": self.simulated_value,
            "simulated_standard_error": self.simulated_error if math.isfinite(self.simulated_error) else None,
            "simulated_certainty_equivalent": self.simulated_ce, "paths": self.n_paths,
            "solve_seconds": self.policy.seconds, "basis_ratio": self.policy.basis_ratio,
            "median_market": self.path.to_dict(),
        }


def life_optimum_report(
    profile_source: str, config: EnvConfig, n_paths: int, seed: int, solver: SolverGrid | None = None,
    progress: OnProgress | None = None,
) -> LifeOptimumReport:
    """Solve the household's optimum over the whole life, follow it on the median market, simulate its value."""
    report = progress or silent
    profile = load_profile(profile_source)
    pool = pool_from_profiles([profile])
    optimum = Optimum(solver)
    optimum.prepare(pool, config, report)
    policy = optimum.solution(pool, 0, config)
    path = median_path(pool, 0, config, policy)
    report("simulating the optimum's value", 0, 0, detail=f"{n_paths:,} lives")
    returns = rollout(optimum, pool, n_paths, seed, **asdict(config)).returns
    mean = float(returns.mean())
    error = float(returns.std(ddof=1) / math.sqrt(returns.size)) if returns.size > 1 else math.nan
    return LifeOptimumReport(
        profile=profile.name, config=config, policy=policy, path=path,
        solver_ce=certainty_equivalent(pool, 0, config, policy.value), simulated_value=mean, simulated_error=error,
        simulated_ce=certainty_equivalent(pool, 0, config, mean), n_paths=n_paths,
    )
