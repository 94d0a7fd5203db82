"""Users' own historical series: a CSV of returns by period, or the Jordà-Schularick-Taylor file.

The CSV schema (``read_history_csv``):

* a header row, then one row per period, oldest first, without gaps or repeats;
* ``year``: the year of the period (an integer);
* ``month`` (optional, 1-12): with it the series is monthly, without it annual;
* one or more return columns, any names (they become the series' columns): the return of the
  period as a decimal (0.05 for 5%, not 5), nominal unless read with ``returns="real"``;
* ``inflation``: the inflation of the period as a decimal;
* every return and inflation greater than -1; at least 10 periods; no empty cell and no ``NA``.

Column names ``year``, ``month`` and ``inflation`` are matched whatever their case; blank lines are
ignored and spaces around cells stripped; the file is UTF-8 (a byte-order mark is allowed). With
``returns="real"`` the return columns are real and stored as nominal, ``(1 + real)(1 + inflation) - 1``.
The series is named after the file's stem. For example::

    year,equities,bonds,inflation
    1928,0.4381,0.0084,-0.0116
    1929,-0.0830,0.0420,0.0058

The Jordà-Schularick-Taylor Macrohistory Database (``JSTdatasetR6.csv``, CC BY-NC-SA 4.0, not
shipped) is read by ``read_jst``: one country's annual ``equities`` (``eq_tr``), ``bonds``
(``bond_tr``), ``bills`` (``bill_rate``) and ``housing`` (``housing_tr``) total returns, with the
inflation of its ``cpi``, over the longest run of years where all of them are present.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from .errors import ParameterError
from .history import History

MIN_PERIODS = 10
PERCENT_LOOK = 0.5
"""A column whose median absolute value exceeds this (50% a period) was written in percent, not as decimals."""
RETURNS = ("nominal", "real")
CSV_FIELD = "market.history.file"
JST_FIELD = "market.history.jst"
JST_COLUMNS = {"equities": "eq_tr", "bonds": "bond_tr", "bills": "bill_rate", "housing": "housing_tr"}
"""The series' column for each JST variable (nominal total returns, decimals)."""
MISSING = ("", "na", "nan")


def _read_rows(path: Path, field: str) -> list[list[str]]:
    """The file's non-blank rows, each cell stripped; file errors name the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParameterError(field, f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise ParameterError(field, f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise ParameterError(field, f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as error:
        raise ParameterError(field, f"{path}: not a valid CSV file ({error})") from None
    return [row for row in rows if any(row)]


def _number(text: str) -> float | None:
    """``text`` as a finite number, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _integer(text: str) -> int | None:
    """``text`` as an integer (digits, an optional sign), or None."""
    try:
        return int(text, 10)
    except ValueError:
        return None


def _date(year: int, month: int | None) -> str:
    return str(year) if month is None else f"{year}-{month:02d}"


