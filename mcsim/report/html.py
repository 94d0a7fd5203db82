"""The report as one self-contained HTML page: inline CSS and SVG, no script, no font, no request.

The page's Content-Security-Policy (``default-src 'none'``) forbids every fetch, so a page that
would ask for anything still asks for nothing. Key numbers carry ``data-field`` (their path in
:meth:`~mcsim.report.data.ReportData.to_dict`) and ``data-value`` (the float's ``repr``), so a
reader program finds the exact figures the page shows.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..core.errors import ParameterError
from ..core.profile import HISTORY_MODELS, Profile
from ..core.spending import CUT_THRESHOLD
from ..training.evaluation import OPTIMUM, Evaluation
from ..training.runio import publish
from .charts import Band, Chart, Marker, Series, figure, steps
from .data import ReportData
from .i18n import DASH, TEXT, age, check_lang, money, money_short, number, percent, t

RULE_CSS = {"target": "c-r0", "constant_dollar": "c-r1", "constant_percent": "c-r2", "guyton_klinger": "c-r3",
            "vpw": "c-r4", "floor_ceiling": "c-r5", "merton": "c-r6"}
RULE_COLOURS = ("#1a1a1a", "#e69f00", "#56b4e9", "#009e73", "#0072b2", "#d55e00", "#cc79a7")
STRATEGY_CSS = {"policy": "c-policy", OPTIMUM: "c-optimum"}
MONEY_SPAN = 100.0
"""Euro axes span at least €100: a household with nothing gets ticks €0, €20, ... rather than €0, €0, €1."""


def _value(value: float | None) -> str:
    """A float as ``data-value`` holds it: its exact ``repr``, empty for None or NaN."""
    if value is None or not math.isfinite(value):
        return ""
    return repr(float(value))


def cell(text: str, field: str | None = None, value: float | None = None, css: str = "num") -> str:
    """A table cell, with ``data-field``/``data-value`` when the number comes from the JSON."""
    data = f' data-field="{escape(field)}" data-value="{_value(value)}"' if field else ""
    return f'<td class="{css}"{data}>{text}</td>'


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str = "", note: str = "", id_: str = "",
          left: Sequence[int] = (0,)) -> str:
    """A table in a horizontally scrolling wrapper; the first column is a row header, the ``left`` columns are text."""
    head = "".join(f'<th scope="col"{"" if i in left else " class=num"}>{h}</th>' for i, h in enumerate(headers))
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows)
    ident = f' id="{id_}"' if id_ else ""
    caption = f'<p class="note">{note}</p>' if note else ""
    return (f'<div class="table-wrap"><table class="{css}"{ident}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{caption}")


def row_header(text: str, css: str = "") -> str:
    """The first cell of a row."""
    return f'<th scope="row"{f" class={css}" if css else ""}>{text}</th>'


def kpi(label: str, text: str, field: str, value: float | None, sub: str = "", id_: str = "") -> str:
    """A headline figure: its label, its value (with ``data-field``) and a line under it."""
    ident = f' id="{id_}"' if id_ else ""
    return (f'<div class="kpi"{ident}><div class="kpi-label">{escape(label)}</div>'
            f'<div class="kpi-value" data-field="{field}" data-value="{_value(value)}">{text}</div>'
            f'<div class="kpi-sub">{sub}</div></div>')


def section(id_: str, title: str, body: str) -> str:
    """A top-level section with its heading."""
    return f'<section id="{id_}"><h2>{escape(title)}</h2>{body}</section>'


def listing(items: Sequence[str], lang: str) -> str:
    """``a, b and c`` in the language."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + t("and", lang) + items[-1]


# -- The household -------------------------------------------------------------------------------------------


def household_paragraph(profile: Profile, lang: str) -> str:
    """The household in one paragraph: ages, income, capital, plan, needs and pensions in retirement."""
    person, income, retirement = profile.person, profile.income, profile.retirement

    def m(value: float) -> str:
        return money(value, lang)

    parts = [t("hh_age", lang, age=age(person.current_age, lang), retirement=age(person.retirement_age, lang))]
    if person.mortality == "fixed":
        parts[0] += t("hh_fixed", lang, life=age(person.life_expectancy, lang))
    else:
        parts[0] += t("hh_gompertz", lang, modal=age(person.gompertz_modal_age, lang), max=age(person.max_age, lang))
    if income.monthly_net > 0:
        parts.append(t("hh_income", lang, income=m(income.monthly_net), growth=percent(income.real_growth_pct / 100, lang)))
    else:
        parts.append(t("hh_no_income", lang))
    charges = [*income.charges, *income.children]
    if charges:
        items = [t("hh_charge", lang, name=escape(c.name), amount=m(c.monthly_amount), until=age(c.until_age, lang)).strip()
                 for c in charges]
        parts.append(t("hh_charges", lang, items=listing(items, lang)))
    accounts = [t("hh_account", lang, name=escape(a.name), kind=t(f"kind_{a.type}", lang), balance=m(a.balance))
                for a in profile.accounts]
    count = t("account_one", lang) if len(accounts) == 1 else t("account_count", lang, count=len(accounts))
    capital = sum(a.balance for a in profile.accounts)
    parts.append(t("hh_capital", lang, capital=f'<strong data-field="household.capital" data-value="{_value(capital)}">'
                                               f"{m(capital)}</strong>",
                   accounts=f"{count}{': ' if lang == 'en' else ' : '}{listing(accounts, lang)}"))
    phases = [t("hh_plan_phase", lang, amount=m(s.monthly_contribution), start=age(s.from_age, lang),
                end=age(s.to_age, lang)) for s in profile.plan.savings if s.monthly_contribution > 0]
    parts.append(t("hh_plan", lang, phases=listing(phases, lang)) if phases else t("hh_no_plan", lang))
    tail = t("hh_retirement", lang, target=m(retirement.target_monthly_income), pension=m(retirement.state_pension_monthly))
    if retirement.additional_income:
        streams = [t("hh_income_stream", lang, name=escape(s.name), amount=m(s.monthly_amount), start=age(s.from_age, lang),
                     end=age(s.to_age, lang)).strip() for s in retirement.additional_income]
        tail += t("hh_other_income", lang, items=listing(streams, lang))
    if retirement.spending_phases:
        ratios = [t("hh_phase", lang, ratio=percent(s.ratio, lang, 0), start=age(s.from_age, lang), end=age(s.to_age, lang))
                  for s in retirement.spending_phases]
        tail += t("hh_phases", lang, items=listing(ratios, lang))
    tail += t("hh_rule", lang, rule=rule_name(retirement.withdrawal.rule, lang))
    parts.append(tail)
    description = f'<p class="note">{escape(profile.description)}</p>' if profile.description else ""
    return f'<p class="lead">{" ".join(parts)}</p>{description}'


