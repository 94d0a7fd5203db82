"""Households in bulk: the flat row schema, streaming readers (parquet, CSV, JSON lines, a folder of profiles) and writers.

One household per row, in euros of today and annual percentages like a profile (see
:data:`SCHEMA`; ``mcsim predict --batch`` documents the same table). A row becomes a one-account
profile (:func:`row_profile`), validated like any profile: a bad row is reported in its own
``error`` column and the others go on. A file-level problem (an unknown column, a file that is not
parquet) is one :class:`~mcsim.core.errors.ParameterError`.

Readers yield blocks of rows and writers take blocks of result rows, so memory stays flat whatever
the number of rows: parquet through pyarrow's ``iter_batches`` and ``ParquetWriter`` (pyarrow is
needed for parquet only), CSV and JSON lines line by line. A writer writes beside its target and
moves the file into place when it is closed complete, so an interrupted batch leaves no partial file
where the result should be.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ParameterError, ProfileError, one_line
from ..core.profile import Profile, load_profile, profile_from_dict
from .runio import publish


@dataclass(frozen=True)
class Column:
    """A column of the flat household schema: its type, default (None: required) and meaning."""

    kind: type
    default: Any
    meaning: str
    required: bool = False


REQUIRED = None
SCHEMA: dict[str, Column] = {
    "id": Column(str, "", "the household's identifier, copied to the output (default: empty)"),
    "current_age": Column(float, REQUIRED, "age today, years", required=True),
    "retirement_age": Column(float, REQUIRED, "age at retirement (at least a month after current_age)", required=True),
    "life_expectancy": Column(float, REQUIRED, "the horizon: retirement lasts to this age", required=True),
    "monthly_income": Column(float, REQUIRED, "monthly net income, euros", required=True),
    "income_growth_pct": Column(float, 0.0, "real growth of the income, % a year"),
    "monthly_charges": Column(float, 0.0, "monthly charges on the income (a mortgage, children), euros"),
    "charges_until_age": Column(float, None, "the age the charges stop at (default: retirement_age)"),
    "capital": Column(float, 0.0, "invested capital today, euros"),
    "cost_basis": Column(float, None, "what the capital cost (default: the capital, no latent gain)"),
    "equity_share": Column(float, 0.6, "share of the capital in equities today, 0 to 1 (the rest in bonds)"),
    "fee_pct": Column(float, 0.0, "annual fees, % of the capital"),
    "account_type": Column(str, "other", "pea, per, assurance_vie, livret, cto, crypto or other: the tax on gains"),
    "tax_on_gains_pct": Column(float, None, "tax on the gains share of a withdrawal, % (default: the account type's)"),
    "monthly_saving": Column(float, 0.0, "the household's own plan: monthly contribution until retirement, euros"),
    "target_monthly_income": Column(float, REQUIRED, "the monthly income wanted in retirement, euros", required=True),
    "state_pension_monthly": Column(float, 0.0, "the monthly state pension from retirement, euros"),
    "equity_return_pct": Column(float, 7.0, "expected annual return of equities, % (nominal)"),
    "equity_volatility_pct": Column(float, 16.0, "annual volatility of equities, %"),
    "bond_return_pct": Column(float, 3.0, "expected annual return of bonds, % (nominal)"),
    "bond_volatility_pct": Column(float, 6.0, "annual volatility of bonds, %"),
    "correlation": Column(float, 0.2, "correlation of equities and bonds, -1 to 1"),
    "inflation_mean_pct": Column(float, 2.0, "mean annual inflation, %"),
    "inflation_volatility_pct": Column(float, 1.0, "annual volatility of inflation, %"),
    "return_model": Column(str, "lognormal", "lognormal, normal or student_t (a law: strategies follow its median market)"),
    "student_t_df": Column(float, 5.0, "degrees of freedom of student_t returns (> 2)"),
}
"""The flat household schema, one household per row: column, type, default and meaning (``required``: no default)."""

PROFILE_COLUMN = "profile"
"""A folder of profiles reads as rows of this one column: each file's path."""

