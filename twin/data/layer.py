"""The reconciled layer's tables, each declared once with its columns and units; the
DuckDB database and the Parquet files are written from these declarations.

Quantities are eaches (``_units``), money whole cents (``_cents``) in the currency its
row names (``functional``: the GL's, :data:`twin.data.extracts.FUNCTIONAL_CURRENCY`).
Every fact keeps ``source_row``: the line of its extract file it came from (the header is
line 1), so any number traces back to a file and a row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from twin.calendars import Bucket
from twin.data.extracts import EXTRACTS
from twin.data.tables import Column, TableSpec
from twin.demand.adjustments import ADJUSTMENTS, COLUMNS
from twin.spreadsheet import write_csv

DATABASE = "layer.duckdb"
PARQUET = "parquet"
CSV_TABLES = ("variances", "revenue_by_period", "sku_dictionary")  # what a planner opens first
ADJUSTMENTS_FILE = EXTRACTS["planner_adjustments"].file  # the extract the layer's adjustments come from


def _c(name: str, kind: str, description: str) -> Column:
    return Column(name, kind, description)  # type: ignore[arg-type]


def _row(file: str) -> Column:
    return _c("source_row", "int", f"line of {file}")


LAYER: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec("sku_dictionary", ("source", "code", "valid_from"), (
            _c("source", "str", "system using the code: crm, erp (item numbers, the WMS's too)"),
            _c("code", "str", "the system's code, as written"),
            _c("sku", "str", "the network's SKU (empty: not mapped)"),
            _c("valid_from", "date", "first day of the mapping (empty: always)"),
            _c("valid_to", "date", "last day (empty: still)"),
            _c("rule", "str", "exact, normalised (case and spaces), confirmed (aliases.csv) or unmapped"),
            _c("confirmation", "str", "who confirmed it and when (aliases.csv line)"),
            _c("suggestion", "str", "for an unmapped code, the closest SKU: never used until confirmed"),
        ), "every code of every system and the SKU it means"),
        TableSpec("site_dictionary", ("source", "code", "valid_from"), (
            _c("source", "str", "erp or wms"),
            _c("code", "str", "warehouse code"),
            _c("site", "str", "the network's hub"),
            _c("valid_from", "date", "first day of the mapping"),
            _c("valid_to", "date", "last day (empty: still)"),
            _c("confirmation", "str", "who confirmed it and when (aliases.csv line)"),
        ), "warehouse codes and the hubs they are"),
        TableSpec("units", ("sku", "uom"), (
            _c("sku", "str", "SKU"),
            _c("uom", "str", "unit of measure: EA or CS"),
            _c("units_per_uom", "int", "eaches per unit (a case: the ERP item's case size)"),
        ), "units of measure"),
        TableSpec("calendar", ("day",), (
            _c("day", "date", "the day"),
            _c("iso_year", "int", "ISO 8601 year"), _c("iso_week", "int", "ISO week 1 to 53"),
            _c("iso_week_start", "date", "its Monday"),
            _c("year", "int", "calendar year"), _c("month", "int", "calendar month"),
            _c("fiscal_year", "int", "fiscal year (gl_periods.csv)"),
            _c("fiscal_quarter", "int", "fiscal quarter"), _c("fiscal_period", "int", "fiscal period 1 to 12"),
            _c("fiscal_week", "int", "week of the fiscal year, 1 to 53"),
        ), "one calendar: every day with its ISO week, calendar month and fiscal period"),
        TableSpec("orders", ("order_id", "order_line"), (
            _c("order_id", "str", "sales order"), _c("order_line", "int", "its line"),
            _row("crm_orders.csv"),
            _c("order_date", "date", "order taken"), _c("requested_date", "date", "delivery requested"),
            _c("customer", "str", "CRM account"), _c("market", "str", "network market"),
            _c("product_code", "str", "the CRM's code"), _c("sku", "str", "SKU (empty: unmapped)"),
            _c("qty_units", "int", "eaches"), _c("status", "str", "open, shipped or cancelled"),
            _c("unit_price_cents", "int", "price per each, order currency"), _c("currency", "str", "order currency"),
        ), "CRM order lines in eaches"),
        TableSpec("demand", ("sku", "market", "day"), (
            _c("sku", "str", "SKU"), _c("market", "str", "market"), _c("day", "date", "requested date"),
            _c("qty_units", "int", "eaches ordered, net of cancellations"),
        ), "daily demand: mapped order lines by requested date, cancellations left out, returns kept apart"),
        TableSpec("demand_history", ("sku", "market", "week"), (
            _c("sku", "str", "SKU"), _c("market", "str", "market"), _c("week", "date", "ISO week's Monday"),
            _c("qty", "int", "eaches (every SKU x market x week of the span, 0 where none)"),
        ), "weekly demand in the network's demand_history.csv shape"),
        TableSpec("returns", ("invoice_id", "invoice_line"), (
            _c("invoice_id", "str", "credit note"), _c("invoice_line", "int", "its line"),
            _row("erp_invoices.csv"),
            _c("day", "date", "credit note date"), _c("sku", "str", "SKU"), _c("market", "str", "market"),
            _c("qty_units", "int", "eaches returned"),
        ), "returns (credit notes), apart from demand"),
        TableSpec("shipments", ("delivery_id", "delivery_line"), (
            _c("delivery_id", "str", "delivery"), _c("delivery_line", "int", "its line"),
            _row("erp_shipments.csv"),
            _c("ship_date", "date", "goods issue"), _c("hub", "str", "hub shipped from"),
            _c("order_id", "str", "order"), _c("order_line", "int", "its line"),
            _c("sku", "str", "SKU"), _c("qty_units", "int", "eaches, as the ERP books them"),
        ), "ERP deliveries in eaches"),
        TableSpec("invoices", ("invoice_id", "invoice_line"), (
            _c("invoice_id", "str", "invoice or credit note"), _c("invoice_line", "int", "its line"),
            _row("erp_invoices.csv"),
            _c("doc_type", "str", "invoice or credit_note"), _c("invoice_date", "date", "document date"),
            _c("customer", "str", "CRM account"), _c("market", "str", "market"), _c("sku", "str", "SKU"),
            _c("qty_units", "int", "eaches (negative: credited)"),
            _c("unit_price_cents", "int", "price per each"), _c("currency", "str", "document currency"),
            _c("amount_cents", "int", "line amount, document currency"),
        ), "ERP billing lines"),
        TableSpec("billing_documents", ("invoice_id",), (
            _c("invoice_id", "str", "invoice or credit note"), _c("invoice_date", "date", "document date"),
            _c("fiscal_year", "int", "fiscal year of the date"), _c("fiscal_period", "int", "its period"),
            _c("currency", "str", "document currency"), _c("amount_cents", "int", "total, document currency"),
            _c("rate", "float", "functional per document currency (1 for functional documents)"),
            _c("functional_cents", "int", "total in the functional currency, as the GL converts it"),
        ), "billing documents' totals, converted as the GL converts them"),
        TableSpec("postings", ("journal_id", "journal_line"), (
            _c("journal_id", "str", "journal entry"), _c("journal_line", "int", "its line"),
            _row("gl_postings.csv"),
            _c("posting_date", "date", "posting date"), _c("fiscal_year", "int", "fiscal year"),
            _c("fiscal_period", "int", "fiscal period"), _c("account", "str", "4000 revenue, 5000 COGS"),
            _c("document", "str", "billing document"), _c("amount_cents", "int", "functional currency"),
        ), "GL postings"),
        TableSpec("revenue_by_period", ("fiscal_year", "fiscal_period"), (
            _c("fiscal_year", "int", "fiscal year"), _c("fiscal_period", "int", "fiscal period"),
            _c("erp_cents", "int", "invoiced revenue, functional, by document date"),
            _c("gl_cents", "int", "revenue posted (account 4000)"),
            _c("difference_cents", "int", "gl minus erp"),
            _c("flagged_cents", "int", "the sum of this period's invoices_vs_gl variances (equals the difference)"),
        ), "ERP invoiced revenue against GL revenue per fiscal period, to the cent"),
        TableSpec("inventory", ("day", "hub", "sku"), (
            _c("day", "date", "count day, at its end"), _c("hub", "str", "hub"), _c("sku", "str", "SKU"),
            _c("on_hand_units", "int", "eaches on hand (WMS)"),
        ), "WMS daily on-hand"),
        TableSpec("erp_stock", ("month_end", "hub", "sku"), (
            _c("month_end", "date", "calendar month's last day"), _c("hub", "str", "hub"), _c("sku", "str", "SKU"),
            _c("on_hand_units", "int", "eaches on hand (ERP)"),
        ), "ERP month-end stock"),
        TableSpec("movements", ("movement_id",), (
            _c("movement_id", "str", "WMS movement"), _row("wms_movements.csv"),
            _c("day", "date", "day"), _c("hub", "str", "hub"), _c("sku", "str", "SKU"),
            _c("kind", "str", "receipt, issue or return"), _c("qty_units", "int", "eaches"),
            _c("reference", "str", "delivery line, credit note line or replenishment"),
        ), "WMS movements"),
        TableSpec("production", ("day", "line", "sku"), (
            _c("day", "date", "production day"), _row("mes_production.csv"), _c("line", "str", "line"),
            _c("plant", "str", "its plant"), _c("sku", "str", "SKU"), _c("qty_units", "int", "good eaches made"),
        ), "MES production per line and day"),
        TableSpec("downtime", ("event_id",), (
            _c("event_id", "str", "downtime event"), _row("mes_downtime.csv"), _c("line", "str", "line"),
            _c("plant", "str", "its plant"), _c("start", "date", "day the line stopped"),
            _c("hours", "float", "hours stopped"), _c("cause", "str", "why"),
        ), "line downtime with its cause"),
        TableSpec("purchase_orders", ("po_id", "po_line"), (
            _c("po_id", "str", "purchase order"), _c("po_line", "int", "its line"),
            _row("erp_purchase_orders.csv"), _c("order_date", "date", "placed"), _c("supplier", "str", "supplier"),
            _c("plant", "str", "delivered to"), _c("material", "str", "material"),
            _c("qty_units", "int", "units ordered"), _c("promised_date", "date", "confirmed delivery"),
        ), "purchase order lines"),
        TableSpec("receipts", ("receipt_id",), (
            _c("receipt_id", "str", "goods receipt"), _row("erp_receipts.csv"), _c("po_id", "str", "purchase order"),
            _c("po_line", "int", "its line"), _c("supplier", "str", "supplier"), _c("material", "str", "material"),
            _c("receipt_date", "date", "received"), _c("qty_units", "int", "units received"),
            _c("days_late", "int", "receipt date minus the promised date (negative: early)"),
        ), "goods receipts with the supplier's lateness"),
        TableSpec("fx_rates", ("month", "currency"), (
            _c("month", "date", "first day of the month"), _c("currency", "str", "foreign currency"),
            _c("rate", "float", "functional per unit"),
        ), "the GL's exchange rates"),
        TableSpec("variances", ("check", "key"), (
            _c("check", "str", "the cross-check that found it"),
            _c("severity", "str", "info (mapped by rule or confirmation) or warning (sources disagree)"),
            _c("key", "str", "what disagrees: a SKU and week, a document and period, a code"),
            _c("size", "float", "b minus a, in unit"), _c("unit", "str", "eaches, cents or codes"),
            _c("tolerance", "float", "largest size accepted (0: none)"),
            _c("a_file", "str", "first source's file"), _c("a_rows", "str", "its lines (header: line 1)"),
            _c("b_file", "str", "second source's file"), _c("b_rows", "str", "its lines"),
            _c("likely_cause", "str", "what the rows suggest"),
        ), "every disagreement between the sources, located in both"),
        TableSpec("adjustments", ("adjustment_id",), (*(c for c in ADJUSTMENTS.columns if c.name != "baseline_qty"),
                                                     _row(ADJUSTMENTS_FILE)),
                  "the planner's adjustments to the statistical forecast (twin.demand.adjustments)"),
    )
}

DUCKDB_TYPES = {"id": "VARCHAR", "str": "VARCHAR", "choice": "VARCHAR", "date": "DATE", "int": "BIGINT",
                "float": "DOUBLE", "money": "BIGINT"}


def declared(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s declared columns of table ``name``, in order, typed as declared."""
    spec = LAYER[name]
    out = pd.DataFrame(index=frame.index)
    for c in spec.columns:
        v = frame[c.name]
        if c.kind == "date":
            out[c.name] = pd.to_datetime(v).dt.date
        elif c.kind == "int":
            out[c.name] = pd.to_numeric(v).astype("Int64")
        elif c.kind == "float":
            out[c.name] = pd.to_numeric(v).astype(float)
        else:
            out[c.name] = v.astype(object).where(v.notna(), None)
    return out.reset_index(drop=True)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_layer(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, int]:
    """The layer's tables into ``folder``: one DuckDB database (:data:`DATABASE`), a Parquet
    file per table (:data:`PARQUET`) and :data:`CSV_TABLES` as CSV; rows per table."""
    import duckdb

    (folder / PARQUET).mkdir()
    rows = {}
    with duckdb.connect(str(folder / DATABASE)) as con:
        for name, spec in LAYER.items():
            frame = declared(name, tables[name])
            columns = ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.kind]}' for c in spec.columns)
            con.execute(f'CREATE TABLE "{name}" ({columns})')
            con.register("frame", frame)
            con.execute(f'INSERT INTO "{name}" SELECT * FROM frame')
            con.unregister("frame")
            con.execute(f'COMMENT ON TABLE "{name}" IS {_quoted(spec.description)}')
            for c in spec.columns:  # a BI tool shows these beside each column: what it is, in which unit
                con.execute(f'COMMENT ON COLUMN "{name}"."{c.name}" IS {_quoted(c.description)}')
            frame.to_parquet(folder / PARQUET / f"{name}.parquet", index=False)
            if name in CSV_TABLES:
                write_csv(frame, folder / f"{name}.csv")
            rows[name] = len(frame)
    return rows