def rule_name(rule: str, lang: str) -> str:
    """A withdrawal rule's name in words and its code: ``constant amount (the 4% rule) (constant_dollar)``."""
    return f"{escape(t(f'rule_{rule}', lang))} <code>{rule}</code>"


# -- The outcome ---------------------------------------------------------------------------------------------


def outcome_section(data: ReportData, lang: str) -> str:
    """Success with its interval, capital at retirement and wealth at the end: headline figures and percentiles."""
    result = data.simulation
    success = result.success
    fixed = result.mortality == "fixed"
    base = "simulation"
    if result.cohorts is None:
        sub = (f'<span data-field="{base}.success_probability.low" data-value="{_value(success.low)}">'
               f"{percent(success.low, lang)}</span>")
        high = (f'<span data-field="{base}.success_probability.high" data-value="{_value(success.high)}">'
                f"{percent(success.high, lang)}</span>")
        sub = t("interval", lang, confidence=percent(success.confidence, lang, 0), low=sub, high=high)
        label = t("success", lang)
    else:
        sub, label = t("no_interval", lang), t("success_cohorts", lang)
    cards = [
        kpi(label, percent(success.estimate, lang), f"{base}.success_probability.estimate", success.estimate, sub,
            "kpi-success"),
        kpi(t("capital_at", lang, age=age(result.retirement_age, lang)), money(result.capital_at_retirement.p50, lang),
            f"{base}.capital_at_retirement.median", result.capital_at_retirement.p50, "", "kpi-capital"),
        kpi(t("wealth_end_fixed", lang, age=age(result.life_expectancy, lang)) if fixed else t("wealth_end_death", lang),
            money(result.terminal_wealth.p50, lang), f"{base}.terminal_wealth.median", result.terminal_wealth.p50, "",
            "kpi-end"),
    ]
    headers = [t("euros_today", lang), t("p10", lang), t("median", lang), t("p90", lang), t("mean", lang)]
    rows = []
    for key, label in (
        ("capital_at_retirement", t("row_capital", lang, age=age(result.retirement_age, lang))),
        ("terminal_wealth", t("row_end_fixed", lang, age=age(result.life_expectancy, lang)) if fixed
         else t("row_end_death", lang)),
    ):
        summary = getattr(result, key)
        rows.append([row_header(escape(label))] + [
            cell(money(getattr(summary, name), lang), f"{base}.{key}.{field}", getattr(summary, name))
            for name, field in (("p10", "p10"), ("p50", "median"), ("p90", "p90"), ("mean", "mean"))
        ])
    depletion = result.depletion
    if depletion.ages is None:
        tail = t("lasts_fixed", lang, age=age(result.life_expectancy, lang)) if fixed else t("lasts_death", lang)
    else:
        ages = depletion.ages
        tail = t("runs_out", lang,
                 share=f'<span data-field="{base}.depletion.probability" data-value="{_value(depletion.probability)}">'
                       f"{percent(depletion.probability, lang)}</span>",
                 median=number(ages.p50, lang, 1), p10=number(ages.p10, lang, 1), p90=number(ages.p90, lang, 1))
    horizon = (t("horizon_fixed", lang, age=age(result.life_expectancy, lang)) if fixed
               else t("horizon_gompertz", lang))
    return (f'<div class="kpis">{"".join(cards)}</div>'
            + table(headers, rows, "percentiles full", id_="outcome-table")
            + f'<p>{tail}</p><p class="note">{t("success_note", lang, horizon=horizon)}</p>')


# -- Charts --------------------------------------------------------------------------------------------------


def _age_tick(lang: str) -> Callable[[float], str]:
    return lambda x: age(x, lang)


