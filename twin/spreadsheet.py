"""Text as a spreadsheet reads it. A cell that starts like a formula runs as one when a
planner opens the CSV (CSV injection): IDs that start so are refused at the door
(``twin.network``), and free text we write (names, descriptions, sentences) is written so
that it shows as text (:func:`write_csv`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_START = r"[=+\-@\t\r]"  # what a spreadsheet reads as the start of a formula (OWASP's list)
_STARTS = tuple("=+-@\t\r")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as CSV, a text cell that starts like a formula prefixed with ``'``, which
    spreadsheets show as the text after it. Numbers and other cells are written as they are."""
    safe = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.CategoricalDtype):  # a 10,000-replication kpis.csv: its few categories
            renamed = {v: _as_text(v) for v in column.cat.categories if _as_text(v) is not v}
            if renamed:
                safe[name] = column.cat.rename_categories(renamed)
        elif column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            starts = column.map(_formula_like).astype(bool)
            if starts.any():
                safe[name] = column.where(~starts, column[starts].map(_as_text))
    frame.assign(**safe).to_csv(path, index=False)


def _formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(_STARTS)


def _as_text(value: object) -> object:
    return "'" + value if _formula_like(value) else value  # type: ignore[operator]