FIELD_COLUMNS = {
    "person.current_age": "current_age", "person.retirement_age": "retirement_age",
    "person.life_expectancy": "life_expectancy", "income.monthly_net": "monthly_income",
    "income.real_growth_pct": "income_growth_pct", "income.charges[0].monthly_amount": "monthly_charges",
    "income.charges[0].until_age": "charges_until_age", "income.charges[0]": "charges_until_age",
    "accounts[0].balance": "capital", "accounts[0].cost_basis": "cost_basis", "accounts[0].allocation": "equity_share",
    "accounts[0].allocation.equities": "equity_share", "accounts[0].allocation.bonds": "equity_share",
    "accounts[0].fee_pct": "fee_pct", "accounts[0].type": "account_type", "accounts[0].tax_on_gains_pct": "tax_on_gains_pct",
    "plan.savings[0].monthly_contribution": "monthly_saving", "plan.savings[0]": "monthly_saving",
    "retirement.target_monthly_income": "target_monthly_income",
    "retirement.state_pension_monthly": "state_pension_monthly",
    "market.assets[0].expected_return_pct": "equity_return_pct", "market.assets[0].volatility_pct": "equity_volatility_pct",
    "market.assets[1].expected_return_pct": "bond_return_pct", "market.assets[1].volatility_pct": "bond_volatility_pct",
    "market.correlation": "correlation", "market.inflation_mean_pct": "inflation_mean_pct",
    "market.inflation_volatility_pct": "inflation_volatility_pct", "market.return_model": "return_model",
    "market.student_t_df": "student_t_df",
}
"""A profile field's path (as a ProfileError names it) to the column it comes from."""

FORMATS = (".parquet", ".csv", ".jsonl")


class RowError(ValueError):
    """A row that cannot become a household: the message names its column and the rule."""


def _unknown(name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1)
    return f"unknown column (did you mean {hint[0]}?)" if hint else "unknown column"


def _value(column: str, raw: Any) -> Any:
    """A cell as its column's type; None for a missing one (an empty cell, null, NaN)."""
    kind = SCHEMA[column].kind
    if raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, float) and math.isnan(raw)):
        return None
    if kind is str:
        if isinstance(raw, str):
            return raw.strip()
        if column == "id" and isinstance(raw, int) and not isinstance(raw, bool):
            return str(raw)
        raise RowError(f"{column}: must be text (got {raw!r})")
    if isinstance(raw, bool):
        raise RowError(f"{column}: must be a number (got {raw!r})")
    if isinstance(raw, int | float):
        number = float(raw)
    elif isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            raise RowError(f"{column}: must be a number (got {one_line(raw)!r})") from None
    else:
        raise RowError(f"{column}: must be a number (got {type(raw).__name__})")
    if not math.isfinite(number):
        raise RowError(f"{column}: must be a finite number (got {raw!r})")
    return number


def row_values(row: dict[str, Any]) -> dict[str, Any]:
    """A row's cells by column, typed, with the defaults filled in; a RowError names the first bad cell."""
    unknown = [name for name in row if name not in SCHEMA]
    if unknown:
        raise RowError(f"{unknown[0]}: {_unknown(unknown[0], list(SCHEMA))}")
    values = {}
    for column, spec in SCHEMA.items():
        value = _value(column, row.get(column))
        if value is None:
            if spec.required:
                raise RowError(f"{column}: required (missing or empty)")
            value = spec.default
        values[column] = value
    return values


def row_profile(row: dict[str, Any]) -> Profile:
    """The one-account profile of a flat row (or the profile file a folder's row names); RowError when it is bad."""
    if PROFILE_COLUMN in row and len(row) == 1:
        try:
            return load_profile(str(row[PROFILE_COLUMN]))
        except ProfileError as error:
            raise RowError(str(error)) from None
    v = row_values(row)
    equity = v["equity_share"]
    if not 0.0 <= equity <= 1.0:
        raise RowError(f"equity_share: must be in [0, 1] (got {equity:g})")
    if not -1.0 <= v["correlation"] <= 1.0:
        raise RowError(f"correlation: must be in [-1, 1] (got {v['correlation']:g})")
    account: dict[str, Any] = {"name": "portfolio", "type": v["account_type"], "balance": v["capital"],
                               "allocation": {"equities": equity, "bonds": 1.0 - equity}, "fee_pct": v["fee_pct"]}
    if v["cost_basis"] is not None:
        account["cost_basis"] = v["cost_basis"]
    if v["tax_on_gains_pct"] is not None:
        account["tax_on_gains_pct"] = v["tax_on_gains_pct"]
    charges = []
    if v["monthly_charges"] != 0.0:
        until = v["charges_until_age"] if v["charges_until_age"] is not None else v["retirement_age"]
        charges.append({"name": "charges", "monthly_amount": v["monthly_charges"], "until_age": until})
    rho = v["correlation"]
    data = {
        "name": v["id"] or "household",
        "person": {"current_age": v["current_age"], "retirement_age": v["retirement_age"],
                   "life_expectancy": v["life_expectancy"]},
        "income": {"monthly_net": v["monthly_income"], "real_growth_pct": v["income_growth_pct"], "charges": charges},
        "accounts": [account],
        "plan": {"savings": [{"from_age": v["current_age"], "to_age": v["retirement_age"],
                              "monthly_contribution": v["monthly_saving"]}]},
        "retirement": {"target_monthly_income": v["target_monthly_income"],
                       "state_pension_monthly": v["state_pension_monthly"]},
        "market": {
            "assets": [{"name": "equities", "expected_return_pct": v["equity_return_pct"],
                        "volatility_pct": v["equity_volatility_pct"]},
                       {"name": "bonds", "expected_return_pct": v["bond_return_pct"],
                        "volatility_pct": v["bond_volatility_pct"]}],
            "correlation": [[1.0, rho], [rho, 1.0]],
            "inflation_mean_pct": v["inflation_mean_pct"], "inflation_volatility_pct": v["inflation_volatility_pct"],
            "return_model": v["return_model"], "student_t_df": v["student_t_df"],
        },
    }
    try:
        return profile_from_dict(data)
    except ProfileError as error:
        column = FIELD_COLUMNS.get(error.field)
        if column is None:
            parent = error.field.rsplit(".", 1)[0]
            column = FIELD_COLUMNS.get(parent, error.field)
        raise RowError(f"{column}: {error.rule}") from None


