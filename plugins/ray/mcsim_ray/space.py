"""A sweep's search space: ``--param NAME=SPEC`` over the settings a backend declares, ``--network``, ``--seeds``.

SPEC is ``loguniform:LOW:HIGH``, ``uniform:LOW:HIGH``, ``randint:LOW:HIGH`` (both included),
``choice:A,B,...`` or a single value (fixed for every trial). Each is checked against the
backend's :class:`~mcsim.plugins.agents.Hyperparameter`: an unknown name, a value outside its range
or a distribution that does not fit its kind is one ParameterError. A *configuration* is a network
and a value of every parameter; each configuration is trained once per seed (its trials).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mcsim.core.errors import ParameterError
from mcsim.plugins.agents import AgentBackend

DISTRIBUTIONS = ("loguniform", "uniform", "randint", "choice")
SEARCHES = ("optuna", "random", "grid")


@dataclass(frozen=True)
class Dimension:
    """One swept setting: its name, distribution (``fixed`` for one value) and arguments (bounds or values)."""

    name: str
    distribution: str
    values: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"name": self.name, "distribution": self.distribution, "values": list(self.values)}

    def sample(self, rng: np.random.Generator) -> Any:
        """A value drawn from the distribution."""
        if self.distribution == "loguniform":
            return float(math.exp(rng.uniform(math.log(self.values[0]), math.log(self.values[1]))))
        if self.distribution == "uniform":
            return float(rng.uniform(self.values[0], self.values[1]))
        if self.distribution == "randint":
            return int(rng.integers(self.values[0], self.values[1] + 1))
        return self.values[int(rng.integers(len(self.values)))]

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna trial suggests."""
        if self.distribution in ("loguniform", "uniform"):
            return trial.suggest_float(self.name, self.values[0], self.values[1], log=self.distribution == "loguniform")
        if self.distribution == "randint":
            return trial.suggest_int(self.name, self.values[0], self.values[1])
        if len(self.values) == 1:
            return self.values[0]
        return trial.suggest_categorical(self.name, list(self.values))


def parse_param(text: str, backend: AgentBackend, algo: str) -> Dimension:
    """``NAME=SPEC`` as a dimension of the backend's setting NAME for ``algo`` (one ParameterError when it is not one)."""
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise ParameterError("--param", f"write NAME=SPEC, SPEC loguniform:LOW:HIGH, uniform:LOW:HIGH, randint:LOW:HIGH, "
                                        f"choice:A,B or a value (got {text!r})")
    setting = backend.hyperparameter(name, algo)
    kind, _, rest = spec.partition(":")
    if kind not in DISTRIBUTIONS or not rest:
        return Dimension(name, "choice", (setting.value(spec),))
    where = f"--param {name}"
    if kind == "choice":
        values = tuple(dict.fromkeys(setting.value(v.strip()) for v in rest.split(",") if v.strip()))
        if not values:
            raise ParameterError(where, "choice: needs at least one value")
        return Dimension(name, "choice", values)
    bounds = rest.split(":")
    if len(bounds) != 2:
        raise ParameterError(where, f"{kind}: needs LOW:HIGH (got {rest!r})")
    low, high = (setting.value(bound.strip()) for bound in bounds)
    if setting.kind == "choice":
        raise ParameterError(where, f"takes choice:... (it is {setting.range_text}), not {kind}")
    if kind == "randint" and setting.kind != "int":
        raise ParameterError(where, "randint: the setting is a float; use uniform or loguniform")
    if not low < high:
        raise ParameterError(where, f"{kind}: LOW must be below HIGH (got {low:g} and {high:g})")
    if kind == "loguniform" and low <= 0:
        raise ParameterError(where, f"loguniform: LOW must be above 0 (got {low:g})")
    if setting.kind == "int" and kind != "randint":
        raise ParameterError(where, f"{kind}: the setting is an integer; use randint:LOW:HIGH or choice:...")
    return Dimension(name, kind, (low, high))


def parse_seeds(text: str) -> list[int]:
    """``0-4`` or ``0,3,7`` (or both, ``0-2,9``) as a list of distinct seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                first, last = (int(x) for x in part.split("-", 1))
                if last < first:
                    raise ValueError
                seeds.extend(range(first, last + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise ParameterError("--seeds", f"write 0-4 or 0,3,7 (got {text!r})") from None
    seeds = list(dict.fromkeys(seeds))
    if not seeds or any(seed < 0 or seed > 2**32 - 1 for seed in seeds):
        raise ParameterError("--seeds", f"needs at least one seed in [0, 4294967295] (got {text!r})")
    if len(seeds) > 1000:
        raise ParameterError("--seeds", f"at most 1000 seeds (got {len(seeds)})")
    return seeds


def parse_networks(text: str, backend: AgentBackend) -> list[str]:
    """``standard,solid`` as the backend's network presets (one line for an unknown one)."""
    networks = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not networks:
        raise ParameterError("--network", "names at least one network preset")
    for network in networks:
        if backend.networks and network not in backend.networks:
            raise ParameterError("--network", f"agent '{backend.name}' offers {', '.join(backend.networks)} "
                                              f"(got {network!r})")
    return networks


def configurations(dimensions: list[Dimension], networks: list[str], samples: int, search: str,
                   seed: int) -> list[dict[str, Any]]:
    """The configurations of a random or grid search: ``{"network": ..., "params": {...}}`` each.

    Random: ``samples`` draws (the network uniform among ``networks``), seeded by ``seed``; grid:
    every combination of the networks and the choice values (no continuous distribution).
    """
    if search == "grid":
        continuous = [d.name for d in dimensions if d.distribution != "choice"]
        if continuous:
            raise ParameterError("--search", f"grid takes choice:... and fixed values only ({continuous[0]} is "
                                             f"{next(d.distribution for d in dimensions if d.name == continuous[0])})")
        combos = itertools.product(networks, *(d.values for d in dimensions))
        return [{"network": combo[0], "params": {d.name: v for d, v in zip(dimensions, combo[1:], strict=True)}}
                for combo in combos]
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(samples):
        network = networks[int(rng.integers(len(networks)))]
        found.append({"network": network, "params": {d.name: d.sample(rng) for d in dimensions}})
    return found
