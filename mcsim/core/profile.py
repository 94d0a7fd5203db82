"""The household profile: schema, validation and loading from TOML, JSON or the embedded set.

A profile is validated once, here, into an immutable :class:`Profile`; :mod:`mcsim.core.arrays` then
compiles it into flat arrays for the kernels. Money is in euros of today (real terms); rates in
files are annual percentages. Asset returns are nominal: inflation, drawn each month, deflates them.
Every rule broken is reported as one :class:`~mcsim.core.errors.ProfileError` naming the field.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ProfileError

MAX_MONEY = 1e12
"""Largest amount accepted anywhere (euros): beyond it sums could lose every cent of precision."""

# Numbers are strict: true/false or "5" in a file is an error, not 1.0 or 5.0 (integers are fine).
Money = Annotated[float, Field(ge=0, le=MAX_MONEY, strict=True)]
Age = Annotated[float, Field(ge=0, le=125, strict=True)]
Weight = Annotated[float, Field(ge=0, le=1, strict=True)]

ACCOUNT_TAX_ON_GAINS_PCT: dict[str, float] = {
    "pea": 17.2,  # social levies only, after 5 years
    "per": 30.0,  # flat tax on gains; the deduction of contributions on entry is not modelled
    "assurance_vie": 24.7,  # 7.5% income tax + 17.2% social levies, after 8 years, no allowance
    "livret": 0.0,  # regulated savings accounts are tax-free
    "cto": 30.0,  # ordinary securities account: flat tax
    "crypto": 30.0,
    "other": 30.0,
}
"""Simplified tax on the gains share of a withdrawal, by account type (French rules, percent)."""

AccountType = Literal["pea", "per", "assurance_vie", "livret", "cto", "crypto", "other"]
ReturnModel = Literal["lognormal", "normal", "student_t", "historical", "bootstrap"]
HISTORY_MODELS = ("historical", "bootstrap")
"""The return models that replay a historical series (``market.history``) instead of a parametric law."""

WEIGHT_TOLERANCE = 1e-6
CORRELATION_TOLERANCE = 1e-8


class Rule(ValueError):
    """A broken rule found by a validator, with the field (relative to the model) it concerns."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _check_weights(weights: Mapping[str, float], field: str) -> None:
    total = sum(weights.values())
    if not weights:
        raise Rule(field, "must name at least one entry")
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise Rule(field, f"weights must sum to 1 (they sum to {total:.6g})")


def _check_bands(
    bands: tuple[Any, ...], field: str, low: tuple[str, float], high: tuple[str, float], may_overlap: bool = False
) -> None:
    """Age bands must lie within [low, high] (each a (name, age) pair) and, unless allowed, not overlap."""
    (low_name, low_age), (high_name, high_age) = low, high
    ordered = sorted(enumerate(bands), key=lambda item: item[1].from_age)
    for index, band in ordered:
        if band.from_age < low_age - 1e-9 or band.to_age > high_age + 1e-9:
            raise Rule(
                f"{field}[{index}]", f"must lie between {low_name} ({low_age:g}) and {high_name} ({high_age:g})"
            )
    if may_overlap:
        return
    for (_, first), (index, second) in zip(ordered, ordered[1:], strict=False):
        if second.from_age < first.to_age - 1e-9:
            raise Rule(f"{field}[{index}]", f"overlaps another band (ages {first.from_age:g}-{first.to_age:g})")


class AgeBand(_Model):
    """An age band [from_age, to_age) in years."""

    from_age: Age
    to_age: Age

    @model_validator(mode="after")
    def _ordered(self) -> AgeBand:
        if self.to_age <= self.from_age:
            raise Rule("to_age", f"must be after from_age ({self.to_age:g} <= {self.from_age:g})")
        return self