def _money_tick(lang: str) -> Callable[[float], str]:
    return lambda y: money_short(y, lang)


def wealth_chart(data: ReportData, lang: str) -> str:
    """The wealth fan by age: the 10th-90th percentile band, the median, retirement marked; hover: each year's values."""
    result = data.simulation
    fan = result.fan
    assert fan is not None
    ages = fan.ages
    hover = []
    for year in range(math.ceil(ages[0] - 1e-9), math.floor(ages[-1] + 1e-9) + 1):
        i = int(np.argmin(np.abs(ages - year)))
        text = t("hover_age", lang, age=age(year, lang)) + "\n"
        if math.isfinite(fan.p50[i]):
            text += (f"{t('median', lang)}: {money(fan.p50[i], lang)}\n{t('p10', lang)}: {money(fan.p10[i], lang)}\n"
                     f"{t('p90', lang)}: {money(fan.p90[i], lang)}")
        else:
            text += t("no_data", lang)
        hover.append((year - 0.5, year + 0.5, text))
    chart = Chart(
        id="chart-wealth", title=t("wealth", lang), x_title=t("age_axis", lang), y_title=t("euros_axis", lang),
        y_format=_money_tick(lang), min_span=MONEY_SPAN, x_format=_age_tick(lang),
        bands=[Band(ages, fan.p10, fan.p90, "c-band", t("band", lang))],
        series=[Series(ages, fan.p50, "c-median", t("median", lang))],
        markers=[Marker(result.retirement_age, t("retirement_at", lang, age=age(result.retirement_age, lang)))],
        hover=hover,
    )
    legend = [("c-band", t("band", lang)), ("c-median", t("median", lang)),
              ("c-marker", t("retirement_at", lang, age=age(result.retirement_age, lang)))]
    paths = number(result.n_paths, lang) if result.cohorts is None else number(result.cohorts.count, lang)
    return figure(chart, legend, t("wealth_caption", lang, paths=paths), heading=False)


def target_by_age(profile: Profile, ages: np.ndarray) -> np.ndarray:
    """The monthly target at each age (the target times the spending phase's ratio there)."""
    retirement = profile.retirement
    ratio = np.ones_like(ages, dtype=float)
    for phase in retirement.spending_phases:
        ratio[(ages >= phase.from_age) & (ages < phase.to_age)] = phase.ratio
    return retirement.target_monthly_income * ratio


def pensions_by_age(profile: Profile, ages: np.ndarray) -> np.ndarray:
    """The state pension plus the additional income paid at each age (retired ages)."""
    retirement = profile.retirement
    total = np.full_like(ages, retirement.state_pension_monthly, dtype=float)
    for stream in retirement.additional_income:
        total += np.where((ages >= stream.from_age) & (ages < stream.to_age), stream.monthly_amount, 0.0)
    return total


def spending_chart(data: ReportData, lang: str) -> str:
    """Monthly spending by age in retirement: the household's rule's band and median, the target and the pensions."""
    result = data.simulation
    spending = result.spending
    assert spending is not None and spending.fan is not None
    fan = spending.fan
    end = float(fan.ages[-1] + 1) if fan.ages.size else result.retirement_age + 1
    x, p10 = steps(fan.ages, fan.p10, end)
    _, p50 = steps(fan.ages, fan.p50, end)
    _, p90 = steps(fan.ages, fan.p90, end)
    _, target = steps(fan.ages, target_by_age(data.profile, fan.ages), end)
    _, pensions = steps(fan.ages, pensions_by_age(data.profile, fan.ages), end)
    hover = []
    for i, year in enumerate(fan.ages):
        text = t("hover_age", lang, age=age(year, lang)) + "\n"
        if math.isfinite(fan.p50[i]):
            text += (f"{t('median', lang)}: {money(fan.p50[i], lang)}\n{t('p10', lang)}: {money(fan.p10[i], lang)}\n"
                     f"{t('p90', lang)}: {money(fan.p90[i], lang)}\n{t('target', lang)}: {money(target[2 * i], lang)}")
        else:
            text += t("no_data", lang)
        hover.append((float(year), float(year) + 1, text))
    chart = Chart(
        id="chart-spending", title=t("spending_chart", lang), x_title=t("age_axis", lang),
        y_title=t("euros_month_axis", lang), y_format=_money_tick(lang), min_span=MONEY_SPAN, x_format=_age_tick(lang),
        bands=[Band(x, p10, p90, "c-band", t("band", lang))],
        series=[Series(x, target, "c-target", t("target", lang)), Series(x, pensions, "c-pension", t("pensions", lang)),
                Series(x, p50, "c-median", t("median", lang))],
        hover=hover,
    )
    legend = [("c-band", t("band", lang)), ("c-median", t("median", lang)), ("c-target", t("target", lang)),
              ("c-pension", t("pensions", lang))]
    return figure(chart, legend, t("spending_caption", lang))


