"""Kernel benchmark: path-months per second, side by side in one run, as ratios.

On the embedded default profile (a 30-year-old, 60 years of months, 2 assets with inflation
drawn: 3 normals a month), 10,000 paths:

* the Numba kernel on 1 thread and on all threads;
* the NumPy reference of the tests, vectorized over paths (its own draws included);
* a naive pure-Python loop over paths and months, as simple planners write it (fewer paths, scaled);
* the floor: the same number of normals drawn one at a time from a NumPy Generator in a jitted loop;

plus compile time at first call (empty cache, in a subprocess), start-up with a warm cache, and the
wall time of the whole `mcsim simulate --paths 1000` process; and each withdrawal rule's kernel throughput
as a ratio of the ``target`` rule's, on the same profile and paths, one thread, the rules' repeats
interleaved (target: at least 0.8).

The history return models likewise: the ``historical`` and ``bootstrap`` kernels' path-months per
second as ratios of the ``lognormal`` kernel's, on the default profile replaying Shiller's monthly
series, one thread, the same number of paths, repeats interleaved (target: at least 0.9). Historical
cohorts are fixed in number (1,110 for the default profile, 1,829 with ``cohorts = "wrap"``): the
benchmark runs as many paths as the others with ``cohorts = "wrap"``, path k replaying cohort
k mod 1,829, and compares per path-month.

Usage: ``python bench/kernel.py [--paths N] [--rule-repeats R] [--rules-only | --markets-only]``.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcsim.core.arrays import ProfileArrays, compile_profile  # noqa: E402
from mcsim.core.profile import WITHDRAWAL_PARAMETERS, Profile, load_profile, with_withdrawal  # noqa: E402
from mcsim.core.rng import seed_stream, standard_normal  # noqa: E402
from mcsim.core.simulation import numba_threads, run_paths  # noqa: E402
from tests.reference import simulate_reference  # noqa: E402


@numba.njit(cache=True)
def _generator_normals(generator: np.random.Generator, count: int) -> float:
    total = 0.0
    for _ in range(count):
        total += generator.standard_normal()
    return total


@numba.njit(cache=True)
def _stream_normals(count: int) -> float:
    state = seed_stream(0, 0)
    total = 0.0
    for _ in range(count):
        z, state = standard_normal(state)
        total += z
    return total


def best_of(repeats: int, run) -> float:
    """Best wall time of ``repeats`` runs of ``run()``."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def naive_python(arrays: ProfileArrays, n_paths: int, seed: int) -> float:
    """The model in plain Python loops, one path and one month at a time; returns the success rate."""
    rng = random.Random(seed)
    market, plan = arrays.market, arrays.plan
    chol = market.chol.tolist()
    drift, vol = market.drift.tolist(), market.vol.tolist()
    allocation, fee_keep = plan.allocation.tolist(), plan.fee_keep.tolist()
    split, tax = plan.split.tolist(), plan.tax_rate.tolist()
    n_assets, n_accounts = len(drift), len(fee_keep)
    successes = 0
    for _ in range(n_paths):
        balances, basis = plan.balances.tolist(), plan.basis.tolist()
        price, depleted = 1.0, False
        for month in range(arrays.n_months):
            z = [rng.gauss(0.0, 1.0) for _ in range(n_assets)]
            shocks = [sum(chol[k][j] * z[j] for j in range(k + 1)) for k in range(n_assets)]
            inflation = math.exp(market.inflation_drift + market.inflation_vol * rng.gauss(0.0, 1.0))
            price *= inflation
            real = [math.exp(drift[k] + vol[k] * shocks[k]) / inflation for k in range(n_assets)]
            for a in range(n_accounts):
                balances[a] *= sum(allocation[a][k] * real[k] for k in range(n_assets)) * fee_keep[a]
            if month < arrays.n_accum:
                amount = plan.contributions[month]
                for a in range(n_accounts):
                    balances[a] += amount * split[a]
                    basis[a] += amount * split[a] * price
            elif not depleted:
                need = plan.needs[month - arrays.n_accum]
                wealth = sum(balances)
                taxed = sum(
                    balances[a] * tax[a] * max(0.0, 1.0 - basis[a] / (balances[a] * price))
                    for a in range(n_accounts) if balances[a] > 0
                )
                available = wealth - taxed
                if need >= available:
                    depleted = True
                    balances = [0.0] * n_accounts
                    basis = [0.0] * n_accounts
                else:
                    keep = 1.0 - need / available
                    balances = [b * keep for b in balances]
                    basis = [b * keep for b in basis]
        successes += not depleted
    return successes / n_paths