class Person(_Model):
    """Ages in years; months are counted from ``current_age``.

    With ``mortality = "fixed"`` the person lives to ``life_expectancy``, the horizon; with
    ``"gompertz"`` a death age is drawn per path (modal age and dispersion, see
    :mod:`mcsim.core.mortality`) and the horizon is ``max_age``.
    """

    current_age: Age
    retirement_age: Age
    life_expectancy: Age
    mortality: Literal["fixed", "gompertz"] = "fixed"
    gompertz_modal_age: float = Field(88.0, ge=40, le=120, strict=True)
    gompertz_dispersion: float = Field(10.0, ge=1, le=30, strict=True)
    max_age: Age = 110.0

    @property
    def horizon_age(self) -> float:
        """The last age simulated: life expectancy with fixed mortality, ``max_age`` with Gompertz."""
        return self.life_expectancy if self.mortality == "fixed" else self.max_age

    @model_validator(mode="after")
    def _ordered(self) -> Person:
        if months_between(self.current_age, self.retirement_age) < 1:
            raise Rule(
                "retirement_age",
                f"must be at least one month after current_age ({self.retirement_age:g} vs {self.current_age:g})",
            )
        if months_between(self.retirement_age, self.life_expectancy) < 1:
            raise Rule(
                "life_expectancy",
                f"must be at least one month after retirement_age ({self.life_expectancy:g} vs {self.retirement_age:g})",
            )
        if self.mortality == "gompertz" and months_between(self.retirement_age, self.max_age) < 1:
            raise Rule(
                "max_age",
                "must be at least one month after retirement_age with gompertz mortality "
                f"({self.max_age:g} vs {self.retirement_age:g})",
            )
        return self


class Charge(_Model):
    """A monthly charge on the household's income (mortgage, child) until an age of the person."""

    name: str = ""
    monthly_amount: Money
    until_age: Age


class Income(_Model):
    """Monthly net income (euros of today) and its real growth; charges reduce what can be saved."""

    monthly_net: Money = 0.0
    real_growth_pct: float = Field(0.0, ge=-20, le=20, strict=True)
    charges: tuple[Charge, ...] = ()
    children: tuple[Charge, ...] = ()


class Account(_Model):
    """An investment account: its type drives the tax on gains at withdrawal."""

    name: str = Field(min_length=1)
    type: AccountType
    balance: Money = 0.0
    cost_basis: Money | None = None
    allocation: dict[str, Weight]
    fee_pct: float = Field(0.0, ge=0, le=100, strict=True)
    tax_on_gains_pct: float | None = Field(None, ge=0, le=100, strict=True)

    @field_validator("allocation")
    @classmethod
    def _sums_to_one(cls, allocation: dict[str, float]) -> dict[str, float]:
        try:
            _check_weights(allocation, "allocation")
        except Rule as rule:
            raise ValueError(rule.rule) from None
        return allocation

    @property
    def tax_rate(self) -> float:
        """Tax on the gains share of a withdrawal, as a decimal."""
        pct = ACCOUNT_TAX_ON_GAINS_PCT[self.type] if self.tax_on_gains_pct is None else self.tax_on_gains_pct
        return pct / 100.0

    @property
    def basis(self) -> float:
        """Cost basis in euros: the given one, else the balance (no latent gain)."""
        return self.balance if self.cost_basis is None else self.cost_basis


class SavingsPhase(AgeBand):
    """A constant monthly contribution from ``from_age`` (inclusive) to ``to_age`` (exclusive)."""

    monthly_contribution: Money


class Plan(_Model):
    """The profile's own strategy: savings phases, and how contributions split across accounts."""

    savings: tuple[SavingsPhase, ...] = ()
    contribution_split: dict[str, Weight] | None = None

    @field_validator("contribution_split")
    @classmethod
    def _sums_to_one(cls, split: dict[str, float] | None) -> dict[str, float] | None:
        if split is not None:
            try:
                _check_weights(split, "contribution_split")
            except Rule as rule:
                raise ValueError(rule.rule) from None
        return split


class SpendingPhase(AgeBand):
    """Spending as a ratio of the target income over an age band of retirement."""

    ratio: float = Field(ge=0, le=10, strict=True)


class IncomeStream(AgeBand):
    """An extra monthly income in retirement (rent, annuity, part-time work)."""

    name: str = ""
    monthly_amount: Money


WITHDRAWAL_PARAMETERS: dict[str, dict[str, float | bool | str]] = {
    "target": {},
    "constant_dollar": {"rate_pct": 4.0},
    "constant_percent": {"rate_pct": 4.0},
    "guyton_klinger": {"rate_pct": 5.0, "guardrail_pct": 20.0, "adjustment_pct": 10.0, "protect_years": 15.0},
    "vpw": {"horizon_age": 100.0, "real_return_pct": 3.0},
    "floor_ceiling": {
        "rate_pct": 5.0, "floor_pct": 90.0, "ceiling_pct": 125.0, "dynamic": False,
        "max_raise_pct": 5.0, "max_cut_pct": 2.5,
    },
    "merton": {"gamma": 3.0, "discount": 1.0, "equity_asset": "equities", "safe_asset": "bonds"},
}
"""Each withdrawal rule's parameters and their defaults (see :mod:`mcsim.core.withdrawal`)."""

