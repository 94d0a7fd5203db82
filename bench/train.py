"""Training benchmark: wall time and env-steps/s of PPO on one household, side by side in one run.

The embedded default household (34 yearly decisions an episode), 3000 episodes, device cpu:
``--vec numba`` (64 envs) for each network preset, ``--vec subproc`` (2 workers, one Numba thread
each) for the solid preset, and the replaced planner's budget: monthly decisions, 3000 episodes of
360 steps (1,080,000 env steps), solid network. Training only (no evaluations), 1 torch thread.
Usage: ``python bench/train.py [--episodes 3000] [--skip-monthly]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcsim.env.environment import RetirementEnv  # noqa: E402
from mcsim.env.household import pool_from_profiles  # noqa: E402
from mcsim.env.vec_env import NumbaVecEnv  # noqa: E402


def make_env(step_months: int) -> RetirementEnv:
    """A RetirementEnv on the default household (module-level, so subprocesses can build it)."""
    return RetirementEnv("default", step_months=step_months)


def train_episodes(vec, network: str, episodes: int, budget_steps: int) -> tuple[float, int]:
    """Seconds to learn ``episodes`` episodes with PPO on ``vec``, and the steps it took."""
    from mcsim_sb3.backend import Sb3Learner

    learner = Sb3Learner(vec, {"algo": "ppo", "network": network, "device": "cpu", "seed": 0, "torch_threads": 1}, None)
    start = time.perf_counter()
    learner.learn(budget_steps, lambda steps, done, returns: done < episodes)
    return time.perf_counter() - start, learner.timesteps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3000)
    parser.add_argument("--skip-monthly", action="store_true", help="skip the 1,080,000-step monthly run")
    args = parser.parse_args()
    from mcsim_sb3.backend import resolve_device
    from stable_baselines3.common.vec_env import SubprocVecEnv

    pool = pool_from_profiles(["default"])
    steps_per_episode = int(pool.n_accum[0] // 12)
    budget = args.episodes * steps_per_episode * 2
    rows = []
    warm = NumbaVecEnv(64, pool, seed=0)
    train_episodes(warm, "standard", 50, 4096)  # compile and warm up once
    for network in ("standard", "solid", "robust", "enterprise"):
        seconds, steps = train_episodes(NumbaVecEnv(64, pool, seed=0), network, args.episodes, budget)
        rows.append((f"numba, 64 envs, {network}", seconds, steps))
    os.environ["NUMBA_NUM_THREADS"] = "1"
    subproc = SubprocVecEnv([partial(make_env, 12)] * 2, start_method="spawn")
    subproc.seed(0)
    seconds, steps = train_episodes(subproc, "solid", args.episodes, budget)
    subproc.close()
    rows.append(("subproc, 2 workers, solid", seconds, steps))
    del os.environ["NUMBA_NUM_THREADS"]
    if not args.skip_monthly:
        monthly = NumbaVecEnv(64, pool, seed=0, step_months=1)
        seconds, steps = train_episodes(monthly, "solid", args.episodes, args.episodes * 12 * steps_per_episode * 2)
        rows.append(("numba, monthly decisions, solid", seconds, steps))
    print(f"PPO on the default household ({steps_per_episode} yearly decisions an episode), {args.episodes} episodes, "
          f"device cpu (auto resolves to {resolve_device('auto', 'solid')}), {os.cpu_count()} cores")
    print(f"{'':40s}{'seconds':>10s}{'env steps':>12s}{'steps/s':>10s}")
    for label, seconds, steps in rows:
        print(f"{label:40s}{seconds:10.1f}{steps:12,d}{steps / seconds:10,.0f}")


if __name__ == "__main__":
    main()
