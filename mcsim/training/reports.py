"""What ``mcsim evaluate`` and ``mcsim predict`` compute: trained runs beside the baselines.

A run trained over the whole life (``horizon="life"``) is evaluated in its own environment (its
manifest's), beside each saving baseline spending by each withdrawal rule
(:func:`~mcsim.plugins.baseline_agents.life_baselines`) and the optimum over the whole life.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ..core.profile import HISTORY_MODELS, load_profile, with_market
from ..core.progress import OnProgress, silent
from ..env.environment import EnvConfig
from ..env.household import HouseholdPool, pool_from_profiles, sample_pool
from ..env.policies import BASELINES, rollout
from ..optimum.solver import MedianPath, OptimalPolicy, SolverGrid, median_path
from ..plugins.baseline_agents import life_baselines
from .evaluation import OPTIMUM, Evaluation, Phase, evaluate, retirement_steps, strategy_phases
from .trainer import load_agent

HELD_OUT_SEED = 7_777_777_777
"""Held-out households of ``evaluate`` are sampled with this seed plus ``--seed``: beyond any training
seed (at most 2**32 - 1), and the same for every run evaluated, so runs compare on one set."""


def _env_config(manifest: dict[str, Any]) -> EnvConfig:
    return EnvConfig(**manifest["env"])


def load_exported_agent(run: str | Path, runtime: str) -> tuple[Any, dict[str, Any]]:
    """The agent of an export in the run directory (``policy.<format>``), and the run's manifest."""
    from ..plugins.exporters import get_exporter
    from .rundirs import read_manifest

    exporter = get_exporter(runtime, f"install mcsim-{runtime} to predict with the {runtime} runtime")
    manifest = read_manifest(run)
    path = Path(run) / f"policy{exporter.suffix}"
    if not path.exists():
        raise ParameterError("runtime", f"{path} does not exist: run `mcsim export-{runtime} {run}` first")
    return exporter.runtime(path), manifest


OPTIMUM_ON_HISTORY = "optimum: not available on historical and bootstrap markets — it is defined for parametric laws"
"""What evaluate says when a market replays history: the optimum is not computed there."""


def trained_market(manifest: dict[str, Any]) -> str:
    """The return model a run was trained on: its manifest's ``market``.

    Runs recorded before it: the config's ``market``, else the profile's own model, else lognormal.
    """
    market = manifest.get("market") or manifest["config"].get("market")
    if market:
        return str(market)
    profile = manifest["config"].get("profile")
    return load_profile(profile).market.return_model if profile else "lognormal"


def held_out_pool(manifest: dict[str, Any], n_households: int, seed: int, market: str | None = None) -> HouseholdPool:
    """Households the run never trained or was evaluated on (its profile, if it trained on one).

    Their return model is ``market``, by default the run's own (:func:`trained_market`); the same
    households whatever the market.
    """
    config = manifest["config"]
    market = market or trained_market(manifest)
    if config.get("profile"):
        return pool_from_profiles([with_market(load_profile(config["profile"]), market)])
    return sample_pool(n_households, seed=HELD_OUT_SEED + seed, mortality=config.get("mortality", "fixed"),
                       market=market)


MIN_RUNS_FOR_INTERVAL = 3
"""Fewer runs give their values, not an interval (a t interval on 2 values spans 12.7 standard errors)."""

T_95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000, 120: 1.980}
"""Student t quantiles at 97.5% by degrees of freedom (between rows, the row below: a wider interval)."""


def t_95(degrees: int) -> float:
    """The two-sided 95% Student t quantile for ``degrees`` of freedom (1.96 beyond the table)."""
    if degrees > max(T_95):
        return 1.96
    return T_95[max(d for d in T_95 if d <= degrees)]


def over_runs(values: list[float], low: float = -math.inf, high: float = math.inf) -> dict[str, Any]:
    """A quantity over runs: its values, mean and run count; from 3 runs a 95% t interval within [low, high]."""
    array = np.asarray(values, dtype=float)
    n = int(array.size)
    mean = float(array.mean())
    summary: dict[str, Any] = {"n_runs": n, "values": array.tolist(), "mean": mean}
    if n >= MIN_RUNS_FOR_INTERVAL:
        half = t_95(n - 1) * float(array.std(ddof=1)) / math.sqrt(n)
        summary.update(low=float(max(low, mean - half)), high=float(min(high, mean + half)), confidence=0.95)
    return summary


def _over_runs_text(summary: dict[str, Any], show: Callable[[float], str]) -> str:
    """``summary`` of :func:`over_runs` as text: the values below 3 runs, else the mean and interval."""
    if "low" not in summary:
        return " and ".join(show(value) for value in summary["values"]) + " by run"
    return f"{show(summary['mean'])} (95% CI {show(summary['low'])} to {show(summary['high'])})"


