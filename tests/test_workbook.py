"""The network as an Excel workbook and back (``twin.workbook``): the round trip keeps every
table, planted errors come back located by sheet, row, column and cell, and no file the
tool did not write is touched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import write_scenario, write_single_hub
from twin.cli import main
from twin.errors import InputError
from twin.folders import MARKER
from twin.network import TABLES
from twin.scenario import load_scenario
from twin.workbook import export_scenario, export_tables, import_workbook, network_tables, write_network_workbook

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "scenarios" / "reference"


def _typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """A network table's text parsed as its columns declare: numbers and dates typed, text as is."""
    out = frame.copy()
    for col in TABLES[table].columns:
        if col.name not in out:
            continue
        if col.kind in ("float", "int"):
            out[col.name] = pd.to_numeric(out[col.name].replace("", np.nan)).astype(float)
        elif col.kind == "date":
            out[col.name] = pd.to_datetime(out[col.name].replace("", None), format="%Y-%m-%d")
    return out


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("excel")
    book = folder / "model.xlsx"
    export_scenario(load_scenario(ROOT / "scenarios" / "port_closure.yaml"), book)
    import_workbook(book, folder / "net")
    return book, folder / "net"


def test_csv_to_xlsx_to_csv_keeps_every_table_of_the_reference(round_trip):
    """Text exactly; numbers and dates after typed parsing (a CSV's ``12.0`` comes back ``12``)."""
    _, back = round_trip
    before, after = network_tables(REFERENCE), network_tables(back)
    assert set(after) == set(before) == {n for n in TABLES if (REFERENCE / TABLES[n].file).exists()}
    for name in before:
        assert list(after[name].columns) == list(before[name].columns), name
        pd.testing.assert_frame_equal(_typed(after[name], name), _typed(before[name], name), check_exact=True,
                                      obj=name)
    assert (back / MARKER).is_file()


def test_the_workbook_types_its_cells_and_describes_every_column(round_trip):
    book, _ = round_trip
    products = pd.read_excel(book, sheet_name="products", engine="calamine", dtype=object)
    assert isinstance(products["price_per_unit"].iloc[0], float) and isinstance(products["sku"].iloc[0], str)
    history = pd.read_excel(book, sheet_name="demand_history", engine="calamine")
    assert pd.api.types.is_datetime64_any_dtype(history["week"]) and len(history) == 74_880
    spec = pd.read_excel(book, sheet_name="columns", engine="calamine")
    assert len(spec) == sum(len(t.columns) for t in TABLES.values())
    policy = spec[(spec["sheet"] == "hub_policies") & (spec["column"] == "policy")].iloc[0]
    assert policy["valid values"] == "base_stock, sS, rQ"
    events = pd.read_excel(book, sheet_name="events", engine="calamine")
    assert events[["type", "port", "days"]].to_dict("records") == [dict(type="port_closure", port="PORT1", days=21)]


# each planted error: sheet, row position in the table (0 = first data row), column, value, what the message says
PLANTED = [
    ("products", 3, "price_per_unit", "twelve", "not a number"),
    ("lines", 0, "hours_per_week", "-40", "must be at least 0"),
    ("hub_policies", 7, "policy", "minmax", "valid: base_stock, rQ, sS"),
    ("markets", 2, "hub", "", "must not be empty"),
    ("demand_history", 70_000, "week", "2026-13-01", "not a date YYYY-MM-DD"),
    ("suppliers", 1, "reliability", "1.5", "must be at most 1"),
]


