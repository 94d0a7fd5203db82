"""Terminal rendering of strategies over the whole life: the evaluation beside the withdrawal rules, phases by age.

Kept apart from :mod:`mcsim.cli.render` (the retirement horizon's tables) because a life is judged on
other figures: certainty-equivalent consumption, its share of the optimum's, capital at retirement
and spending in retirement; no funded probability.
"""

from __future__ import annotations

from rich.table import Table

from ..training.evaluation import OPTIMUM, Evaluation, Phase
from .render import CAPTIONED, euros, percent

LEARNED = "policy"


def _share(value: float | None) -> str:
    return "n/a" if value is None else percent(value)


def _money(value: float | None) -> str:
    return "n/a" if value is None or value != value else euros(value)


def life_evaluation_table(evaluation: Evaluation, title: str) -> Table:
    """The learned policy, the optimum and each withdrawal rule with its best saving baseline, over the whole life.

    One row per strategy: its certainty-equivalent consumption, its share of the optimum's (with the
    optimum), its median capital at retirement and its mean monthly spending in retirement. Every
    saving baseline x rule pair is in ``--json``.
    """
    with_optimum = OPTIMUM in evaluation.overall
    share = "% of optimum: CE / the optimum's on the same paths (median over households); " if with_optimum else ""
    caption = (
        "CE: certainty-equivalent consumption, euros a month over the life (mean over households; survival "
        f"weighted, bequest included); {share}capital: at retirement (median); spending: monthly consumption in "
        "retirement (net withdrawal plus pensions; mean, survival weighted). Each rule with its best saving "
        f"baseline (by {'% of optimum' if with_optimum else 'CE'}); --json has every pair."
    )
    table = Table(title=title, caption=caption, **CAPTIONED)
    columns = ["strategy", "saving", "CE / month", *(["% of optimum"] if with_optimum else []), "capital",
               "spending / month"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("strategy", "saving") else "right")
    rows: list[tuple[str, str, str]] = []
    if LEARNED in evaluation.overall:
        rows.append((LEARNED, "learned", LEARNED))
    if with_optimum:
        rows.append((OPTIMUM, "optimal", OPTIMUM))
    combos = evaluation.withdrawal_baselines()
    for rule, name in evaluation.best_saving_by_rule().items():
        rows.append((rule, combos[name][0], name))
    others = [name for name in evaluation.overall if name not in combos and name not in (LEARNED, OPTIMUM)]
    rows.extend((name, "", name) for name in others)
    for label, saving, name in rows:
        summary = evaluation.life_summary(name)
        row = [label, saving, _money(summary["certainty_equivalent"])]
        if with_optimum:
            row.append(_share(summary["share_of_optimum"]))
        row += [_money(summary["capital_at_retirement"]), _money(summary["monthly_spending"])]
        table.add_row(*row)
    return table


def life_phases_table(phases: list[Phase]) -> Table:
    """A strategy over the whole life by age, phase by phase: saving while working, spending once retired."""
    caption = ("per month, median over paths: saving while working; once retired the spending (net withdrawal plus "
               "pensions) and the gross withdrawal. A new phase at retirement, or when the saving (retired: the "
               "spending) moves >10% or the equity share >5 points, after 12 months at least.")
    table = Table(title="Strategy by age over the whole life (median over paths)", caption=caption, **CAPTIONED)
    for column in ("ages", "phase", "saving", "spending", "withdrawal", "equity share"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for phase in phases:
        spending = _money(phase.monthly_spending)
        if phase.retired:
            row = ["retired", "", spending, euros(max(0.0, -phase.monthly_saving))]
        else:
            row = ["working", euros(phase.monthly_saving), spending, ""]
        table.add_row(f"{phase.from_age:.0f}-{phase.to_age:.0f}", *row, percent(phase.equity_share, 0))
    return table
