"""Environment benchmark: env-steps per second with random actions, side by side in one run.

NumbaVecEnv (B = 64 and 256, one jitted parallel call per step) against stable-baselines3's
DummyVecEnv of RetirementEnv (a Python loop over envs) and SubprocVecEnv with 2 worker processes
(one Numba thread each), all on the same pool of 200 sampled households, yearly decisions and
50-path terminal estimates included; plus episodes per second. The whole-life env
(``horizon="life"``, crra reward: retirement steps to the horizon instead of the terminal estimate)
runs on the same pool, with fixed and with Gompertz mortality, its rate also shown as a ratio of
the retirement env's at the same B. The history return models run on the same households
(``sample_pool(..., market="bootstrap")`` and ``"historical"``, Shiller's monthly series): their
NumbaVecEnv rates as ratios of the lognormal pool's at the same B, the three measured in turn in
interleaved rounds (the median of the rounds' rates).
Usage: ``python bench/env.py [--seconds S]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcsim.env.environment import RetirementEnv  # noqa: E402
from mcsim.env.household import sample_pool  # noqa: E402
from mcsim.env.vec_env import NumbaVecEnv  # noqa: E402

POOL_SIZE, POOL_SEED = 200, 7
MARKETS = ("lognormal", "bootstrap", "historical")
MARKET_ROUNDS = 3


def make_env() -> RetirementEnv:
    """A RetirementEnv on the benchmark's pool (module-level, so subprocesses can build it)."""
    return RetirementEnv(sample_pool(POOL_SIZE, seed=POOL_SEED))


def measure(vec, seconds: float) -> tuple[float, float]:
    """(env-steps/s, episodes/s) of ``vec`` under uniform random actions, after one warm-up step."""
    rng = np.random.default_rng(0)
    n = vec.num_envs
    vec.reset()
    vec.step(rng.random((n, 2), dtype=np.float32))
    steps = episodes = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, dones, _ = vec.step(rng.random((n, 2), dtype=np.float32))
        steps += n
        episodes += int(dones.sum())
    elapsed = time.perf_counter() - start
    return steps / elapsed, episodes / elapsed


def market_rates(n_envs: int, seconds: float) -> dict[str, tuple[float, float]]:
    """NumbaVecEnv (env-steps/s, episodes/s) of each return model on the benchmark's households.

    Medians of interleaved rounds (forwards, then backwards), ``seconds`` in all per model.
    """
    envs = {market: NumbaVecEnv(n_envs, sample_pool(POOL_SIZE, seed=POOL_SEED, market=market), seed=0)
            for market in MARKETS}
    rates: dict[str, list[tuple[float, float]]] = {market: [] for market in MARKETS}
    for round_ in range(MARKET_ROUNDS):
        for market in MARKETS if round_ % 2 == 0 else MARKETS[::-1]:
            rates[market].append(measure(envs[market], seconds / MARKET_ROUNDS))
    return {market: tuple(np.median(values, axis=0).tolist()) for market, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    pool = sample_pool(POOL_SIZE, seed=POOL_SEED)
    gompertz = sample_pool(POOL_SIZE, seed=POOL_SEED, mortality="gompertz")
    life = {"reward": "crra", "horizon": "life"}
    rows = []
    retirement_rates = {}
    for n_envs in (64, 256):
        rows.append((f"NumbaVecEnv, B={n_envs}", *measure(NumbaVecEnv(n_envs, pool, seed=0), args.seconds)))
        retirement_rates[n_envs] = rows[-1][1]
    life_rows = []
    for n_envs in (64, 256):
        life_rows.append((f"NumbaVecEnv whole life, B={n_envs}", n_envs,
                          *measure(NumbaVecEnv(n_envs, pool, seed=0, **life), args.seconds)))
    life_rows.append(("NumbaVecEnv whole life, Gompertz, B=256", 256,
                      *measure(NumbaVecEnv(256, gompertz, seed=0, **life), args.seconds)))
    markets = {n_envs: market_rates(n_envs, args.seconds) for n_envs in (64, 256)}
    rows.append(("DummyVecEnv of RetirementEnv, 16 envs", *measure(DummyVecEnv([make_env] * 16), args.seconds)))
    os.environ["NUMBA_NUM_THREADS"] = "1"  # one thread per worker: 2 workers on 2 cores
    subproc = SubprocVecEnv([make_env] * 2)
    rows.append(("SubprocVecEnv of RetirementEnv, 2 workers", *measure(subproc, args.seconds)))
    subproc.close()
    reference = rows[-1][1]
    print(f"{POOL_SIZE} sampled households, yearly steps, 50-path terminal estimates, random actions, {os.cpu_count()} cores")
    print(f"{'':44s}{'env-steps/s':>14s}{'episodes/s':>12s}{'vs subproc':>12s}")
    for label, steps, episodes in rows:
        print(f"{label:44s}{steps:14,.0f}{episodes:12,.0f}{steps / reference:11.1f}x")
    print(f"{'':44s}{'env-steps/s':>14s}{'episodes/s':>12s}{'vs subproc':>12s}{'vs retirement':>15s}")
    for label, n_envs, steps, episodes in life_rows:
        ratio = steps / retirement_rates[n_envs]
        print(f"{label:44s}{steps:14,.0f}{episodes:12,.0f}{steps / reference:11.1f}x{ratio:14.2f}x")
    print(f"{'return models (history: shiller_monthly)':44s}{'env-steps/s':>14s}{'episodes/s':>12s}{'vs subproc':>12s}"
          f"{'vs lognormal':>15s}")
    for n_envs, rates in markets.items():
        for market, (steps, episodes) in rates.items():
            ratio = steps / rates["lognormal"][0]
            label = f"NumbaVecEnv {market}, B={n_envs}"
            print(f"{label:44s}{steps:14,.0f}{episodes:12,.0f}{steps / reference:11.1f}x{ratio:14.2f}x")


if __name__ == "__main__":
    main()