def read_history_csv(path: str | Path, returns: str = "nominal") -> History:
    """A user's series from a CSV file of returns and inflation by period (the schema: this module's docstring)."""
    if returns not in RETURNS:
        raise ParameterError("market.history.returns", f"must be 'nominal' or 'real' (got '{returns}')")
    path = Path(path)
    rows = _read_rows(path, CSV_FIELD)
    if not rows:
        raise ParameterError(CSV_FIELD, f"{path}: empty file (a header row and at least {MIN_PERIODS} rows are needed)")
    header, data = rows[0], rows[1:]
    lower = [name.lower() for name in header]
    for index, name in enumerate(header):
        if not name:
            raise ParameterError(CSV_FIELD, f"{path}: header column {index + 1} has no name")
        if lower.index(name.lower()) != index:
            raise ParameterError(CSV_FIELD, f"{path}: column '{name}' appears twice in the header")
    for required in ("year", "inflation"):
        if required not in lower:
            raise ParameterError(CSV_FIELD, f"{path}: no '{required}' column in the header ({', '.join(header)})")
    monthly = "month" in lower
    columns = [index for index, name in enumerate(lower) if name not in ("year", "month", "inflation")]
    if not columns:
        raise ParameterError(CSV_FIELD, f"{path}: no return column (a column besides year, month and inflation)")
    year_at, month_at, inflation_at = lower.index("year"), lower.index("month") if monthly else -1, lower.index("inflation")
    values = np.empty((len(data), len(columns) + 1))
    start: tuple[int, int] = (0, 1)
    expected: tuple[int, int] | None = None
    for number, row in enumerate(data, start=1):
        place = f"{path}, row {number}"
        if len(row) != len(header):
            raise ParameterError(CSV_FIELD, f"{place}: {len(row)} cells, the header has {len(header)}")
        year = _integer(row[year_at])
        if year is None:
            cell = row[year_at]
            raise ParameterError(CSV_FIELD, f"{place}, column '{header[year_at]}': '{cell}' is not a year (an integer)")
        month: int | None = None
        if monthly:
            month = _integer(row[month_at])
            if month is None or not 1 <= month <= 12:
                raise ParameterError(CSV_FIELD, f"{place} ({year}), column '{header[month_at]}': "
                                                f"'{row[month_at]}' is not a month (1-12)")
        date = (year, month or 1)
        place = f"{place} ({_date(year, month)})"
        if expected is None:
            start = date
        elif date != expected:
            raise ParameterError(CSV_FIELD, f"{place}: expected {_date(expected[0], expected[1] if monthly else None)} "
                                            "(dates must follow each other, without gaps or repeats)")
        expected = (year + 1, 1) if month is None or month == 12 else (year, month + 1)
        for slot, index in enumerate((*columns, inflation_at)):
            cell = row[index]
            value = _number(cell)
            where = f"{place}, column '{header[index]}'"
            if cell.lower() in MISSING:
                raise ParameterError(CSV_FIELD, f"{where}: missing value ('{cell}'): every cell needs a number")
            if value is None:
                raise ParameterError(CSV_FIELD, f"{where}: '{cell}' is not a finite number")
            if value <= -1.0:
                raise ParameterError(CSV_FIELD, f"{where}: must be greater than -1 (a decimal return; got {cell})")
            values[number - 1, slot] = value
    if len(data) < MIN_PERIODS:
        raise ParameterError(CSV_FIELD, f"{path}: {len(data)} periods, at least {MIN_PERIODS} are needed")
    inflation = values[:, -1].copy()
    series = {header[index]: values[:, slot].copy() for slot, index in enumerate(columns)}
    for name, column in (*series.items(), ("inflation", inflation)):
        typical = float(np.median(np.abs(column)))
        if typical > PERCENT_LOOK:
            raise ParameterError(
                CSV_FIELD, f"{path}, column '{name}': values look like percentages (median size {typical:g}): "
                "write returns as decimals, 0.05 for 5%",
            )
    if returns == "real":
        series = {name: (1.0 + real) * (1.0 + inflation) - 1.0 for name, real in series.items()}
    return History(path.stem, 12 if monthly else 1, start, series, inflation)


def _jst_value(row: dict[str, str], column: str, path: Path, year: int) -> float | None:
    """A JST cell: None when missing (empty or NA), else a finite number."""
    cell = (row.get(column) or "").strip()
    if cell.lower() in MISSING:
        return None
    value = _number(cell)
    if value is None:
        raise ParameterError(JST_FIELD, f"{path}, {row['iso']} {year}, column '{column}': '{cell}' is not a number")
    return value


