"""The network as an Excel workbook and back, and any folder of result tables as a workbook.

Planners live in Excel. ``twin export-excel SCENARIO`` writes each table of the scenario's
network (``twin.network.TABLES``) as a sheet of its own name, typed as declared (numbers
as numbers, dates as dates, IDs and text as text, so ``007`` stays ``007``), with a drop-down
of the valid values on each choice column; a ``columns`` sheet of every column's kind,
description (units), limits and valid values; and the scenario's ``overrides`` and
``events`` as sheets to read (the scenario file stays their source). ``twin import-excel``
turns the network sheets back into a CSV folder through :func:`twin.network.load_network`
itself, so a workbook is held to exactly the rules a CSV folder is, and each problem is
named by sheet, row, column and cell (row numbers are the sheet's: the header is row 1,
as a CSV's is line 1).

A workbook sop-twin wrote carries the custom document property ``written_by = sop-twin``
(Excel keeps it on save); only such a file is replaced, and only with ``--overwrite``. A
workbook is written to ``<file>.partial`` and renamed into place when complete.

Writing uses XlsxWriter (streamed, typed cells, validation lists); reading uses
python-calamine (Rust's calamine: several times faster than openpyxl on a 75,000-row sheet).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twin.errors import InputError, Problem, choices
from twin.folders import check_out, check_writable, mark, replace_folder
from twin.network import TABLES, Column, load_network

if TYPE_CHECKING:
    from twin.scenario import LoadedScenario

SPEC_SHEET = "columns"
SCENARIO_SHEETS = ("overrides", "events")
PROPERTY, WRITER = "written_by", "sop-twin"
MAX_SHEET_NAME = 31  # Excel's limit
_DATE = "yyyy-mm-dd"


# --- writing ----------------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _date(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return None


def check_workbook_out(path: str | Path, overwrite: bool) -> Path:
    """``path`` if a workbook may be written there: a new file, or (with ``overwrite``) one
    sop-twin wrote; else an :class:`InputError` naming it, and nothing is touched."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError([Problem(str(path), "", "give a file name ending in .xlsx")])
    if not path.exists():
        return path
    if not path.is_file() or not _written_by_us(path):
        raise InputError([Problem(str(path), "", "exists and sop-twin did not write it (no written_by = sop-twin "
                                                 "document property), and sop-twin never overwrites what it did "
                                                 "not write: give another --out")])
    if not overwrite:
        raise InputError([Problem(str(path), "", "is a workbook an earlier sop-twin command wrote, which is "
                                                 "replaced only when asked: add --overwrite (edits made in Excel "
                                                 "since are lost), or give another --out")])
    return path


