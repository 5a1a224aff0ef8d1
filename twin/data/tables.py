"""Tables declared once: their columns, kinds, units (in the column names), limits and
valid values; and the one reader that holds a CSV file to its declaration.

A network table (:data:`twin.network.TABLES`), an extract of the CRM or the ERP
(:data:`twin.data.extracts.EXTRACTS`) and a table of the reconciled layer are each a
:class:`TableSpec`; :func:`read_table` reads any of them and lists every problem with its
file, row and column, at most :data:`MAX_PER_COLUMN` per column, so one pass shows a user
all that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from twin.errors import Problem, choices
from twin.spreadsheet import FORMULA_START

Kind = Literal["id", "str", "float", "int", "date", "choice", "money"]
LARGEST = 1e12  # no quantity, rate or cost is larger: beyond it sums overflow or mislead
MAX_PER_COLUMN = 5  # report at most this many bad rows per column, then a count
_MONEY = r"^(-?)(\d{1,13})(?:\.(\d{1,2}))?$"  # a decimal amount with at most two decimals (cents)


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``ref`` names the table(s) whose IDs the column must hold. ``required=False``
    columns may be left empty; ``default`` then fills them (``None`` leaves NaN). A
    ``money`` column holds a decimal amount (``-12.30``) and is parsed to whole cents,
    so that sums are exact.
    """

    name: str
    kind: Kind
    description: str
    required: bool = True
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    ref: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    """A table: its CSV file, its key columns and its columns."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str
    optional: bool = False

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def not_utf8(path: Path, exc: UnicodeDecodeError) -> Problem:
    """Where a file stops being UTF-8, and the likely cause: Excel's plain "CSV" saves in the
    computer's legacy code page (Windows-1252 in western Europe), its "CSV UTF-8" in UTF-8."""
    data = path.read_bytes()
    line = data.count(b"\n", 0, exc.start) + 1
    return Problem(str(path), f"line {line}", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at byte {exc.start}): "
                                             "save it as UTF-8 (in Excel: 'CSV UTF-8 (comma delimited)')")


def read_csv(path: Path, spec: TableSpec, problems: list[Problem], needed_by: str = "the network") -> pd.DataFrame | None:
    """``path`` as text cells under ``spec``'s columns (a missing optional column empty), or
    None with the problems appended: missing file, not UTF-8, not a CSV, unknown or missing
    columns. A byte-order mark and Windows line ends are read as any editor reads them."""
    if not path.exists():
        if spec.optional:
            return pd.DataFrame({c.name: pd.Series(dtype=str) for c in spec.columns})
        problems.append(Problem(str(path), "", f"missing: {needed_by} needs {spec.file} ({spec.description})"))
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(not_utf8(path, exc))
        return None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        reason = "empty file" if isinstance(exc, pd.errors.EmptyDataError) else f"not a readable CSV ({exc})"
        problems.append(Problem(str(path), "", reason))
        return None
    frame.columns = [c.strip() for c in frame.columns]
    names = [c.name for c in spec.columns]
    unknown = [c for c in frame.columns if c not in names]
    if unknown:
        problems.append(Problem(str(path), "header", f"unknown column(s) {unknown}; {choices(names)}"))
    missing = [c.name for c in spec.columns if c.required and c.name not in frame.columns]
    if missing:
        problems.append(Problem(str(path), "header", f"missing column(s) {missing}"))
    if unknown or missing:
        return None
    for c in spec.columns:
        if c.name not in frame.columns:
            frame[c.name] = ""
    return frame[names].apply(lambda s: s.str.strip())


def row_place(i: int, column: str) -> str:
    return f"row {i + 2}, column {column}"  # +2: 1-based, after the header line


def report(problems: list[Problem], file: str, rows: pd.Index, column: str, values: pd.Series, message: str) -> None:
    rows = list(rows)
    for i in rows[:MAX_PER_COLUMN]:
        problems.append(Problem(file, row_place(i, column), f"{values[i]!r}: {message}"))
    if len(rows) > MAX_PER_COLUMN:
        problems.append(Problem(file, f"column {column}", f"… and {len(rows) - MAX_PER_COLUMN} more rows like these"))