@dataclass(frozen=True)
class RunsReport:
    """Evaluations of one or more runs (each on its own held-out households, baselines alongside)."""

    evaluations: dict[str, Evaluation]
    policy: str = "policy"
    markets: dict[str, str] = field(default_factory=dict)
    """The market each run was evaluated on."""
    optimum_skipped: bool = False
    """Whether the optimum was asked for but not computed (a historical or bootstrap market)."""

    def baselines(self, run: str) -> list[str]:
        """Names of the baselines evaluated beside ``run``'s policy (over the whole life, saving x withdrawal)."""
        evaluation = self.evaluations[run]
        names = evaluation.by_household[0] if evaluation.by_household else evaluation.overall
        return [name for name in names if name not in (self.policy, OPTIMUM)]

    def win_share(self, run: str) -> float:
        """Share of households on which the run's policy beats the best baseline there."""
        evaluation = self.evaluations[run]
        return evaluation.wins(self.policy, self.baselines(run)) / evaluation.n_households

    def summary_line(self, run: str) -> str:
        """One line: how often the policy beats the best baseline."""
        evaluation = self.evaluations[run]
        baselines = self.baselines(run)
        wins = evaluation.wins(self.policy, baselines)
        ties = evaluation.ties(self.policy, baselines)
        tied = f"; ties with it on {ties} (the same objective, e.g. both fully funded without saving)" if ties else ""
        which = f" (of the {len(baselines)} saving baseline x withdrawal rule pairs)" if evaluation.life else ""
        return (f"The policy beats the best baseline{which} on {wins} of {evaluation.n_households} households "
                f"({100 * wins / evaluation.n_households:.0f}%){tied}.")

    def aggregate(self) -> dict[str, Any]:
        """The policy's objective and win share over runs (see :func:`over_runs`); shares stay in [0, 1]."""
        objectives = [e.overall[self.policy].objective for e in self.evaluations.values()]
        shares = [self.win_share(run) for run in self.evaluations]
        return {"runs": len(objectives), "objective": over_runs(objectives),
                "win_share": over_runs(shares, low=0.0, high=1.0)}

    def aggregate_line(self) -> str:
        """One line over all runs: their values below 3 runs, else the mean and its 95% interval."""
        a = self.aggregate()
        objective = _over_runs_text(a["objective"], lambda x: f"{x:.4f}")
        shares = _over_runs_text(a["win_share"], lambda x: f"{100 * x:.0f}%")
        if a["runs"] < MIN_RUNS_FOR_INTERVAL:
            return (f"Over {a['runs']} runs (an interval needs {MIN_RUNS_FOR_INTERVAL}): objective {objective}; "
                    f"beats the best baseline on {shares} of households.")
        return (f"Over {a['runs']} runs: objective {objective}; beats the best baseline on {shares} of households "
                f"(95% t intervals over the {a['runs']} runs' values).")

    def _market(self, run: str) -> dict[str, str]:
        return {"market": self.markets[run]} if run in self.markets else {}

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        data: dict[str, Any] = {
            "runs": {run: {**e.to_dict(self.policy, self.baselines(run)), **self._market(run)}
                     for run, e in self.evaluations.items()},
        }
        if len(self.evaluations) > 1:
            data["aggregate"] = self.aggregate()
        return data


def strategies(agent: Any, optimum: Any | None, life: bool = False) -> dict[str, Any]:
    """The policy, the baselines and the optimum when given (a :class:`mcsim.optimum.policy.Optimum`), by name.

    Over the whole life (``life``) the baselines are each saving baseline with each withdrawal rule.
    """
    policies = {"policy": agent, **(life_baselines() if life else BASELINES)}
    if optimum is not None:
        policies[OPTIMUM] = optimum
    return policies


def run_optimum(manifest: dict[str, Any], optimum: bool) -> Any | None:
    """The optimum of a run's training objective (its terminal estimate's paths included), if asked."""
    if not optimum:
        return None
    from ..optimum.policy import Optimum

    return Optimum(mc_paths=_env_config(manifest).mc_paths)


def check_horizons(runs: list[str]) -> None:
    """A ParameterError when ``runs`` mix horizons: runs of two horizons are not comparable."""
    from .rundirs import read_manifest

    horizons: dict[str, str] = {}
    for run in runs:
        horizons.setdefault(_env_config(read_manifest(run)).horizon, run)
    if len(horizons) > 1:
        which = ", ".join(f"{run} is horizon {horizon}" for horizon, run in horizons.items())
        raise ParameterError("runs", f"mix horizons ({which}): evaluate the runs of each horizon apart")