def read_jst(path: str | Path, country: str, columns: tuple[str, ...] | None = None) -> History:
    """One country's annual returns from the JST Macrohistory CSV, over its longest run of complete years.

    ``country`` is an ISO code or a name (``FRA``, ``France``), whatever the case; ``columns`` keeps some
    of ``equities``, ``bonds``, ``bills``, ``housing`` (default: all four). A year counts when its ``cpi``,
    the previous year's and every kept column are present; of equally long runs the latest is taken.
    """
    wanted = tuple(dict.fromkeys(columns if columns is not None else JST_COLUMNS))
    if not wanted:
        raise ParameterError(JST_FIELD, f"columns: name at least one of {', '.join(JST_COLUMNS)}")
    for name in wanted:
        if name not in JST_COLUMNS:
            raise ParameterError(JST_FIELD, f"columns: unknown column '{name}' (JST columns: {', '.join(JST_COLUMNS)})")
    path = Path(path)
    rows = _read_rows(path, JST_FIELD)
    if not rows:
        raise ParameterError(JST_FIELD, f"{path}: empty file")
    header = rows[0]
    needed = ["year", "country", "iso", "cpi", *(JST_COLUMNS[name] for name in wanted)]
    missing = [name for name in needed if name not in header]
    if missing:
        names = ", ".join(missing)
        raise ParameterError(JST_FIELD, f"{path}: no column {names} in the header (is it the JST Macrohistory CSV?)")
    records = [dict(zip(header, row + [""] * (len(header) - len(row)), strict=False)) for row in rows[1:]]
    key = country.strip().lower()
    mine = [row for row in records if key and key in (row["iso"].lower(), row["country"].lower())]
    if not mine:
        isos = sorted({row["iso"] for row in records if row["iso"]})
        wanted_country = f"no country '{country}'" if key else "name a country"
        raise ParameterError(JST_FIELD, f"{path}: {wanted_country} (countries: {', '.join(isos) or 'none'})")
    iso = mine[0]["iso"]
    by_year: dict[int, dict[str, str]] = {}
    for row in mine:
        year = _number(row["year"])
        if year is None or not year.is_integer():
            raise ParameterError(JST_FIELD, f"{path}, {iso}, column 'year': '{row['year']}' is not a year")
        if int(year) in by_year:
            raise ParameterError(JST_FIELD, f"{path}, {iso} {int(year)}: the year appears twice")
        by_year[int(year)] = row
    cpi = {year: _jst_value(row, "cpi", path, year) for year, row in by_year.items()}
    complete: dict[int, list[float]] = {}
    for year, row in sorted(by_year.items()):
        cells = [_jst_value(row, JST_COLUMNS[name], path, year) for name in wanted]
        values = [value for value in cells if value is not None]
        now, before = cpi[year], cpi.get(year - 1)
        if now is None or before is None or len(values) < len(cells):
            continue
        if now <= 0.0 or before <= 0.0:
            raise ParameterError(JST_FIELD, f"{path}, {iso} {year}, column 'cpi': a price index must be positive")
        for name, value in zip(wanted, values, strict=True):
            if value <= -1.0:
                raise ParameterError(JST_FIELD, f"{path}, {iso} {year}, column '{JST_COLUMNS[name]}': "
                                                f"must be greater than -1 (got {value})")
        complete[year] = [now / before - 1.0, *values]
    first, length = _longest_run(sorted(complete))
    if length < MIN_PERIODS:
        run = f" ({first}..{first + length - 1})" if length else ""
        raise ParameterError(JST_FIELD, f"{path}, {iso}: the longest run of consecutive years with cpi and "
                                        f"{', '.join(JST_COLUMNS[name] for name in wanted)} has {length}{run}, "
                                        f"at least {MIN_PERIODS} are needed")
    table = np.array([complete[year] for year in range(first, first + length)])
    returns = {name: table[:, slot + 1].copy() for slot, name in enumerate(wanted)}
    return History(f"jst_{iso.lower()}", 1, (first, 1), returns, table[:, 0].copy())


def _longest_run(years: list[int]) -> tuple[int, int]:
    """The first year and length of the longest run of consecutive years (the latest of equal ones)."""
    best = (0, 0)
    run_start = None
    for index, year in enumerate(years):
        if index == 0 or year != years[index - 1] + 1:
            run_start = year
        assert run_start is not None
        length = year - run_start + 1
        if length >= best[1]:
            best = (run_start, length)
    return best
