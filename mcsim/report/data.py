"""What the household report shows, gathered once: the same object renders the page and prints ``--json``.

:func:`build_report` runs the household's plan (:func:`mcsim.core.simulation.simulate`, with the
wealth fan), every withdrawal rule on the same paths (as ``mcsim withdrawals`` does: the same seed
and paths, each rule's own defaults) and, with a trained run, the run's strategy for the household
beside the baselines and the optimum on the same paths (:func:`mcsim.training.reports.predict_household`,
as ``mcsim predict`` does). :meth:`ReportData.to_dict` holds every number the page shows.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..core.errors import ParameterError, ProfileError
from ..core.history import DEFAULT_SERIES
from ..core.profile import HISTORY_MODELS, WITHDRAWAL_PARAMETERS, Profile, load_profile, with_market, with_withdrawal
from ..core.progress import OnProgress, silent
from ..core.simulation import SimulationResult, simulate
from ..training.evaluation import OPTIMUM
from ..training.reports import Prediction, predict_household
from ..training.rundirs import read_manifest

DEFAULT_PATHS = 10_000
DEFAULT_MC = 1_000


@dataclass(frozen=True)
class StrategyByAge:
    """One strategy's decisions by decision step, medians over the evaluation's paths (``ages``: each step's start)."""

    name: str
    ages: np.ndarray
    monthly_saving: np.ndarray
    equity_share: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for JSON (None where no path has the step)."""
        return {"name": self.name, **{key: _floats(getattr(self, key)) for key in ("ages", "monthly_saving", "equity_share")}}


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows about one household.

    ``simulation``: the plan with its wealth fan and spending fan; ``rules``: every withdrawal rule
    the profile can run, on the same paths (``not_run``: why the others cannot); ``prediction``: a
    trained run's strategy and evaluation (None without ``--run``); ``lines``: the policy's, the
    own plan's and the optimum's decisions by age from that evaluation.
    """

    profile: Profile
    n_paths: int
    seed: int
    simulation: SimulationResult
    rules: dict[str, SimulationResult]
    not_run: dict[str, str]
    prediction: Prediction | None = None
    manifest: dict[str, Any] | None = None
    lines: tuple[StrategyByAge, ...] = ()
    mc_paths: int = DEFAULT_MC

    @property
    def household(self) -> dict[str, Any]:
        """The household in numbers: ages, income, capital, plan, needs in retirement."""
        p = self.profile
        person, income, retirement = p.person, p.income, p.retirement
        return {
            "current_age": person.current_age, "retirement_age": person.retirement_age,
            "life_expectancy": person.life_expectancy, "mortality": person.mortality,
            "horizon_age": person.horizon_age,
            "monthly_income": income.monthly_net, "income_growth_pct": income.real_growth_pct,
            "charges": [asdict_model(c) for c in income.charges], "children": [asdict_model(c) for c in income.children],
            "capital": float(sum(a.balance for a in p.accounts)),
            "accounts": [{"name": a.name, "type": a.type, "balance": a.balance, "cost_basis": a.basis,
                          "allocation": dict(a.allocation), "fee_pct": a.fee_pct, "tax_on_gains_pct": 100 * a.tax_rate}
                         for a in p.accounts],
            "savings": [asdict_model(s) for s in p.plan.savings],
            "target_monthly_income": retirement.target_monthly_income,
            "state_pension_monthly": retirement.state_pension_monthly,
            "additional_income": [asdict_model(s) for s in retirement.additional_income],
            "spending_phases": [asdict_model(s) for s in retirement.spending_phases],
            "withdrawal": retirement.withdrawal.rule,
        }

    @property
    def assumptions(self) -> dict[str, Any]:
        """The market (its law or its history), inflation, fees, taxes, the withdrawal rule and mortality."""
        market = self.profile.market
        history = market.return_model in HISTORY_MODELS
        data: dict[str, Any] = {
            "return_model": market.return_model,
            "assets": [asdict_model(asset) for asset in market.assets],
            "correlation": None if market.correlation is None else [list(row) for row in market.correlation],
            "inflation_mean_pct": None if history else market.inflation_mean_pct,
            "inflation_volatility_pct": None if history else market.inflation_volatility_pct,
            "student_t_df": market.student_t_df if market.return_model == "student_t" else None,
            "withdrawal": {"rule": self.simulation.withdrawal, "parameters": withdrawal_parameters(self.profile)},
            "mortality": {"model": self.profile.person.mortality, "life_expectancy": self.profile.person.life_expectancy,
                          "modal_age": self.profile.person.gompertz_modal_age,
                          "dispersion": self.profile.person.gompertz_dispersion, "max_age": self.profile.person.max_age},
        }
        if history:
            h = market.history
            data["history"] = {
                "source": history_source(self.profile), "columns": history_columns(self.profile),
                "cohorts": h.cohorts if market.return_model == "historical" else None,
                "block_years": h.block_years if market.return_model == "bootstrap" else None,
            }
        return data

    def to_dict(self) -> dict[str, Any]:
        """Every number of the page, JSON-ready; ``simulation`` is ``mcsim simulate --json``'s (with the fans).

        A number that is not finite (the wealth fan where no path is alive any more) is None.
        """
        first = next(iter(self.rules.values()), self.simulation)
        data: dict[str, Any] = {
            "mcsim": __version__,
            "profile": self.profile.name, "description": self.profile.description,
            "seed": self.seed, "n_paths": self.simulation.n_paths,
            "household": self.household,
            "simulation": self.simulation.to_dict(),
            "withdrawals": {
                "n_paths": first.n_paths, "gamma": first.spending.gamma if first.spending else None,
                "rules": {rule: spending_by_age(result) for rule, result in self.rules.items()}, "not_run": self.not_run,
            },
            "strategy": None,
            "assumptions": self.assumptions,
            "profile_data": self.profile.model_dump(mode="json"),
        }
        if self.prediction is not None:
            data["strategy"] = {
                **self.prediction.to_dict(), "mc_paths": self.mc_paths,
                "agent": (self.manifest or {}).get("config", {}).get("agent"),
                "algo": (self.manifest or {}).get("config", {}).get("algo"),
                "trained_market": trained_on(self.manifest or {}),
                "by_strategy": [line.to_dict() for line in self.lines],
            }
        return finite(data)


def finite(data: Any) -> Any:
    """``data`` with every float that is not finite replaced by None (strict JSON has no NaN)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [finite(value) for value in data]
    return data


def spending_by_age(result: SimulationResult) -> dict[str, Any]:
    """A withdrawal rule's result as ``mcsim withdrawals --json`` has it, plus its spending fan (no wealth fan)."""
    data = result.to_dict()
    data.pop("fan", None)
    return data


def _floats(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def asdict_model(model: Any) -> dict[str, Any]:
    """A profile part as a plain dict."""
    return model.model_dump(mode="json")


def withdrawal_parameters(profile: Profile) -> dict[str, Any]:
    """The profile's withdrawal rule's parameters, its own or the rule's defaults."""
    withdrawal = profile.retirement.withdrawal
    return {name: withdrawal.parameter(name) for name in WITHDRAWAL_PARAMETERS[withdrawal.rule]}


def history_source(profile: Profile) -> str:
    """Where a historical market comes from: a shipped series, a user's CSV, or the JST file's country."""
    history = profile.market.history
    if history.file is not None:
        return f"{Path(history.file).name} ({history.returns})"
    if history.jst is not None:
        return f"JST Macrohistory, {history.country}"
    return history.series or DEFAULT_SERIES


def history_columns(profile: Profile) -> dict[str, str]:
    """Each asset's column of the series (its own name unless mapped)."""
    columns = profile.market.history.columns
    return {asset.name: columns.get(asset.name, asset.name) for asset in profile.market.assets}


def trained_on(manifest: dict[str, Any]) -> str | None:
    """The market a run was trained on, as its manifest records it."""
    return manifest.get("market") or manifest.get("config", {}).get("market") or None


def strategy_lines(prediction: Prediction, life: bool, rule: str = "target") -> tuple[StrategyByAge, ...]:
    """The policy's, the own plan's and the optimum's decisions by age (medians over the evaluation's paths).

    Over the whole life (``life``) the own plan spends by ``rule``.
    """
    rollouts = prediction.evaluation.rollouts
    wanted = ["policy", f"own-plan/{rule}" if life else "own-plan", OPTIMUM]
    lines = []
    for name in wanted:
        if name not in rollouts:
            continue
        trajectory = rollouts[name]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # steps after every path's end are NaN
            ends = np.nanmedian(trajectory.ages, axis=0)
            saving = np.nanmedian(trajectory.monthly_saving, axis=0)
            equity = np.nanmedian(trajectory.equity_share, axis=0)
        starts = np.concatenate(([prediction.ages[0]], ends[:-1])) if ends.size else ends
        lines.append(StrategyByAge(name, starts, saving, equity))
    return tuple(lines)


def check_run(run: str | None) -> dict[str, Any] | None:
    """The run's manifest (a ParameterError naming ``--run`` when it is not a run directory), or None."""
    if run is None:
        return None
    if not Path(run).exists():
        raise ParameterError("--run", f"'{run}' does not exist")
    return read_manifest(run)


def build_report(
    profile_source: str | Profile | None = None, run: str | None = None, n_paths: int = DEFAULT_PATHS, seed: int = 0,
    mc_paths: int = DEFAULT_MC, optimum: bool = True, market: str | None = None, progress: OnProgress | None = None,
) -> ReportData:
    """Gather the report of a household: its plan, every withdrawal rule, and with ``run`` the learned strategy.

    :param profile_source: a :class:`Profile`, a file or an embedded name (``None``: the default).
    :param run: a run directory of ``mcsim train`` (its policy is evaluated beside the baselines).
    :param n_paths: Monte Carlo paths of the plan and of every withdrawal rule (the same paths).
    :param seed: the seed of every simulation and of the evaluation.
    :param mc_paths: whole-life paths of the strategies' evaluation (``mcsim predict --mc``).
    :param optimum: also solve the household's optimum (parametric markets only).
    :param market: a return model replacing the profile's.
    """
    report = progress or silent
    manifest = check_run(run)  # a missing run fails before any work
    profile = load_profile(profile_source)
    if market is not None:
        profile = with_market(profile, market)
    report("simulating the plan")
    simulation = simulate(profile, n_paths, seed, fan=True, progress=report)
    rules: dict[str, SimulationResult] = {}
    not_run: dict[str, str] = {}
    for index, rule in enumerate(WITHDRAWAL_PARAMETERS, 1):
        try:
            plan = with_withdrawal(profile, rule)
        except ProfileError as error:
            not_run[rule] = str(error)
            continue
        report(f"withdrawal rule {rule} ({index}/{len(WITHDRAWAL_PARAMETERS)})")
        own = rule == profile.retirement.withdrawal.rule  # the plan itself, already simulated on these paths
        rules[rule] = simulation if own else simulate(plan, n_paths, seed, spending_fan=True)
    prediction, lines = None, ()
    if run is not None:
        prediction = predict_household(run, profile, mc_paths, seed, "torch", optimum, progress=report)
        lines = strategy_lines(prediction, prediction.evaluation.life, profile.retirement.withdrawal.rule)
    return ReportData(profile, n_paths, seed, simulation, rules, not_run, prediction, manifest, lines, mc_paths)