WithdrawalRuleName = Literal[
    "target", "constant_dollar", "constant_percent", "guyton_klinger", "vpw", "floor_ceiling", "merton"
]


class Withdrawal(_Model):
    """How retirement spending is decided each year: a rule and its parameters (unset: the rule's defaults)."""

    rule: WithdrawalRuleName = "target"
    rate_pct: float | None = Field(None, gt=0, le=100, strict=True)
    guardrail_pct: float | None = Field(None, ge=0, le=100, strict=True)
    adjustment_pct: float | None = Field(None, ge=0, le=100, strict=True)
    protect_years: float | None = Field(None, ge=0, le=100, strict=True)
    horizon_age: Age | None = None
    real_return_pct: float | None = Field(None, ge=-20, le=20, strict=True)
    floor_pct: float | None = Field(None, ge=0, le=100, strict=True)
    ceiling_pct: float | None = Field(None, ge=100, le=1000, strict=True)
    dynamic: bool | None = Field(None, strict=True)
    max_raise_pct: float | None = Field(None, ge=0, le=100, strict=True)
    max_cut_pct: float | None = Field(None, ge=0, le=100, strict=True)
    gamma: float | None = Field(None, gt=0, le=50, strict=True)
    discount: float | None = Field(None, gt=0, le=1, strict=True)
    equity_asset: str | None = Field(None, min_length=1)
    safe_asset: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _parameters_of_the_rule(self) -> Withdrawal:
        allowed = WITHDRAWAL_PARAMETERS[self.rule]
        for name in self.model_fields_set - {"rule"}:
            if name not in allowed and getattr(self, name) is not None:
                listed = ", ".join(allowed) if allowed else "none"
                raise Rule(name, f"is not a parameter of rule '{self.rule}' (its parameters: {listed})")
        return self

    def parameter(self, name: str) -> Any:
        """The parameter's value, or the rule's default."""
        value = getattr(self, name)
        return WITHDRAWAL_PARAMETERS[self.rule][name] if value is None else value


class Retirement(_Model):
    """What retirement must fund: the target income net of pensions and extra income, and the withdrawal rule."""

    target_monthly_income: Money
    state_pension_monthly: Money = 0.0
    spending_phases: tuple[SpendingPhase, ...] = ()
    additional_income: tuple[IncomeStream, ...] = ()
    withdrawal: Withdrawal = Withdrawal()


class Asset(_Model):
    """An asset class: nominal annual expected (arithmetic) return and volatility, in percent."""

    name: str = Field(min_length=1)
    expected_return_pct: float = Field(ge=-50, le=100, strict=True)
    volatility_pct: float = Field(ge=0, le=200, strict=True)


def _default_assets() -> tuple[Asset, ...]:
    return (
        Asset(name="equities", expected_return_pct=7.0, volatility_pct=16.0),
        Asset(name="bonds", expected_return_pct=3.0, volatility_pct=6.0),
    )


class MarketHistory(_Model):
    """The historical series that the ``historical`` and ``bootstrap`` return models replay.

    One source: a shipped ``series`` (the default, ``shiller_monthly``), a user's CSV ``file``
    (``returns`` says whether its return columns are nominal or real; other sources ignore it), or the Jorda-Schularick-Taylor
    file ``jst`` with its ``country``. ``columns`` maps profile assets to data columns (an asset
    absent from it uses the column of its own name, or the series' usual column for ``equities``,
    ``bonds`` and ``cash``). ``cohorts``: ``complete`` starts only where the data covers the whole
    horizon, ``wrap`` also starts later and wraps around the end. ``block_years``: the mean block
    length of the stationary bootstrap, in years.
    """

    series: str | None = Field(None, min_length=1)
    file: str | None = Field(None, min_length=1)
    returns: Literal["nominal", "real"] = "nominal"
    jst: str | None = Field(None, min_length=1)
    country: str | None = Field(None, min_length=1)
    columns: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    cohorts: Literal["complete", "wrap"] = "complete"
    block_years: float = Field(5.0, gt=0, le=100, strict=True)

    @model_validator(mode="after")
    def _one_source(self) -> MarketHistory:
        sources = [name for name in ("series", "file", "jst") if getattr(self, name) is not None]
        if len(sources) > 1:
            raise Rule(sources[1], f"give one source of data: series, file or jst (got {' and '.join(sources)})")
        if self.jst is not None and self.country is None:
            raise Rule("country", "is required with jst (an ISO code such as FRA, or a country name)")
        if self.jst is None and self.country is not None:
            raise Rule("country", "applies only to a jst file")
        return self


