"""Scoring and phase grouping of evaluate and predict."""

from __future__ import annotations

import numpy as np
import pytest

from mcsim.env.environment import EnvConfig
from mcsim.training.evaluation import Evaluation, planner_objective, strategy_phases


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
