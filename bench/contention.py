"""Throughput under load: env-steps/s and PPO training steps/s alone and beside one busy core, in one run.

Each measurement runs in a fresh process (the OpenMP wait policy is read once, when the runtime
loads), with Numba threads fixed at 1 or 2 or adapted by ``NumbaVecEnv`` (the default), and
"busy" means one other process spinning in a pure-Python loop for the whole measurement (a browser
tab, a second job). The first row is the previous default, 2 fixed threads; the last row is the
alternative that was measured and rejected, OpenMP threads that sleep instead of spinning while
they wait (``OMP_WAIT_POLICY=PASSIVE``) with adaptive threads. Every setting is measured
``--repeats`` times, the settings taking turns, and the median is shown (the machine is shared).
Env: 64 envs of 200 sampled households, yearly steps, 50-path terminal estimates, random actions.
PPO: the default household, 64 envs, solid network, 1 torch thread, device cpu.
Usage: ``python bench/contention.py [--seconds 4] [--ppo-steps 20000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = (  # label, OMP_WAIT_POLICY (None: OpenMP's default), threads ('auto' = adaptive)
    ("2 threads (the previous default)", None, "2"),
    ("1 thread", None, "1"),
    ("adaptive (default)", None, "auto"),
    ("rejected: passive waits, adaptive", "PASSIVE", "auto"),
)


def env_rate(threads: int | None, seconds: float) -> float:
    """Env-steps per second of a NumbaVecEnv under random actions, after a warm-up second."""
    import numpy as np

    from mcsim.env import NumbaVecEnv
    from mcsim.env.household import sample_pool

    vec = NumbaVecEnv(64, sample_pool(200, seed=7), seed=0, threads=threads)
    rng = np.random.default_rng(0)
    vec.reset()
    steps, start = 0, time.perf_counter()
    warm_until = start + 1.0
    while time.perf_counter() < warm_until:
        vec.step_arrays(rng.random((64, 2), dtype=np.float32))
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        vec.step_arrays(rng.random((64, 2), dtype=np.float32))
        steps += 64
    return steps / (time.perf_counter() - start)


def ppo_rate(threads: int | None, total_steps: int) -> float:
    """PPO training env-steps per second (rollouts and updates) on the default household, after a warm-up."""
    from mcsim_sb3.backend import Sb3Learner

    from mcsim.env import NumbaVecEnv
    from mcsim.env.household import pool_from_profiles

    vec = NumbaVecEnv(64, pool_from_profiles(["default"]), seed=0, threads=threads)
    learner = Sb3Learner(vec, {"algo": "ppo", "network": "solid", "device": "cpu", "seed": 0, "torch_threads": 1}, None)
    learner.learn(4096, lambda steps, done, returns: True)
    start, before = time.perf_counter(), learner.timesteps
    learner.learn(total_steps, lambda steps, done, returns: True)
    return (learner.timesteps - before) / (time.perf_counter() - start)


def worker(kind: str, threads: str, amount: float) -> None:
    """Measure one setting in this process and print the rate as JSON."""
    chosen = None if threads == "auto" else int(threads)
    rate = env_rate(chosen, amount) if kind == "env" else ppo_rate(chosen, int(amount))
    print(json.dumps({"rate": rate}))


def measure(kind: str, policy: str | None, threads: str, amount: float, busy: bool) -> float:
    """Run one measurement in a fresh process, beside a spinning process when ``busy``."""
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        done = subprocess.run([sys.executable, __file__, "--worker", kind, threads, str(amount)], env=env,
                              capture_output=True, text=True, check=True, cwd=ROOT)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    return json.loads(done.stdout.strip().splitlines()[-1])["rate"]


def table(kind: str, unit: str, amount: float, repeats: int) -> None:
    """Measure every setting alone and busy (medians of ``repeats``); print rates and ratios."""
    samples: dict[tuple[str, bool], list[float]] = {}
    for _ in range(repeats):
        for label, policy, threads in SETTINGS:
            for busy in (False, True):
                samples.setdefault((label, busy), []).append(measure(kind, policy, threads, amount, busy))
    rates = {key: statistics.median(values) for key, values in samples.items()}
    one_alone = rates[("1 thread", False)]
    before_alone = rates[(SETTINGS[0][0], False)]
    print(f"\n{unit}, median of {repeats} ({os.cpu_count()} cores)")
    print(f"{'':44s}{'alone':>10s}{'busy core':>11s}{'busy / 1 thread alone':>23s}{'alone / 2 threads':>19s}")
    for label, _, _ in SETTINGS:
        alone, busy = rates[(label, False)], rates[(label, True)]
        print(f"{label:44s}{alone:10,.0f}{busy:11,.0f}{busy / one_alone:23.2f}{alone / before_alone:19.2f}")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        sys.path.insert(0, str(ROOT))
        worker(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of env stepping per measurement")
    parser.add_argument("--ppo-steps", type=int, default=20_000, help="PPO env steps per measurement (0: skip PPO)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements of each setting (the median is shown)")
    args = parser.parse_args()
    table("env", "NumbaVecEnv env-steps/s, B=64", args.seconds, args.repeats)
    if args.ppo_steps:
        table("ppo", "PPO training env-steps/s, 64 envs, solid network", args.ppo_steps, args.repeats)


if __name__ == "__main__":
    main()
