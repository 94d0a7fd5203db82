"""Shared fixtures: small profiles built from dicts, for closed-form and reference checks."""

from __future__ import annotations

import copy
import os
from importlib.metadata import entry_points
from typing import Any

import pytest

from mcsim.core.profile import Profile, profile_from_dict

# Installed third-party plugins must not leak into the tests: only ours (built-ins and sb3) load,
# those of them that are installed (naming a missing one is warned about on every command).
OUR_PLUGINS = {"sb3", "mlx", "onnx", "coreml"} & set(entry_points(group="mcsim").names)
os.environ["MCSIM_LOAD_PLUGINS"] = ",".join(sorted(OUR_PLUGINS))

BASE: dict[str, Any] = {
    "name": "test",
    "person": {"current_age": 40, "retirement_age": 50, "life_expectancy": 60},
    "income": {"monthly_net": 3000},
    "accounts": [{"name": "main", "type": "livret", "balance": 10000, "allocation": {"equities": 1.0}}],
    "plan": {"savings": [{"from_age": 40, "to_age": 50, "monthly_contribution": 500}]},
    "retirement": {"target_monthly_income": 2500, "state_pension_monthly": 1000},
    "market": {
        "assets": [{"name": "equities", "expected_return_pct": 6.0, "volatility_pct": 15.0}],
        "inflation_mean_pct": 2.0,
        "inflation_volatility_pct": 0.0,
    },
}


def make_profile(**changes: Any) -> Profile:
    """A copy of BASE with dotted-path changes, e.g. ``make_profile(**{"person.current_age": 30})``."""
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = data
        *parents, leaf = path.split(".")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(leaf)] = value
        else:
            node[leaf] = value
    return profile_from_dict(data)


@pytest.fixture
def base_data() -> dict[str, Any]:
    """A fresh, valid profile as a dict."""
    return copy.deepcopy(BASE)
