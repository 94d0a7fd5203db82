"""Prediction benchmark: latency of a trained policy, side by side in one run.

One action and a batch of 1000 observations through torch, onnxruntime and (on macOS) Core ML;
and the latency of a 1000-path evaluation of the policy on one household (``mcsim predict``'s
evaluation: 1000 whole lives, policy inference batched over paths). Trains a small PPO run first.
Usage: ``python bench/predict.py [--repeats 200]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcsim.env.environment import EnvConfig  # noqa: E402
from mcsim.env.household import pool_from_profiles  # noqa: E402
from mcsim.env.policies import rollout  # noqa: E402
from mcsim.training.trainer import TrainConfig, Trainer, load_agent  # noqa: E402


def median_ms(run, repeats: int) -> float:
    """Median wall time of ``run()`` in milliseconds, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    from rich.console import Console

    from mcsim.plugins.exporters import exporters

    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        Trainer(TrainConfig(profiles=20, episodes=10, out=str(run)), console=Console(file=open(os.devnull, "w"))).run()
        agent, manifest = load_agent(run)
        one = np.random.default_rng(0).uniform(-2, 2, (1, 11)).astype(np.float32)
        batch = np.random.default_rng(1).uniform(-2, 2, (1000, 11)).astype(np.float32)
        rows = [("torch (solid MLP)", median_ms(lambda: agent.predict(one), args.repeats),
                 median_ms(lambda: agent.predict(batch), args.repeats))]
        found = exporters()
        if "onnx" in found:
            onnx = found["onnx"]
            path = onnx.export(agent, manifest, run / "policy.onnx")
            runtime = onnx.runtime(path)
            rows.append(("onnxruntime", median_ms(lambda: runtime.predict(one), args.repeats),
                         median_ms(lambda: runtime.predict(batch), args.repeats)))
        if "coreml" in found and sys.platform == "darwin":
            coreml = found["coreml"]
            runtime = coreml.runtime(coreml.export(agent, manifest, run / "policy.mlpackage"))
            rows.append(("Core ML", median_ms(lambda: runtime.predict(one), args.repeats),
                         median_ms(lambda: runtime.predict(batch), args.repeats)))
        pool = pool_from_profiles(["default"])
        settings = {**asdict(EnvConfig()), "mc_paths": 1}
        evaluation = median_ms(lambda: rollout(agent, pool, 1000, 0, **settings), max(5, args.repeats // 20))
    print(f"latency, median of {args.repeats} calls, 1 torch thread, {os.cpu_count()} cores")
    print(f"{'':24s}{'1 action (ms)':>16s}{'1000 actions (ms)':>20s}")
    for label, single, thousand in rows:
        print(f"{label:24s}{single:16.3f}{thousand:20.3f}")
    if sys.platform != "darwin":
        print("Core ML: not measured (it predicts on macOS only)")
    print(f"1000-path evaluation of the torch policy on the default household: {evaluation:.1f} ms")


if __name__ == "__main__":
    main()
