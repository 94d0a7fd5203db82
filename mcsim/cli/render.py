"""Terminal rendering of results with rich: tables in euros of today, percentages, ages."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..core.history import DEFAULT_SERIES
from ..core.optimize import OptimizationResult
from ..core.profile import Profile
from ..core.simulation import Cohorts, SimulationResult
from ..core.spending import CUT_THRESHOLD
from ..core.stats import Summary
from ..optimum.report import LifeOptimumReport
from ..optimum.solver import MedianPath
from ..training.evaluation import Evaluation, Phase


def euros(value: float) -> str:
    """An amount in euros, rounded to the euro, with thousands separators."""
    return f"{value:,.0f} €"


def amount(value: float) -> str:
    """An amount rounded to the unit, with thousands separators (the currency in the header)."""
    return f"{value:,.0f}"


def percent(value: float, digits: int = 1) -> str:
    """A proportion as a percentage."""
    return f"{100 * value:.{digits}f}%"


def _summary_row(table: Table, label: str, summary: Summary) -> None:
    table.add_row(
        label, *(f"{getattr(summary, key):,.0f}" for key in ("p10", "p50", "p90", "mean", "std", "min", "max"))
    )


def mortality_label(profile: Profile) -> str:
    """``fixed (to 90)`` or ``gompertz (modal age 88, dispersion 10, to 110)``."""
    person = profile.person
    if person.mortality == "fixed":
        return f"fixed (to {person.life_expectancy:g})"
    return (f"gompertz (modal age {person.gompertz_modal_age:g}, dispersion {person.gompertz_dispersion:g}, "
            f"to {person.max_age:g} at most)")


def history_label(profile: Profile) -> str:
    """The source of a historical market: the shipped series' name or the user's file."""
    history = profile.market.history
    if history.file is not None:
        return f"{Path(history.file).name} ({history.returns})"
    if history.jst is not None:
        return f"JST {history.country}"
    return history.series or DEFAULT_SERIES


def paths_label(n_paths: int, seed: int, profile: Profile, cohorts: Cohorts | None) -> str:
    """What the paths are: Monte Carlo draws of a model (bootstrap: of which series), or historical cohorts."""
    if cohorts is not None:
        return cohorts.describe()
    model = profile.market.return_model
    if model == "bootstrap":
        blocks = f"{profile.market.history.block_years:g}-year mean blocks"
        return f"{n_paths:,} paths, seed {seed}, returns bootstrapped from {history_label(profile)} ({blocks})"
    return f"{n_paths:,} paths, seed {seed}, {model} returns"


def failed_cohorts(starts: tuple[str, ...], shown: int = 12) -> str:
    """Start dates of failed cohorts, runs of consecutive months as ranges, at most ``shown`` items."""
    runs: list[list[str]] = []
    for start in starts:
        if runs and _follows(runs[-1][-1], start):
            runs[-1].append(start)
        else:
            runs.append([start])
    items = [run[0] if len(run) == 1 else f"{run[0]} to {run[-1]}" for run in runs]
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _follows(previous: str, date: str) -> bool:
    """Whether ``date`` is the period right after ``previous`` (``YYYY`` or ``YYYY-MM``)."""
    def index(text: str) -> int:
        year, _, month = text.partition("-")
        return int(year) * 12 + int(month or 1) - 1 if month else int(year)
    return index(date) == index(previous) + 1


def simulation_view(result: SimulationResult, profile: Profile) -> Group:
    """The simulation's headline, distributions, depletion ages and spending in retirement."""
    success = result.success
    fixed = result.mortality == "fixed"
    plans = (f"plans to {result.life_expectancy:g}" if fixed
             else f"{result.mortality} mortality to {result.horizon_age:g} at most")
    head = Text.assemble(
        (f"{result.profile}", "bold"),
        f": age {result.current_age:g}, retires at {result.retirement_age:g}, {plans}; "
        f"{paths_label(result.n_paths, result.seed, profile, result.cohorts)}\n",
        ("Success probability " if result.cohorts is None else "Cohorts that succeed ", "bold"),
        (percent(success.estimate), "bold green" if success.estimate >= 0.9 else "bold yellow"),
        f"  ({percent(success.confidence, 0)} CI {percent(success.low)} to {percent(success.high)})"
        if result.cohorts is None else "  (overlapping cohorts of one history: no sampling interval)",
    )
    table = Table(box=None, pad_edge=False)
    table.add_column("€ of today", style="dim")
    for column in ("p10", "median", "p90", "mean", "std", "min", "max"):
        table.add_column(column, justify="right")
    _summary_row(table, f"capital at {result.retirement_age:g}", result.capital_at_retirement)
    _summary_row(table, f"wealth at {result.life_expectancy:g}" if fixed else "wealth at death", result.terminal_wealth)
    depletion = result.depletion
    if depletion.ages is None:
        lasts = "to life expectancy" if fixed else "as long as the person"
        tail = Text(f"Money lasts {lasts} on every path.")
    else:
        ages = depletion.ages
        tail = Text(
            f"Money runs out on {percent(depletion.probability)} of paths: at age {ages.p50:.1f} "
            f"on median (p10 {ages.p10:.1f}, p90 {ages.p90:.1f})."
        )
        if result.cohorts is not None:
            tail.append(f"\nCohorts that run out, by start: {failed_cohorts(result.cohorts.failed)}.")
    if result.spending is None:
        return Group(head, table, tail)
    return Group(head, table, tail, Text(""), spending_view(result, profile))


