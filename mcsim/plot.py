"""Charts, written atomically: the wealth fan by age with the retirement age marked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import ParameterError
from .simulation import SimulationResult


def check_output_path(path: str | Path, suffix: str = ".png") -> Path:
    """An output file path whose folder exists, ending in ``suffix``; a ParameterError otherwise."""
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise ParameterError("--plot", f"the chart file must end in {suffix} (got '{path}')")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ParameterError("--plot", f"folder '{folder}' does not exist")
    if path.is_dir():
        raise ParameterError("--plot", f"'{path}' is a folder")
    return path


def write_fan_chart(result: SimulationResult, path: str | Path) -> Path:
    """Draw the wealth fan (p10-p90 band, median, min and max) by age into a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    if result.fan is None:
        raise ValueError("the result has no fan: simulate with fan=True")
    path = check_output_path(path)
    fan = result.fan
    figure, axes = plt.subplots(figsize=(10, 5.5), dpi=110)
    axes.fill_between(fan.ages, fan.min, fan.max, color="tab:blue", alpha=0.08, label="min to max")
    axes.fill_between(fan.ages, fan.p10, fan.p90, color="tab:blue", alpha=0.25, label="p10 to p90")
    axes.plot(fan.ages, fan.p50, color="tab:blue", linewidth=2, label="median")
    axes.axvline(result.retirement_age, color="tab:red", linestyle="--", linewidth=1.2)
    axes.annotate(
        f"retirement at {result.retirement_age:g}", xy=(result.retirement_age, 0.97), xycoords=("data", "axes fraction"),
        ha="left", va="top", color="tab:red", fontsize=9, xytext=(4, 0), textcoords="offset points",
    )
    top = float(max(fan.p90.max(), 1.0)) * 1.6
    axes.set_ylim(0, top)
    axes.set_xlim(fan.ages[0], fan.ages[-1])
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:,.0f}k €"))
    axes.set_xlabel("age")
    axes.set_ylabel("wealth (euros of today)")
    axes.set_title(
        f"{result.profile}: wealth by age over {result.n_paths:,} paths — success {100 * result.success.estimate:.1f}%"
    )
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right")
    figure.tight_layout()
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(descriptor)
    try:
        figure.savefig(temporary, format="png")
        os.replace(temporary, path)
    finally:
        plt.close(figure)
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
