"""Batch strategies and sweeps (#14): households per second of `mcsim predict --batch`, one process vs Ray, memory, sweep time.

    python bench/batch.py                      # trains a tiny run (network solid), then measures
    python bench/batch.py --run runs/sb3-ppo-seed0 --rows 10000,100000 --mc-rows 2000

Every figure is one `mcsim predict RUN --batch households.parquet --out strategies.parquet` in its own
process (so each pays its own start: imports, kernels loaded from Numba's cache, a local Ray cluster),
strategy alone and with `--mc 100`, in this process's executor (`local`) and on a local Ray cluster
of the machine's cores (`--ray`). The rate counts the whole command. Peak memory is the command's
own maximum resident set (os.wait4; Ray's workers are not its children: their memory is not in it).
The sweep figure is `mcsim sweep` of 2 configurations x 2 seeds against the same 4 trainings run one
after another with `mcsim train`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENV = {**os.environ, "MCSIM_PROGRESS_INTERVAL": "3600"}


def households(path: Path, n: int, seed: int = 0) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    age = np.round(rng.uniform(22, 60, n), 1)
    columns = {
        "id": [f"h{i}" for i in range(n)], "current_age": age, "retirement_age": np.maximum(np.ceil(age) + 2, 64.0),
        "life_expectancy": np.full(n, 90.0), "monthly_income": np.round(rng.lognormal(np.log(2800), 0.5, n)),
        "monthly_charges": np.where(rng.random(n) < 0.4, 300.0, 0.0), "capital": np.round(rng.uniform(0, 300_000, n)),
        "equity_share": np.round(rng.uniform(0, 1, n), 2), "fee_pct": np.full(n, 0.5),
        "monthly_saving": np.round(rng.uniform(0, 800, n)), "target_monthly_income": np.round(rng.uniform(1500, 4000, n)),
        "state_pension_monthly": np.round(rng.uniform(600, 1500, n)),
    }
    pq.write_table(pa.table(columns), path)
    return path


def command(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; (wall seconds, peak resident MB of the process, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env or ENV)
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({process.returncode}): {output[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0, output


def predict(run: Path, source: Path, out: Path, mc: int, ray: bool) -> dict:
    args = [sys.executable, "-m", "mcsim", "predict", str(run), "--batch", str(source), "--out", str(out), "--json"]
    if mc:
        args += ["--mc", str(mc), "--block", "1000"]
    if ray:
        args.append("--ray")
    env = {**ENV, "MCSIM_LOAD_PLUGINS": "sb3,ray"}
    wall, memory, output = command(args, env)
    summary = json.loads(output)
    return {"rows": summary["rows"], "wall_s": round(wall, 1), "rate": round(summary["rows"] / wall),
            "inner_rate": round(summary["rate"]), "peak_mb": round(memory), "executor": summary["executor"],
            "runtime": summary["runtime"]}


def sweep_vs_sequential(folder: Path) -> dict:
    common = ["--profiles", "64", "--episodes", "8", "--envs", "16", "--network", "standard"]
    started = time.perf_counter()
    command([sys.executable, "-m", "mcsim", "sweep", "--seeds", "0-1", "--param", "n_epochs=choice:3,5",
             "--search", "grid", "--evaluations", "2", *common,
             "--out", str(folder / "sweep")], {**ENV, "MCSIM_LOAD_PLUGINS": "sb3,ray"})
    sweep = time.perf_counter() - started
    started = time.perf_counter()
    for epochs in (3, 5):
        for seed in (0, 1):
            command([sys.executable, "-m", "mcsim", "train", *common, "--param", f"n_epochs={epochs}", "--seed",
                     str(seed), "--out", str(folder / f"seq-{epochs}-{seed}")])
    sequential = time.perf_counter() - started
    return {"trials": 4, "sweep_s": round(sweep, 1), "sequential_s": round(sequential, 1),
            "speedup": round(sequential / sweep, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="A run directory (default: train a tiny one, network solid).")
    parser.add_argument("--rows", default="10000,100000", help="Row counts of the strategy-alone figures.")
    parser.add_argument("--mc-rows", default="2000", help="Row counts of the --mc 100 figures.")
    parser.add_argument("--no-sweep", action="store_true", help="Skip the sweep figure.")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-", dir="/tmp"))
    run = Path(options.run) if options.run else folder / "run"
    if not options.run:
        command([sys.executable, "-m", "mcsim", "train", "--profiles", "4", "--episodes", "2", "--envs", "8",
                 "--out", str(run)])
    results: dict[str, list] = {"strategy": [], "mc100": []}
    for key, counts, mc in (("strategy", options.rows, 0), ("mc100", options.mc_rows, 100)):
        for n in (int(x) for x in counts.split(",") if x):
            source = households(folder / f"h{n}.parquet", n)
            for ray in (False, True):
                figure = predict(run, source, folder / "out.parquet", mc, ray)
                print(json.dumps({"figure": key, **figure}), flush=True)
                results[key].append(figure)
    if not options.no_sweep:
        results["sweep"] = [sweep_vs_sequential(folder)]
        print(json.dumps({"figure": "sweep", **results["sweep"][0]}), flush=True)
    print(json.dumps({"cores": os.cpu_count(), "load": os.getloadavg(), **results}, indent=1))


if __name__ == "__main__":
    main()