def parse(spec: TableSpec, frame: pd.DataFrame, file: str, problems: list[Problem]) -> pd.DataFrame:
    """``frame``'s text cells typed as ``spec`` declares them, every bad cell a problem
    located in ``file``."""
    out = pd.DataFrame(index=frame.index)
    for col in spec.columns:
        s = frame[col.name]
        empty = s == ""
        if col.required and empty.any():
            report(problems, file, s.index[empty], col.name, s, "must not be empty")
        if col.kind in ("float", "int"):
            out[col.name] = _number(col, s, empty, file, problems)
        elif col.kind == "money":
            out[col.name] = _money(col, s, empty, file, problems)
        elif col.kind == "date":
            v = pd.to_datetime(s.where(~empty), format="%Y-%m-%d", errors="coerce")
            bad = ~empty & v.isna()
            if bad.any():
                report(problems, file, s.index[bad], col.name, s, "not a date YYYY-MM-DD")
            out[col.name] = v
        else:
            if col.kind == "choice":
                bad = ~empty & ~s.isin(col.choices)
                if bad.any():
                    report(problems, file, s.index[bad], col.name, s, choices(col.choices))
            if col.kind == "id" or col.name == "family":  # written into every result table
                formula = s.str.match(FORMULA_START)
                if formula.any():
                    report(problems, file, s.index[formula], col.name, s,
                           "may not begin with =, +, -, @ or a tab: a spreadsheet opening the results would run it "
                           "as a formula")
            if col.default is not None:
                s = s.where(~empty, col.default)
            out[col.name] = s.astype(object).where(s != "", None)
    return out


def _number(col: Column, s: pd.Series, empty: pd.Series, file: str, problems: list[Problem]) -> pd.Series:
    v = pd.to_numeric(s.where(~empty), errors="coerce")
    bad = ~empty & v.isna()
    if bad.any():
        report(problems, file, s.index[bad], col.name, s, f"not a number ({col.description})")
    huge = ~empty & ~bad & ~(v.abs() <= LARGEST)  # inf, or so large that costs overflow
    if huge.any():
        report(problems, file, s.index[huge], col.name, s, f"must be a finite number of at most {LARGEST:g} in size"
               + ("" if col.required else " (leave the cell empty where there is no limit)"))
        bad |= huge
    if col.kind == "int":
        frac = ~empty & ~bad & (v % 1 != 0)
        if frac.any():
            report(problems, file, s.index[frac], col.name, s, "must be a whole number")
    _limits(col, v, s, file, problems)
    if col.default is not None:
        v = v.fillna(col.default)
    return v.astype(float)


def _money(col: Column, s: pd.Series, empty: pd.Series, file: str, problems: list[Problem]) -> pd.Series:
    parts = s.str.extract(_MONEY)
    bad = ~empty & parts[1].isna()
    if bad.any():
        report(problems, file, s.index[bad], col.name, s, f"not an amount like 1234.56 ({col.description})")
    ok = parts[1].notna()
    cents = pd.Series(pd.NA, index=s.index, dtype="Int64")
    whole = parts.loc[ok, 1].astype(np.int64) * 100 + parts.loc[ok, 2].fillna("0").str.ljust(2, "0").astype(np.int64)
    cents[ok] = np.where(parts.loc[ok, 0] == "-", -whole, whole)
    _limits(col, cents.astype(float) / 100, s, file, problems)
    return cents


def _limits(col: Column, v: pd.Series, s: pd.Series, file: str, problems: list[Problem]) -> None:
    if col.min is not None and (low := v < col.min).any():
        report(problems, file, s.index[low], col.name, s, f"must be at least {col.min:g}")
    if col.max is not None and (high := v > col.max).any():
        report(problems, file, s.index[high], col.name, s, f"must be at most {col.max:g}")


def duplicate_keys(spec: TableSpec, frame: pd.DataFrame, file: str, problems: list[Problem]) -> None:
    """A problem per row whose key repeats an earlier row's."""
    key = list(spec.key)
    dup = frame.duplicated(key, keep="first")
    if dup.any():
        shown = frame.loc[dup, key].astype(str).agg("/".join, axis=1)
        report(problems, file, frame.index[dup], "/".join(key), shown, "duplicate ID")
