"""The report's words and number formats in English and French.

Numbers follow each language's usage (CLDR's): English ``€12,345``, ``89.8%``, ``1.5``; French
``12 345 €`` (a narrow no-break space, U+202F, between thousands and a no-break space, U+00A0,
before the euro sign), ``89,8 %`` (a narrow no-break space before the percent sign), ``1,5``.
"""

from __future__ import annotations

import math

from ..core.errors import ParameterError

LANGS = ("en", "fr")
NNBSP = "\u202f"
"""Narrow no-break space: French thousands separator and before ``%``."""
NBSP = "\u00a0"
"""No-break space: French space before ``€`` and before ``:``."""
DASH = "\u2013"


def check_lang(lang: str) -> str:
    """``lang`` if the report speaks it, else a ParameterError naming ``--lang``."""
    if lang not in LANGS:
        raise ParameterError("--lang", f"must be one of {', '.join(LANGS)} (got {lang!r})")
    return lang


def number(value: float, lang: str, digits: int = 0) -> str:
    """``value`` with the language's thousands separator and decimal mark."""
    if not math.isfinite(value):
        return DASH
    if digits == 0 and round(value) == 0:
        value = 0.0  # no "-0"
    text = f"{value:,.{digits}f}"
    if lang == "fr":
        text = text.replace(",", NNBSP).replace(".", ",")
    return text


def money(value: float, lang: str, digits: int = 0) -> str:
    """An amount in euros: ``€12,345`` in English, ``12 345 €`` in French."""
    if not math.isfinite(value):
        return DASH
    text = number(abs(value), lang, digits)
    sign = "-" if value < 0 and text.strip("0.,") else ""
    return f"{sign}{text}{NBSP}€" if lang == "fr" else f"{sign}€{text}"


def money_short(value: float, lang: str) -> str:
    """A chart tick in euros, thousands as k and millions as M: ``€250k``, ``€1.5M``; ``250 k€``, ``1,5 M€``."""
    size = abs(value)
    sign = "-" if value < 0 else ""
    for unit, scale in (("bn", 1e9), ("M", 1e6), ("k", 1e3)):
        if size >= scale:
            amount = size / scale
            digits = 0 if amount >= 10 or amount == round(amount) else 1
            if lang == "fr":
                return f"{sign}{number(amount, lang, digits)}{NBSP}{'Md' if unit == 'bn' else unit}€"
            return f"{sign}€{number(amount, lang, digits)}{unit}"
    return money(value, lang)


def percent(value: float, lang: str, digits: int = 1) -> str:
    """A proportion as a percentage: ``89.8%``; ``89,8 %``."""
    if not math.isfinite(value):
        return DASH
    text = number(100 * value, lang, digits)
    return f"{text}{NNBSP}%" if lang == "fr" else f"{text}%"


def age(value: float, lang: str) -> str:
    """An age in years, without needless decimals: ``64``, ``64.5``; ``64,5``."""
    text = f"{value:.1f}".removesuffix(".0")
    return text.replace(".", ",") if lang == "fr" else text


def colon(lang: str) -> str:
    """``": "`` in English, ``" : "`` (a no-break space before) in French."""
    return f"{NBSP}: " if lang == "fr" else ": "


