"""Charts, written atomically: the wealth and spending fans by age, and a learned strategy by age."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ParameterError
from ..core.simulation import SimulationResult
from ..training.runio import publish


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
    """Draw the wealth fan (p10-p90 band, median, min and max) by age into a PNG file.

    With the result's spending fan (``simulate(fan=True)`` has it), a second panel below, on the same
    ages: real monthly spending by year of retirement (p10-p90 band and median over the paths alive).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    if result.fan is None:
        raise ValueError("the result has no fan: simulate with fan=True")
    path = check_output_path(path)
    fan = result.fan
    spending = result.spending.fan if result.spending is not None else None
    if spending is None:
        figure, axes = plt.subplots(figsize=(10, 5.5), dpi=110)
    else:
        figure, (axes, lower) = plt.subplots(
            2, 1, figsize=(10, 8.5), dpi=110, sharex=True, gridspec_kw={"height_ratios": [3, 2]}
        )
    axes.fill_between(fan.ages, fan.min, fan.max, color="tab:blue", alpha=0.08, label="min to max")
    axes.fill_between(fan.ages, fan.p10, fan.p90, color="tab:blue", alpha=0.25, label="p10 to p90")
    axes.plot(fan.ages, fan.p50, color="tab:blue", linewidth=2, label="median")
    axes.axvline(result.retirement_age, color="tab:red", linestyle="--", linewidth=1.2)
    axes.annotate(
        f"retirement at {result.retirement_age:g}", xy=(result.retirement_age, 0.97), xycoords=("data", "axes fraction"),
        ha="left", va="top", color="tab:red", fontsize=9, xytext=(4, 0), textcoords="offset points",
    )
    top = float(max(np.nanmax(fan.p90, initial=1.0), 1.0)) * 1.6  # NaN: months no path lives to (Gompertz)
    axes.set_ylim(0, top)
    axes.set_xlim(fan.ages[0], fan.ages[-1])
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:,.0f}k €"))
    if spending is None:
        axes.set_xlabel("age")
    axes.set_ylabel("wealth (euros of today)")
    axes.set_title(
        f"{result.profile}: wealth by age over {result.n_paths:,} paths — success {100 * result.success.estimate:.1f}%"
    )
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right")
    if spending is not None and result.spending is not None:
        _spending_panel(lower, result, spending)
    figure.tight_layout()
    return _save_png(figure, path)


def _spending_panel(axes: Any, result: SimulationResult, spending: Any) -> None:
    """Real monthly spending by year of retirement: p10-p90 band and median, each year a step."""
    from matplotlib.ticker import FuncFormatter

    end = min(float(spending.ages[-1]) + 1.0, result.horizon_age or float(spending.ages[-1]) + 1.0)
    ages = np.append(spending.ages, max(end, float(spending.ages[-1])))

    def extend(values: np.ndarray) -> np.ndarray:
        return np.append(values, values[-1])

    p10, p50, p90 = extend(spending.p10), extend(spending.p50), extend(spending.p90)
    axes.fill_between(ages, p10, p90, step="post", color="tab:green", alpha=0.25, label="p10 to p90")
    axes.step(ages, p50, where="post", color="tab:green", linewidth=2, label="median")
    axes.axvline(result.retirement_age, color="tab:red", linestyle="--", linewidth=1.2)
    finite = p90[np.isfinite(p90)]
    axes.set_ylim(0, float(max(finite.max(), 1.0)) * 1.25 if finite.size else 1.0)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f} €"))
    axes.set_xlabel("age")
    axes.set_ylabel("monthly spending (euros of today)")
    summary = result.spending
    ce = f" — certainty equivalent {summary.certainty_equivalent:,.0f} € a month (gamma {summary.gamma:g})" if summary else ""
    axes.set_title(f"spending by age, withdrawal rule {result.withdrawal}{ce}", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right")


def write_strategy_chart(prediction: Any, path: str | Path, title: str | None = None) -> Path:
    """Draw a prediction: the glide path and monthly saving by age, and the wealth fan, into a PNG.

    For a run over the whole life, the top panel also shows the gross withdrawal once retired and
    the consumption at every age, to the horizon.

    ``title`` replaces the default title of the strategy panel (a learned strategy's).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    path = check_output_path(path)
    figure, (strategy, wealth) = plt.subplots(2, 1, figsize=(10, 7.5), dpi=110, sharex=True)
    life = getattr(prediction, "monthly_consumption", None) is not None
    end = prediction.end_ages[-1] if life else prediction.retirement_age

    def extend(values: np.ndarray) -> np.ndarray:
        return np.append(values, values[-1])

    ages = np.append(prediction.ages, end)
    strategy.step(ages, extend(100 * prediction.equity_share), where="post", color="tab:orange", linewidth=2,
                  label="equity share")
    strategy.set_ylabel("equity share (%)")
    strategy.set_ylim(0, 100)
    saving_axis = strategy.twinx()
    if life:
        # Over the whole life: saving while working, the gross withdrawal once retired, and consumption.
        retired = extend(np.asarray(prediction.retired, dtype=bool))
        saving = extend(prediction.monthly_saving)
        saving_axis.step(ages, np.where(retired, np.nan, saving), where="post", color="tab:green", linewidth=2,
                         label="monthly saving")
        saving_axis.step(ages, np.where(retired, -saving, np.nan), where="post", color="tab:purple", linewidth=2,
                         label="monthly withdrawal")
        saving_axis.step(ages, extend(prediction.monthly_consumption), where="post", color="tab:gray", linewidth=1.5,
                         linestyle="--", label="monthly consumption")
        saving_axis.set_ylabel("per month (€ of today)")
        strategy.axvline(prediction.retirement_age, color="tab:red", linestyle="--", linewidth=1.2)
    else:
        saving_axis.step(ages, extend(prediction.monthly_saving), where="post", color="tab:green", linewidth=2,
                         label="monthly saving")
        saving_axis.set_ylabel("monthly saving (€ of today)")
    saving_axis.set_ylim(bottom=0)
    lines = strategy.get_legend_handles_labels()[0] + saving_axis.get_legend_handles_labels()[0]
    strategy.legend(lines, [line.get_label() for line in lines], loc="upper right")
    strategy.set_title(title or f"{prediction.profile}: learned strategy (median over paths) — {prediction.run}")
    strategy.grid(alpha=0.3)
    p10, p50, p90 = prediction.wealth_percentiles
    wealth.fill_between(prediction.end_ages, p10, p90, color="tab:blue", alpha=0.25, label="p10 to p90")
    wealth.plot(prediction.end_ages, p50, color="tab:blue", linewidth=2, label="median")
    wealth.axvline(prediction.retirement_age, color="tab:red", linestyle="--", linewidth=1.2)
    wealth.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:,.0f}k €"))
    wealth.set_xlabel("age")
    wealth.set_ylabel("wealth (€ of today)")
    wealth.legend(loc="upper left")
    wealth.grid(alpha=0.3)
    figure.tight_layout()
    return _save_png(figure, path)


def _save_png(figure: Any, path: Path) -> Path:
    """Save a figure atomically and close it."""
    import matplotlib.pyplot as plt

    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(descriptor)
    try:
        figure.savefig(temporary, format="png")
        publish(temporary, path)
    finally:
        plt.close(figure)
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