class LayerMissing(Exception):
    """The folder is no layer ``twin reconcile`` wrote."""


def demand_series(folder: str | Path, bucket: Bucket) -> pd.Series:
    """The layer's daily demand summed by ``bucket`` (weeks or calendar months): ``qty``
    indexed by ``sku, market`` and the bucket's first day, every SKU x market with demand
    and every whole bucket from the first day with demand to the last (0 where none); a
    bucket those days cover only in part, at either end, is left out rather than read as a
    fall in demand."""
    path = Path(folder) / PARQUET / "demand.parquet"
    if not path.is_file():
        raise LayerMissing(f"no reconciled layer (no {PARQUET}/demand.parquet): give a folder twin reconcile wrote")
    daily = pd.read_parquet(path)
    days = pd.to_datetime(daily["day"]).astype("datetime64[ns]")
    first, last = days.min(), days.max()
    starts = pd.date_range(bucket.first_day(pd.Series([first])).iloc[0], last, freq=bucket.freq)
    whole = starts[(starts >= first) & (starts.shift(1, freq=bucket.freq) - pd.Timedelta(days=1) <= last)]
    qty = daily.assign(start=bucket.first_day(days)).groupby(["sku", "market", "start"])["qty_units"].sum()
    pairs = qty.index.droplevel("start").unique().sort_values()
    grid = pd.MultiIndex.from_tuples([(s, m, d) for s, m in pairs for d in whole],
                                     names=["sku", "market", bucket.name])
    return qty.rename_axis(["sku", "market", bucket.name]).reindex(grid, fill_value=0).astype(float).rename("qty")


