"""Terminal rendering of the robustness table: each run and baseline's yardstick on each market."""

from __future__ import annotations

from rich.table import Table

from ..training.robustness import Cell, Robustness, Row
from .render import CAPTIONED, euros, percent

UNITS = {"planner": "objective", "crra": "CE € a month", "merton": "CE wealth €"}
"""What a cell's number is, by reward: the planner objective, or the certainty equivalent in euros."""


LIFE_NOTE = " Over the whole life: each withdrawal rule with its best saving baseline; --json has every pair."


def yardstick_text(value: float, reward: str) -> str:
    """A mean yardstick with its unit: the planner objective to 4 decimals, a certainty equivalent in euros."""
    if reward == "planner":
        return f"{value:.4f}"
    return euros(value) + (" a month" if reward == "crra" else "")


def cell_text(cell: Cell | None, reward: str, best: bool = False) -> str:
    """A cell: the mean yardstick, and a run's win share (``—`` where the strategy was not evaluated)."""
    if cell is None:
        return "—"
    text = yardstick_text(cell.mean, reward)
    if best:
        text = f"[bold]{text}[/bold]"
    if cell.win_share is not None:
        text += f", wins {percent(cell.win_share, 0)}"
    return text


def robustness_caption(data: Robustness) -> str:
    """What the table's rows, cells and bold mean."""
    units = sorted({UNITS.get(row.reward, row.reward) for row in data.rows})
    households = "the" if data.n_households is None else f"the {data.n_households}"
    return (f"Each cell: the mean over {households} held-out households of the yardstick ({', '.join(units)}), "
            f"{data.n_paths:,} lives each; the same households and seeds on every market (historical: cohorts spread "
            "evenly). A run's wins: the share of households on which it beats the best baseline there "
            "(ties excluded). Bold: the market's best single baseline." + LIFE_NOTE * any(not r.listed for r in data.rows))


def _is_best(row: Row, market: str, data: Robustness) -> bool:
    return row.kind == "baseline" and row.name == data.best_baseline.get(market)


def robustness_table(data: Robustness, title: str = "Robustness: every strategy on every market") -> Table:
    """One row per run (trained on its market) and per baseline, one column per evaluation market."""
    table = Table(title=title, caption=robustness_caption(data), **CAPTIONED)
    table.add_column("strategy", justify="left")
    for market in data.markets:
        table.add_column(f"on {market}", justify="right")
    rows = [row for row in data.rows if row.listed]
    for index, row in enumerate(rows):
        cells = [cell_text(row.cells.get(m), row.reward, _is_best(row, m, data)) for m in data.markets]
        last_run = row.kind == "run" and index + 1 < len(rows) and rows[index + 1].kind != "run"
        table.add_row(row.label, *cells, end_section=last_run)
    return table