def test_a_workbook_with_planted_errors_gives_exactly_those_errors_located_by_sheet_row_column_and_cell(tmp_path):
    tables = network_tables(REFERENCE)
    for sheet, i, column, value, _ in PLANTED:
        tables[sheet].loc[i, column] = value
    book = tmp_path / "bad.xlsx"
    write_network_workbook(tables, book)
    with pytest.raises(InputError) as info:
        import_workbook(book, tmp_path / "net")
    problems = info.value.problems
    assert len(problems) == len(PLANTED), "\n".join(map(str, problems))
    for (sheet, i, column, value, says), problem in zip(sorted(PLANTED, key=lambda p: list(TABLES).index(p[0])),
                                                       problems):
        letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[list(tables[sheet].columns).index(column)]
        assert problem.file == str(book)
        assert problem.where == f"sheet {sheet}, row {i + 2}, column {column} (cell {letter}{i + 2})"
        assert says in problem.message
    assert not (tmp_path / "net").exists() and not (tmp_path / "net.partial").exists()


def test_a_workbook_that_breaks_the_cross_table_rules_is_refused_like_a_folder(tmp_path):
    tables = network_tables(write_single_hub(tmp_path / "small"))
    tables["lanes"].loc[0, "origin"] = "S9"
    book = tmp_path / "bad.xlsx"
    write_network_workbook(tables, book)
    with pytest.raises(InputError) as info:
        import_workbook(book, tmp_path / "net")
    text = str(info.value)
    assert "sheet lanes, row 2, column origin (cell B2): 'S9': unknown ID" in text


def test_unknown_or_missing_sheets_and_a_file_that_is_no_workbook_are_named(tmp_path):
    tables = network_tables(write_single_hub(tmp_path / "small"))
    tables.pop("products")
    book = tmp_path / "model.xlsx"
    write_network_workbook(tables, book, {"Sheet1": pd.DataFrame({"notes": ["call Bob"]})})
    with pytest.raises(InputError) as info:
        import_workbook(book, tmp_path / "net")
    assert [(p.where, p.message.split(";")[0]) for p in info.value.problems] == [("sheet Sheet1", "unknown sheet")]
    write_network_workbook(tables, book)
    with pytest.raises(InputError) as info:
        import_workbook(book, tmp_path / "net")
    assert [(p.where, p.message.split(" (")[0]) for p in info.value.problems] == [
        ("sheet products", "missing: the network needs sheet products")]
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip")
    with pytest.raises(InputError, match="not a readable Excel workbook"):
        import_workbook(fake, tmp_path / "net")


def test_a_file_the_tool_did_not_write_is_never_overwritten(tmp_path, capsys):
    theirs = tmp_path / "budget.xlsx"
    theirs.write_bytes(b"PK\x03\x04 someone's workbook")
    scenario = str(write_scenario(tmp_path / "small.yaml", write_single_hub(tmp_path / "small")))
    assert main(["export-excel", scenario, "--out", str(theirs), "--overwrite"]) == 2
    assert "sop-twin did not write it" in capsys.readouterr().err
    assert theirs.read_bytes() == b"PK\x03\x04 someone's workbook"
    ours = tmp_path / "model.xlsx"
    assert main(["export-excel", scenario, "--out", str(ours), "-q"]) == 0
    assert main(["export-excel", scenario, "--out", str(ours), "-q"]) == 2
    assert "add --overwrite" in capsys.readouterr().err
    assert main(["export-excel", scenario, "--out", str(ours), "-q", "--overwrite"]) == 0
    assert not ours.with_name("model.xlsx.partial").exists()
    # an import into a folder of the user's own is refused before anything is read
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert main(["import-excel", str(ours), "--out", str(mine)]) == 2
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_a_folder_of_result_tables_becomes_one_sheet_per_csv(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    kpis = pd.DataFrame({"kpi": ["fill_rate", "margin"], "mean": [0.97, 2.5e7], "ci_low": [0.96, np.nan]})
    kpis.to_csv(folder / "summary.csv", index=False)
    long = "a_table_name_longer_than_excel_allows"
    pd.DataFrame({"x": [1]}).to_csv(folder / f"{long}.csv", index=False)
    rows = export_tables(folder, tmp_path / "run.xlsx")
    assert rows == {"summary": 2, long[:31]: 1}
    back = pd.read_excel(tmp_path / "run.xlsx", sheet_name="summary", engine="calamine")
    pd.testing.assert_frame_equal(back, kpis)
