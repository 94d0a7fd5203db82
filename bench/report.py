"""Build time and size of `mcsim report` for the default household with a trained run.

Warm: a first build compiles and loads everything (not counted), then each variant is built
``--repeats`` times, interleaved, and the median is reported. Training is excluded: the run is
given (``--run``) or trained first at a tiny budget (its size does not change the build's work).

    python bench/report.py                      # trains a tiny run into a temporary folder
    python bench/report.py --run runs/sb3-ppo-seed0 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcsim.report import build_report, render_html


def tiny_run(folder: Path) -> str:
    out = folder / "tiny"
    subprocess.run([sys.executable, "-m", "mcsim", "train", "--profiles", "4", "--episodes", "3", "--out", str(out)],
                   check=True, capture_output=True)
    return str(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a run directory (default: train a tiny one)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--mc", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run = args.run or tiny_run(Path(folder))
        variants = {
            "no run (plan, 7 rules, page)": dict(run=None),
            "with the run, optimum solved": dict(run=run),
            "with the run, --no-optimum": dict(run=run, optimum=False),
        }
        for options in variants.values():  # warm up: compile, load the caches
            render_html(build_report("default", n_paths=args.paths, seed=0, mc_paths=args.mc, **options), "en")
        times: dict[str, list[float]] = {name: [] for name in variants}
        render: list[float] = []
        pages: dict[str, str] = {}
        data = None
        for _ in range(args.repeats):
            for name, options in variants.items():
                start = time.perf_counter()
                data = build_report("default", n_paths=args.paths, seed=0, mc_paths=args.mc, **options)
                middle = time.perf_counter()
                page = render_html(data, "en")
                times[name].append(time.perf_counter() - start)
                if options.get("run") and options.get("optimum", True):
                    render.append(time.perf_counter() - middle)
                    pages["en"], pages["fr"] = page, render_html(data, "fr")
                    pages["json"] = json.dumps(data.to_dict(), indent=2)
        command = [sys.executable, "-m", "mcsim", "report", "--run", run, "-o", str(Path(folder) / "r.html")]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        whole = time.perf_counter() - start
    print(f"default household, {args.paths:,} paths, evaluation on {args.mc:,} lives; median of {args.repeats} warm builds")
    print("| build | seconds |\n|---|---:|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} |")
    print(f"| of which the HTML (with the run) | {statistics.median(render):.3f} |")
    print(f"| `mcsim report --run RUN`, the whole command (a fresh process) | {whole:.2f} |")
    print("| file | kB |\n|---|---:|")
    for name, text in pages.items():
        print(f"| {'page, ' + name if name != 'json' else '--json'} | {len(text.encode()) / 1024:,.0f} |")


if __name__ == "__main__":
    main()