SPENDING_NOTE = (
    "Real monthly spending: the withdrawal net of tax plus pensions and other income, a year's mean month; "
    "at the end: the last year lived; worst year: each path's lowest; lifetime: the total over retirement."
)


def spending_view(result: SimulationResult, profile: Profile) -> Group:
    """Spending in retirement: at retirement and at the end, worst year, lifetime, cuts and the certainty equivalent."""
    spending = result.spending
    assert spending is not None
    head = Text.assemble(
        ("Spending in retirement", "bold"), f": withdrawal rule {result.withdrawal}, mortality {mortality_label(profile)}"
    )
    table = Table(box=None, pad_edge=False)
    table.add_column("€ of today", style="dim")
    for column in ("p10", "median", "p90"):
        table.add_column(column, justify="right")

    def row(label: str, summary: Summary) -> None:
        table.add_row(label, *(f"{value:,.0f}" for value in (summary.p10, summary.p50, summary.p90)))

    row(f"a month at {result.retirement_age:g}", spending.at_retirement)
    row("a month at the end", spending.at_end)
    table.add_row("a month in the worst year", f"{spending.worst_year_p10:,.0f}", f"{spending.worst_year_median:,.0f}", "")
    row("lifetime", spending.lifetime)
    tail = Text.assemble(
        f"A cut of more than {percent(CUT_THRESHOLD, 0)} in a year on {percent(spending.cut_probability)} of paths "
        f"(largest {percent(spending.largest_cut)}); {percent(spending.below_target)} of the years lived below the "
        "target.\n",
        ("Certainty equivalent ", "bold"), (euros(spending.certainty_equivalent), "bold"),
        f" a month (CRRA gamma {spending.gamma:g}, discount {spending.discount:g}).\n",
        (SPENDING_NOTE, "dim"),
    )
    return Group(head, table, tail)


WITHDRAWALS_CAPTION = (
    "success: the money lasts as long as the person; CE: certainty-equivalent monthly spending (CRRA gamma {gamma:g}); "
    "at retirement: median monthly spending in the first year; worst year: median over paths of each path's "
    "lowest year; cut > {threshold}: share of paths with a year-on-year cut of more than {threshold}; below "
    "target: share of the years lived; lifetime: median total spending; wealth at the end: at death or at the "
    "horizon (median, p10). Amounts in euros of today."
)


def withdrawals_table(results: dict[str, SimulationResult], title: str) -> Table:
    """Every withdrawal rule on the same paths: success and what each lets the retiree spend."""
    first = next(iter(results.values()))
    gamma = first.spending.gamma if first.spending is not None else 0.0
    caption = WITHDRAWALS_CAPTION.format(gamma=gamma, threshold=percent(CUT_THRESHOLD, 0))
    table = Table(title=title, caption=caption, **CAPTIONED)
    columns = ("rule", "success", "CE / month", "at retirement", "worst year", f"cut > {percent(CUT_THRESHOLD, 0)}",
               "below target", "lifetime", "wealth at end", "p10")
    for column in columns:
        table.add_column(column, justify="left" if column == "rule" else "right", no_wrap=column == "rule")
    for rule, result in results.items():
        spending = result.spending
        assert spending is not None
        table.add_row(
            rule, percent(result.success.estimate), amount(spending.certainty_equivalent),
            amount(spending.at_retirement.p50), amount(spending.worst_year_median), percent(spending.cut_probability),
            percent(spending.below_target), amount(spending.lifetime.p50), amount(result.terminal_wealth.p50),
            amount(result.terminal_wealth.p10),
        )
    return table