class Market(_Model):
    """Asset classes, their correlation, inflation, and the return model."""

    assets: tuple[Asset, ...] = Field(default_factory=_default_assets, min_length=1, max_length=32)
    correlation: tuple[tuple[Annotated[float, Field(strict=True)], ...], ...] | None = None
    inflation_mean_pct: float = Field(2.0, ge=-10, le=50, strict=True)
    inflation_volatility_pct: float = Field(1.0, ge=0, le=50, strict=True)
    return_model: ReturnModel = "lognormal"
    student_t_df: float = Field(5.0, gt=2, le=1000, strict=True)
    history: MarketHistory = MarketHistory()

    @model_validator(mode="after")
    def _valid_correlation(self) -> Market:
        names = [asset.name for asset in self.assets]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise Rule(f"assets[{index}].name", f"duplicate asset name '{name}'")
        if self.correlation is None:
            return self
        n = len(self.assets)
        matrix = self.correlation
        if len(matrix) != n or any(len(row) != n for row in matrix):
            raise Rule("correlation", f"must be a {n}x{n} matrix, one row and column per asset")
        corr = np.array(matrix, dtype=float)
        for i in range(n):
            if abs(corr[i, i] - 1.0) > CORRELATION_TOLERANCE:
                raise Rule(f"correlation[{i}][{i}]", f"diagonal must be 1 (got {corr[i, i]:g})")
            for j in range(n):
                if abs(corr[i, j]) > 1.0 + CORRELATION_TOLERANCE:
                    raise Rule(f"correlation[{i}][{j}]", f"must lie in [-1, 1] (got {corr[i, j]:g})")
                if abs(corr[i, j] - corr[j, i]) > CORRELATION_TOLERANCE:
                    raise Rule(
                        f"correlation[{i}][{j}]",
                        f"matrix must be symmetric ({corr[i, j]:g} vs {corr[j, i]:g} at [{j}][{i}])",
                    )
        smallest = float(np.linalg.eigvalsh(corr).min())
        if smallest < -1e-10:
            raise Rule(
                "correlation", f"matrix must be positive semi-definite (smallest eigenvalue {smallest:.3g})"
            )
        return self


class Profile(_Model):
    """One household: who they are, what they earn and hold, their plan, and their market."""

    name: str = "custom"
    description: str = ""
    person: Person
    income: Income = Income()
    accounts: tuple[Account, ...] = Field(min_length=1, max_length=32)
    plan: Plan = Plan()
    retirement: Retirement
    market: Market = Market()

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        person = self.person
        asset_names = {asset.name for asset in self.market.assets}
        account_names = [account.name for account in self.accounts]
        for index, account in enumerate(self.accounts):
            if account.name in account_names[:index]:
                raise Rule(f"accounts[{index}].name", f"duplicate account name '{account.name}'")
            for asset in account.allocation:
                if asset not in asset_names:
                    raise Rule(
                        f"accounts[{index}].allocation.{asset}",
                        f"unknown asset class (market assets: {', '.join(sorted(asset_names))})",
                    )
        if self.plan.contribution_split is not None:
            for name in self.plan.contribution_split:
                if name not in account_names:
                    raise Rule(
                        f"plan.contribution_split.{name}",
                        f"unknown account (accounts: {', '.join(account_names)})",
                    )
        working = (("person.current_age", person.current_age), ("person.retirement_age", person.retirement_age))
        horizon = "person.life_expectancy" if person.mortality == "fixed" else "person.max_age"
        retired = (("person.retirement_age", person.retirement_age), (horizon, person.horizon_age))
        _check_bands(self.plan.savings, "plan.savings", *working)
        _check_bands(self.retirement.spending_phases, "retirement.spending_phases", *retired)
        _check_bands(self.retirement.additional_income, "retirement.additional_income", *retired, may_overlap=True)
        withdrawal = self.retirement.withdrawal
        if withdrawal.rule == "vpw" and withdrawal.parameter("horizon_age") <= person.retirement_age:
            raise Rule("retirement.withdrawal.horizon_age", f"must be after retirement_age ({person.retirement_age:g})")
        if withdrawal.rule == "merton":
            for name in ("equity_asset", "safe_asset"):
                asset = withdrawal.parameter(name)
                if asset not in asset_names:
                    raise Rule(
                        f"retirement.withdrawal.{name}",
                        f"'{asset}' is not a market asset (market assets: {', '.join(sorted(asset_names))})",
                    )
            if withdrawal.parameter("equity_asset") == withdrawal.parameter("safe_asset"):
                raise Rule("retirement.withdrawal.safe_asset", "must differ from equity_asset")
        return self

    @property
    def contribution_weights(self) -> tuple[float, ...]:
        """Share of each month's contribution that goes to each account (all to the first by default)."""
        split = self.plan.contribution_split
        if split is None:
            return tuple(1.0 if index == 0 else 0.0 for index in range(len(self.accounts)))
        return tuple(split.get(account.name, 0.0) for account in self.accounts)