TEXT: dict[str, tuple[str, str]] = {
    # (English, French); {placeholders} are filled by t().
    "title": ("Retirement report: {name}", "Bilan retraite{colon}{name}"),
    "meta": ("{paths} Monte Carlo paths, seed {seed}; made by mcsim {version}. All amounts in euros of today "
             "(after inflation).",
             "{paths} trajectoires de Monte-Carlo, graine {seed}{semicolon} produit par mcsim {version}. Tous les "
             "montants en euros d'aujourd'hui (hors inflation)."),
    "meta_cohorts": ("{cohorts}; made by mcsim {version}. All amounts in euros of today (after inflation).",
                     "{cohorts}{semicolon} produit par mcsim {version}. Tous les montants en euros d'aujourd'hui "
                     "(hors inflation)."),
    "contents": ("Contents", "Sommaire"),
    # Sections
    "household": ("The household", "Le foyer"),
    "outcome": ("The plan's outcome", "Le résultat du plan"),
    "wealth": ("Wealth by age", "Le patrimoine selon l'âge"),
    "strategy": ("The learned strategy", "La stratégie apprise"),
    "spending": ("Spending in retirement", "Les dépenses à la retraite"),
    "rules": ("The withdrawal rules side by side", "Les règles de retrait côte à côte"),
    "assumptions": ("Assumptions", "Les hypothèses"),
    "limits": ("What the model leaves out", "Ce que le modèle ne dit pas"),
    # The household
    "hh_age": ("Aged {age}, retiring at {retirement}", "{age} ans, départ à la retraite à {retirement} ans"),
    "hh_fixed": (", with money needed to age {life}.", ", avec de l'argent nécessaire jusqu'à {life} ans."),
    "hh_gompertz": (", with a lifetime drawn from a Gompertz law (most likely age at death {modal}, at most {max}).",
                    ", avec une durée de vie tirée d'une loi de Gompertz (âge de décès le plus probable {modal} ans, "
                    "au plus {max} ans)."),
    "hh_income": ("Net income {income} a month, growing {growth} a year above inflation.",
                  "Revenu net de {income} par mois, en hausse de {growth} par an au-delà de l'inflation."),
    "hh_no_income": ("No earned income.", "Pas de revenu d'activité."),
    "hh_charges": ("Charges: {items}.", "Charges{colon}{items}."),
    "hh_charge": ("{name} {amount} a month until {until}", "{name} {amount} par mois jusqu'à {until} ans"),
    "hh_capital": ("Capital today {capital}, in {accounts}.", "Capital aujourd'hui {capital}, sur {accounts}."),
    "hh_account": ("{name} ({kind}) {balance}", "{name} ({kind}) {balance}"),
    "hh_plan": ("The plan saves {phases}.", "Le plan épargne {phases}."),
    "hh_plan_phase": ("{amount} a month from {start} to {end}", "{amount} par mois de {start} à {end} ans"),
    "hh_no_plan": ("The plan saves nothing more.", "Le plan n'épargne plus rien."),
    "hh_retirement": ("In retirement the household wants {target} a month; the state pension pays {pension} a month",
                      "À la retraite le foyer souhaite {target} par mois{semicolon} la pension de l'État verse "
                      "{pension} par mois"),
    "hh_other_income": (", other income {items}", ", autres revenus{colon}{items}"),
    "hh_income_stream": ("{name} {amount} a month from {start} to {end}", "{name} {amount} par mois de {start} à {end} ans"),
    "hh_phases": ("; spending is {items} of the target", "{semicolon} les dépenses valent {items} de la cible"),
    "hh_phase": ("{ratio} from {start} to {end}", "{ratio} de {start} à {end} ans"),
    "hh_rule": (". Withdrawals follow the rule {rule}.", ". Les retraits suivent la règle {rule}."),
    "and": (" and ", " et "),
    # Outcome
    "success": ("Success probability", "Probabilité de succès"),
    "success_cohorts": ("Cohorts that succeed", "Cohortes qui réussissent"),
    "interval": ("{confidence} interval: {low} to {high}", "intervalle à {confidence}{colon}{low} à {high}"),
    "no_interval": ("overlapping cohorts of one history: no sampling interval",
                    "cohortes qui se chevauchent dans une seule histoire{colon}pas d'intervalle"),
    "capital_at": ("Capital at {age} (median)", "Capital à {age} ans (médiane)"),
    "wealth_end_fixed": ("Wealth at {age} (median)", "Patrimoine à {age} ans (médiane)"),
    "wealth_end_death": ("Wealth at death (median)", "Patrimoine au décès (médiane)"),
    "row_capital": ("Capital at retirement ({age})", "Capital à la retraite ({age} ans)"),
    "row_end_fixed": ("Wealth at {age}", "Patrimoine à {age} ans"),
    "row_end_death": ("Wealth at death", "Patrimoine au décès"),
    "p10": ("10th percentile", "1er décile"),
    "median": ("median", "médiane"),
    "p90": ("90th percentile", "9e décile"),
    "mean": ("mean", "moyenne"),
    "euros_today": ("€ of today", "€ d'aujourd'hui"),
    "lasts_fixed": ("The money lasts to {age} on every path.", "L'argent dure jusqu'à {age} ans sur toutes les trajectoires."),
    "lasts_death": ("The money lasts as long as the person on every path.",
                    "L'argent dure autant que la personne sur toutes les trajectoires."),
    "runs_out": ("The money runs out on {share} of paths: at {median} on median (10th percentile {p10}, 90th {p90}).",
                 "L'argent s'épuise sur {share} des trajectoires{colon}à {median} ans en médiane (1er décile {p10}, "
                 "9e décile {p90})."),
    "success_note": ("Success: the money lasts as long as the person ({horizon}). Percentiles over the paths: 10% of "
                     "paths end below the 10th percentile, 10% above the 90th.",
                     "Succès{colon}l'argent dure autant que la personne ({horizon}). Déciles sur les trajectoires{colon}"
                     "10 % des trajectoires finissent sous le 1er décile, 10 % au-dessus du 9e."),
    "horizon_fixed": ("to {age}", "jusqu'à {age} ans"),
    "horizon_gompertz": ("each path draws its age at death", "chaque trajectoire tire son âge de décès"),
    # Charts
    "age_axis": ("Age (years)", "Âge (années)"),
    "euros_axis": ("€ of today", "€ d'aujourd'hui"),
    "euros_month_axis": ("€ of today a month", "€ d'aujourd'hui par mois"),
    "share_axis": ("Equity share", "Part en actions"),
    "band": ("10th to 90th percentile", "du 1er au 9e décile"),
    "retirement_at": ("retirement at {age}", "retraite à {age} ans"),
    "wealth_caption": ("Total wealth over {paths} paths, in euros of today: the band holds 8 paths in 10, the line is the "
                       "median. Hover a year for its values.",
                       "Patrimoine total sur {paths} trajectoires, en euros d'aujourd'hui{colon}la bande contient 8 "
                       "trajectoires sur 10, la ligne est la médiane. Survolez une année pour ses valeurs."),
    "hover_age": ("Age {age}", "{age} ans"),
    "no_data": ("no path alive", "aucune trajectoire en vie"),
    # Strategy
    "strategy_intro": ("The run {run} ({agent}{algo}, trained on {market} markets) decides each year how much this "
                       "household saves{life} and how much of it goes into equities, from its age and its wealth so far. "
                       "Below, its decisions by age (medians over {paths} simulated lives) beside the household's own "
                       "plan{optimum}, then every strategy on the same lives.",
                       "Le modèle {run} ({agent}{algo}, entraîné sur des marchés {market}) décide chaque année combien "
                       "ce foyer épargne{life} et quelle part va en actions, selon son âge et son patrimoine. Ci-dessous, ses "
                       "décisions selon l'âge (médianes sur {paths} vies simulées) à côté du plan du foyer{optimum}, "
                       "puis chaque stratégie sur les mêmes vies."),
    "and_optimum": (" and the optimum", " et de l'optimum"),
    "saving_chart": ("Saving per month by age", "Épargne par mois selon l'âge"),
    "saving_chart_life": ("Saving, then withdrawal, per month by age", "Épargne, puis retrait, par mois selon l'âge"),
    "life_clause": (" (once retired, how much it withdraws)", " (une fois à la retraite, combien il retire)"),
    "equity_chart": ("Equity share by age", "Part en actions selon l'âge"),
    "saving_caption": ("Monthly saving (medians over paths) in euros of today.",
                       "Épargne mensuelle (médianes sur les trajectoires) en euros d'aujourd'hui."),
    "withdrawal_caption": (" Once retired, a negative amount is the monthly withdrawal.",
                           " Une fois à la retraite, un montant négatif est le retrait mensuel."),
    "equity_caption": ("Share of the portfolio in equities, the rest in bonds.",
                       "Part du portefeuille en actions, le reste en obligations."),
    "phases_title": ("The strategy in phases", "La stratégie par phases"),
    "phases_note": ("A new phase when the saving moves more than 10% or the equity share more than 5 points, after "
                    "12 months at least.",
                    "Une nouvelle phase quand l'épargne varie de plus de 10 % ou la part en actions de plus de 5 "
                    "points, après 12 mois au moins."),
    "ages": ("Ages", "Âges"),
    "saving_month": ("Saving a month", "Épargne par mois"),
    "spending_month": ("Spending a month", "Dépense par mois"),
    "equity_share": ("Equity share", "Part en actions"),
    "retired": ("retired", "retraite"),
    "compare_title": ("Every strategy on the same {paths} lives", "Chaque stratégie sur les mêmes {paths} vies"),
    "strategy_col": ("Strategy", "Stratégie"),
    "funded": ("Funded", "Financé"),
    "median_capital": ("Median capital at retirement", "Capital médian à la retraite"),
    "objective": ("Objective", "Objectif"),
    "ce_month": ("Certainty equivalent a month", "Équivalent certain par mois"),
    "of_optimum": ("% of optimum", "% de l'optimum"),
    "planner_note": ("Funded: the share of lives whose capital funds the target income to the end (95% interval). "
                     "Objective: the planner's score (funded probability plus quality of life while saving, less a "
                     "penalty on the worst 10% shortfalls); higher is better.",
                     "Financé{colon}la part des vies dont le capital finance le revenu cible jusqu'au bout (intervalle "
                     "à 95 %). Objectif{colon}le score du planificateur (probabilité de financement plus qualité de vie "
                     "pendant l'épargne, moins une pénalité sur les 10 % pires manques){semicolon} plus haut vaut mieux."),
    "crra_note": ("Certainty equivalent: the constant monthly consumption over the whole life with the same expected "
                  "utility (CRRA); higher is better.",
                  "Équivalent certain{colon}la consommation mensuelle constante sur toute la vie de même utilité "
                  "espérée (CRRA){semicolon} plus haut vaut mieux."),
    "optimum_skipped": ("The optimum is not computed on historical and bootstrap markets: it is defined for parametric laws.",
                        "L'optimum n'est pas calculé sur les marchés historiques et rééchantillonnés{colon}il est défini "
                        "pour les lois paramétriques."),
    "policy": ("Learned strategy", "Stratégie apprise"),
    "own-plan": ("Your own plan", "Votre propre plan"),
    "glide-path": ("Glide path (15%, equities 110 - age)", "Trajectoire (15 %, actions 110 - âge)"),
    "constant-mix": ("Constant mix (15%, 60/40)", "Mélange constant (15 %, 60/40)"),
    "bisection": ("Classic optimizer (90% success)", "Optimiseur classique (90 % de succès)"),
    "optimum": ("Optimum (dynamic programming)", "Optimum (programmation dynamique)"),
    "best_saving": ("{rule}, best saving baseline: {saving}", "{rule}, meilleure épargne de référence{colon}{saving}"),
    # Spending
    "spending_intro": ("What the household can spend each month once retired: the withdrawal (net of tax) plus the "
                       "pension and other income, by the rule {rule}.",
                       "Ce que le foyer peut dépenser chaque mois une fois retraité{colon}le retrait (net d'impôt) plus "
                       "la pension et les autres revenus, selon la règle {rule}."),
    "spending_chart": ("Monthly spending by age", "Dépense mensuelle selon l'âge"),
    "spending_caption": ("A year's mean month over the paths alive: the band holds 8 paths in 10, the line is the "
                         "median; the dashed line is the target, the dotted one the pensions.",
                         "Mois moyen de chaque année sur les trajectoires en vie{colon}la bande contient 8 trajectoires "
                         "sur 10, la ligne est la médiane{semicolon} le tiret marque la cible, le pointillé les pensions."),
    "target": ("target", "cible"),
    "pensions": ("pensions", "pensions"),
    "ce": ("Certainty equivalent a month", "Équivalent certain par mois"),
    "ce_sub": ("the steady spending worth as much (CRRA gamma {gamma})",
               "la dépense constante qui vaut autant (CRRA gamma {gamma})"),
    "at_retirement": ("Spending a month at {age} (median)", "Dépense par mois à {age} ans (médiane)"),
    "worst_year": ("Worst year, a month (median)", "Pire année, par mois (médiane)"),
    "cuts": ("A cut of more than {threshold} in a year on {share} of paths; {below} of the years lived below the target.",
             "Une baisse de plus de {threshold} en un an sur {share} des trajectoires{semicolon} {below} des années "
             "vécues sous la cible."),
    "rules_chart": ("Median monthly spending by age, each rule", "Dépense mensuelle médiane selon l'âge, chaque règle"),
    "rules_caption": ("Each rule on the same {paths} paths (the same markets and lifetimes): median over the paths alive.",
                      "Chaque règle sur les mêmes {paths} trajectoires (mêmes marchés, mêmes durées de vie){colon}"
                      "médiane sur les trajectoires en vie."),
    "rule_col": ("Rule", "Règle"),
    "success_col": ("Success", "Succès"),
    "ce_col": ("CE a month", "EC par mois"),
    "at_retirement_col": ("At retirement", "À la retraite"),
    "worst_col": ("Worst year", "Pire année"),
    "cut_col": ("Cut > {threshold}", "Baisse > {threshold}"),
    "below_col": ("Below target", "Sous la cible"),
    "lifetime_col": ("Lifetime", "Sur la vie"),
    "end_col": ("Wealth at end", "Patrimoine final"),
    "end_p10_col": ("its 10th pct.", "son 1er décile"),
    "rules_note": ("Success: the money lasts as long as the person. CE: the certainty-equivalent monthly spending. At "
                   "retirement, worst year, lifetime and wealth at the end: medians over paths (worst year: each "
                   "path's lowest). Cut: share of paths with a year-on-year cut of more than {threshold}. Below "
                   "target: share of the years lived. The household's rule is in bold.",
                   "Succès{colon}l'argent dure autant que la personne. EC{colon}la dépense mensuelle équivalente "
                   "certaine. À la retraite, pire année, sur la vie et patrimoine final{colon}médianes sur les "
                   "trajectoires (pire année{colon}la plus basse de chaque trajectoire). Baisse{colon}part des "
                   "trajectoires avec une baisse d'une année sur l'autre de plus de {threshold}. Sous la cible{colon}part "
                   "des années vécues. La règle du foyer est en gras."),
    "not_run": ("{rule}: not run ({reason})", "{rule}{colon}non calculée ({reason})"),
    "rule_target": ("target income", "revenu cible"),
    "short_target": ("Target income", "Revenu cible"),
    "short_constant_dollar": ("4% rule", "Règle des 4 %"),
    "short_constant_percent": ("Constant %", "% constant"),
    "short_guyton_klinger": ("Guyton-Klinger", "Guyton-Klinger"),
    "short_vpw": ("VPW", "VPW"),
    "short_floor_ceiling": ("Floor & ceiling", "Plancher-plafond"),
    "short_merton": ("Merton", "Merton"),
    "rule_constant_dollar": ("constant amount (the 4% rule)", "montant constant (règle des 4 %)"),
    "rule_constant_percent": ("constant percentage", "pourcentage constant"),
    "rule_guyton_klinger": ("Guyton-Klinger guardrails", "garde-fous de Guyton-Klinger"),
    "rule_vpw": ("variable percentage (VPW)", "pourcentage variable (VPW)"),
    "rule_floor_ceiling": ("floor and ceiling", "plancher et plafond"),
    "rule_merton": ("Merton (CRRA optimum)", "Merton (optimum CRRA)"),
    # Assumptions
    "market_lognormal": ("Each month's returns are drawn from a lognormal law with these annual means and volatilities, "
                         "correlated as below.",
                         "Les rendements de chaque mois sont tirés d'une loi lognormale de ces moyennes et volatilités "
                         "annuelles, corrélées comme ci-dessous."),
    "market_normal": ("Each month's returns are drawn from a normal law with these annual means and volatilities "
                      "(as simple planners do), correlated as below.",
                      "Les rendements de chaque mois sont tirés d'une loi normale de ces moyennes et volatilités "
                      "annuelles (comme les simulateurs simples), corrélées comme ci-dessous."),
    "market_student_t": ("Each month's returns have these annual means and volatilities with fat-tailed Student-t shocks "
                         "({df} degrees of freedom) that hit every asset in the same month, so assets crash together.",
                         "Les rendements de chaque mois ont ces moyennes et volatilités annuelles, avec des chocs de "
                         "Student à queues épaisses ({df} degrés de liberté) communs à tous les actifs d'un mois{colon}"
                         "les actifs chutent ensemble."),
    "market_historical": ("Markets replay history: path k is the plan started in the k-th period of {source} ({cohorts}), "
                          "returns and inflation of the same dates together.",
                          "Les marchés rejouent l'histoire{colon}la trajectoire k est le plan démarré à la k-ième période "
                          "de {source} ({cohorts}), rendements et inflation des mêmes dates ensemble."),
    "market_bootstrap": ("Markets are blocks of history drawn at random from {source} (a stationary block bootstrap, "
                         "blocks of {years} years on average), returns and inflation of the same dates together.",
                         "Les marchés sont des blocs d'histoire tirés au hasard dans {source} (bootstrap stationnaire "
                         "par blocs de {years} ans en moyenne), rendements et inflation des mêmes dates ensemble."),
    "columns": ("Series columns: {items}.", "Colonnes de la série{colon}{items}."),
    "asset": ("Asset", "Actif"),
    "expected_return": ("Expected return a year", "Rendement espéré par an"),
    "volatility": ("Volatility a year", "Volatilité par an"),
    "correlation": ("Correlation", "Corrélation"),
    "inflation": ("Inflation: {mean} a year on average, volatility {vol}; every amount is in euros of today.",
                  "Inflation{colon}{mean} par an en moyenne, volatilité {vol}{semicolon} tous les montants sont en "
                  "euros d'aujourd'hui."),
    "inflation_history": ("Inflation: the series' own, month by month; every amount is in euros of today.",
                          "Inflation{colon}celle de la série, mois par mois{semicolon} tous les montants sont en euros "
                          "d'aujourd'hui."),
    "accounts_title": ("Accounts, fees and taxes", "Comptes, frais et impôts"),
    "account": ("Account", "Compte"),
    "type": ("Type", "Type"),
    "balance": ("Balance", "Solde"),
    "allocation": ("Allocation", "Allocation"),
    "fee": ("Fee a year", "Frais par an"),
    "tax": ("Tax on gains", "Impôt sur les gains"),
    "tax_note": ("Tax is taken on the gains share of each withdrawal, at the account's rate (simplified French rules); "
                 "fees are charged monthly on the balance.",
                 "L'impôt porte sur la part de plus-values de chaque retrait, au taux du compte (règles françaises "
                 "simplifiées){semicolon} les frais sont prélevés chaque mois sur le solde."),
    "withdrawal_rule": ("Withdrawal rule: {rule}{parameters}.", "Règle de retrait{colon}{rule}{parameters}."),
    "mortality_fixed": ("Lifetime: to {age}, fixed.", "Durée de vie{colon}jusqu'à {age} ans, fixe."),
    "mortality_gompertz": ("Lifetime: a Gompertz law, most likely age at death {modal}, dispersion {dispersion} years, "
                           "at most {max}.",
                           "Durée de vie{colon}loi de Gompertz, âge de décès le plus probable {modal} ans, dispersion "
                           "{dispersion} ans, au plus {max} ans."),
    "paths_used": ("Simulation: {paths} paths, seed {seed}; the same paths for every withdrawal rule.",
                   "Simulation{colon}{paths} trajectoires, graine {seed}{semicolon} les mêmes pour chaque règle de "
                   "retrait."),
    "cohorts_used": ("Simulation: {cohorts}; the same cohorts for every withdrawal rule.",
                     "Simulation{colon}{cohorts}{semicolon} les mêmes cohortes pour chaque règle de retrait."),
    "cohorts_describe": ("{count} historical cohorts of {series}, starting {first} to {last}",
                         "{count} cohortes historiques de {series}, débutant de {first} à {last}"),
    # Limits
    "limit_real": ("Everything is in euros of today: income, pensions and targets are assumed to keep pace with "
                   "inflation (plus the stated income growth).",
                   "Tout est en euros d'aujourd'hui{colon}revenus, pensions et cibles sont supposés suivre l'inflation "
                   "(plus la hausse de revenu indiquée)."),
    "limit_market": ("Markets follow the stated model with fixed parameters; real markets can do worse, for longer, "
                     "and history (when replayed) is one country's past, not the future.",
                     "Les marchés suivent le modèle indiqué avec des paramètres fixes{semicolon} les vrais marchés "
                     "peuvent faire pire, plus longtemps, et l'histoire (quand elle est rejouée) est le passé d'un "
                     "pays, pas l'avenir."),
    "limit_tax": ("Taxes are simplified: a flat rate on the gains share of withdrawals by account type; no income tax "
                  "on pensions, no deduction of pension savings (PER) on entry, no allowances, no change of law.",
                  "Les impôts sont simplifiés{colon}un taux fixe sur la part de plus-values des retraits selon le "
                  "type de compte{semicolon} pas d'impôt sur le revenu des pensions, pas de déduction du PER à "
                  "l'entrée, pas d'abattements, pas de changement de loi."),
    "limit_life": ("Pensions are certain and start at retirement; no job loss, illness, long-term care, home "
                   "purchase, inheritance or divorce.",
                   "Les pensions sont certaines et commencent à la retraite{semicolon} pas de chômage, de maladie, de "
                   "dépendance, d'achat de logement, d'héritage ni de divorce."),
    "limit_mortality": ("The lifetime is fixed unless the profile draws it from a Gompertz law; a longer life needs "
                        "more money.",
                        "La durée de vie est fixe sauf si le profil la tire d'une loi de Gompertz{semicolon} une vie plus "
                        "longue demande plus d'argent."),
    "limit_paths": ("Probabilities are estimated from a finite number of paths (hence the interval), and only as good "
                    "as the assumptions above.",
                    "Les probabilités sont estimées sur un nombre fini de trajectoires (d'où l'intervalle), et ne "
                    "valent que ce que valent les hypothèses ci-dessus."),
    "limit_policy": ("The learned strategy was trained on many sampled households and judged on simulated lives; the "
                     "optimum is a numerical solution of the same simplified problem.",
                     "La stratégie apprise a été entraînée sur de nombreux foyers simulés et jugée sur des vies "
                     "simulées{semicolon} l'optimum est une solution numérique du même problème simplifié."),
    "limit_advice": ("This is a simulation, not financial advice.", "Ceci est une simulation, pas un conseil financier."),
    "footer": ("Made by mcsim {version}, offline: this page loads nothing from the network.",
               "Produit par mcsim {version}, hors ligne{colon}cette page ne charge rien depuis le réseau."),
    "kind_pea": ("PEA", "PEA"),
    "kind_per": ("PER", "PER"),
    "kind_assurance_vie": ("life insurance", "assurance vie"),
    "kind_livret": ("savings account", "livret"),
    "kind_cto": ("securities account", "compte-titres"),
    "kind_crypto": ("crypto", "crypto"),
    "kind_other": ("other", "autre"),
    "account_count": ("{count} accounts", "{count} comptes"),
    "account_one": ("one account", "un compte"),
    "market_name_lognormal": ("lognormal", "lognormaux"),
    "market_name_normal": ("normal", "normaux"),
    "market_name_student_t": ("Student-t", "de Student"),
    "market_name_historical": ("historical", "historiques"),
    "market_name_bootstrap": ("bootstrapped", "rééchantillonnés"),
}


def t(key: str, lang: str, **values: object) -> str:
    """The text ``key`` in ``lang``, its ``{placeholders}`` filled (``{colon}`` and ``{semicolon}`` by language)."""
    english, french = TEXT[key]
    text = french.replace(" %", f"{NNBSP}%") if lang == "fr" else english
    return text.format(colon=colon(lang), semicolon=f"{NBSP}; " if lang == "fr" else "; ", **values)
