"""Shared by the report's tests: a tiny trained run (trained once per session), odd households, DOM numbers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mcsim.cli.main import cli
from mcsim.core.profile import Profile, profile_from_dict

from .conftest import BASE

PATHS = 2_000
SEED = 3
MC = 200
TINY = ["--profiles", "4", "--episodes", "3", "--network", "standard", "--envs", "8"]

_runs: dict[str, Path] = {}


def tiny_run(factory: pytest.TempPathFactory) -> Path:
    """A run of `mcsim train` at the smallest budget, trained once per test session (a few seconds)."""
    pytest.importorskip("mcsim_sb3")
    if "tiny" not in _runs:
        out = factory.mktemp("report-runs") / "tiny"
        result = CliRunner().invoke(cli, ["train", *TINY, "--out", str(out)])
        assert result.exit_code == 0, result.output
        _runs["tiny"] = out
    return _runs["tiny"]


def household(**changes: Any) -> Profile:
    """The tests' base household with top-level sections replaced."""
    data = copy.deepcopy(BASE)
    data.update(changes)
    return profile_from_dict(data)


def pension_covers_all() -> Profile:
    """A pension above the target: nothing is ever withdrawn for the need."""
    data = copy.deepcopy(BASE)
    data["name"] = "pension_covers_all"
    data["retirement"] = {"target_monthly_income": 1500, "state_pension_monthly": 2000}
    return profile_from_dict(data)


def never_funded() -> Profile:
    """No income, no capital, no saving, no pension: retirement is never funded."""
    data = copy.deepcopy(BASE)
    data["name"] = "never_funded"
    data["income"] = {"monthly_net": 0}
    data["accounts"] = [{"name": "main", "type": "cto", "balance": 0, "allocation": {"equities": 1.0}}]
    data["plan"] = {"savings": []}
    data["retirement"] = {"target_monthly_income": 2000, "state_pension_monthly": 0}
    return profile_from_dict(data)


def simulate_json(profile: str, paths: int = PATHS, seed: int = SEED, *extra: str) -> dict[str, Any]:
    """What `mcsim simulate PROFILE --json` prints."""
    result = CliRunner().invoke(cli, ["simulate", profile, "--paths", str(paths), "--seed", str(seed), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def lookup(data: Any, field: str) -> Any:
    """The value at a dotted path of ``to_dict()`` (list indexes as numbers)."""
    node = data
    for part in field.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node
