"""Scoring and phase grouping of evaluate and predict, and the summary over runs."""

from __future__ import annotations

import numpy as np
import pytest

from mcsim.core.stats import wilson_interval
from mcsim.env.environment import EnvConfig
from mcsim.env.policies import BASELINES
from mcsim.training.evaluation import Evaluation, Score, planner_objective, strategy_phases
from mcsim.training.reports import RunsReport, over_runs, t_95


def test_planner_objective_by_hand() -> None:
    quality = np.full(20, -0.1)
    funded = np.array([1.0] * 15 + [0.0] * 5)
    unfunded = np.array([0.0] * 15 + [0.1, 0.2, 0.3, 0.4, 0.5])
    config = EnvConfig(capital_weight=2.0, risk_weight=0.5)
    # Worst 10% of 20 paths: the two largest unfunded shares, 0.4 and 0.5.
    expected = -0.1 + 2.0 * 0.75 - 0.5 * 0.45
    assert planner_objective(quality, funded, unfunded, config) == pytest.approx(expected)


def test_wins_and_ties() -> None:
    rows = [
        {"policy": 0.5, "a": 0.4, "b": 0.45},
        {"policy": 1.0, "a": 1.0, "b": 0.2},
        {"policy": 0.1, "a": 0.3, "b": 0.0},
    ]
    evaluation = Evaluation(3, 10, 0, {}, rows, {})
    assert evaluation.wins("policy", ["a", "b"]) == 1
    assert evaluation.ties("policy", ["a", "b"]) == 1
    assert evaluation.to_dict("policy", ["a", "b"])["wins"] == {"policy": "policy", "households": 1, "share": 1 / 3,
                                                                 "ties": 1}


def test_phases_split_on_saving_and_equity_moves_after_a_year() -> None:
    starts = 30 + np.arange(48) / 12  # monthly steps from 30 to 34
    saving = np.full(48, 500.0)
    equity = np.full(48, 0.8)
    saving[5:] = 600.0  # +20% after 5 months: the phase must reach 12 months first, then splits at 31
    saving[40:] = 640.0  # +6.7% from 600: no split
    equity[38:] = 0.74  # 6 points, 26 months into the second phase: splits at 30 + 38/12
    phases = strategy_phases(starts, saving, equity, step_months=1, end_age=34.0)
    assert [(round(p.from_age, 6), round(p.to_age, 6)) for p in phases] == [
        (30.0, 31.0), (31.0, round(30 + 38 / 12, 6)), (round(30 + 38 / 12, 6), 34.0),
    ]
    assert phases[0].monthly_saving == pytest.approx((5 * 500 + 7 * 600) / 12)
    assert phases[1].equity_share == pytest.approx(0.8) and phases[2].equity_share == pytest.approx(0.74)


def test_small_moves_stay_in_one_phase() -> None:
    starts = 40 + np.arange(10, dtype=float)
    saving = 1000 * 1.01 ** np.arange(10)  # +1% a year: 9.4% after 9 years, under the 10% rule
    equity = 0.6 - 0.004 * np.arange(10)  # 3.6 points in all
    phases = strategy_phases(starts, saving, equity, step_months=12, end_age=50.0)
    assert len(phases) == 1 and phases[0].from_age == 40 and phases[0].to_age == 50


# --- over runs: values below 3 runs, an interval on a share within [0, 1] ---------------------------


def _evaluation(objective: float, policy_wins: list[bool]) -> Evaluation:
    """An evaluation whose policy has ``objective`` overall and beats the baseline where ``policy_wins``."""
    score = Score(wilson_interval(5, 10, 0.95), 1.0, 0.0, 0.0, objective, objective, objective)
    rows = [{"policy": 1.0 if win else 0.0, **dict.fromkeys(BASELINES, 0.5)} for win in policy_wins]
    return Evaluation(len(rows), 10, 0, {"policy": score}, rows, {})


def _report(*runs: tuple[float, list[bool]]) -> RunsReport:
    return RunsReport({f"run{i}": _evaluation(objective, wins) for i, (objective, wins) in enumerate(runs)})


def test_two_runs_give_their_values_not_an_interval() -> None:
    report = _report((0.4, [True, True]), (0.5, [False, False]))
    aggregate = report.aggregate()
    assert aggregate["win_share"] == {"n_runs": 2, "values": [1.0, 0.0], "mean": 0.5}
    assert aggregate["objective"] == {"n_runs": 2, "values": [0.4, 0.5], "mean": pytest.approx(0.45)}
    line = report.aggregate_line()
    assert "100% and 0% by run" in line and "0.4000 and 0.5000 by run" in line and "±" not in line
    assert "Over 2 runs" in line


def test_an_interval_on_a_share_stays_within_zero_and_one() -> None:
    report = _report((0.4, [True, True]), (0.5, [False, False]), (0.6, [True, False]))
    share = report.aggregate()["win_share"]
    assert share["n_runs"] == 3 and share["values"] == [1.0, 0.0, 0.5] and share["mean"] == 0.5
    assert share["low"] == 0.0 and share["high"] == 1.0  # 0.5 ± 1.24 unclipped
    objective = report.aggregate()["objective"]
    half = 4.303 * np.std([0.4, 0.5, 0.6], ddof=1) / np.sqrt(3)
    assert objective["low"] == pytest.approx(0.5 - half) and objective["high"] == pytest.approx(0.5 + half)
    assert "50% (95% CI 0% to 100%)" in report.aggregate_line() and "3 runs" in report.aggregate_line()


def test_over_runs_uses_t_quantiles() -> None:
    assert t_95(2) == 4.303 and t_95(11) == 2.228 and t_95(1000) == 1.96
    summary = over_runs([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.776 * np.std([1, 2, 3, 4, 5], ddof=1) / np.sqrt(5)
    assert summary["low"] == pytest.approx(3.0 - half) and summary["confidence"] == 0.95
