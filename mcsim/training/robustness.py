"""Runs evaluated on several markets, and the robustness table: each strategy's yardstick by market.

``mcsim evaluate --market M[,M...]`` evaluates every run on each market's held-out households
(the same households and seeds on every market; historical cohorts stratified), or by default each
run on the market it was trained on. The robustness table has one row per run ("trained on
<market>") and per baseline, plus the best baseline household by household (what a run's win
share is measured against), and one column per market: the mean over households of the yardstick
(:attr:`~mcsim.training.evaluation.Evaluation.yardstick`) and, for a run, the share of households
on which it beats the best baseline there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ..core.market import RETURN_MODELS
from ..core.progress import OnProgress
from .evaluation import Evaluation
from .reports import OPTIMUM_ON_HISTORY, RunsReport, check_horizons, evaluate_runs, trained_market
from .rundirs import read_manifest

BEST_BASELINE = "best baseline, household by household"
"""The row of each household's best baseline: the bar a run's win share is measured against."""


@dataclass(frozen=True)
class Cell:
    """One strategy on one market: its mean yardstick over households; for a run, its win share there."""

    mean: float
    win_share: float | None = None


@dataclass(frozen=True)
class Row:
    """One row of the robustness table: a run, a baseline or the best baseline, by market.

    ``reward`` says what the yardstick is (the planner objective, or a certainty equivalent for
    crra and merton); ``cells`` holds the markets where the strategy was evaluated; ``name`` is the
    strategy's (a baseline's name); ``listed``: whether the terminal table lists it (over the whole
    life, only each withdrawal rule's best saving baseline on some market; JSON has every row).
    """

    label: str
    kind: str
    reward: str
    cells: dict[str, Cell]
    name: str = "policy"
    run: str | None = None
    trained_on: str | None = None
    listed: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"label": self.label, "kind": self.kind, "name": self.name, "reward": self.reward, "run": self.run,
                "trained_on": self.trained_on,
                "cells": {market: {"mean": c.mean, "win_share": c.win_share} for market, c in self.cells.items()}}


@dataclass(frozen=True)
class Robustness:
    """The robustness table's data: rows by strategy, columns by market, and each market's best single baseline.

    ``n_households`` is None when runs were evaluated on different numbers of households (one trained on a profile).
    """

    markets: list[str]
    rows: list[Row]
    best_baseline: dict[str, str]
    n_households: int | None
    n_paths: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"markets": self.markets, "n_households": self.n_households, "n_paths": self.n_paths,
                "best_baseline": self.best_baseline, "rows": [row.to_dict() for row in self.rows]}


@dataclass(frozen=True)
class MarketsReport:
    """Runs evaluated market by market.

    ``by_market[m]``: the runs evaluated on market m; ``trained``: each run's training market;
    ``settings``: a key per run of what its baselines depend on (households and environment), so
    runs with equal keys share the baseline rows.
    """

    by_market: dict[str, RunsReport]
    trained: dict[str, str]
    settings: dict[str, str]

    @property
    def optimum_skipped(self) -> bool:
        """Whether the optimum was asked for but not computed on some (historical or bootstrap) market."""
        return any(report.optimum_skipped for report in self.by_market.values())

    @property
    def robust(self) -> bool:
        """Whether there is a robustness table: several markets, or runs trained on different ones."""
        return len(self.by_market) > 1 or len(set(self.trained.values())) > 1

    def robustness(self) -> Robustness:
        """The robustness table's rows: runs, then baselines by setting, then the best baseline."""
        rows = [_run_row(self, run) for run in self.trained]
        groups: dict[str, list[str]] = {}
        for run, setting in self.settings.items():
            groups.setdefault(setting, []).append(run)
        for runs in groups.values():
            beside = f" (beside {runs[0]})" if len(groups) > 1 else ""
            rows.extend(_baseline_rows(self, runs, beside))
        evaluations = [e for report in self.by_market.values() for e in report.evaluations.values()]
        sizes = {evaluation.n_households for evaluation in evaluations}
        best = {}
        for market, report in self.by_market.items():
            run = next(iter(report.evaluations))
            best[market] = report.evaluations[run].best(report.baselines(run))
        return Robustness(list(self.by_market), rows, best, sizes.pop() if len(sizes) == 1 else None,
                          evaluations[0].n_paths)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON: one market as ``evaluate`` always printed it, several under ``markets``."""
        if len(self.by_market) == 1:
            data = next(iter(self.by_market.values())).to_dict()
        else:
            data = {"markets": {market: report.to_dict() for market, report in self.by_market.items()}}
        data["trained_on"] = self.trained
        if self.robust:
            data["robustness"] = self.robustness().to_dict()
        if self.optimum_skipped:
            data["optimum"] = OPTIMUM_ON_HISTORY
        return data


def _run_row(report: MarketsReport, run: str) -> Row:
    """A run's row: its mean yardstick and win share on each market it was evaluated on."""
    cells, reward = {}, "planner"
    for market, runs in report.by_market.items():
        if run in runs.evaluations:
            evaluation = runs.evaluations[run]
            reward = evaluation.reward
            cells[market] = Cell(evaluation.mean_yardstick(runs.policy), runs.win_share(run))
    trained = report.trained[run]
    return Row(f"{run}, trained on {trained}", "run", reward, cells, run=run, trained_on=trained)


def _baseline_rows(report: MarketsReport, runs: list[str], beside: str) -> list[Row]:
    """The baselines evaluated beside ``runs`` (one setting), and each household's best of them, by market."""
    by_market: dict[str, Evaluation] = {}
    names: list[str] = []
    for market, results in report.by_market.items():
        run = next((r for r in runs if r in results.evaluations), None)
        if run is not None:
            by_market[market] = results.evaluations[run]
            names = names or results.baselines(run)
    reward = next(iter(by_market.values())).reward
    listed = {name for e in by_market.values() for name in e.best_saving_by_rule().values()}
    rows = [Row(name + beside, "baseline", reward, {m: Cell(e.mean_yardstick(name)) for m, e in by_market.items()},
                name=name, listed=not listed or name in listed)
            for name in names]
    best = {m: Cell(float(np.mean([max(row[n] for n in names) for row in e.by_household])))
            for m, e in by_market.items()}
    return [*rows, Row(BEST_BASELINE + beside, "best baseline", reward, best, name="best baseline")]


def check_markets(markets: list[str]) -> list[str]:
    """``markets`` without repeats, or a ParameterError naming the first unknown one."""
    for market in markets:
        if market not in RETURN_MODELS:
            raise ParameterError("market", f"must be one of {', '.join(RETURN_MODELS)} (got {market!r})")
    return list(dict.fromkeys(markets))


def evaluate_markets(runs: list[str], n_households: int, n_paths: int, seed: int, optimum: bool = True,
                     progress: OnProgress | None = None, markets: list[str] | None = None,
                     executor: str | None = None, address: str | None = None) -> MarketsReport:
    """Evaluate every run on each of ``markets`` (by default each run on its training market only).

    Each market's held-out households and seeds are the same for every run. ``executor``: the
    households in blocks over it (``ray``), the same numbers (:func:`~mcsim.training.reports.evaluate_runs`).
    """
    check_horizons(runs)
    manifests = {run: read_manifest(run) for run in runs}
    trained = {run: trained_market(manifest) for run, manifest in manifests.items()}
    if markets:
        groups = {market: runs for market in check_markets(markets)}
    else:
        groups = {}
        for run in runs:
            groups.setdefault(trained[run], []).append(run)
    by_market = {}
    for i, (market, members) in enumerate(groups.items(), 1):
        label = f" {market} ({i}/{len(groups)})" if len(groups) > 1 else ""
        by_market[market] = evaluate_runs(members, n_households, n_paths, seed, optimum, progress, market, label,
                                          executor, address)
    return MarketsReport(by_market, trained, {run: _setting(manifest) for run, manifest in manifests.items()})


def _setting(manifest: dict[str, Any]) -> str:
    """What a run's baselines depend on: its held-out households (profile, mortality) and its environment."""
    config = manifest["config"]
    return json.dumps([config.get("profile"), config.get("mortality", "fixed"), manifest["env"]], sort_keys=True)