# --- reading -------------------------------------------------------------------------------------


def source_kind(path: Path) -> str:
    """``folder``, or the file's format (parquet, csv, jsonl); anything else is a ParameterError."""
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise ParameterError("--batch", f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ParameterError("--batch", f"{path}: households come as {', '.join(FORMATS)} or a folder of profiles")
    return suffix[1:]


def read_blocks(path: str | Path, block: int) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``path`` in blocks of ``block`` (the last one shorter), read lazily.

    A row is a dict of its cells (a folder's: its profile file's path); a JSON line that is not an
    object becomes a row whose only key is ``__error__``. File-level problems are ParameterErrors.
    """
    source = Path(path)
    kind = source_kind(source)
    reader = {"folder": _folder_rows, "parquet": _parquet_rows, "csv": _csv_rows, "jsonl": _jsonl_rows}[kind]
    rows: list[dict[str, Any]] = []
    for row in reader(source):
        rows.append(row)
        if len(rows) == block:
            yield rows
            rows = []
    if rows:
        yield rows


def _check_columns(path: Path, names: list[str]) -> None:
    unknown = [name for name in names if name not in SCHEMA]
    if unknown:
        raise ParameterError(str(path), f"column {unknown[0]!r}: {_unknown(unknown[0], list(SCHEMA))}")
    required = [name for name, spec in SCHEMA.items() if spec.required]
    missing = [name for name in required if name not in names]
    if missing:
        raise ParameterError(str(path), f"lacks the required column {missing[0]!r} (required: {', '.join(required)})")


def _folder_rows(path: Path) -> Iterator[dict[str, Any]]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".toml", ".json") and p.is_file())
    if not files:
        raise ParameterError("--batch", f"{path} holds no .toml or .json profile")
    for file in files:
        yield {PROFILE_COLUMN: str(file)}


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 - the submodule is what reads and writes the files
    except ImportError:
        raise ParameterError("parquet", "reading and writing parquet needs pyarrow: pip install pyarrow "
                                        "(or use .csv or .jsonl)") from None
    return pyarrow


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    pa = _pyarrow()
    try:
        parquet = pa.parquet.ParquetFile(str(path))
    except Exception as error:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ... for a bad file
        raise ParameterError(str(path), f"is not a parquet file ({one_line(str(error))[:200]})") from None
    _check_columns(path, list(parquet.schema_arrow.names))
    for batch in parquet.iter_batches(batch_size=4096):
        yield from batch.to_pylist()


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise ParameterError(str(path), "is empty (no header row)") from None
        except UnicodeDecodeError:
            raise ParameterError(str(path), "is not UTF-8 text") from None
        header = [name.strip() for name in header]
        _check_columns(path, header)
        try:
            for line, cells in enumerate(reader, 2):
                if not cells:
                    continue
                if len(cells) != len(header):
                    yield {"__error__": f"line {line}: {len(cells)} cells for {len(header)} columns"}
                    continue
                yield dict(zip(header, cells, strict=True))
        except UnicodeDecodeError:
            raise ParameterError(str(path), "is not UTF-8 text") from None
        except csv.Error as error:
            raise ParameterError(str(path), f"is not valid CSV ({error})") from None


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        try:
            for line, text in enumerate(handle, 1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as error:
                    yield {"__error__": f"line {line}: not valid JSON ({error.msg})"}
                    continue
                yield row if isinstance(row, dict) else {"__error__": f"line {line}: not a JSON object"}
        except UnicodeDecodeError:
            raise ParameterError(str(path), "is not UTF-8 text") from None


# --- writing -------------------------------------------------------------------------------------

PHASE_FIELDS = ("from_age", "to_age", "monthly_saving", "equity_share", "retired", "monthly_spending")
OUTPUT_COLUMNS = {
    "row": "the row's position in the input, from 0",
    "id": "the row's id (a profile's name for a folder)",
    "error": "why the row has no strategy (empty when it has one)",
    "monthly_saving_now": "the strategy's monthly saving in its first year, euros",
    "equity_share_now": "its equity share in the first year",
    "equity_share_at_retirement": "its equity share in the last year before retirement",
    "capital_at_retirement": "capital at retirement on the median market, euros",
    "phases": "the strategy by phase: from_age, to_age, monthly_saving, equity_share, retired, monthly_spending",
    "funded_probability": "with --mc: the share of paths whose retirement is funded to life expectancy",
    "median_capital": "with --mc: the median capital at retirement over the paths, euros",
    "objective": "with --mc: the run's objective over the paths (as predict computes it)",
}
"""The output's columns (the last three with ``--mc`` only)."""
EVALUATION_COLUMNS = ("funded_probability", "median_capital", "objective")


def output_columns(evaluated: bool) -> list[str]:
    """The output's columns, with or without the evaluation's."""
    return [name for name in OUTPUT_COLUMNS if evaluated or name not in EVALUATION_COLUMNS]


def check_output(path: str | Path) -> Path:
    """The output path, checked: a known format, a folder that exists, not the input."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise ParameterError("--out", f"{out}: write strategies as {', '.join(FORMATS)}")
    if out.is_dir():
        raise ParameterError("--out", f"{out} is a folder, not a file")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ParameterError("--out", f"{parent} does not exist")
    if out.suffix.lower() == ".parquet":
        _pyarrow()
    return out


class Writer:
    """Writes blocks of result rows to a temporary file beside ``path``; :meth:`close` moves it into place."""

    def __init__(self, path: Path, evaluated: bool) -> None:
        self.path = path
        self.format = path.suffix.lower()[1:]
        self.columns = output_columns(evaluated)
        descriptor, self.temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(descriptor)
        self._parquet: Any = None
        self._handle: Any = None
        self._csv: Any = None
        if self.format == "parquet":
            pa = _pyarrow()
            phase = pa.struct([("from_age", pa.float64()), ("to_age", pa.float64()), ("monthly_saving", pa.float64()),
                               ("equity_share", pa.float64()), ("retired", pa.bool_()),
                               ("monthly_spending", pa.float64())])
            types = {"row": pa.int64(), "id": pa.string(), "error": pa.string(), "phases": pa.list_(phase)}
            self.schema = pa.schema([(name, types.get(name, pa.float64())) for name in self.columns])
            self._parquet = pa.parquet.ParquetWriter(self.temporary, self.schema)
        else:
            self._handle = open(self.temporary, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
            if self.format == "csv":
                self._csv = csv.writer(self._handle)
                self._csv.writerow(self.columns)

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Append result rows (dicts by column; phases as lists of dicts)."""
        if not rows:
            return
        if self._parquet is not None:
            pa = _pyarrow()
            table = pa.Table.from_pylist([{name: row.get(name) for name in self.columns} for row in rows], self.schema)
            self._parquet.write_table(table)
        elif self._csv is not None:
            for row in rows:
                self._csv.writerow([_csv_cell(row.get(name)) for name in self.columns])
        else:
            for row in rows:
                self._handle.write(json.dumps({name: row.get(name) for name in self.columns}) + "\n")

    def close(self, complete: bool = True) -> None:
        """Close the file: move it into place when ``complete``, else remove it."""
        try:
            if self._parquet is not None:
                self._parquet.close()
            if self._handle is not None:
                self._handle.close()
        finally:
            if complete:
                publish(self.temporary, self.path)
            elif os.path.exists(self.temporary):
                os.unlink(self.temporary)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value)
    return value


def read_output(path: str | Path) -> list[dict[str, Any]]:
    """A whole output file as rows (for tests and small outputs): phases as lists of dicts, numbers as floats."""
    out = Path(path)
    if out.suffix.lower() == ".parquet":
        return _pyarrow().parquet.read_table(str(out)).to_pylist()
    if out.suffix.lower() == ".jsonl":
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    with open(out, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            parsed: dict[str, Any] = {}
            for name, cell in row.items():
                if cell == "":
                    parsed[name] = None
                elif name == "phases":
                    parsed[name] = json.loads(cell)
                elif name in ("id", "error"):
                    parsed[name] = cell
                elif name == "row":
                    parsed[name] = int(cell)
                else:
                    parsed[name] = float(cell)
            rows.append(parsed)
    return rows