def demand_history(folder: str | Path) -> pd.DataFrame:
    """The layer's weekly demand as the network holds ``demand_history.csv``: ``qty`` indexed
    by ``sku, market, week``, sorted (so that a forecast of it is a forecast of the CSV)."""
    path = Path(folder) / PARQUET / "demand_history.parquet"
    if not path.is_file():
        raise LayerMissing(f"no reconciled layer (no {PARQUET}/demand_history.parquet): give a folder twin reconcile "
                           "wrote")
    frame = pd.read_parquet(path)
    frame["week"] = pd.to_datetime(frame["week"]).astype("datetime64[ns]")
    return frame.astype({"qty": float}).set_index(["sku", "market", "week"]).sort_index()


def layer_adjustments(folder: str | Path) -> pd.DataFrame | None:
    """The layer's adjustment log, typed as :func:`twin.demand.adjustments.read_adjustments`
    reads one and indexed by its extract line - 2 (so that a problem names the line of
    :data:`ADJUSTMENTS_FILE` it came from); None for a layer written before it had one."""
    path = Path(folder) / PARQUET / "adjustments.parquet"
    if not path.is_file():
        return None
    frame = pd.read_parquet(path)
    for c in ("start", "end", "logged_on"):
        frame[c] = pd.to_datetime(frame[c]).astype("datetime64[ns]")
    frame.index = frame.pop("source_row").to_numpy() - 2
    return frame.assign(baseline_qty=np.nan)[COLUMNS]