def rules_chart(data: ReportData, lang: str) -> str:
    """Each withdrawal rule's median monthly spending by age, on the same paths."""
    series, legend = [], []
    fans = {rule: r.spending.fan for rule, r in data.rules.items() if r.spending is not None and r.spending.fan is not None}
    for rule, fan in fans.items():
        end = float(fan.ages[-1] + 1) if fan.ages.size else data.simulation.retirement_age + 1
        x, y = steps(fan.ages, fan.p50, end)
        series.append(Series(x, y, RULE_CSS[rule], rule))
        legend.append((RULE_CSS[rule], t(f"short_{rule}", lang)))
    hover = []
    longest = max(fans.values(), key=lambda f: f.ages.size, default=None)
    if longest is not None:
        for i, year in enumerate(longest.ages):
            lines = [t("hover_age", lang, age=age(year, lang))]
            for rule, fan in fans.items():
                value = fan.p50[i] if i < fan.p50.size else math.nan
                lines.append(f"{t(f'short_{rule}', lang)}: {money(value, lang) if math.isfinite(value) else DASH}")
            hover.append((float(year), float(year) + 1, "\n".join(lines)))
    chart = Chart(id="chart-rules", title=t("rules_chart", lang), x_title=t("age_axis", lang),
                  y_title=t("euros_month_axis", lang), y_format=_money_tick(lang), min_span=MONEY_SPAN,
                  x_format=_age_tick(lang),
                  series=series, hover=hover)
    paths = number(data.simulation.n_paths, lang)
    return figure(chart, legend, t("rules_caption", lang, paths=paths))


# -- Spending and the rules ----------------------------------------------------------------------------------


def spending_section(data: ReportData, lang: str) -> str:
    """Spending in retirement under the household's rule, then every rule side by side."""
    result = data.simulation
    spending = result.spending
    assert spending is not None
    base = "simulation.spending"
    cards = [
        kpi(t("ce", lang), money(spending.certainty_equivalent, lang), f"{base}.certainty_equivalent_monthly",
            spending.certainty_equivalent, t("ce_sub", lang, gamma=number(spending.gamma, lang, 0)), "kpi-ce"),
        kpi(t("at_retirement", lang, age=age(result.retirement_age, lang)), money(spending.at_retirement.p50, lang),
            f"{base}.at_retirement.median", spending.at_retirement.p50, "", "kpi-at-retirement"),
        kpi(t("worst_year", lang), money(spending.worst_year_median, lang), f"{base}.worst_year.median",
            spending.worst_year_median, "", "kpi-worst"),
    ]
    cuts = t("cuts", lang, threshold=percent(CUT_THRESHOLD, lang, 0), share=percent(spending.cut_probability, lang),
             below=percent(spending.below_target, lang))
    intro = f"<p>{t('spending_intro', lang, rule=rule_name(result.withdrawal, lang))}</p>"
    body = intro + f'<div class="kpis">{"".join(cards)}</div><p>{cuts}</p>' + spending_chart(data, lang)
    body += f'<h3 id="rules">{escape(t("rules", lang))}</h3>' + rules_chart(data, lang) + rules_table(data, lang)
    return body


def rules_table(data: ReportData, lang: str) -> str:
    """Every withdrawal rule on the same paths, the columns of ``mcsim withdrawals``."""
    threshold = percent(CUT_THRESHOLD, lang, 0)
    headers = [t("rule_col", lang), t("success_col", lang), t("ce_col", lang), t("at_retirement_col", lang),
               t("worst_col", lang), t("cut_col", lang, threshold=threshold), t("below_col", lang),
               t("lifetime_col", lang), t("end_col", lang), t("end_p10_col", lang)]
    rows = []
    own = data.simulation.withdrawal
    for rule, result in data.rules.items():
        s = result.spending
        assert s is not None
        base = f"withdrawals.rules.{rule}"
        css = "own" if rule == own else ""
        rows.append([
            row_header(f'<span class="swatch {RULE_CSS[rule]}"></span>{escape(t(f"short_{rule}", lang))}', css),
            cell(percent(result.success.estimate, lang), f"{base}.success_probability.estimate", result.success.estimate),
            cell(money(s.certainty_equivalent, lang), f"{base}.spending.certainty_equivalent_monthly", s.certainty_equivalent),
            cell(money(s.at_retirement.p50, lang), f"{base}.spending.at_retirement.median", s.at_retirement.p50),
            cell(money(s.worst_year_median, lang), f"{base}.spending.worst_year.median", s.worst_year_median),
            cell(percent(s.cut_probability, lang), f"{base}.spending.cut_probability", s.cut_probability),
            cell(percent(s.below_target, lang), f"{base}.spending.below_target_share", s.below_target),
            cell(money(s.lifetime.p50, lang), f"{base}.spending.lifetime.median", s.lifetime.p50),
            cell(money(result.terminal_wealth.p50, lang), f"{base}.terminal_wealth.median", result.terminal_wealth.p50),
            cell(money(result.terminal_wealth.p10, lang), f"{base}.terminal_wealth.p10", result.terminal_wealth.p10),
        ])
    notes = "".join(f"<li>{t('not_run', lang, rule=f'<code>{rule}</code>', reason=escape(reason))}</li>"
                    for rule, reason in data.not_run.items())
    skipped = f'<ul class="note">{notes}</ul>' if notes else ""
    return table(headers, rows, "rules full", t("rules_note", lang, threshold=threshold), "rules-table") + skipped


# -- The learned strategy ------------------------------------------------------------------------------------