# --- loading -----------------------------------------------------------------------------------


def _field_path(location: tuple[Any, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _location(detail: Mapping[str, Any]) -> tuple[Any, ...]:
    """A pydantic error's location without the validator wrappers' names."""
    return tuple(part for part in detail["loc"] if part not in ("function-after", "function-before"))


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The model class inside a field's annotation (``Person``, ``tuple[Account, ...]``, ``Plan | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _submodel(argument)
        if found is not None:
            return found
    return None


def _closest_field(location: tuple[Any, ...]) -> str | None:
    """The valid field name closest to the unknown one at ``location``, if one is close."""
    model: type[BaseModel] | None = Profile
    for part in location[:-1]:
        if isinstance(part, str):
            field = model.model_fields.get(part) if model is not None else None
            model = _submodel(field.annotation) if field is not None else None
    if model is None or not isinstance(location[-1], str):
        return None
    hint = difflib.get_close_matches(location[-1], list(model.model_fields), n=1)
    return hint[0] if hint else None


def _describe(detail: Mapping[str, Any]) -> tuple[str, str]:
    """The field path and the rule of one pydantic error."""
    field = _field_path(_location(detail))
    cause = (detail.get("ctx") or {}).get("error")
    if isinstance(cause, Rule):
        return (f"{field}.{cause.field}" if field else cause.field), cause.rule
    message = detail["msg"].removeprefix("Value error, ")
    rule = message[:1].lower() + message[1:]
    if detail["type"] == "extra_forbidden":
        rule = "unknown field"
    elif detail["type"] == "missing":
        rule = "required field is missing"
    elif detail["type"] != "value_error" and not isinstance(detail.get("input"), (dict, list, tuple)):
        shown = repr(detail.get("input"))
        rule += f" (got {shown if len(shown) <= 40 else shown[:37] + '...'})"
    return field, rule


def _follows_from_items(detail: Mapping[str, Any]) -> bool:
    """Whether the error is a list "too short" only because its items failed (counted already)."""
    if detail["type"] != "too_short" or not isinstance(detail.get("input"), (list, tuple)):
        return False
    return len(detail["input"]) >= (detail.get("ctx") or {}).get("min_length", 0)


def _first_error(error: ValidationError) -> ProfileError:
    """Turn pydantic's errors into one ProfileError naming the field and the rule.

    An unknown field comes first, with the closest valid name: a misspelt required field is then
    one problem (the unknown name, which explains the missing one), not a missing field.
    """
    details = error.errors(include_url=False)
    first = next((detail for detail in details if detail["type"] == "extra_forbidden"), details[0])
    field, rule = _describe(first)
    explained = [_location(first)]
    if first["type"] == "extra_forbidden":
        hint = _closest_field(_location(first))
        if hint is not None:
            rule += f" (did you mean {hint}?)"
            explained.append((*_location(first)[:-1], hint))
    more = sum(1 for detail in details if _location(detail) not in explained and not _follows_from_items(detail))
    if more:
        rule += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ProfileError(field, rule)


def profile_from_dict(data: Mapping[str, Any]) -> Profile:
    """Validate a mapping (as read from TOML or JSON) into a :class:`Profile`."""
    if not isinstance(data, Mapping):
        raise ProfileError("profile", f"must be a table of fields (got {type(data).__name__})")
    try:
        return Profile.model_validate(dict(data))
    except ValidationError as error:
        raise _first_error(error) from None


def embedded_profile_names() -> list[str]:
    """Names of the profiles that ship inside the package, ``default`` first."""
    names = sorted(
        entry.name.removesuffix(".toml")
        for entry in resources.files("mcsim.core.profiles").iterdir()
        if entry.name.endswith(".toml")
    )
    return sorted(names, key=lambda name: name != "default")


def embedded_profile_text(name: str) -> str:
    """The TOML text of an embedded profile."""
    if name not in embedded_profile_names():
        raise _unknown_profile(name)
    return resources.files("mcsim.core.profiles").joinpath(f"{name}.toml").read_text(encoding="utf-8")


def _unknown_profile(name: str) -> ProfileError:
    names = embedded_profile_names()
    hint = difflib.get_close_matches(name, names, n=1)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
    return ProfileError(
        "profile", f"'{name}' is neither a file nor an embedded profile (embedded: {', '.join(names)}){suggestion}"
    )


def _parse(text: str, source: str, suffix: str) -> Any:
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ProfileError(source, f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(source, f"not valid TOML: {error}") from None


def load_profile(source: str | Path | Mapping[str, Any] | Profile | None = None) -> Profile:
    """Load a profile from a file path (.toml or .json), an embedded name, a mapping, or the default."""
    if isinstance(source, Profile):
        return source
    if source is None:
        source = "default"
    if isinstance(source, Mapping):
        return profile_from_dict(source)
    path = Path(source)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise ProfileError(str(path), "profile files must end in .toml or .json")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ProfileError(str(path), f"cannot be read ({error})") from None
        data = _parse(text, str(path), suffix)
        _history_paths_from(data, path.parent)
    elif path.suffix.lower() in (".toml", ".json") or path.parent != Path("."):
        raise ProfileError(str(path), "no such file")
    else:
        name = str(source)
        data = _parse(embedded_profile_text(name), name, ".toml")
        data.setdefault("name", name)
    return profile_from_dict(data)


def _history_paths_from(data: Any, folder: Path) -> None:
    """Make a profile file's relative ``market.history`` file paths relative to the file's folder."""
    market = data.get("market") if isinstance(data, dict) else None
    history = market.get("history") if isinstance(market, dict) else None
    if not isinstance(history, dict):
        return
    for key in ("file", "jst"):
        value = history.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            history[key] = str(folder / value)


def with_market(profile: Profile, return_model: str) -> Profile:
    """The profile with return model ``return_model`` (its ``market.history`` kept for the historical models)."""
    if return_model == profile.market.return_model:
        return profile
    data = {**profile.market.model_dump(exclude_unset=True), "return_model": return_model}
    try:
        market = Market.model_validate(data)
    except ValidationError as error:
        problem = _first_error(error)
        raise ProfileError(f"market.{problem.field}", problem.rule) from None
    return profile.model_copy(update={"market": market})


def withdrawal_from_dict(data: Mapping[str, Any]) -> Withdrawal:
    """Validate a ``[retirement.withdrawal]`` table on its own (one ProfileError naming the field)."""
    try:
        return Withdrawal.model_validate(dict(data))
    except ValidationError as error:
        problem = _first_error(error)
        raise ProfileError(f"withdrawal.{problem.field}", problem.rule) from None


def with_withdrawal(profile: Profile, rule: str) -> Profile:
    """The profile with withdrawal rule ``rule``: its own parameters if it is the profile's rule, else the defaults."""
    if rule == profile.retirement.withdrawal.rule:
        return profile
    data = profile.model_dump(exclude_none=True)
    data["retirement"]["withdrawal"] = {"rule": rule}
    try:
        return Profile.model_validate(data)
    except ValidationError as error:
        problem = _first_error(error)
        field = "withdrawal" if problem.field == "retirement.withdrawal.rule" else problem.field
        raise ProfileError(field, problem.rule) from None


def months_between(start_age: float, end_age: float) -> int:
    """Whole months from one age to another (rounded to the nearest month)."""
    return int(round(12.0 * (end_age - start_age)))
