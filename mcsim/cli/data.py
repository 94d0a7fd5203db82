"""``mcsim data``: the historical series, shipped or a user's CSV, and their annual real statistics.

Imports its libraries when a command runs, as main's commands do, so that ``mcsim`` starts fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table

    from ..core.history import History
    from ..core.history_stats import SeriesStats

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}
"""The same as main's (main imports this module, so it cannot import main's)."""

CAPTION = ("Annual returns, real (inflation: itself), by calendar year; monthly series compounded January to "
           "December over complete years. Mean: arithmetic; s.d.: sample; geometric: compounded; worst, best: "
           "the lowest and highest year.")


def percent(value: float) -> str:
    """A decimal as a percentage with two decimals."""
    return f"{100 * value:.2f}%"


def listing_table(rows: list[SeriesStats]) -> Table:
    """One line per column of each series: its span, and the column's annual real mean and volatility."""
    from rich.table import Table

    from ..core.history_stats import INFLATION

    table = Table(caption=CAPTION, box=None, pad_edge=False, caption_justify="left", caption_style="dim")
    for name in ("series", "frequency", "span", "periods", "years", "column", "mean", "s.d."):
        table.add_column(name, justify="right" if name in ("periods", "mean", "s.d.") else "left")
    for stats in rows:
        for index, column in enumerate((*stats.columns, INFLATION)):
            head = (stats.name, stats.frequency, stats.span, f"{stats.periods:,}", f"{stats.first_year}..{stats.last_year}")
            values = stats.stats[column]
            table.add_row(*(head if index == 0 else ("",) * len(head)), column, percent(values.mean), percent(values.sd),
                          end_section=column == INFLATION)
    return table


def series_view(stats: SeriesStats) -> Group:
    """A headline, then one line per column (and inflation): mean, s.d., geometric mean, worst and best year."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    years = f"annual statistics {stats.first_year}..{stats.last_year} ({stats.years} years)"
    head = Text.assemble((stats.name, "bold"), f": {stats.frequency}, {stats.span} ({stats.periods:,} periods); {years}")
    table = Table(box=None, pad_edge=False)
    table.add_column("column")
    for name in ("mean", "s.d.", "geometric", "worst", "best"):
        table.add_column(name, justify="right")
    for column, values in stats.stats.items():
        table.add_row(column, percent(values.mean), percent(values.sd), percent(values.geometric),
                      f"{percent(values.worst)} ({values.worst_year})", f"{percent(values.best)} ({values.best_year})")
    return Group(head, table, Text(CAPTION, style="dim"))


def resolve(name: str, real: bool) -> History:
    """A shipped series by name, or a user's CSV file (``real``: its returns are real)."""
    from ..core.errors import ParameterError
    from ..core.history import SHIPPED, shipped
    from ..core.history_files import read_history_csv

    if name in SHIPPED:
        if real:
            raise ParameterError("--real", f"applies to a CSV file; {name} is a shipped series")
        return shipped(name)
    if Path(name).suffix.lower() == ".csv" or Path(name).exists():
        return read_history_csv(name, "real" if real else "nominal")
    raise ParameterError("NAME", f"'{name}' is neither a shipped series ({', '.join(SHIPPED)}) nor a .csv file")


def _print(view: object) -> None:
    from .render import print_view

    print_view(view)


@click.group(invoke_without_command=True, context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the shipped series and their statistics as JSON.")
@click.pass_context
def data(ctx: click.Context, as_json: bool) -> None:
    """List the shipped historical series: span, columns, annual real mean and volatility.

    \b
    Examples:
      mcsim data                          # the shipped series
      mcsim data show shiller_monthly     # one series' statistics by column
      mcsim data show my_returns.csv --real
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..core.history import SHIPPED, shipped
    from ..core.history_stats import series_stats

    rows = [series_stats(shipped(name)) for name in SHIPPED]
    if as_json:
        click.echo(json.dumps([row.to_dict() for row in rows], indent=2))
    else:
        _print(listing_table(rows))


@data.command(name="show", context_settings=CONTEXT)
@click.argument("name", metavar="NAME|FILE.csv")
@click.option("--real", is_flag=True, help="A CSV file's returns are real, not nominal.")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def data_show(name: str, real: bool, as_json: bool) -> None:
    """Annual real statistics of a shipped series or of a CSV file (schema: mcsim.core.history_files).

    By column, and for inflation: arithmetic mean, s.d., geometric mean, worst and best year.

    \b
    Examples:
      mcsim data show damodaran_annual --json
      mcsim data show my_returns.csv      # year[,month],<returns...>,inflation, decimals
    """
    from ..core.history_stats import series_stats

    stats = series_stats(resolve(name, real))
    if as_json:
        click.echo(json.dumps(stats.to_dict(), indent=2))
    else:
        _print(series_view(stats))