def strategy_label(name: str, lang: str) -> str:
    """A strategy's name in words (over the whole life, a saving baseline with a rule)."""
    if name in ("policy", "own-plan", "glide-path", "constant-mix", "bisection", OPTIMUM):
        return t(name, lang)
    saving, _, rule = name.partition("/")
    if rule:
        return f"{t(saving, lang)} + {t(f'rule_{rule}', lang)}"
    return name


def strategy_section(data: ReportData, lang: str) -> str:
    """The run's decisions by age beside the own plan and the optimum, its phases, every strategy on the same lives."""
    prediction = data.prediction
    assert prediction is not None
    evaluation = prediction.evaluation
    manifest = data.manifest or {}
    config = manifest.get("config", {})
    algo = config.get("algo")
    market = manifest.get("market") or config.get("market") or "lognormal"
    market_key = f"market_name_{market}"
    intro = t("strategy_intro", lang, run=f"<code>{escape(prediction.run)}</code>",
              agent=escape(str(config.get("agent", "?"))),
              algo=f" {escape(str(algo)).upper()}" if algo else "",
              market=t(market_key, lang) if market_key in TEXT else escape(market),
              paths=number(evaluation.n_paths, lang),
              optimum=t("and_optimum", lang) if OPTIMUM in evaluation.overall else "",
              life=t("life_clause", lang) if evaluation.life else "")
    end = float(prediction.end_ages[-1]) if prediction.end_ages.size else data.profile.person.retirement_age
    saving_series, equity_series, legend = [], [], []
    for line in data.lines:
        css = STRATEGY_CSS.get(line.name, "c-own")
        label = strategy_label(line.name, lang)
        x, y = steps(line.ages, line.monthly_saving, end)
        saving_series.append(Series(x, y, css, label))
        x, y = steps(line.ages, line.equity_share, end)
        equity_series.append(Series(x, y, css, label))
        legend.append((css, label))
    saving_hover, equity_hover = [], []
    if data.lines:
        first = data.lines[0]
        for i, start in enumerate(first.ages):
            stop = first.ages[i + 1] if i + 1 < first.ages.size else end
            head = t("hover_age", lang, age=f"{age(start, lang)}{DASH}{age(stop, lang)}")
            savings = [head] + [f"{strategy_label(line.name, lang)}: {money(line.monthly_saving[i], lang)}"
                                for line in data.lines if i < line.monthly_saving.size]
            shares = [head] + [f"{strategy_label(line.name, lang)}: {percent(line.equity_share[i], lang, 0)}"
                               for line in data.lines if i < line.equity_share.size]
            saving_hover.append((float(start), float(stop), "\n".join(savings)))
            equity_hover.append((float(start), float(stop), "\n".join(shares)))
    retirement = Marker(prediction.retirement_age, t("retirement_at", lang, age=age(prediction.retirement_age, lang)))
    title = t("saving_chart_life" if evaluation.life else "saving_chart", lang)
    saving = Chart(id="chart-saving", title=title, x_title=t("age_axis", lang),
                   y_title=t("euros_month_axis", lang), y_format=_money_tick(lang), min_span=MONEY_SPAN,
                   x_format=_age_tick(lang),
                   series=saving_series, hover=saving_hover,
                   markers=[retirement] if evaluation.life else [])
    equity = Chart(id="chart-equity", title=t("equity_chart", lang), x_title=t("age_axis", lang),
                   y_title=t("share_axis", lang), y_format=lambda y: percent(y, lang, 0), x_format=_age_tick(lang),
                   series=equity_series, hover=equity_hover, y_range=(0.0, 1.0))
    body = f"<p>{intro}</p>"
    caption = t("saving_caption", lang) + (t("withdrawal_caption", lang) if evaluation.life else "")
    body += figure(saving, legend, caption) + figure(equity, legend, t("equity_caption", lang))
    body += f"<h3>{escape(t('phases_title', lang))}</h3>" + phases_table(data, lang)
    body += f"<h3>{escape(t('compare_title', lang, paths=number(evaluation.n_paths, lang)))}</h3>"
    body += comparison_table(evaluation, lang)
    if prediction.optimum_skipped:
        body += f'<p class="note">{t("optimum_skipped", lang)}</p>'
    return body


def phases_table(data: ReportData, lang: str) -> str:
    """The learned strategy in phases: ages, monthly saving (or spending once retired) and equity share."""
    prediction = data.prediction
    assert prediction is not None
    life = prediction.evaluation.life
    headers = [t("ages", lang), t("saving_month", lang), t("equity_share", lang)]
    if life:
        headers.append(t("spending_month", lang))
    rows = []
    for i, phase in enumerate(prediction.phases):
        base = f"strategy.phases.{i}"
        ages = f"{age(phase.from_age, lang)}{DASH}{age(phase.to_age, lang)}"
        if phase.retired:
            ages += f" ({t('retired', lang)})"
        row = [row_header(ages),
               cell(money(phase.monthly_saving, lang), f"{base}.monthly_saving", phase.monthly_saving),
               cell(percent(phase.equity_share, lang, 0), f"{base}.equity_share", phase.equity_share)]
        if life:
            spent = phase.monthly_spending
            row.append(cell(DASH if spent is None else money(spent, lang), f"{base}.monthly_spending", spent))
        rows.append(row)
    return table(headers, rows, "phases", t("phases_note", lang), "phases-table")