def evaluate_runs(runs: list[str], n_households: int, n_paths: int, seed: int, optimum: bool = True,
                  progress: OnProgress | None = None, market: str | None = None, label: str = "",
                  executor: str | None = None, address: str | None = None) -> RunsReport:
    """Evaluate each run's policy beside the baselines (and the optimum) on its held-out households.

    ``market``: the return model of those households, by default each run's own. Runs with the
    same objective share the optimum's solutions (same held-out households); on a historical or
    bootstrap market the optimum is not computed (``optimum_skipped``). ``label`` prefixes the progress.
    ``executor`` (``ray``, ``local``): households in blocks over it, with the same numbers
    (:mod:`~mcsim.training.evaluation_blocks`; ``address``: its cluster); None: one roll-out in this process.
    """
    check_horizons(runs)  # before any evaluation
    report = progress or silent
    evaluations, markets = {}, {}
    optima: dict[tuple[int, str], Any] = {}
    pools: dict[tuple[Any, ...], HouseholdPool] = {}
    for i, run in enumerate(runs, 1):
        which = f"{label} run {i}/{len(runs)}" if len(runs) > 1 else label
        report(f"loading{which} {run}")
        agent, manifest = load_agent(run)
        config = _env_config(manifest)
        markets[run] = market or trained_market(manifest)
        key = (manifest["config"].get("profile"), manifest["config"].get("mortality", "fixed"), markets[run])
        if key not in pools:  # runs on the same households share them (and the bisection's savings)
            pools[key] = held_out_pool(manifest, n_households, seed, markets[run])
        parametric = markets[run] not in HISTORY_MODELS
        if (config.mc_paths, markets[run]) not in optima:
            optima[config.mc_paths, markets[run]] = run_optimum(manifest, optimum and parametric)
        chosen_optimum = optima[config.mc_paths, markets[run]]
        if executor is None:
            policies = strategies(agent, chosen_optimum, config.life)
            evaluations[run] = evaluate(policies, pools[key], n_paths, seed, config, progress=report,
                                        label=f"evaluating{which}")
        else:
            from .batch import run_payload
            from .evaluation_blocks import evaluate_in_blocks

            paths = None if chosen_optimum is None else chosen_optimum.mc_paths
            evaluations[run] = evaluate_in_blocks(run_payload(run, "torch"), paths, pools[key], n_paths, seed, config,
                                                  executor, address, Path(run).resolve().parent, report,
                                                  f"evaluating{which}")
    skipped = optimum and any(m in HISTORY_MODELS for m in markets.values())
    return RunsReport(evaluations, markets=markets, optimum_skipped=skipped)


@dataclass(frozen=True)
class StrategyView:
    """A strategy for one household by decision step, as the strategy chart draws it, and its evaluation.

    ``ages`` (each step's start), ``monthly_saving`` and ``equity_share`` per step; ``end_ages``
    and ``wealth_percentiles`` (p10, p50, p90) at each step's end.
    """

    profile: str
    ages: np.ndarray
    monthly_saving: np.ndarray
    equity_share: np.ndarray
    end_ages: np.ndarray
    wealth_percentiles: np.ndarray
    retirement_age: float
    evaluation: Evaluation