def _candidate_paths(result: OptimizationResult) -> str:
    """The paths every candidate ran on: Monte Carlo paths of a seed, or historical cohorts."""
    if result.cohorts is not None:
        return result.cohorts.describe()
    market = "" if result.return_model == "lognormal" else f", {result.return_model} returns"
    return f"{result.n_paths:,} paths (seed {result.seed}{market})"


def optimization_view(result: OptimizationResult) -> Group:
    """The optimizer's answer and each step of the search."""
    steps = Table(title="Search (same paths for every candidate)", box=None, pad_edge=False)
    steps.add_column("step", justify="right")
    steps.add_column("phase")
    steps.add_column("monthly saving", justify="right")
    steps.add_column("success", justify="right")
    for index, step in enumerate(result.steps, 1):
        mark = "" if step.success < result.target else " ✓"
        steps.add_row(str(index), step.phase, f"{step.monthly_saving:,.2f} €", percent(step.success, 2) + mark)
    if not result.reachable:
        head = Text(
            f"{result.profile}: no saving up to {euros(result.monthly_saving)} a month reaches "
            f"{percent(result.target)} success on {_candidate_paths(result)}.",
            style="bold red",
        )
        return Group(head, steps)
    share = result.share_of_income
    income = f" ({percent(share)} of today's disposable income)" if share is not None else ""
    below = (
        f"; {euros(result.monthly_saving - result.precision)} gives {percent(result.success_below, 2)}"
        if result.success_below is not None
        else ""
    )
    head = Text.assemble(
        f"{result.profile}: the minimum constant monthly saving for {percent(result.target)} success is ",
        (euros(result.monthly_saving), "bold green"),
        f"{income}.\nIt reaches {percent(result.success, 2)} on {_candidate_paths(result)}{below}.",
    )
    return Group(head, steps)


def profiles_view(rows: list[tuple[str, Profile]]) -> Table:
    """One line per embedded profile."""
    table = Table(box=None, pad_edge=False)
    for column in ("name", "age", "retires", "until", "capital", "description"):
        table.add_column(column, justify="right" if column in ("age", "retires", "until", "capital") else "left")
    for name, profile in rows:
        person = profile.person
        capital = sum(account.balance for account in profile.accounts)
        table.add_row(
            name, f"{person.current_age:g}", f"{person.retirement_age:g}", f"{person.life_expectancy:g}",
            euros(capital), profile.description,
        )
    return table


def print_view(view: object) -> None:
    """Print a rich renderable to standard output (120 columns wide when not a terminal)."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    console.print(view)


CAPTIONED = {"box": None, "pad_edge": False, "caption_justify": "left", "caption_style": "dim"}
"""A table with a caption underneath that explains its columns."""


def evaluation_caption(reward: str, with_optimum: bool) -> str:
    """What the evaluation table's columns mean, for the objective ``reward`` (planner, crra or merton)."""
    if reward == "planner":
        text = ("objective: quality of life (utility of the income consumed while saving, 0 at most) + funded "
                "probability - a penalty on the worst 10% shortfalls")
        share = "; % of optimum: objective / the optimum's (median over households), negative when the objective is"
    else:
        ce = "CE / month: the constant consumption" if reward == "crra" else "CE wealth: the terminal wealth"
        text = (f"expected utility: lifetime CRRA utility, quality of life its part before retirement; {ce} "
                "with that expected utility")
        share = "; % of optimum: CE / the optimum's CE (median over households)"
    return text + (share if with_optimum else "") + "."