def comparison_table(evaluation: Evaluation, lang: str) -> str:
    """Every strategy on the same lives: funded, capital, the objective or certainty equivalent, % of optimum."""
    names = list(evaluation.overall)
    if evaluation.life:
        best = evaluation.best_saving_by_rule()
        names = ["policy", *best.values(), *([OPTIMUM] if OPTIMUM in evaluation.overall else [])]
    with_optimum = OPTIMUM in evaluation.overall
    certainty = evaluation.yardstick == "certainty equivalent"
    headers = [t("strategy_col", lang)]
    if not evaluation.life:
        headers.append(t("funded", lang))
    headers += [t("median_capital", lang), t("ce_month", lang) if certainty else t("objective", lang)]
    if evaluation.life:
        headers.append(t("spending_month", lang))
    if with_optimum:
        headers.append(t("of_optimum", lang))
    rows = []
    for name in names:
        score = evaluation.overall[name]
        base = f"strategy.evaluation.overall.{name}"
        css = "own" if name == "policy" else ""
        row = [row_header(escape(strategy_label(name, lang)), css)]
        if not evaluation.life:
            funded = score.funded
            if funded is None:
                row.append(cell(DASH))
            else:
                row.append(cell(f"{percent(funded.estimate, lang)} <small>({percent(funded.low, lang)}{DASH}"
                                f"{percent(funded.high, lang)})</small>", f"{base}.funded.estimate", funded.estimate))
        row.append(cell(money(score.median_capital, lang), f"{base}.median_capital", score.median_capital))
        if certainty:
            value = evaluation.mean_yardstick(name)
            row.append(cell(money(value, lang), f"strategy.evaluation.by_household.0.{name}", value))
        else:
            row.append(cell(number(score.objective, lang, 4), f"{base}.objective", score.objective))
        if evaluation.life:
            spent = score.monthly_spending
            row.append(cell(DASH if spent is None else money(spent, lang), f"{base}.monthly_spending", spent))
        if with_optimum:
            share = evaluation.share_of_optimum(name)
            row.append(cell(DASH if share is None else percent(share, lang),
                            f"strategy.evaluation.share_of_optimum.{name}.median", share))
        rows.append(row)
    note = t("crra_note", lang) if certainty else t("planner_note", lang)
    return table(headers, rows, "comparison full", note, "comparison-table")


# -- Assumptions and limits ----------------------------------------------------------------------------------


def assumptions_section(data: ReportData, lang: str) -> str:
    """The market (law or history), inflation, accounts with fees and taxes, the withdrawal rule, mortality, paths."""
    profile = data.profile
    market = profile.market
    assumptions = data.assumptions
    parts = []
    cohorts = data.simulation.cohorts
    cohorts_text = (t("cohorts_describe", lang, count=number(cohorts.count, lang), series=escape(cohorts.series),
                      first=cohorts.first, last=cohorts.last) if cohorts is not None else "")
    model = market.return_model
    if model in HISTORY_MODELS:
        history = assumptions["history"]
        source = f"<strong>{escape(history['source'])}</strong>"
        if model == "historical":
            parts.append(f"<p>{t('market_historical', lang, source=source, cohorts=cohorts_text)}</p>")
        else:
            parts.append(f"<p>{t('market_bootstrap', lang, source=source, years=number(history['block_years'], lang, 1))}</p>")
        items = [f"{escape(asset)} {DASH} <code>{escape(column)}</code>" for asset, column in history["columns"].items()]
        parts.append(f"<p>{t('columns', lang, items=listing(items, lang))}</p>")
        parts.append(f"<p>{t('inflation_history', lang)}</p>")
    else:
        key = {"lognormal": "market_lognormal", "normal": "market_normal", "student_t": "market_student_t"}[model]
        parts.append(f"<p>{t(key, lang, df=number(market.student_t_df, lang, 0))}</p>")
        rows = [[row_header(escape(a.name)),
                 cell(percent(a.expected_return_pct / 100, lang), f"assumptions.assets.{i}.expected_return_pct",
                      a.expected_return_pct),
                 cell(percent(a.volatility_pct / 100, lang), f"assumptions.assets.{i}.volatility_pct", a.volatility_pct)]
                for i, a in enumerate(market.assets)]
        parts.append(table([t("asset", lang), t("expected_return", lang), t("volatility", lang)], rows, "assets",
                           id_="assets-table"))
        if market.correlation is not None and len(market.assets) > 1:
            names = [a.name for a in market.assets]
            rows = [[row_header(escape(name))] + [cell(number(v, lang, 2)) for v in row]
                    for name, row in zip(names, market.correlation, strict=True)]
            parts.append(table([t("correlation", lang), *map(escape, names)], rows, "correlation"))
        parts.append(f"<p>{t('inflation', lang, mean=percent(market.inflation_mean_pct / 100, lang), vol=percent(market.inflation_volatility_pct / 100, lang))}</p>")  # noqa: E501
    rows = []
    for i, account in enumerate(profile.accounts):
        allocation = ", ".join(f"{escape(k)} {percent(v, lang, 0)}" for k, v in account.allocation.items())
        rows.append([row_header(escape(account.name)), cell(escape(t(f"kind_{account.type}", lang)), css=""),
                     cell(money(account.balance, lang), f"household.accounts.{i}.balance", account.balance),
                     cell(allocation, css=""),
                     cell(percent(account.fee_pct / 100, lang, 2), f"household.accounts.{i}.fee_pct", account.fee_pct),
                     cell(percent(account.tax_rate, lang), f"household.accounts.{i}.tax_on_gains_pct",
                          100 * account.tax_rate)])
    parts.append(f"<h3>{escape(t('accounts_title', lang))}</h3>")
    parts.append(table([t("account", lang), t("type", lang), t("balance", lang), t("allocation", lang), t("fee", lang),
                        t("tax", lang)], rows, "accounts", t("tax_note", lang), "accounts-table", left=(0, 1, 3)))
    parameters = assumptions["withdrawal"]["parameters"]
    listed = ", ".join(f"<code>{escape(k)}</code> {escape(_parameter(v, lang))}" for k, v in parameters.items())
    parts.append(f"<p>{t('withdrawal_rule', lang, rule=rule_name(data.simulation.withdrawal, lang), parameters=f' ({listed})' if listed else '')}</p>")  # noqa: E501
    person = profile.person
    if person.mortality == "fixed":
        parts.append(f"<p>{t('mortality_fixed', lang, age=age(person.life_expectancy, lang))}</p>")
    else:
        parts.append(f"<p>{t('mortality_gompertz', lang, modal=age(person.gompertz_modal_age, lang), dispersion=age(person.gompertz_dispersion, lang), max=age(person.max_age, lang))}</p>")  # noqa: E501
    if cohorts is not None:
        parts.append(f"<p>{t('cohorts_used', lang, cohorts=cohorts_text)}</p>")
    else:
        parts.append(f"<p>{t('paths_used', lang, paths=number(data.simulation.n_paths, lang), seed=data.seed)}</p>")
    return "".join(parts)


