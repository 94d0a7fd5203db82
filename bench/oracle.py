"""Optimum benchmark: the dynamic-programming solver's time, and every strategy as a share of the optimum.

1. Solve time for one household with 30 decision years (300 wealth points, 21 x 21 actions refined
   locally, 16 quadrature nodes, 1000 terminal paths) on all cores, warm (compiled), median of
   ``--repeats``; then how it grows with each grid size, the others at their defaults.
2. On 20 held-out households (1000 common paths each), the certainty-equivalent consumption of
   each baseline and of a trained policy as a share of the optimum's (crra objective), with the
   planner objective's shares alongside when a planner run is given.

Usage: ``python bench/oracle.py [--run RUN_CRRA] [--planner-run RUN] [--train]``. With ``--train``
and no ``--run`` it first trains PPO with the default budget on the crra objective (~3 minutes).

``--horizon life``: the solve time over the whole life (docs/whole-life.md) instead, for the
default profile (fixed mortality to 90, and Gompertz mortality to 110 without and with a bequest
weight), warm, median of ``--repeats``, and how it grows with each grid size; then, with ``--run``
(a ``--horizon life`` run) or ``--train``, on 20 held-out households every withdrawal rule (each
with its best saving baseline, household by household) and the learned policy as shares of the
optimum's certainty equivalent: median, p10, min; how often the policy beats the best of the rules
other than merton, and its distance to merton.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcsim.cli.progress import Reporter  # noqa: E402
from mcsim.env.environment import EnvConfig  # noqa: E402
from mcsim.env.household import sample_pool  # noqa: E402
from mcsim.env.policies import BASELINES  # noqa: E402
from mcsim.optimum.solver import SolverGrid, solve_household  # noqa: E402
from mcsim.training.evaluation import OPTIMUM, evaluate  # noqa: E402
from mcsim.training.reports import held_out_pool, run_optimum, strategies  # noqa: E402
from mcsim.training.trainer import TrainConfig, Trainer, load_agent  # noqa: E402


def thirty_year_household():
    """A sampled household with 30 years to retirement."""
    pool = sample_pool(400, seed=12)
    candidates = np.flatnonzero(pool.n_accum == 360)
    index = int(candidates[0]) if candidates.size else int(np.argmin(np.abs(pool.n_accum - 360)))
    return pool.take([index])


def solve_seconds(pool, config: EnvConfig, solver: SolverGrid, repeats: int) -> float:
    """Median wall time of a solve (the coarse basis-ratio pre-solve included), after a warm-up."""
    solve_household(pool, 0, config, solver)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        solve_household(pool, 0, config, solver)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timing(repeats: int) -> None:
    pool = thirty_year_household()
    base = SolverGrid()
    print(f"household: {pool.n_accum[0] // 12} years to retirement, tax on gains {100 * pool.tax_rate[0]:.0f}%")
    print("| objective | wealth points | actions | nodes | solve (s) | vs default grid |")
    print("|---|---:|---:|---:|---:|---:|")
    for reward in ("planner", "crra"):
        config = EnvConfig(reward=reward)
        reference = solve_seconds(pool, config, base, repeats)
        variants = [base, replace(base, wealth_points=100), replace(base, wealth_points=600),
                    replace(base, rate_points=11, equity_points=11), replace(base, rate_points=41, equity_points=41),
                    replace(base, nodes=8), replace(base, nodes=32)]
        for solver in variants:
            seconds = reference if solver == base else solve_seconds(pool, config, solver, max(1, repeats // 2))
            print(f"| {reward} | {solver.wealth_points} | {solver.rate_points * solver.equity_points} | {solver.nodes} | "
                  f"{seconds:.2f} | {seconds / reference:.2f}x |")


def default_households():
    """The default profile as a pool: its own fixed mortality, and Gompertz mortality (modal age 88, to 110)."""
    from mcsim.core.profile import load_profile, profile_from_dict
    from mcsim.env.household import pool_from_profiles

    profile = load_profile("default")
    data = profile.model_dump()
    data["person"]["mortality"] = "gompertz"
    return {"fixed": pool_from_profiles([profile]), "gompertz": pool_from_profiles([profile_from_dict(data)])}


def life_timing(repeats: int) -> None:
    """Solve times over the whole life for the default profile."""
    pools = default_households()
    base = SolverGrid()
    fixed = pools["fixed"]
    print(f"default profile: {fixed.n_accum[0] / 12:.0f} working years, retirement to {fixed.n_decum[0] / 12:.0f} years "
          f"(fixed) or {pools['gompertz'].n_decum[0] / 12:.0f} (Gompertz), tax on gains {100 * fixed.tax_rate[0]:.0f}%")
    print("| mortality | bequest weight | wealth points | actions | nodes | solve (s) | vs default grid |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mortality, bequest in (("fixed", 0.0), ("gompertz", 0.0), ("gompertz", 1.0)):
        pool = pools[mortality]
        config = EnvConfig(reward="crra", horizon="life", bequest_weight=bequest)
        reference = solve_seconds(pool, config, base, repeats)
        variants = [base]
        if mortality == "fixed":
            variants += [replace(base, wealth_points=100), replace(base, wealth_points=600),
                         replace(base, rate_points=11, equity_points=11), replace(base, nodes=8)]
        for solver in variants:
            seconds = reference if solver == base else solve_seconds(pool, config, solver, max(1, repeats // 2))
            print(f"| {mortality} | {bequest:g} | {solver.wealth_points} | {solver.rate_points * solver.equity_points} | "
                  f"{solver.nodes} | {seconds:.2f} | {seconds / reference:.2f}x |")


def shares(run: str, households: int, n_paths: int, seed: int) -> None:
    agent, manifest = load_agent(run)
    config = EnvConfig(**{**manifest["env"], "mc_paths": 1})
    pool = held_out_pool(manifest, households, seed)
    start = time.perf_counter()
    evaluation = evaluate(strategies(agent, run_optimum(manifest, True)), pool, n_paths, seed, config)
    seconds = time.perf_counter() - start
    yardstick = evaluation.yardstick
    defined = int(np.sum([row[OPTIMUM] > 0 for row in evaluation.by_household]))
    print(f"\n{run} ({config.reward} objective): {households} held-out households x {n_paths} paths, "
          f"{seconds:.0f} s with the solves; {yardstick} as a share of the optimum's "
          f"(over the {defined} households whose optimum is positive)")
    print("| strategy | median | p10 | min | max | households below the best baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    baselines = list(BASELINES)
    best = np.array([max(row[b] for b in baselines) for row in evaluation.by_household])
    for name in ("policy", *baselines, OPTIMUM):
        ratio = evaluation.shares_of_optimum(name)
        below = sum(row[name] < b - 1e-9 for row, b in zip(evaluation.by_household, best, strict=True))
        below_text = f"{below}/{households}" if name in ("policy", OPTIMUM) else ""
        print(f"| {name} | {100 * np.nanmedian(ratio):.1f}% | {100 * np.nanpercentile(ratio, 10):.1f}% | "
              f"{100 * np.nanmin(ratio):.1f}% | {100 * np.nanmax(ratio):.1f}% | {below_text} |")


def life_shares(run: str, households: int, n_paths: int, seed: int) -> None:
    """Every rule's and the policy's CE share of the optimum over the whole life, on the same paths."""
    from mcsim.core.profile import WITHDRAWAL_PARAMETERS
    from mcsim.plugins.baseline_agents import life_baselines

    agent, manifest = load_agent(run)
    config = EnvConfig(**{**manifest["env"], "mc_paths": 1})
    pool = held_out_pool(manifest, households, seed)
    start = time.perf_counter()
    evaluation = evaluate(strategies(agent, run_optimum(manifest, True), life=True), pool, n_paths, seed, config)
    seconds = time.perf_counter() - start
    rows = evaluation.by_household
    pairs = {rule: [name for name in life_baselines() if name.endswith(f"/{rule}")] for rule in WITHDRAWAL_PARAMETERS}
    best_of = {rule: np.array([max(row[name] for name in names) for row in rows]) for rule, names in pairs.items()}
    optimum = np.array([row[OPTIMUM] for row in rows])
    policy = np.array([row["policy"] for row in rows])
    print(f"\n{run} (whole life, gamma {config.gamma:g}): {households} held-out households x {n_paths} paths, "
          f"{seconds:.0f} s with the solves; certainty equivalent as a share of the optimum's "
          "(each rule with its best saving baseline, household by household)")
    print("| strategy | median | p10 | min |")
    print("|---|---:|---:|---:|")
    for name, values in (("policy", policy), *best_of.items()):
        ratio = values / optimum
        print(f"| {name} | {100 * np.median(ratio):.1f}% | {100 * np.percentile(ratio, 10):.1f}% | {100 * ratio.min():.1f}% |")
    others = np.max([best_of[rule] for rule in best_of if rule != "merton"], axis=0)
    wins = int((policy > others + 1e-9).sum())
    gap = (policy - best_of["merton"]) / optimum
    print(f"policy beats the best rule other than merton on {wins}/{households} households; "
          f"policy minus merton: median {100 * np.median(gap):+.1f} points of the optimum (min {100 * gap.min():+.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run", default=None, help="A run trained with --reward crra.")
    parser.add_argument("--planner-run", default=None, help="A run trained with the planner objective.")
    parser.add_argument("--train", action="store_true", help="Train the crra run first (default budget).")
    parser.add_argument("--households", type=int, default=20)
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--horizon", choices=("retirement", "life"), default="retirement",
                        help="life: the whole-life solve times, and with --run/--train the rules' and policy's shares.")
    args = parser.parse_args()
    life = args.horizon == "life"
    if not args.skip_timing:
        (life_timing if life else timing)(args.repeats)
    run = args.run
    if run is None and args.train:
        run = "runs/oracle-life" if life else "runs/oracle-crra"
        with Reporter(f"training {run}") as progress:
            Trainer(TrainConfig(horizon=args.horizon, reward="crra", out=run), console=progress.console,
                    progress=progress).run()
    if run is not None:
        (life_shares if life else shares)(run, args.households, args.paths, args.seed)
    if args.planner_run is not None and not life:
        shares(args.planner_run, args.households, args.paths, args.seed)


if __name__ == "__main__":
    main()