def _written_by_us(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            custom = z.read("docProps/custom.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return re.search(rf'name="{PROPERTY}"><vt:lpwstr>{WRITER}<', custom) is not None


class _Writer:
    """An XlsxWriter workbook at ``<path>.partial``, renamed to ``path`` by :meth:`close`."""

    def __init__(self, path: Path):
        import xlsxwriter

        self.path, self.partial = path, path.with_name(path.name + ".partial")
        self.book = xlsxwriter.Workbook(str(self.partial), {"constant_memory": True, "strings_to_numbers": False,
                                                             "strings_to_formulas": False, "strings_to_urls": False})
        self.book.set_custom_property(PROPERTY, WRITER)
        self.header = self.book.add_format({"bold": True, "bottom": 1})
        self.date = self.book.add_format({"num_format": _DATE})

    def sheet(self, name: str, frame: pd.DataFrame):
        """A sheet with ``frame``'s header in bold, frozen, each column as wide as its header
        or its first hundred cells (10 to 50 characters)."""
        ws = self.book.add_worksheet(name)
        columns = [str(c) for c in frame.columns]
        ws.write_row(0, 0, columns, self.header)
        ws.freeze_panes(1, 0)
        for j, c in enumerate(columns):
            widest = max([len(c)] + [len(str(v)) for v in frame.iloc[:100, j].tolist()])
            ws.set_column(j, j, max(10, min(50, widest + 2)))
        return ws

    def close(self) -> None:
        self.book.close()
        os.replace(self.partial, self.path)


def _typed_cell(text: str, col: Column | None) -> Any:
    """A network cell as the workbook holds it: a number or a date where its column is
    one and it parses, else its text (a cell that does not parse stays as typed, for the
    import to name); ``None`` for an empty cell."""
    if text == "":
        return None
    if col is not None and col.kind in ("float", "int") and (value := _number(text)) is not None:
        return value
    if col is not None and col.kind == "date" and (day := _date(text)) is not None:
        return day
    return text


def _write_rows(w: _Writer, ws, columns: list[list[Any]]) -> None:
    """Cells column by column, written row by row (XlsxWriter's constant-memory mode
    streams each row out when the next begins)."""
    for i, row in enumerate(zip(*columns), start=1):
        for j, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                ws.write_boolean(i, j, value)
            elif isinstance(value, (int, float)):
                ws.write_number(i, j, value)
            elif isinstance(value, dt.datetime):
                ws.write_datetime(i, j, value, w.date)
            else:
                ws.write_string(i, j, str(value))


def _write_table(w: _Writer, name: str, frame: pd.DataFrame, spec_columns: dict[str, Column]) -> None:
    """One network table, each cell typed by its column's kind, with a drop-down of the
    valid values on each choice column."""
    ws = w.sheet(name, frame)
    for j, c in enumerate(frame.columns):
        col = spec_columns.get(c)
        if col is not None and col.kind == "choice" and len(frame):
            ws.data_validation(1, j, len(frame), j, {"validate": "list", "source": list(col.choices),
                                                     "error_title": "Not a valid value",
                                                     "error_message": choices(col.choices)[:255]})
    _write_rows(w, ws, [[_typed_cell(t, spec_columns.get(c)) for t in frame[c].tolist()] for c in frame.columns])


def _spec_rows() -> pd.DataFrame:
    rows = []
    for spec in TABLES.values():
        for c in spec.columns:
            rows.append({"sheet": spec.name, "column": c.name, "kind": c.kind, "key": c.name in spec.key,
                         "required": c.required, "default": "" if c.default is None else c.default,
                         "min": "" if c.min is None else c.min, "max": "" if c.max is None else c.max,
                         "valid values": ", ".join(c.choices) or (f"an ID in {' or '.join(c.ref)}" if c.ref else ""),
                         "description": c.description,
                         "table": spec.description + (" (optional sheet)" if spec.optional else "")})
    return pd.DataFrame(rows)


def _write_frame(w: _Writer, name: str, frame: pd.DataFrame) -> None:
    """A result or reference table as pandas typed it (numbers, text, empty cells)."""
    ws = w.sheet(name, frame)

    def cell(value: Any) -> Any:
        if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return value if isinstance(value, (bool, int, float)) else str(value)

    _write_rows(w, ws, [[cell(v) for v in frame[c].tolist()] for c in frame.columns])


def network_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The network's CSV files as they are, every cell text (tables without a file: none)."""
    folder = Path(folder)
    return {name: pd.read_csv(folder / spec.file, dtype=str, keep_default_na=False)
            for name, spec in TABLES.items() if (folder / spec.file).exists()}


def _overrides_frame(overrides: dict[str, dict[str, dict[str, Any]]]) -> pd.DataFrame:
    return pd.DataFrame([{"table": t, "row": r, "column": c, "value": v}
                         for t, rows in overrides.items() for r, cells in rows.items() for c, v in cells.items()],
                        columns=["table", "row", "column", "value"])


def _events_frame(events: list[Any]) -> pd.DataFrame:
    """One row per event, its type first; nested settings (a competitor's strategies) as JSON."""
    rows = []
    for ev in events:
        fields = ev.model_dump(mode="json", exclude_none=True)
        rows.append({"type": fields.pop("type"), **{k: v if isinstance(v, (int, float, str)) else json.dumps(v)
                                                    for k, v in fields.items() if v not in ({}, [])}})
    return pd.DataFrame(rows)


def export_scenario(loaded: LoadedScenario, out: str | Path, overwrite: bool = False) -> dict[str, int]:
    """Write the scenario's network (its files as they are: it loaded, so every cell reads
    as the import will read it), the column sheet, overrides and events to ``out`` (an
    ``.xlsx``); rows per sheet."""
    out = check_workbook_out(out, overwrite)
    return write_network_workbook(network_tables(loaded.network.source), out,
                                  {"overrides": _overrides_frame(loaded.scenario.overrides),
                                   "events": _events_frame(loaded.scenario.events)})


def write_network_workbook(tables: dict[str, pd.DataFrame], out: Path,
                           scenario_sheets: dict[str, pd.DataFrame] | None = None) -> dict[str, int]:
    """Network tables (text, as :func:`network_tables` reads them) as sheets of ``out``, then
    the ``columns`` sheet and ``scenario_sheets``; rows per sheet."""
    w = _Writer(out)
    for name, frame in tables.items():
        _write_table(w, name, frame, {c.name: c for c in TABLES[name].columns})
    extra = {SPEC_SHEET: _spec_rows(), **(scenario_sheets or {})}
    for name, frame in extra.items():
        _write_frame(w, name, frame)
    w.close()
    return {name: len(frame) for name, frame in (tables | extra).items()}


def export_tables(folder: str | Path, out: str | Path, overwrite: bool = False) -> dict[str, int]:
    """Every CSV of a result folder (a run's, a plan's, a forecast's, a report's) as a
    sheet of ``out``, named after the file (cut to Excel's 31 characters); rows per sheet."""
    folder = Path(folder)
    out = check_workbook_out(out, overwrite)
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise InputError([Problem(str(folder), "", "holds no CSV table to write: give a run, plan, forecast or "
                                                   "report folder, or a scenario YAML file")])
    w = _Writer(out)
    rows: dict[str, int] = {}
    for path in files:
        name = _sheet_name(path.stem, rows)
        frame = pd.read_csv(path)
        _write_frame(w, name, frame)
        rows[name] = len(frame)
    w.close()
    return rows


def _sheet_name(stem: str, taken: dict[str, int]) -> str:
    name, n = stem[:MAX_SHEET_NAME], 1
    while name.lower() in {t.lower() for t in taken}:
        n += 1
        name = f"{stem[:MAX_SHEET_NAME - len(str(n)) - 1]}~{n}"
    return name


# --- reading ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as the CSV text the network reads: whole numbers without ``.0``, dates ISO."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def _column_letter(j: int) -> str:
    letters = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def read_network_sheets(path: str | Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """The workbook's network sheets as text tables, and the problems of the workbook as a
    whole (not a readable .xlsx, an unknown sheet, an empty header)."""
    import python_calamine as calamine

    path = Path(path)
    if not path.is_file():
        return {}, [Problem(str(path), "", "workbook not found")]
    try:
        book = calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own errors for a file that is no workbook
        return {}, [Problem(str(path), "", f"not a readable Excel workbook ({type(exc).__name__}: {exc})")]
    tables, problems = {}, []
    known = set(TABLES) | {SPEC_SHEET, *SCENARIO_SHEETS}
    for name in book.sheet_names:
        if name not in known:
            problems.append(Problem(str(path), f"sheet {name}", f"unknown sheet; {choices(TABLES)} (and the "
                                                                  f"{SPEC_SHEET}, overrides and events sheets "
                                                                  "export writes, which import does not read)"))
            continue
        if name not in TABLES:
            continue
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        header = [_text(v).strip() for v in rows[0]] if rows else []
        while header and header[-1] == "":
            header.pop()
        if not header:
            problems.append(Problem(str(path), f"sheet {name}, row 1", "no header row: row 1 names the columns"))
            continue
        body = [[_text(v) for v in row[:len(header)]] + [""] * (len(header) - len(row)) for row in rows[1:]]
        while body and not any(body[-1]):  # rows Excel keeps formatted but empty
            body.pop()
        tables[name] = pd.DataFrame(body, columns=header, dtype=object)
    return tables, problems


def _located(problem: Problem, workbook: Path, folder: Path, headers: dict[str, list[str]]) -> Problem:
    """A problem the network check named in ``folder``'s CSV files, named in the workbook."""
    message = problem.message
    for name in TABLES:
        message = message.replace(f"{name}.csv", f"sheet {name}")
    table = Path(problem.file).stem if Path(problem.file).parent == folder else None
    if table not in TABLES:
        return Problem(problem.file, problem.where, message)
    where = f"sheet {table}"
    m = re.fullmatch(r"row (\d+), column (.+)", problem.where)
    if m:
        row, column = int(m.group(1)), m.group(2)
        cols = headers.get(table, [])
        cell = f" (cell {_column_letter(cols.index(column))}{row})" if column in cols else ""
        where += f", row {row}, column {column}{cell}"
    elif problem.where == "header":
        where += ", row 1"
    elif problem.where:
        where += f", {problem.where}"
    return Problem(str(workbook), where, message)


def import_workbook(path: str | Path, out: str | Path, overwrite: bool = False) -> dict[str, int]:
    """Write the workbook's network sheets as the CSV folder ``out`` once they pass every
    check a CSV folder must (:func:`twin.network.load_network`); rows per table.

    Raises
    ------
    InputError
        Every problem, named by sheet, row, column and cell; ``out`` is then left as it was
        and no partial folder remains.
    """
    path, out = Path(path), check_out(out, overwrite)
    tables, problems = read_network_sheets(path)
    if problems:
        raise InputError(problems)
    partial = check_writable(out.with_name(out.name + ".partial"))
    shutil.rmtree(partial, ignore_errors=True)  # ours (marked or empty): an import cut off before its end
    partial.mkdir(parents=True)
    mark(partial)
    try:
        for name, frame in tables.items():
            frame.to_csv(partial / TABLES[name].file, index=False)
        load_network(partial)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)  # nothing half-written stays
        if isinstance(exc, InputError):
            headers = {name: list(frame.columns) for name, frame in tables.items()}
            raise InputError([_located(p, path, partial, headers) for p in exc.problems]) from None
        raise
    replace_folder(partial, out)
    return {name: len(frame) for name, frame in tables.items()}
