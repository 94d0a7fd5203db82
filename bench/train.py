"""Training benchmark: wall time and env-steps/s of PPO on one household, side by side in one run.

The embedded default household (34 yearly decisions an episode), 3000 episodes, device cpu:
``--vec numba`` (64 envs) for each network preset, ``--vec subproc`` (2 workers, one Numba thread
each) for the solid preset, and the replaced planner's budget: monthly decisions, 3000 episodes of
360 steps (1,080,000 env steps), solid network. Training only (no evaluations), 1 torch thread.
Usage: ``python bench/train.py [--episodes 3000] [--skip-monthly]``.

``--compare``: PPO on MLX (mcsim-mlx) against PPO on torch (mcsim-sb3) on the same env (the default
household, NumbaVecEnv of 64 envs, seed 0), each network preset, the same rollouts (2048 steps),
minibatches (512) and epochs (10): steps per second on every device each framework has here (MLX:
cpu, and gpu on Apple silicon; torch: cpu, and mps or cuda where present), one warm-up rollout per
learner excluded. It runs unchanged on a Mac, where the MLX GPU and torch MPS columns appear.
Usage: ``python bench/train.py --compare [--steps 10240] [--networks standard,solid,robust,enterprise]``.
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


def mlx_devices() -> list[str]:
    """MLX's devices here: cpu, and gpu where Metal (or another GPU backend) is available."""
    import mlx.core as mx

    return ["cpu", *(["gpu"] if mx.is_available(mx.gpu) else [])]


def compare_rate(backend: str, device: str, network: str, steps: int) -> float:
    """Steps per second of PPO (``backend`` mlx or sb3) on ``device`` with ``network``, after a warm-up rollout."""
    pool = pool_from_profiles(["default"])
    vec = NumbaVecEnv(64, pool, seed=0)
    settings = {"algo": "ppo", "network": network, "device": device, "seed": 0, "torch_threads": 1}
    if backend == "mlx":
        from mcsim_mlx.backend import MlxLearner as Learner
    else:
        from mcsim_sb3.backend import Sb3Learner as Learner
    learner = Learner(vec, settings, None)
    learner.learn(2048, lambda *_: False)  # one rollout and update: compiles and warms up
    first = learner.timesteps
    start = time.perf_counter()
    learner.learn(steps, lambda *_: True)
    return (learner.timesteps - first) / (time.perf_counter() - start)


def compare(steps: int, networks: list[str]) -> None:
    """The table of PPO-mlx against PPO-sb3 steps per second, by preset and device."""
    import importlib.metadata

    import mlx.core as mx
    from mcsim_sb3.backend import available_devices

    columns = [("mlx", d) for d in mlx_devices()] + [("sb3", d) for d in reversed(available_devices())]
    versions = {name: importlib.metadata.version(name) for name in ("mlx", "torch")}
    print(f"PPO steps/s on the default household, NumbaVecEnv 64 envs, rollouts of 2048 steps, minibatches of 512, "
          f"10 epochs, {steps:,} steps timed; {os.cpu_count()} cores; MLX {versions['mlx']} (default device "
          f"{mx.default_device()}), torch {versions['torch']} (1 thread; devices {', '.join(available_devices())})")
    labels = [f"{'MLX' if b == 'mlx' else 'torch'} {d}" for b, d in columns]
    print(f"{'network':12s}" + "".join(f"{label:>14s}" for label in labels) + f"{'mlx/torch cpu':>15s}")
    for network in networks:
        rates = {column: compare_rate(*column, network, steps) for column in columns}
        ratio = rates["mlx", "cpu"] / rates["sb3", "cpu"]
        print(f"{network:12s}" + "".join(f"{rates[c]:14,.0f}" for c in columns) + f"{ratio:15.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3000)
    parser.add_argument("--skip-monthly", action="store_true", help="skip the 1,080,000-step monthly run")
    parser.add_argument("--compare", action="store_true", help="PPO on MLX against PPO on torch, by preset and device")
    parser.add_argument("--steps", type=int, default=10_240, help="--compare: steps timed per cell")
    parser.add_argument("--networks", default="standard,solid,robust,enterprise", help="--compare: presets")
    args = parser.parse_args()
    if args.compare:
        compare(args.steps, args.networks.split(","))
        return
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