RULE_TARGET = 0.8
"""Each rule's kernel should run at least at this share of the target rule's throughput."""
MARKET_TARGET = 0.9
"""The historical and bootstrap kernels should run at least at this share of the lognormal kernel's throughput."""


def interleaved_seconds(
    compiled: dict[str, ProfileArrays], n_paths: int, repeats: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of each compiled profile's kernel on ``n_paths`` paths, one thread, ``repeats`` each.

    The same paths for every variant; each repeat runs every variant once, in turn (forwards, then
    backwards), so that a slower spell of the machine falls on all of them alike. The CPU time
    (the process's, the one Numba thread's work and the NumPy reductions) hardly moves when other
    processes share the cores, the wall time does.
    """
    seconds: dict[str, list[float]] = {name: [] for name in compiled}
    cpu: dict[str, list[float]] = {name: [] for name in compiled}
    with numba_threads(1):
        for arrays in compiled.values():
            run_paths(arrays, 0, 0, 16)
        for repeat in range(repeats):
            order = list(compiled) if repeat % 2 == 0 else list(compiled)[::-1]
            for name in order:
                start, start_cpu = time.perf_counter(), time.process_time()
                run_paths(compiled[name], 0, 0, n_paths)
                seconds[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    return seconds, cpu


def print_ratios(
    kind: str, baseline: str, target: float, n_paths: int, n_months: int,
    seconds: dict[str, list[float]], cpu: dict[str, list[float]],
) -> None:
    """Each variant's path-months per second and its ratio to ``baseline``'s, by CPU time and by wall time.

    Medians of the repeats; the ``target`` is judged on the CPU-time ratio.
    """
    path_months = n_paths * n_months

    def rates(times: dict[str, list[float]]) -> dict[str, float]:
        return {name: path_months / float(np.median(values)) for name, values in times.items()}

    wall, busy = rates(seconds), rates(cpu)
    over = f"/ {baseline}"
    print(f"{kind:20s}{'M path-months/CPU-s':>20s}{over:>12s}{'M path-months/s':>17s}{over:>12s}"
          f"   CPU ratio >= {target}")
    for name in seconds:
        ratio = busy[name] / busy[baseline]
        print(f"{name:20s}{busy[name] / 1e6:20.2f}{ratio:12.2f}{wall[name] / 1e6:17.2f}{wall[name] / wall[baseline]:12.2f}"
              f"   {'met' if ratio >= target else 'missed'}")


def print_rule_rates(n_paths: int, repeats: int) -> None:
    """Every withdrawal rule's kernel on the default profile as a ratio of the target rule's (at least 0.8)."""
    profile = load_profile("default")
    compiled = {rule: compile_profile(with_withdrawal(profile, rule)) for rule in WITHDRAWAL_PARAMETERS}
    arrays = compiled["target"]
    seconds, cpu = interleaved_seconds(compiled, n_paths, repeats)
    print(f"withdrawal rules, 1 thread: {n_paths:,} paths x {arrays.n_months} months ({arrays.n_decum} in retirement), "
          f"median of {repeats} interleaved repeats")
    print_ratios("rule", "target", RULE_TARGET, n_paths, arrays.n_months, seconds, cpu)


def with_return_model(profile: Profile, model: str) -> Profile:
    """The profile on return model ``model``; the history models replay Shiller's monthly series, cohorts wrapped."""
    data = profile.model_dump(exclude_none=True)
    data["market"]["return_model"] = model
    data["market"]["history"] = {"series": "shiller_monthly", "cohorts": "wrap"}
    return load_profile(data)


def print_market_rates(n_paths: int, repeats: int) -> None:
    """The historical and bootstrap kernels on the default profile as ratios of the lognormal kernel's (at least 0.9)."""
    profile = load_profile("default")
    models = ("lognormal", "historical", "bootstrap")
    compiled = {model: compile_profile(with_return_model(profile, model)) for model in models}
    arrays = compiled["historical"]
    cohorts = arrays.market.cohorts(arrays.n_months)
    seconds, cpu = interleaved_seconds(compiled, n_paths, repeats)
    print(f"return models, 1 thread: {n_paths:,} paths x {arrays.n_months} months of the default profile, "
          f"median of {repeats} interleaved repeats; history: shiller_monthly, {cohorts:,} wrapped cohorts, "
          f"path k replays cohort k mod {cohorts:,}")
    print_ratios("return model", "lognormal", MARKET_TARGET, n_paths, arrays.n_months, seconds, cpu)


def subprocess_seconds(code: str, env: dict[str, str]) -> float:
    """Wall time of a fresh Python process running ``code``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--python-paths", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rule-repeats", type=int, default=7)
    parser.add_argument("--rules-only", action="store_true", help="Only the withdrawal rules' ratios.")
    parser.add_argument("--markets-only", action="store_true", help="Only the history return models' ratios.")
    args = parser.parse_args()
    if args.rules_only:
        print_rule_rates(args.paths, args.rule_repeats)
        return
    if args.markets_only:
        print_market_rates(args.paths, args.rule_repeats)
        return
    arrays = compile_profile(load_profile("default"))
    n, months = args.paths, arrays.n_months
    normals_per_month = arrays.market.drift.size + (1 if arrays.market.inflation_vol > 0 else 0)
    path_months = n * months
    threads = numba.config.NUMBA_NUM_THREADS

    run_paths(arrays, 0, 0, 16)
    generator = np.random.default_rng(0)
    _generator_normals(generator, 10)
    rows: list[tuple[str, float]] = []
    def kernel() -> None:
        run_paths(arrays, 0, 0, n)

    with numba_threads(1):
        rows.append(("numba kernel, 1 thread", path_months / best_of(args.repeats, kernel)))
    with numba_threads(threads):
        rows.append((f"numba kernel, {threads} threads", path_months / best_of(args.repeats, kernel)))
    reference = path_months / best_of(1, lambda: simulate_reference(arrays, n, 0))
    rows.append(("numpy reference (vectorized over paths)", reference))
    python_paths = args.python_paths
    rows.append(("pure-Python loop", python_paths * months / best_of(1, lambda: naive_python(arrays, python_paths, 0))))
    floor = path_months / best_of(args.repeats, lambda: _generator_normals(generator, path_months * normals_per_month))
    rows.append((f"floor: {normals_per_month} Generator normals a month, jitted", floor))

    one_thread = rows[0][1]
    print(f"default profile: {n:,} paths x {months} months, {normals_per_month} normals a month, {threads} threads available")
    print(f"{'':44s}{'M path-months/s':>16s}{'1-thread kernel / this':>24s}")
    for label, rate in rows:
        print(f"{label:44s}{rate / 1e6:16.2f}{one_thread / rate:23.2f}x")
    print(f"numba 1 thread / floor: {one_thread / floor:.2f}   numba {threads} threads / floor: {rows[1][1] / floor:.2f}")
    draws = path_months * normals_per_month
    _stream_normals(10)
    ours = draws / best_of(args.repeats, lambda: _stream_normals(draws))
    theirs = draws / best_of(args.repeats, lambda: _generator_normals(generator, draws))
    print(f"normals per second, one thread: per-path xoshiro256** ziggurat {ours / 1e6:.0f} M, Generator {theirs / 1e6:.0f} M")

    print_rule_rates(n, args.rule_repeats)
    print_market_rates(n, args.rule_repeats)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    simulate_code = "from mcsim.core.simulation import simulate; simulate('default', 1000, seed=1)"
    with tempfile.TemporaryDirectory() as cache:
        cold = subprocess_seconds(simulate_code, {**env, "NUMBA_CACHE_DIR": cache})
        warm = subprocess_seconds(simulate_code, {**env, "NUMBA_CACHE_DIR": cache})
    imports = subprocess_seconds("import mcsim.core.simulation", env)
    cli = [sys.executable, "-m", "mcsim", "simulate", "--paths", "1000"]
    subprocess.run(cli, check=True, env=env, cwd=ROOT, capture_output=True)
    start = time.perf_counter()
    subprocess.run(cli, check=True, env=env, cwd=ROOT, capture_output=True)
    whole = time.perf_counter() - start
    print(f"process simulating 1,000 paths: empty cache {cold:.2f} s (compile {cold - warm:.2f} s), warm cache {warm:.2f} s")
    print(f"start-up: import mcsim.core.simulation {imports:.2f} s; whole `mcsim simulate --paths 1000` {whole:.2f} s")


if __name__ == "__main__":
    main()
