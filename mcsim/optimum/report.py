"""The optimum over the whole life, reported: its strategy by age on the median market and its value.

``mcsim optimum --horizon life`` prints it: the solver's value beside its value simulated in the
environment on the same objective, and every baseline of the whole life (each saving baseline
spending by each withdrawal rule) as a share of the optimum's certainty equivalent on the same lives.
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
from ..env.withdrawal_policies import life_baselines, split_baseline_name
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
    baselines: dict[str, float]

    def share(self, ce: float) -> float | None:
        """A certainty equivalent as a share of the optimum's simulated one (None when that is not positive)."""
        return ce / self.simulated_ce if self.simulated_ce > 0 else None

    def best_by_rule(self) -> dict[str, tuple[str, float]]:
        """Each withdrawal rule's best saving baseline and its certainty equivalent, best rule first."""
        best: dict[str, tuple[str, float]] = {}
        for name, ce in self.baselines.items():
            saving, rule = split_baseline_name(name) or (name, name)
            if rule not in best or ce > best[rule][1]:
                best[rule] = (saving, ce)
        return dict(sorted(best.items(), key=lambda item: -item[1][1]))

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
            "baselines": {
                name: {"certainty_equivalent": ce, "share_of_optimum": self.share(ce)} for name, ce in self.baselines.items()
            },
        }


def life_optimum_report(
    profile_source: str, config: EnvConfig, n_paths: int, seed: int, solver: SolverGrid | None = None,
    progress: OnProgress | None = None,
) -> LifeOptimumReport:
    """Solve the household's optimum over the whole life, follow it on the median market, simulate its value.

    Every baseline of the whole life then lives the same ``n_paths`` lives (common random numbers).
    """
    report = progress or silent
    profile = load_profile(profile_source)
    pool = pool_from_profiles([profile])
    optimum = Optimum(solver)
    optimum.prepare(pool, config, report)
    policy = optimum.solution(pool, 0, config)
    path = median_path(pool, 0, config, policy)
    report("simulating the optimum's value", 0, 0, detail=f"{n_paths:,} lives")
    settings = asdict(config)
    returns = rollout(optimum, pool, n_paths, seed, **settings).returns
    mean = float(returns.mean())
    error = float(returns.std(ddof=1) / math.sqrt(returns.size)) if returns.size > 1 else math.nan
    baselines = {}
    pairs = life_baselines()
    for i, (name, baseline) in enumerate(pairs.items(), 1):
        report("simulating the baselines", i - 1, len(pairs), unit="strategies", detail=name)
        value = float(rollout(baseline, pool, n_paths, seed, **settings).returns.mean())
        baselines[name] = certainty_equivalent(pool, 0, config, value)
    return LifeOptimumReport(
        profile=profile.name, config=config, policy=policy, path=path,
        solver_ce=certainty_equivalent(pool, 0, config, policy.value), simulated_value=mean, simulated_error=error,
        simulated_ce=certainty_equivalent(pool, 0, config, mean), n_paths=n_paths, baselines=baselines,
    )
