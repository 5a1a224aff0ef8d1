"""The extracts a reconciliation reads, each declared once as a table: a source system's
file with its columns, kinds and units. A new extract format is one more declaration here.

The systems name things their own way: the CRM sells customer-facing product codes in the
customer's unit (eaches or cases) and currency; the ERP ships and invoices ERP item
numbers from its warehouse codes and posts in its fiscal calendar; the WMS counts units
per warehouse code (it reads the ERP's item master, so its items are ERP item numbers);
the GL books in the functional currency per fiscal period. ``aliases.csv`` is the
versioned, confirmed map from the systems' codes to the network's SKU and site IDs. The
demand planning tool's adjustment log (``planner_adjustments.csv``, optional) works on the
network's SKUs and markets.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from twin.data.tables import Column, TableSpec
from twin.demand.adjustments import ADJUSTMENTS

UNITS = ("EA", "CS")  # eaches, cases of erp_items.case_size_units
CURRENCIES = ("USD", "EUR")
FUNCTIONAL_CURRENCY = "USD"  # the GL's and the network's (products.csv prices)
ORDER_STATUSES = ("open", "shipped", "cancelled")
MOVEMENTS = ("receipt", "issue", "return")
DOCUMENTS = ("invoice", "credit_note")
REVENUE, COGS = "4000", "5000"  # the GL accounts reconciled
ACCOUNTS = (REVENUE, COGS)
SOURCES = ("crm", "erp", "wms")
DOWNTIME_CAUSES = ("breakdown", "maintenance", "changeover", "material_shortage", "no_operator")


def _id(name: str, description: str) -> Column:
    return Column(name, "id", description)


def _text(name: str, description: str, required: bool = True) -> Column:
    return Column(name, "str", description, required=required)


def _count(name: str, description: str, lo: float | None = 0) -> Column:
    return Column(name, "int", description, min=lo)


def _date(name: str, description: str, required: bool = True) -> Column:
    return Column(name, "date", description, required=required)


def _choice(name: str, description: str, values: tuple[str, ...]) -> Column:
    return Column(name, "choice", description, choices=values)


def _money(name: str, description: str, lo: float | None = None) -> Column:
    return Column(name, "money", description, min=lo)


EXTRACTS: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec("aliases", ("kind", "source", "code", "valid_from"), (
            _choice("kind", "what the code names", ("sku", "site")),
            _choice("source", "the system that uses the code (erp item numbers: the WMS's too)", SOURCES),
            _text("code", "the system's code"),
            _text("maps_to", "the network's SKU or site ID"),
            _date("valid_from", "first day the code means maps_to"),
            _date("valid_to", "last day it does (empty: still)", required=False),
            _text("confirmed_by", "who confirmed the mapping"),
            _date("confirmed_on", "when"),
        ), "the versioned, confirmed map from source codes to network IDs"),
        TableSpec("crm_customers", ("customer",), (
            _id("customer", "CRM account"),
            _text("name", "account name"),
            _text("market", "the network market (sales region) the account belongs to"),
            _choice("currency", "the account's invoicing currency", CURRENCIES),
        ), "CRM accounts"),
        TableSpec("crm_orders", ("order_id", "order_line"), (
            _text("order_id", "sales order"),
            _count("order_line", "line of the order", lo=1),
            _date("order_date", "when the order was taken"),
            _date("requested_date", "when the customer wants it delivered"),
            _text("customer", "CRM account"),
            _text("product_code", "the customer-facing product code"),
            _count("qty", "quantity in uom", lo=1),
            _choice("uom", "unit of the quantity", UNITS),
            _money("unit_price", "price per each in the order currency, after discount", lo=0),
            Column("discount_pct", "float", "promotion discount off the price list", min=0, max=100),
            _choice("currency", "order currency", CURRENCIES),
            _choice("status", "order line status", ORDER_STATUSES),
        ), "CRM sales order lines"),
        TableSpec("erp_items", ("item_number",), (
            _text("item_number", "ERP item number"),
            _text("description", "item description"),
            _count("case_size_units", "eaches per case", lo=1),
            _money("standard_cost", "standard cost per each, functional currency", lo=0),
        ), "the ERP item master"),
        TableSpec("erp_price_list", ("item_number", "currency", "valid_from"), (
            _text("item_number", "ERP item number"),
            _choice("currency", "price currency", CURRENCIES),
            _date("valid_from", "first day of the price"),
            _money("unit_price", "list price per each", lo=0),
        ), "the ERP price list"),
        TableSpec("erp_shipments", ("delivery_id", "delivery_line"), (
            _text("delivery_id", "outbound delivery"),
            _count("delivery_line", "line of the delivery", lo=1),
            _date("ship_date", "goods issue date"),
            _text("warehouse", "ERP warehouse code"),
            _text("order_id", "sales order shipped"),
            _count("order_line", "its line", lo=1),
            _text("item_number", "ERP item number"),
            _count("qty", "quantity in uom", lo=1),
            _choice("uom", "unit of the quantity", UNITS),
        ), "ERP outbound delivery lines"),
        TableSpec("erp_invoices", ("invoice_id", "invoice_line"), (
            _text("invoice_id", "invoice or credit note"),
            _count("invoice_line", "line of the document", lo=1),
            _choice("doc_type", "invoice, or credit note for a return", DOCUMENTS),
            _date("invoice_date", "document date"),
            _text("customer", "CRM account billed"),
            _text("order_id", "sales order billed or credited"),
            _count("order_line", "its line", lo=1),
            _text("item_number", "ERP item number"),
            _count("qty", "eaches billed (negative on a credit note)", lo=None),
            _money("unit_price", "price per each", lo=0),
            _choice("currency", "document currency", CURRENCIES),
            _money("amount", "qty x unit_price, document currency"),
        ), "ERP billing documents' lines"),
        TableSpec("erp_stock", ("month_end", "warehouse", "item_number"), (
            _date("month_end", "stock date: a calendar month's last day"),
            _text("warehouse", "ERP warehouse code"),
            _text("item_number", "ERP item number"),
            _count("on_hand_units", "eaches on hand at the day's end"),
        ), "ERP month-end stock"),
        TableSpec("wms_onhand", ("snapshot_date", "warehouse", "item"), (
            _date("snapshot_date", "day of the count, at its end"),
            _text("warehouse", "WMS warehouse code"),
            _text("item", "ERP item number"),
            _count("on_hand_units", "eaches on hand"),
        ), "WMS daily on-hand snapshots"),
        TableSpec("wms_movements", ("movement_id",), (
            _text("movement_id", "WMS movement"),
            _date("date", "day of the movement"),
            _text("warehouse", "WMS warehouse code"),
            _text("item", "ERP item number"),
            _choice("kind", "what moved", MOVEMENTS),
            _count("qty_units", "eaches moved", lo=1),
            _text("reference", "the delivery line (issue), credit note line (return) or replenishment (receipt)"),
        ), "WMS stock movements"),
        TableSpec("mes_production", ("date", "line", "item_number"), (
            _date("date", "production day"),
            _text("line", "the network's line"),
            _text("item_number", "ERP item number (the MES reads the ERP's item master)"),
            _count("qty_good_units", "good eaches made"),
        ), "MES production per line and day", optional=True),
        TableSpec("mes_downtime", ("event_id",), (
            _text("event_id", "downtime event"),
            _text("line", "the network's line"),
            _date("start", "day the line stopped"),
            Column("hours", "float", "hours stopped", min=0),
            _choice("cause", "why", DOWNTIME_CAUSES),
        ), "MES line downtime with its cause", optional=True),
        TableSpec("erp_purchase_orders", ("po_id", "po_line"), (
            _text("po_id", "purchase order"),
            _count("po_line", "its line", lo=1),
            _date("order_date", "when it was placed"),
            _text("supplier", "the network's supplier"),
            _text("plant", "the network's plant it is delivered to"),
            _text("material", "the network's material"),
            _count("qty_units", "units ordered", lo=1),
            _date("promised_date", "delivery the supplier confirmed"),
        ), "ERP purchase order lines", optional=True),
        TableSpec("erp_receipts", ("receipt_id",), (
            _text("receipt_id", "goods receipt"),
            _text("po_id", "purchase order received"),
            _count("po_line", "its line", lo=1),
            _date("receipt_date", "day received at the plant"),
            _count("qty_units", "units received", lo=1),
        ), "ERP goods receipts of purchase orders", optional=True),
        TableSpec("gl_periods", ("fiscal_year", "fiscal_period"), (
            _count("fiscal_year", "fiscal year (named after the calendar year it ends in)"),
            Column("fiscal_period", "int", "period 1 to 12", min=1, max=12),
            _date("start", "first day"),
            _date("end", "last day"),
        ), "the GL's fiscal periods"),
        TableSpec("gl_fx_rates", ("month", "currency"), (
            _date("month", "first day of the calendar month"),
            _choice("currency", "foreign currency", CURRENCIES),
            Column("rate", "float", "functional currency per unit of the foreign currency", min=0),
        ), "the GL's monthly exchange rates"),
        TableSpec("gl_postings", ("journal_id", "journal_line"), (
            _text("journal_id", "journal entry"),
            _count("journal_line", "line of the entry", lo=1),
            _date("posting_date", "posting date"),
            _count("fiscal_year", "fiscal year posted to"),
            Column("fiscal_period", "int", "fiscal period posted to", min=1, max=12),
            _choice("account", "GL account: 4000 revenue, 5000 cost of goods sold", ACCOUNTS),
            _text("document", "the ERP billing document posted"),
            _money("amount", "functional currency (revenue and cost positive; a credit note's negative)"),
        ), "GL postings of revenue and cost of goods sold"),
        # the demand planning tool's log, on the network's own SKU and market IDs
        replace(ADJUSTMENTS, name="planner_adjustments", optional=True),
    )
}


def functional_cents(cents, rate):
    """A foreign amount in the functional currency, as the GL converts it: the document's
    total times its month's rate, rounded to the cent, halves away from zero."""
    value = np.asarray(cents, dtype=float) * np.asarray(rate, dtype=float)
    return (np.sign(value) * np.floor(np.abs(value) + 0.5)).astype(np.int64)


def net_price_cents(list_cents, discount_pct):
    """A list price less a promotion's discount, rounded to the cent, halves up."""
    return np.floor(np.asarray(list_cents, dtype=float) * (100 - np.asarray(discount_pct, dtype=float)) / 100
                    + 0.5).astype(np.int64)