def evaluation_table(evaluation: Evaluation, title: str) -> Table:
    """Each strategy's funded probability, capital, quality of life and objective, with 95% intervals.

    With a CRRA objective, the certainty-equivalent consumption (mean over households); with the
    optimum among the strategies, each one's share of it (median over the households where the
    optimum's yardstick is positive; n/a when there is none).
    """
    certainty = evaluation.yardstick == "certainty equivalent"
    with_optimum = evaluation.shares_of_optimum(next(iter(evaluation.overall))) is not None
    table = Table(title=title, caption=evaluation_caption(evaluation.reward, with_optimum), **CAPTIONED)
    columns = ["strategy", "funded", "95% CI", "median capital", "quality of life",
               "expected utility" if certainty else "objective", "95% CI"]
    if certainty:
        columns.append("CE / month" if evaluation.reward == "crra" else "CE wealth")
    if with_optimum:
        columns.append("% of optimum")
    for column in columns:
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for name, result in evaluation.overall.items():
        row = [
            name, percent(result.funded.estimate), f"{percent(result.funded.low)}-{percent(result.funded.high)}",
            euros(result.median_capital), f"{result.quality_of_life:.4f} ± {result.quality_half_width:.4f}",
            f"{result.objective:.4f}", f"{result.objective_low:.4f} to {result.objective_high:.4f}",
        ]
        if certainty:
            row.append(euros(evaluation.mean_yardstick(name)))
        if with_optimum:
            share = evaluation.share_of_optimum(name)
            row.append("n/a" if share is None else percent(share))
        table.add_row(*row)
    return table


def phases_table(phases: list[Phase]) -> Table:
    """The learned strategy by age, phase by phase."""
    caption = "A new phase when the saving moves >10% or the equity share >5 points, after 12 months at least."
    table = Table(title="Strategy by age (median over paths)", caption=caption, **CAPTIONED)
    for column in ("ages", "monthly saving", "equity share"):
        table.add_column(column, justify="right")
    for phase in phases:
        table.add_row(f"{phase.from_age:.0f}-{phase.to_age:.0f}", euros(phase.monthly_saving), percent(phase.equity_share, 0))
    return table


def median_path_table(path: MedianPath, title: str) -> Table:
    """The optimal strategy by age on the median market: wealth at the start of each step and the decisions."""
    caption = "wealth at each step's start, every shock zero; savings rate: the decision (100% saves the most allowed)."
    table = Table(title=title, caption=caption, **CAPTIONED)
    for column in ("age", "wealth", "monthly saving", "savings rate", "equity share"):
        table.add_column(column, justify="right")
    for age, wealth, saving, rate, equity in zip(path.ages, path.wealth, path.monthly_saving, path.savings_rate,
                                                 path.equity_share, strict=True):
        table.add_row(f"{age:.0f}", euros(wealth), euros(saving), percent(rate), percent(equity, 0))
    return table


def life_path_table(path: MedianPath, title: str) -> Table:
    """The optimal strategy over the whole life on the median market: saving, spending and equity share by age."""
    caption = ("wealth at each step's start, every shock zero; per month: saving while working, consumption "
               "(income less saving; once retired, the net withdrawal plus pensions and other income) and the "
               "gross withdrawal; withdrawal rate: share of wealth withdrawn at the step's start.")
    table = Table(title=title, caption=caption, **CAPTIONED)
    for column in ("age", "phase", "wealth", "saving", "consumption", "withdrawal", "withdrawal rate", "equity share"):
        table.add_column(column, justify="right")
    for i, age in enumerate(path.ages):
        retired = bool(path.retired[i])
        table.add_row(
            f"{age:.0f}", "retired" if retired else "working", euros(path.wealth[i]),
            "" if retired else euros(path.monthly_saving[i]), euros(path.monthly_consumption[i]),
            euros(path.monthly_withdrawal[i]) if retired else "", percent(path.withdrawal_rate[i]) if retired else "",
            percent(path.equity_share[i], 0),
        )
    return table


def life_baselines_table(report: LifeOptimumReport, title: str) -> Table:
    """Each withdrawal rule (with its best saving baseline) as a share of the optimum's certainty equivalent."""
    caption = ("certainty-equivalent consumption: the constant monthly consumption over the whole life (weighted "
               "by survival) with the same expected utility, simulated on the same lives as the optimum's.")
    table = Table(title=title, caption=caption, **CAPTIONED)
    for column, justify in (("strategy", "left"), ("saving baseline", "left"), ("CE / month", "right"),
                            ("of optimum", "right")):
        table.add_column(column, justify=justify)
    table.add_row("optimum", "", euros(report.simulated_ce), percent(1.0))
    for rule, (saving, ce) in report.best_by_rule().items():
        share = report.share(ce)
        table.add_row(rule, saving, euros(ce), "" if share is None else percent(share))
    return table