@dataclass(frozen=True)
class Prediction(StrategyView):
    """A trained policy's strategy for one household (medians over paths), evaluated beside the baselines.

    Over the whole life, ``monthly_consumption`` and ``retired`` per step too (None to retirement only).
    """

    run: str
    phases: list[Phase]
    monthly_consumption: np.ndarray | None = None
    retired: np.ndarray | None = None
    optimum_skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (over the whole life each age's consumption and phase, and the life's summary)."""
        by_age = [{"age": float(a), "monthly_saving": float(s), "equity_share": float(e)}
                  for a, s, e in zip(self.ages, self.monthly_saving, self.equity_share, strict=True)]
        if self.monthly_consumption is not None and self.retired is not None:
            for row, consumption, retired in zip(by_age, self.monthly_consumption, self.retired, strict=True):
                row.update(monthly_consumption=float(consumption), retired=bool(retired))
        baselines = [name for name in self.evaluation.overall if name not in ("policy", OPTIMUM)]
        return {
            "run": self.run, "profile": self.profile, "horizon": self.evaluation.horizon,
            "phases": [asdict(phase) for phase in self.phases],
            "by_age": by_age,
            "evaluation": self.evaluation.to_dict("policy", baselines),
            **({"optimum": OPTIMUM_ON_HISTORY} if self.optimum_skipped else {}),
        }


def predict_household(
    run: str, profile_source: str, n_paths: int, seed: int, runtime: str = "torch", optimum: bool = True,
    progress: OnProgress | None = None,
) -> Prediction:
    """The run's strategy by age for the household (medians over paths), evaluated on the same paths.

    ``runtime`` ``"torch"`` acts with the trained weights; an exporter's name (``"onnx"``) acts with
    that export in the run directory (``policy.onnx``), through its runtime alone.
    """
    report = progress or silent
    report(f"loading {run}")
    agent, manifest = load_agent(run) if runtime == "torch" else load_exported_agent(run, runtime)
    profile = load_profile(profile_source)
    pool = pool_from_profiles([profile])
    config = _env_config(manifest)
    skipped = optimum and profile.market.return_model in HISTORY_MODELS  # the optimum needs a parametric law
    evaluation = evaluate(strategies(agent, run_optimum(manifest, optimum and not skipped), config.life), pool, n_paths,
                          seed, config, record=True, progress=report, label="evaluating")
    trajectory = evaluation.rollouts["policy"]
    ends = np.nanmedian(trajectory.ages, axis=0)
    starts = np.concatenate(([profile.person.current_age], ends[:-1]))
    saving = np.nanmedian(trajectory.monthly_saving, axis=0)
    equity = np.nanmedian(trajectory.equity_share, axis=0)
    wealth = np.nanpercentile(trajectory.wealth, [10, 50, 90], axis=0)
    consumption = retired = None
    end_age = profile.person.retirement_age
    if config.life:
        consumption = np.nanmedian(trajectory.monthly_consumption, axis=0)
        retired = retirement_steps(pool, np.zeros(1, dtype=np.int64), len(starts), config.step_months)[0][0]
        end_age = float(pool.start_age[0] + (pool.n_accum[0] + pool.n_decum[0]) / 12.0)
    phases = strategy_phases(starts, saving, equity, config.step_months, end_age, consumption, retired)
    return Prediction(
        run=str(Path(run)), profile=profile.name, phases=phases, ages=starts, monthly_saving=saving, equity_share=equity,
        end_ages=ends, wealth_percentiles=wealth, retirement_age=profile.person.retirement_age, evaluation=evaluation,
        monthly_consumption=consumption, retired=retired, optimum_skipped=skipped,
    )


@dataclass(frozen=True)
class OptimumReport(StrategyView):
    """A household's optimum: its policy on the median market, its value, and its evaluation beside the baselines.

    ``ages``, ``monthly_saving``, ``equity_share`` follow the median market ``path`` (every shock
    zero); ``end_ages`` and ``wealth_percentiles`` come from the evaluation's paths.
    ``simulated_value`` is the mean episode return of the optimal policy in the environment it was
    solved for (its terminal estimate included), on the evaluation's paths.
    """

    reward: str
    policy: OptimalPolicy
    path: MedianPath
    simulated_value: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "profile": self.profile, "reward": self.reward, "solver_value": self.policy.value,
            "simulated_value": self.simulated_value,
            "solve_seconds": self.policy.seconds, "basis_ratio": self.policy.basis_ratio,
            "median_market": self.path.to_dict(),
            "evaluation": self.evaluation.to_dict(OPTIMUM, list(BASELINES)),
        }


def optimum_report(profile_source: str, config: EnvConfig, n_paths: int, seed: int, solver: SolverGrid | None = None,
                   progress: OnProgress | None = None) -> OptimumReport:
    """Solve the household's optimum for ``config``, follow it on the median market, evaluate it beside the baselines."""
    from ..optimum.policy import Optimum

    report = progress or silent
    profile = load_profile(profile_source)
    pool = pool_from_profiles([profile])
    optimum = Optimum(solver, mc_paths=config.mc_paths)
    optimum.prepare(pool, config, report)
    policy = optimum.solution(pool, 0, config)
    path = median_path(pool, 0, config, policy)
    evaluation = evaluate({OPTIMUM: optimum, **BASELINES}, pool, n_paths, seed, config, record=True, progress=report)
    report("simulating the optimum's value", 0, 0, detail=f"{n_paths:,} lives")
    simulated = rollout(optimum, pool, n_paths, seed, **asdict(config)).returns.mean()
    trajectory = evaluation.rollouts[OPTIMUM]
    return OptimumReport(
        profile=profile.name, reward=config.reward, policy=policy, path=path, ages=path.ages,
        monthly_saving=path.monthly_saving, equity_share=path.equity_share,
        end_ages=np.nanmedian(trajectory.ages, axis=0),
        wealth_percentiles=np.nanpercentile(trajectory.wealth, [10, 50, 90], axis=0),
        retirement_age=profile.person.retirement_age, evaluation=evaluation, simulated_value=float(simulated),
    )
