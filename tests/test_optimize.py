"""The classic optimizer: the minimum saving that reaches a target on common random numbers."""

from __future__ import annotations

import pytest

from mcsim.core.arrays import compile_profile
from mcsim.core.errors import ParameterError
from mcsim.core.optimize import MAX_MONTHLY_SAVING, minimum_saving, success_probability
from mcsim.core.profile import load_profile

from .conftest import make_profile


def test_minimum_saving_is_minimal_on_the_same_paths() -> None:
    result = minimum_saving("default", target=0.9, n_paths=2000, seed=4)
    assert result.reachable and result.profile == "default"
    assert result.target == 0.9 and result.n_paths == 2000 and result.seed == 4
    saving = result.monthly_saving
    assert 0 < saving < MAX_MONTHLY_SAVING
    arrays = compile_profile(load_profile("default"))
    reached = success_probability(arrays, saving, seed=4, n_paths=2000)
    assert reached == result.success >= 0.9
    assert success_probability(arrays, 0.95 * saving, seed=4, n_paths=2000) < 0.9
    # The bracket's low end, one precision below, falls short too.
    assert result.success_below is not None and result.success_below < 0.9
    assert success_probability(arrays, saving - result.precision, seed=4, n_paths=2000) < 0.9

    # Every candidate is recorded: the start at zero, the doubling bracket, then the bisection.
    steps = result.steps
    assert steps[0].phase == "start" and steps[0].monthly_saving == 0.0
    phases = [step.phase for step in steps]
    assert phases == sorted(phases, key=["start", "bracket", "bisect"].index)
    assert "bracket" in phases and "bisect" in phases
    assert any(step.monthly_saving == saving and step.success == result.success for step in steps)
    for step in steps:  # success never decreases with the saving on common paths
        assert step.success == success_probability(arrays, step.monthly_saving, seed=4, n_paths=2000)
        assert (step.success >= 0.9) == (step.monthly_saving >= saving)
    assert result.to_dict()["steps"][0] == {"phase": "start", "monthly_saving": 0.0, "success": steps[0].success}


def test_minimum_saving_is_reproducible() -> None:
    first = minimum_saving("young_saver", target=0.8, n_paths=300, seed=1)
    second = minimum_saving("young_saver", target=0.8, n_paths=300, seed=1, threads=1)
    assert first == second


def test_hopeless_target_is_unreachable() -> None:
    profile = make_profile(**{
        "retirement.target_monthly_income": 1e9,
        "retirement.state_pension_monthly": 0,
        "income.monthly_net": 0,
    })
    result = minimum_saving(profile, target=1.0, n_paths=200, seed=2)
    assert result.reachable is False
    assert result.monthly_saving == MAX_MONTHLY_SAVING
    assert result.success < 1.0 and result.success_below is None
    assert result.share_of_income is None
    assert result.steps[-1].monthly_saving == MAX_MONTHLY_SAVING


def test_already_funded_profile_needs_no_saving() -> None:
    profile = make_profile(**{"accounts.0.balance": 5e6, "market.assets.0.volatility_pct": 5.0})
    result = minimum_saving(profile, target=1.0, n_paths=500, seed=3)
    assert result.reachable and result.monthly_saving == 0.0 and result.success == 1.0
    assert [step.phase for step in result.steps] == ["start"]
    assert result.success_below is None
    assert result.share_of_income == 0.0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"target": 0.0}, "target"),
        ({"target": 1.01}, "target"),
        ({"precision": 0.0}, "precision"),
        ({"precision": float("nan")}, "precision"),
        ({"n_paths": 0}, "n_paths"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs: dict, name: str) -> None:
    with pytest.raises(ParameterError) as error:
        minimum_saving("default", **{"n_paths": 10, **kwargs})
    assert error.value.name == name