def _parameter(value: Any, lang: str) -> str:
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    return number(float(value), lang, 2).rstrip("0").rstrip(",.") if isinstance(value, float) else str(value)


def limits_section(data: ReportData, lang: str) -> str:
    """The model's limits in plain words."""
    keys = ["limit_real", "limit_market", "limit_tax", "limit_life", "limit_mortality", "limit_paths"]
    if data.prediction is not None:
        keys.append("limit_policy")
    keys.append("limit_advice")
    return "<ul>" + "".join(f"<li>{t(key, lang)}</li>" for key in keys) + "</ul>"


# -- The page ------------------------------------------------------------------------------------------------


def stylesheet() -> str:
    """The page's CSS: screen, phone width and print."""
    palette = "".join(
        f".c-r{i}{{stroke:{colour};stroke-width:2;fill:none}}.swatch.c-r{i}{{background:{colour}}}"
        for i, colour in enumerate(RULE_COLOURS)
    )
    return CSS + palette


CSS = """
:root{--ink:#1d2433;--muted:#5b6475;--line:#d9dee7;--accent:#08519c;--paper:#fff;--soft:#f4f6fa}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0 auto;max-width:980px;padding:24px 20px 48px;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--paper)}
h1{font-size:1.9rem;line-height:1.2;margin:0 0 .3rem}
h2{font-size:1.4rem;margin:2.2rem 0 .8rem;padding-bottom:.3rem;border-bottom:2px solid var(--line)}
h3{font-size:1.1rem;margin:1.6rem 0 .5rem}
p{margin:.5rem 0}
.meta,.note,figcaption{color:var(--muted);font-size:.9rem}
.lead{font-size:1.05rem}
code{font:.85em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:0 .25em;border-radius:3px}
nav ol{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;padding:0;margin:.8rem 0 0;list-style:none;font-size:.95rem}
nav a{color:var(--accent)}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:12px;margin:1rem 0}
.kpi{background:var(--soft);border-radius:8px;padding:12px 14px}
.kpi-label{color:var(--muted);font-size:.9rem}
.kpi-value{font-size:1.7rem;font-weight:650;font-variant-numeric:tabular-nums}
.kpi-sub{color:var(--muted);font-size:.85rem}
.table-wrap{overflow-x:auto;margin:.6rem 0}
table{border-collapse:collapse;min-width:50%;font-size:.92rem;font-variant-numeric:tabular-nums}
table.full{width:100%}
table.rules{font-size:.86rem}
table.rules th,table.rules td{padding:6px 5px}
thead th.num{white-space:normal}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{font-weight:600;color:var(--muted);border-bottom:2px solid var(--line)}
.num{text-align:right;white-space:nowrap}
th.own{font-weight:700}
tr:has(th.own) td{font-weight:700}
td small{color:var(--muted);font-weight:400}
figure.chart{margin:1.2rem 0;padding:0}
figure.chart h3{margin:0 0 .4rem}
figure.chart svg{display:block;width:100%;height:auto;overflow:visible}
figure.chart svg.narrow{display:none}
.legend{display:flex;flex-wrap:wrap;gap:.2rem 1rem;list-style:none;padding:0;margin:.4rem 0;font-size:.88rem}
.swatch{display:inline-block;width:18px;height:4px;margin-right:6px;vertical-align:middle;border-radius:2px}
th .swatch{width:12px}
.c-grid{stroke:#e6e9ef;stroke-width:1}
.c-axis{stroke:#8a93a3;stroke-width:1}
.c-tick{fill:#4a5263;font-size:13px}
.c-title{fill:#4a5263;font-size:13px;font-weight:600}
.c-label{fill:#b03a2e;font-size:12.5px;font-weight:600}
.c-marker{stroke:#b03a2e;stroke-width:1.5;stroke-dasharray:5 4}
.swatch.c-marker{background:none;border-top:2px dashed #b03a2e;height:0}
.c-band{fill:#9ecae1;fill-opacity:.55;stroke:none}
.swatch.c-band{background:#9ecae1;height:10px}
.c-median{stroke:#08519c;stroke-width:2.5;fill:none}
.swatch.c-median{background:#08519c}
.c-target{stroke:#1a1a1a;stroke-width:1.5;stroke-dasharray:7 4;fill:none}
.swatch.c-target{background:none;border-top:2px dashed #1a1a1a;height:0}
.c-pension{stroke:#6a3d9a;stroke-width:2;stroke-dasharray:2 3;fill:none}
.swatch.c-pension{background:none;border-top:3px dotted #6a3d9a;height:0}
.c-policy{stroke:#d95f02;stroke-width:3;fill:none}
.swatch.c-policy{background:#d95f02}
.c-own{stroke:#7570b3;stroke-width:2;fill:none;stroke-dasharray:6 3}
.swatch.c-own{background:none;border-top:2px dashed #7570b3;height:0}
.c-optimum{stroke:#1b9e77;stroke-width:2;fill:none}
.swatch.c-optimum{background:#1b9e77}
.c-dot{stroke-width:2}
polyline{fill:none;stroke-linejoin:round}
rect.hover{fill:#08519c;fill-opacity:0}
rect.hover:hover{fill-opacity:.07}
ul.note{padding-left:1.2rem}
footer{margin-top:2.5rem;color:var(--muted);font-size:.85rem;border-top:1px solid var(--line);padding-top:.8rem}
@media (max-width:600px){
body{padding:14px 12px 32px;font-size:15px}
h1{font-size:1.45rem}
h2{font-size:1.2rem}
.kpi-value{font-size:1.4rem}
figure.chart svg.wide{display:none}
figure.chart svg.narrow{display:block}
table{font-size:.85rem}
th,td{padding:5px 6px}
}
@media print{
@page{margin:14mm}
body{max-width:none;padding:0;font-size:10.5pt;color:#000}
nav,rect.hover{display:none}
h2{break-after:avoid;margin-top:1.4rem}
h3{break-after:avoid}
figure.chart,.kpis,table,.kpi{break-inside:avoid}
figure.chart svg.wide{display:block!important}
figure.chart svg.narrow{display:none!important}
.kpi{border:1px solid #ccc;background:none}
.table-wrap{overflow:visible}
a{color:inherit;text-decoration:none}
}
"""

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
"""The page's Content-Security-Policy: nothing may be fetched, only the inline stylesheet applies."""


