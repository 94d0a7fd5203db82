"""``mcsim evaluate --ray``: the same evaluation, its households split in blocks over an executor.

:func:`~mcsim.training.evaluation.evaluate` rolls out episode i on household ``i % N`` with stream
seed ``seed + i`` (and, on historical cohorts, the cohort ``(i // N + 0.5) / paths``). Here each
block of households runs its own episodes with exactly those seeds and cohorts, on any worker;
the bisection baseline seeds each household's paths with its index in the whole pool, and the
optimum solves each household alone, as they do in one process. The blocks' per-episode results
are put back in episode order and scored by the same code, so the numbers are those of one process
(the policy acting on a block's batch instead of the whole one: the same actions, bar the last bit
of a float32 product on batches of a few rows).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..core.progress import OnProgress, silent
from ..env.environment import EnvConfig
from ..env.household import HouseholdPool
from ..env.policies import BASELINES, Rollout, rollout_episodes
from ..plugins.executors import get_executor
from .batch import RunPayload, payload_agent
from .evaluation import Evaluation, retirement_spending, score_rollouts

MAX_BLOCK_EPISODES = 65_536
"""Episodes of one block's roll-out of one strategy (households x paths)."""
FIELDS = ("returns", "terminal", "funded_probability", "shortfall", "capital_at_retirement")


def evaluate_block(shared: tuple[RunPayload, dict[str, Any], int, int, int, int | None],
                   block: tuple[np.ndarray, HouseholdPool]) -> dict[str, dict[str, np.ndarray]]:
    """Every strategy's episodes of the block's households: per-episode arrays, with their global episode indices."""
    from .reports import strategies

    payload, settings, n_paths, seed, n_households, optimum_paths = shared
    indices, pool = block
    config = EnvConfig(**settings)
    optimum = None
    if optimum_paths is not None:
        from ..optimum.policy import Optimum

        optimum = Optimum(mc_paths=optimum_paths)
        optimum.prepare(pool, EnvConfig(**{**settings, "mc_paths": 1}))
    BASELINES["bisection"].savings(pool, seeds=[int(h) for h in indices])  # the whole pool's seeds
    policies = strategies(payload_agent(payload), optimum, config.life)
    episodes = np.array([p * n_households + h for p in range(n_paths) for h in indices], dtype=np.int64)
    local = np.tile(np.arange(indices.size), n_paths)
    options = [{"household": int(j), "cohort": (int(e) // n_households + 0.5) / n_paths}
               for j, e in zip(local, episodes, strict=True)]
    seeds = [seed + int(e) for e in episodes]
    run_settings = {**settings, "mc_paths": 1}
    results: dict[str, dict[str, np.ndarray]] = {}
    for name, policy in policies.items():
        result = rollout_episodes(policy, pool, options, seeds, record=config.life, **run_settings)
        arrays = {field: getattr(result, field) for field in FIELDS}
        if config.life:
            arrays["spending"] = retirement_spending(result, pool, config.step_months)
        arrays["episodes"] = episodes
        results[name] = arrays
    BASELINES["bisection"].forget(pool)
    return results


def evaluate_in_blocks(payload: RunPayload, optimum_paths: int | None, pool: HouseholdPool, n_paths: int, seed: int,
                       config: EnvConfig, executor: str, address: str | None = None, workdir: Path | None = None,
                       progress: OnProgress | None = None, label: str = "evaluating") -> Evaluation:
    """:func:`~mcsim.training.evaluation.evaluate` of the run's policy beside the baselines (and the optimum), in blocks.

    ``optimum_paths``: the optimum's terminal paths (None: no optimum).
    """
    report = progress or silent
    n_episodes = pool.size * n_paths
    per_block = max(1, min(pool.size, MAX_BLOCK_EPISODES // n_paths))
    starts = list(range(0, pool.size, per_block))
    blocks = ((np.arange(s, min(pool.size, s + per_block)), pool.take(np.arange(s, min(pool.size, s + per_block))))
              for s in starts)
    shared = (payload, asdict(config), n_paths, seed, pool.size, optimum_paths)
    merged: dict[str, dict[str, np.ndarray]] = {}
    report(f"{label}: {len(starts)} blocks of households", 0, len(starts), unit="blocks")
    for done, results in enumerate(get_executor(executor).map_blocks(evaluate_block, blocks, shared=shared,
                                                                      address=address, workdir=workdir), 1):
        for name, arrays in results.items():
            target = merged.setdefault(name, {key: np.zeros(n_episodes) for key in arrays if key != "episodes"})
            for key, values in arrays.items():
                if key != "episodes":
                    target[key][arrays["episodes"]] = values
        report(f"{label}: {len(starts)} blocks of households", done, len(starts), unit="blocks")
    households = np.arange(n_episodes) % pool.size
    empty = np.empty((n_episodes, 0))
    rollouts = {name: Rollout(households, *(arrays[field] for field in FIELDS), empty, empty, empty, empty, empty)
                for name, arrays in merged.items()}
    spending = {name: arrays["spending"] for name, arrays in merged.items() if "spending" in arrays}
    report(f"{label}: scoring the strategies")
    return score_rollouts(rollouts, spending, pool, n_paths, seed, config)
