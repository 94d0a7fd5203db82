"""Users' own series: the CSV reader and the JST Macrohistory reader, their values and their one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcsim.core.errors import ParameterError
from mcsim.core.history_files import read_history_csv, read_jst

EQUITIES = ["0.12", "-0.05", "0.3", "0.071", "-0.2", "0.15", "0.04", "0.09", "-0.11", "0.22", "0.013", "0.06"]
BONDS = ["0.03", "0.05", "-0.02", "0.041", "0.06", "0.01", "0.02", "0.035", "0.07", "-0.04", "0.025", "0.03"]
INFLATION = ["0.02", "0.031", "0.015", "-0.01", "0.04", "0.022", "0.018", "0.027", "0.05", "0.012", "0.0", "0.021"]


def write(tmp_path: Path, text: str, name: str = "my_series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def annual_csv(first: int = 1990, rows: int = 12) -> str:
    lines = ["year,equities,bonds,inflation"]
    lines += [f"{first + i},{EQUITIES[i]},{BONDS[i]},{INFLATION[i]}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def as_floats(cells: list[str]) -> np.ndarray:
    return np.array([float(cell) for cell in cells])


def error_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ParameterError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    return message


# --- the CSV reader -------------------------------------------------------------------------------


def test_annual_nominal_values_round_trip_exactly(tmp_path: Path) -> None:
    series = read_history_csv(write(tmp_path, annual_csv()))
    assert series.name == "my_series" and series.periods_per_year == 1 and series.start == (1990, 1)
    assert series.n_periods == 12 and list(series.returns) == ["equities", "bonds"]
    np.testing.assert_array_equal(series.returns["equities"], as_floats(EQUITIES))
    np.testing.assert_array_equal(series.returns["bonds"], as_floats(BONDS))
    np.testing.assert_array_equal(series.inflation, as_floats(INFLATION))


def test_real_returns_are_stored_nominal(tmp_path: Path) -> None:
    series = read_history_csv(write(tmp_path, annual_csv()), returns="real")
    real, inflation = as_floats(EQUITIES), as_floats(INFLATION)
    np.testing.assert_array_equal(series.returns["equities"], (1.0 + real) * (1.0 + inflation) - 1.0)
    np.testing.assert_allclose(series.real("equities"), real, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(series.inflation, inflation)


def test_monthly_series_crosses_the_year(tmp_path: Path) -> None:
    lines = ["Year , Month, stocks, Inflation"]  # reserved names whatever their case; cells stripped
    for i in range(12):
        year, month = (2000, 11 + i) if i < 2 else (2001, i - 1)
        lines += [f" {year} , {month} , {EQUITIES[i]} , {INFLATION[i]} ", ""]  # blank lines are ignored
    series = read_history_csv(write(tmp_path, "\ufeff" + "\n".join(lines), "monthly.csv"))
    assert series.name == "monthly" and series.periods_per_year == 12 and series.start == (2000, 11)
    assert list(series.returns) == ["stocks"]
    np.testing.assert_array_equal(series.returns["stocks"], as_floats(EQUITIES))
    np.testing.assert_array_equal(series.inflation, as_floats(INFLATION))


def replace_cell(text: str, row: int, column: int, value: str) -> str:
    """``text`` with the cell of data row ``row`` (1-based) and column ``column`` replaced."""
    lines = text.splitlines()
    cells = lines[row].split(",")
    cells[column] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


BASE = annual_csv()


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "empty file"),
    (BASE.replace("year,", "date,"), "no 'year' column"),
    (BASE.replace(",inflation", ",cpi"), "no 'inflation' column"),
    ("year,inflation\n" + "".join(f"{1990 + i},0.02\n" for i in range(12)), "no return column"),
    (BASE.replace("bonds", "equities"), "column 'equities' appears twice"),
    (replace_cell(BASE, 3, 1, "abc"), "row 3 (1992), column 'equities': 'abc' is not a finite number"),
    (replace_cell(BASE, 4, 2, ""), "row 4 (1993), column 'bonds': missing value"),
    (replace_cell(BASE, 5, 3, "NA"), "row 5 (1994), column 'inflation': missing value ('NA')"),
    (replace_cell(BASE, 2, 1, "5%"), "row 2 (1991), column 'equities': '5%' is not a finite number"),
    (replace_cell(BASE, 6, 1, "-1"), "row 6 (1995), column 'equities': must be greater than -1"),
    (replace_cell(BASE, 7, 3, "-1.5"), "row 7 (1996), column 'inflation': must be greater than -1"),
    (replace_cell(BASE, 3, 0, "1993"), "row 3 (1993): expected 1992"),
    (replace_cell(BASE, 3, 0, "1991"), "row 3 (1991): expected 1992"),
    (replace_cell(BASE, 12, 0, "1936"), "row 12 (1936): expected 2001"),
    (replace_cell(BASE, 3, 0, "19x2"), "row 3, column 'year': '19x2' is not a year"),
    (BASE.replace("1995,", "1995,0.1,"), "row 6: 5 cells, the header has 4"),
    (annual_csv(rows=9), "9 periods, at least 10"),
])
def test_csv_errors_are_one_line_naming_the_row_and_column(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    message = error_of(read_history_csv, path)
    assert message.startswith(f"market.history.file: {path}")
    assert fragment in message


def test_monthly_errors_name_the_month(tmp_path: Path) -> None:
    lines = ["year,month,equities,inflation"] + [f"2000,{m},0.01,0.001" for m in range(1, 13)]
    gap = lines[:3] + lines[4:]
    assert "row 3 (2000-04): expected 2000-03" in error_of(read_history_csv, write(tmp_path, "\n".join(gap)))
    lines[5] = "2000,13,0.01,0.001"
    assert "row 5 (2000), column 'month': '13' is not a month (1-12)" in error_of(
        read_history_csv, write(tmp_path, "\n".join(lines))
    )


def test_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "absent.csv"
    assert error_of(read_history_csv, missing) == f"market.history.file: {missing}: no such file"
    assert "cannot be read" in error_of(read_history_csv, tmp_path)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(annual_csv().replace("bonds", "obligations_\xe9").encode("latin-1"))
    assert "not UTF-8" in error_of(read_history_csv, latin)
    assert error_of(read_history_csv, write(tmp_path, BASE), returns="percent") == (
        "market.history.returns: must be 'nominal' or 'real' (got 'percent')"
    )


# --- the JST reader -------------------------------------------------------------------------------

JST_HEADER = "year,country,iso,pop,cpi,eq_tr,bond_tr,bill_rate,housing_tr,ltrate"


def jst_rows() -> list[str]:
    """USA 1870-1877 (8 years), then FRA 1870-1900, housing missing in 1880, equities in 1895."""
    rows = [f"{year},USA,USA,40,{10 + year - 1870},0.08,0.04,0.03,0.06,4.5" for year in range(1870, 1878)]
    for k, year in enumerate(range(1870, 1901)):
        cpi = f"{50 * 1.01 ** k + (k % 3):.4f}"
        equities = "NA" if year == 1895 else f"{0.01 * (k % 7) - 0.02:.3f}"
        housing = "" if year == 1880 else f"{0.05 + 0.001 * k:.3f}"
        rows.append(f"{year},France,FRA,38,{cpi},{equities},{0.03 + 0.0005 * k:.4f},{0.02:.2f},{housing},NA")
    return rows


def jst_file(tmp_path: Path) -> Path:
    return write(tmp_path, "\n".join([JST_HEADER, *jst_rows()]) + "\n", "JSTdatasetR6.csv")


def jst_column(rows: list[str], name: str, years: range) -> np.ndarray:
    index = JST_HEADER.split(",").index(name)
    by_year = {int(row.split(",")[0]): row.split(",")[index] for row in rows if ",FRA," in row}
    return np.array([float(by_year[year]) for year in years])


@pytest.mark.parametrize(("columns", "first", "last"), [
    (None, 1881, 1894),  # 1880 lacks housing, 1895 equities: 1881-1894 is the longest complete run
    (("equities", "bonds"), 1871, 1894),  # 1870 has no previous cpi
    (("housing", "bills"), 1881, 1900),
])
def test_jst_longest_complete_run(tmp_path: Path, columns: tuple[str, ...] | None, first: int, last: int) -> None:
    series = read_jst(jst_file(tmp_path), "FRA", columns)
    years = range(first, last + 1)
    assert series.name == "jst_fra" and series.periods_per_year == 1 and series.start == (first, 1)
    assert series.n_periods == len(years)
    assert list(series.returns) == list(columns or ("equities", "bonds", "bills", "housing"))
    rows = jst_rows()
    for name, column in {"equities": "eq_tr", "bonds": "bond_tr", "bills": "bill_rate", "housing": "housing_tr"}.items():
        if name in series.returns:
            np.testing.assert_array_equal(series.returns[name], jst_column(rows, column, years))
    cpi = jst_column(rows, "cpi", range(first - 1, last + 1))
    np.testing.assert_array_equal(series.inflation, cpi[1:] / cpi[:-1] - 1.0)


def test_jst_country_by_iso_or_name_whatever_the_case(tmp_path: Path) -> None:
    path = jst_file(tmp_path)
    reference = read_jst(path, "FRA")
    for country in ("fra", "France", " FRANCE "):
        series = read_jst(path, country)
        assert series.start == reference.start and series.n_periods == reference.n_periods


def test_jst_errors(tmp_path: Path) -> None:
    path = jst_file(tmp_path)
    assert error_of(read_jst, path, "DEU") == f"market.history.jst: {path}: no country 'DEU' (countries: FRA, USA)"
    assert "unknown column 'gold'" in error_of(read_jst, path, "FRA", ("equities", "gold"))
    message = error_of(read_jst, path, "USA")
    assert "USA: the longest run of consecutive years" in message and "has 7 (1871..1877), at least 10" in message
    assert "name a country (countries: FRA, USA)" in error_of(read_jst, path, "")
    no_housing = write(tmp_path, path.read_text().replace("housing_tr", "housing"), "no_housing.csv")
    assert "no column housing_tr" in error_of(read_jst, no_housing, "FRA")
    assert read_jst(no_housing, "FRA", ("equities",)).n_periods == 1894 - 1871 + 1
    assert "no such file" in error_of(read_jst, tmp_path / "absent.csv", "FRA")


def test_returns_written_in_percent_are_refused(tmp_path: Path) -> None:
    rows = "".join(f"{1990 + k},{5.0 + k % 7},{1.5}\n" for k in range(12))
    path = tmp_path / "percent.csv"
    path.write_text("year,equities,inflation\n" + rows, encoding="utf-8")
    with pytest.raises(ParameterError) as caught:
        read_history_csv(path)
    message = str(caught.value)
    assert "column 'equities': values look like percentages" in message and "0.05 for 5%" in message
    assert "\n" not in message