def render_html(data: ReportData, lang: str = "en") -> str:
    """The report page of ``data`` in ``lang`` (``en`` or ``fr``), one self-contained HTML document."""
    lang = check_lang(lang)
    result = data.simulation
    if result.cohorts is not None:
        meta = t("meta_cohorts", lang, cohorts=t("cohorts_describe", lang, count=number(result.cohorts.count, lang),
                                                 series=escape(result.cohorts.series), first=result.cohorts.first,
                                                 last=result.cohorts.last), version=__version__)
    else:
        meta = t("meta", lang, paths=number(result.n_paths, lang), seed=data.seed, version=__version__)
    sections = [("household", household_paragraph(data.profile, lang)), ("outcome", outcome_section(data, lang)),
                ("wealth", wealth_chart(data, lang))]
    if data.prediction is not None:
        sections.append(("strategy", strategy_section(data, lang)))
    sections += [("spending", spending_section(data, lang)), ("assumptions", assumptions_section(data, lang)),
                 ("limits", limits_section(data, lang))]
    nav = "".join(f'<li><a href="#{key}">{escape(t(key, lang))}</a></li>' for key, _ in sections)
    title = t("title", lang, name=data.profile.name)
    body = "".join(section(key, t(key, lang), html) for key, html in sections)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
        f'<meta name="generator" content="mcsim {__version__}">\n'
        f"<title>{escape(title)}</title>\n<style>{stylesheet()}</style>\n</head>\n<body>\n"
        f'<header><h1>{escape(title)}</h1><p class="meta">{meta}</p>'
        f'<nav aria-label="{escape(t("contents", lang))}"><ol>{nav}</ol></nav></header>\n'
        f"<main>{body}</main>\n<footer>{t('footer', lang, version=__version__)}</footer>\n</body>\n</html>\n"
    )


def output_path(path: str | Path, option: str = "-o") -> Path:
    """The page's file: ending in .html, in a folder that exists, not a folder; a ParameterError naming ``option``."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(option, f"the report file must end in .html (got '{path}')")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ParameterError(option, f"folder '{folder}' does not exist")
    if path.is_dir():
        raise ParameterError(option, f"'{path}' is a folder")
    return path


def write_report(page: str, path: str | Path) -> Path:
    """Write ``page`` to ``path`` through a temporary file and a rename (a reader never sees half a page)."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(page)
        publish(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path
