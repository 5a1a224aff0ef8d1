"""Reconcile the CRM, ERP, WMS and GL extracts into one layer, every disagreement a
located variance.

:func:`read_extracts` holds each file to its declaration (:data:`twin.data.extracts.EXTRACTS`)
and lists every problem in one pass. :func:`reconcile` maps every system's codes to the
network's SKUs and hubs (:func:`sku_dictionary`: exactly, by the normalising rule, or by a
confirmed row of ``aliases.csv``; a look-alike is suggested, never merged), converts units
to eaches and builds the facts of the layer (:data:`twin.data.layer.LAYER`). It then
cross-checks the sources, each with its tolerance, and writes each disagreement as a row
of ``variances`` naming both sources' files and lines, its size and a likely cause:

=====================  ==============================================================  =========
check                  compares                                                        tolerance
=====================  ==============================================================  =========
orders_vs_shipments    CRM order lines (not cancelled) with ERP deliveries, per SKU     0 eaches
                       and ISO week of the requested and ship dates
shipments_vs_wms       ERP deliveries with WMS goods issues, per SKU and week           0 eaches
production_vs_receipts MES production of a week with the hubs' receipts of the next,    0 eaches
                       per SKU (plants ship a week's output the Monday after)
receipts_vs_orders     ERP goods receipts with their purchase order lines               0 units
returns_vs_wms         credit notes with WMS return receipts, per line                  0 eaches
invoice_price          invoice lines with the price list net of the order's discount    0 cents
invoices_vs_gl         billing documents (converted as the GL converts) with GL         0 cents
                       revenue, per fiscal period and document
stock_wms_vs_erp       ERP month-end stock with the WMS count of that day               0 eaches
sku_code_*             codes mapped by rule (info), changed (info) or unmapped
=====================  ==============================================================  =========

The reference's warehouse ships every line on its requested day, so the quantity checks
hold to the unit; a business whose deliveries lag would state a tolerance in days.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twin.calendars import calendar_view
from twin.data.extracts import EXTRACTS, FUNCTIONAL_CURRENCY, REVENUE, functional_cents, net_price_cents
from twin.data.tables import duplicate_keys, parse, read_csv, row_place
from twin.errors import InputError, Problem, choices
from twin.network import Network

UNIT_EA, UNIT_CENTS, UNIT_CODES = "eaches", "cents", "codes"
CHECKS = ("sku_code_normalised", "sku_code_changed", "sku_code_unmapped", "site_code_unmapped", "orders_vs_shipments",
          "shipments_vs_wms", "production_vs_receipts", "receipts_vs_orders", "returns_vs_wms", "invoice_price", "invoices_vs_gl", "stock_wms_vs_erp")
_SHOWN_ROWS = 20  # lines listed per variance, then a count


@dataclass(frozen=True)
class Layer:
    """The reconciled layer: its tables as :data:`twin.data.layer.LAYER` declares them."""

    tables: dict[str, pd.DataFrame]

    @property
    def variances(self) -> pd.DataFrame:
        return self.tables["variances"]


def read_extracts(folder: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Every extract of ``folder``, typed, with ``source_row`` (its file line), and each
    table's file; an :class:`InputError` listing every problem of every file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError([Problem(str(folder), "", "extracts folder not found")])
    problems: list[Problem] = []
    tables, files = {}, {}
    for name, spec in EXTRACTS.items():
        files[name] = str(folder / spec.file)
        raw = read_csv(folder / spec.file, spec, problems, needed_by="a reconciliation")
        if raw is not None:
            tables[name] = parse(spec, raw, files[name], problems).assign(source_row=raw.index + 2)
            duplicate_keys(spec, tables[name], files[name], problems)
    if problems:
        raise InputError(problems)
    for name, spec in EXTRACTS.items():  # whole numbers, checked: as integers, so that keys print as 3, not 3.0
        whole = [c.name for c in spec.columns if c.kind == "int"]
        tables[name][whole] = tables[name][whole].astype(np.int64)
    return tables, files


def _rows(rows) -> str:
    rows = sorted(int(r) for r in rows if pd.notna(r))
    shown = ", ".join(map(str, rows[:_SHOWN_ROWS]))
    return shown + (f" … ({len(rows)} lines)" if len(rows) > _SHOWN_ROWS else "")


def _variance(check: str, key: str, size: float, unit: str, a_file: str, a_rows, b_file: str = "", b_rows=(),
              cause: str = "", severity: str = "warning") -> dict:
    return dict(check=check, severity=severity, key=key, size=float(size), unit=unit, tolerance=0.0,
                a_file=a_file, a_rows=_rows(a_rows), b_file=b_file, b_rows=_rows(b_rows), likely_cause=cause)


def normalise(code: pd.Series) -> pd.Series:
    """The rule that maps a code without confirmation: upper case, no spaces."""
    return code.str.upper().str.replace(r"\s+", "", regex=True)


# --- dictionaries -------------------------------------------------------------------------


def _aliases(x: dict[str, pd.DataFrame], files: dict[str, str], kind: str, valid: set[str]) -> pd.DataFrame:
    """``aliases.csv``'s rows of ``kind``, checked: each names a valid target, and no code
    means two things on one day (an :class:`InputError` naming both lines)."""
    a = x["aliases"]
    a = a[a["kind"] == kind].sort_values(["source", "code", "valid_from"])
    problems = [Problem(files["aliases"], row_place(r - 2, "maps_to"), f"{t!r} is no {kind} of the network; "
                        f"{choices(valid)}") for t, r in zip(a["maps_to"], a["source_row"]) if t not in valid]
    end = a["valid_to"].fillna(pd.Timestamp.max)
    nxt = a.groupby(["source", "code"])["valid_from"].shift(-1)
    overlap = nxt.notna() & (nxt <= end)
    for i in a.index[overlap]:
        j = a.index[a.index.get_loc(i) + 1]
        problems.append(Problem(files["aliases"], row_place(a.at[j, "source_row"] - 2, "code"),
                                f"{a.at[j, 'code']!r} ({a.at[j, 'source']}) already means {a.at[i, 'maps_to']!r} on "
                                f"row {a.at[i, 'source_row']} from {a.at[i, 'valid_from'].date()}: a code maps to "
                                f"one {kind} on any day; end the first row (valid_to) before the second begins"))
    if problems:
        raise InputError(problems)
    return a


def _map(codes: pd.Series, days: pd.Series, aliases: pd.DataFrame, source: str) -> pd.Series:
    """Each code's target on its day by the confirmed aliases of ``source`` (None: none)."""
    a = aliases[aliases["source"] == source]
    out = pd.Series(None, index=codes.index, dtype=object)
    for row in a.itertuples():
        hit = (codes == row.code) & (days >= row.valid_from)
        if pd.notna(row.valid_to):
            hit &= days <= row.valid_to
        out[hit] = row.maps_to
    return out


def sku_dictionary(x: dict[str, pd.DataFrame], files: dict[str, str], skus: list[str],
                   aliases: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Every code of every system with its SKU (``aliases``: the checked SKU rows of
    ``aliases.csv``), and the variances of codes mapped by rule, changed or left unmapped."""
    rows, variances = [], []
    orders = x["crm_orders"]
    confirmed = aliases[aliases["source"] == "crm"]
    for code, lines in orders.groupby("product_code")["source_row"]:
        norm = normalise(pd.Series([code])).iloc[0]
        by_alias = confirmed[confirmed["code"] == code]
        if code in skus:
            rows.append(("crm", code, code, pd.NaT, pd.NaT, "exact", "", ""))
        elif not by_alias.empty:
            rows += [("crm", code, r.maps_to, r.valid_from, r.valid_to, "confirmed",
                      f"{r.confirmed_by} on {r.confirmed_on.date()} (aliases.csv line {r.source_row})", "")
                     for r in by_alias.itertuples()]
        elif norm in skus:
            rows.append(("crm", code, norm, pd.NaT, pd.NaT, "normalised", "", ""))
            variances.append(_variance("sku_code_normalised", code, len(lines), UNIT_CODES, files["crm_orders"], lines,
                                       cause=f"{code!r} is {norm!r} in upper case without spaces: mapped by rule",
                                       severity="info"))
        else:
            near = difflib.get_close_matches(norm, skus, n=1, cutoff=0.6)
            rows.append(("crm", code, None, pd.NaT, pd.NaT, "unmapped", "", near[0] if near else ""))
            hint = (f"closest SKU: {near[0]!r}; if it is that, confirm it in aliases.csv (kind sku, source crm)"
                    if near else "no SKU is close: add the product to the network or the code to aliases.csv")
            variances.append(_variance("sku_code_unmapped", code, len(lines), UNIT_CODES, files["crm_orders"], lines,
                                       cause=f"no SKU is {code!r}; its lines are left out of demand. {hint}"))
    erp = aliases[aliases["source"] == "erp"]
    rows += [("erp", r.code, r.maps_to, r.valid_from, r.valid_to, "confirmed",
              f"{r.confirmed_by} on {r.confirmed_on.date()} (aliases.csv line {r.source_row})", "")
             for r in erp.itertuples()]
    for sku, codes in erp.groupby("maps_to"):
        if codes["code"].nunique() > 1:
            history = "; ".join(f"{r.code} from {r.valid_from.date()}" for r in codes.itertuples())
            variances.append(_variance("sku_code_changed", sku, codes["code"].nunique(), UNIT_CODES, files["aliases"],
                                       codes["source_row"], cause=f"the ERP item number of {sku} changed ({history}): "
                                       "one SKU, confirmed", severity="info"))
    dictionary = pd.DataFrame(rows, columns=["source", "code", "sku", "valid_from", "valid_to", "rule",
                                             "confirmation", "suggestion"])
    return dictionary, variances


def _unmapped(name: str, frame: pd.DataFrame, column: str, mapped: pd.Series, files: dict[str, str],
              what: str) -> list[dict]:
    """A variance per code of ``frame[column]`` no confirmed alias covers on its line's day."""
    missing = frame[mapped.isna()]
    return [_variance(f"{what}_code_unmapped", code, len(lines), UNIT_CODES, files[name], lines,
                      cause=f"{code!r} has no confirmed {what} in aliases.csv on these lines' days")
            for code, lines in missing.groupby(column)["source_row"]]


# --- the checks -----------------------------------------------------------------------------


def _week(days: pd.Series) -> pd.Series:
    return days - pd.to_timedelta(days.dt.weekday, "D")


def _quantities(check: str, a: pd.DataFrame, b: pd.DataFrame, a_file: str, b_file: str, link: pd.DataFrame,
                cause) -> list[dict]:
    """Per SKU and week, ``a``'s eaches against ``b``'s (each ``sku, day, qty_units, source_row``);
    a variance per disagreeing SKU-week, listing the lines ``link`` (``a_row, b_row,
    a_units, b_units``, matched line to line) shows unmatched or unequal, caused as
    ``cause(link rows)`` says."""
    totals = pd.concat([a.assign(side="a"), b.assign(side="b")]).assign(week=lambda f: _week(f["day"])).pivot_table(
        index=["sku", "week"], columns="side", values="qty_units", aggfunc="sum", fill_value=0)
    for side in "ab":
        if side not in totals:
            totals[side] = 0
    off = totals[totals["a"] != totals["b"]]
    if off.empty:
        return []
    bad = link[link["a_units"].fillna(-1) != link["b_units"].fillna(-1)].assign(week=lambda f: _week(f["day"]))
    out = []
    for (sku, week), row in off.iterrows():
        lines = bad[(bad["sku"] == sku) & (bad["week"] == week)]
        out.append(_variance(check, f"{sku} week of {week.date()}", row["b"] - row["a"], UNIT_EA, a_file,
                             lines["a_row"], b_file, lines["b_row"], cause(lines)))
    return out


def _units_cause(case: pd.Series):
    def cause(lines: pd.DataFrame) -> str:
        causes = []
        for r in lines.itertuples():
            if pd.isna(r.b_units):
                causes.append(f"line {int(r.a_row)} has no counterpart")
            elif pd.isna(r.a_units):
                causes.append(f"line {int(r.b_row)} has no counterpart")
            elif r.b_units * case.get(r.sku, 1) == r.a_units or r.a_units * case.get(r.sku, 1) == r.b_units:
                causes.append(f"units: {int(min(r.a_units, r.b_units))} is the number of cases of "
                              f"{int(max(r.a_units, r.b_units))} eaches (case size {case.get(r.sku, 1)}), booked as eaches")
            else:
                causes.append(f"quantity differs: {int(r.a_units)} against {int(r.b_units)}")
        return "; ".join(causes) or "no single line explains it: the lines fall in different weeks"
    return cause


def _network_ids(x: dict[str, pd.DataFrame], files: dict[str, str], net: Network) -> None:
    """The extracts' columns that hold the network's own IDs name existing ones (an
    :class:`InputError` listing each unknown one where it first appears)."""
    problems = []
    for table, column, known in (("crm_customers", "market", net.markets.index), ("mes_production", "line",
                                 net.lines.index), ("mes_downtime", "line", net.lines.index),
                                 ("erp_purchase_orders", "supplier", net.suppliers.index),
                                 ("erp_purchase_orders", "plant", net.plants.index),
                                 ("erp_purchase_orders", "material", net.materials.index),
                                 ("planner_adjustments", "sku", net.products.index),
                                 ("planner_adjustments", "market", net.markets.index)):
        frame = x[table]
        bad = frame[~frame[column].isin(known)].drop_duplicates(column)
        problems += [Problem(files[table], row_place(r - 2, column), f"{v!r} is no {column} of the network; "
                             f"{choices(known)}") for v, r in zip(bad[column], bad["source_row"])]
    if problems:
        raise InputError(problems)


def reconcile(x: dict[str, pd.DataFrame], files: dict[str, str], net: Network) -> Layer:
    """The layer of extracts ``x`` (:func:`read_extracts`) for the network ``net``, whose
    SKUs, markets, hubs, lines, plants, suppliers and materials they name (module docstring)."""
    _network_ids(x, files, net)
    skus, market_hub = list(net.products.index), net.markets["hub"].to_dict()
    sites = _aliases(x, files, "site", set(market_hub.values()))
    aliases = _aliases(x, files, "sku", set(skus))
    item_sku = aliases[aliases["source"] == "erp"].drop_duplicates("code").set_index("code")["maps_to"]
    items = x["erp_items"].assign(sku=x["erp_items"]["item_number"].map(item_sku))
    case_size = items.dropna(subset=["sku"]).groupby("sku")["case_size_units"].first().astype(int)
    dictionary, variances = sku_dictionary(x, files, skus, aliases)
    t: dict[str, pd.DataFrame] = {"sku_dictionary": dictionary}
    t["site_dictionary"] = sites.assign(site=sites["maps_to"], confirmation=sites["confirmed_by"] + " on " + sites[
        "confirmed_on"].dt.strftime("%Y-%m-%d") + " (aliases.csv line " + sites["source_row"].astype(str) + ")")
    t["units"] = pd.concat([pd.DataFrame({"sku": skus, "uom": "EA", "units_per_uom": 1}),
                            pd.DataFrame({"sku": case_size.index, "uom": "CS", "units_per_uom": case_size.to_numpy()})])

    def per_uom(f: pd.DataFrame) -> np.ndarray:
        return np.where(f["uom"] == "CS", f["sku"].map(case_size).fillna(0), 1)

    # CRM orders
    o = x["crm_orders"].copy()
    code_sku = dictionary[dictionary["source"] == "crm"].drop_duplicates("code").set_index("code")["sku"]
    o["sku"] = o["product_code"].map(code_sku)
    o["market"] = o["customer"].map(x["crm_customers"].set_index("customer")["market"])
    o["qty_units"] = (o["qty"] * per_uom(o)).astype(np.int64)
    o["unit_price_cents"] = o["unit_price"]
    t["orders"] = o
    live = o[(o["status"] != "cancelled") & o["sku"].notna()]
    t["demand"] = live.groupby(["sku", "market", "requested_date"], as_index=False)["qty_units"].sum().rename(
        columns={"requested_date": "day"})
    t["demand_history"] = demand_history(t["demand"], skus, list(market_hub))

    # ERP items to SKUs, by day
    s = x["erp_shipments"].copy()
    s["sku"] = _map(s["item_number"], s["ship_date"], aliases, "erp")
    s["hub"] = _map(s["warehouse"], s["ship_date"], sites, "erp")
    variances += _unmapped("erp_shipments", s, "item_number", s["sku"], files, "sku")
    variances += _unmapped("erp_shipments", s, "warehouse", s["hub"], files, "site")
    s["qty_units"] = (s["qty"] * per_uom(s)).astype(np.int64)
    t["shipments"] = s

    inv = x["erp_invoices"].copy()
    inv["sku"] = _map(inv["item_number"], inv["invoice_date"], aliases, "erp")
    inv["market"] = inv["customer"].map(x["crm_customers"].set_index("customer")["market"])
    variances += _unmapped("erp_invoices", inv, "item_number", inv["sku"], files, "sku")
    inv["qty_units"], inv["unit_price_cents"], inv["amount_cents"] = inv["qty"], inv["unit_price"], inv["amount"]
    t["invoices"] = inv
    credits = inv[inv["doc_type"] == "credit_note"]
    t["returns"] = credits.assign(day=credits["invoice_date"], qty_units=-credits["qty"])

    m = x["wms_movements"].copy()
    m["sku"] = _map(m["item"], m["date"], aliases, "erp")
    m["hub"] = _map(m["warehouse"], m["date"], sites, "wms")
    variances += _unmapped("wms_movements", m, "item", m["sku"], files, "sku")
    t["movements"] = m.assign(day=m["date"])
    oh = x["wms_onhand"].copy()
    oh["sku"] = _map(oh["item"], oh["snapshot_date"], aliases, "erp")
    oh["hub"] = _map(oh["warehouse"], oh["snapshot_date"], sites, "wms")
    t["inventory"] = oh.assign(day=oh["snapshot_date"])
    st = x["erp_stock"].copy()
    st["sku"] = _map(st["item_number"], st["month_end"], aliases, "erp")
    st["hub"] = _map(st["warehouse"], st["month_end"], sites, "erp")
    t["erp_stock"] = st

    # the calendar, with the GL's fiscal periods
    periods = _periods(x, files)
    first = min(o["requested_date"].min(), periods["start"].min())
    last = max(o["requested_date"].max(), periods["end"].max())
    t["calendar"] = calendar(pd.date_range(first, last), periods)

    # cross-checks
    window = (o["requested_date"] >= periods["start"].min()) & (o["requested_date"] <= periods["end"].max())
    expected = live[window[live.index]]
    link = expected.merge(s, on=["order_id", "order_line"], how="outer", suffixes=("_o", "_s"))
    link = pd.DataFrame({"sku": link["sku_o"].fillna(link["sku_s"]), "day": link["requested_date"].fillna(
        link["ship_date"]), "a_row": link["source_row_o"], "b_row": link["source_row_s"],
        "a_units": link["qty_units_o"], "b_units": link["qty_units_s"]})
    variances += _quantities("orders_vs_shipments", expected.rename(columns={"requested_date": "day"}),
                             s.rename(columns={"ship_date": "day"}), files["crm_orders"], files["erp_shipments"],
                             link, _units_cause(case_size))
    issues = m[m["kind"] == "issue"]
    ref = s["delivery_id"] + "/" + s["delivery_line"].astype(str)
    link = s.assign(reference=ref).merge(issues, on="reference", how="outer", suffixes=("_s", "_m"))
    link = pd.DataFrame({"sku": link["sku_s"].fillna(link["sku_m"]), "day": link["ship_date"].fillna(link["date"]),
                         "a_row": link["source_row_s"], "b_row": link["source_row_m"],
                         "a_units": link["qty_units_s"], "b_units": link["qty_units_m"]})
    variances += _quantities("shipments_vs_wms", s.rename(columns={"ship_date": "day"}),
                             issues.rename(columns={"date": "day"}), files["erp_shipments"], files["wms_movements"],
                             link, _units_cause(case_size))
    t |= _supply(x, aliases, net)
    variances += _production(t["production"], m, files)
    variances += _purchases(t["purchase_orders"], t["receipts"], files)
    variances += _returns(t["returns"], m, files)
    variances += _prices(inv, o, x["erp_price_list"], aliases, files)
    docs, revenue, gl_variances = _revenue(inv, x["gl_postings"], x["gl_fx_rates"], t["calendar"], files)
    variances += gl_variances
    t["billing_documents"], t["revenue_by_period"] = docs, revenue
    t["postings"] = x["gl_postings"].assign(amount_cents=x["gl_postings"]["amount"])
    t["fx_rates"] = x["gl_fx_rates"]
    t["adjustments"] = x["planner_adjustments"]
    variances += _stock(st, oh, files)
    v = pd.DataFrame(variances, columns=list(_variance("", "", 0, "", "", ()).keys()))
    t["variances"] = v.sort_values(["check", "key"], key=lambda c: c.map(CHECKS.index) if c.name == "check" else c,
                                   ignore_index=True)
    return Layer(t)


def demand_history(demand: pd.DataFrame, skus: list[str], markets: list[str]) -> pd.DataFrame:
    """Daily demand as the network's weekly table: every SKU x market x ISO week from the
    first week with demand to the last, 0 where none."""
    weekly = demand.assign(week=_week(demand["day"])).groupby(["sku", "market", "week"])["qty_units"].sum()
    weeks = pd.date_range(weekly.index.get_level_values("week").min(), weekly.index.get_level_values("week").max(),
                          freq="7D")
    grid = pd.MultiIndex.from_product([sorted(skus), sorted(markets), weeks], names=["sku", "market", "week"])
    return weekly.reindex(grid, fill_value=0).rename("qty").reset_index()


def _periods(x: dict[str, pd.DataFrame], files: dict[str, str]) -> pd.DataFrame:
    """``gl_periods.csv`` in order, checked to tile the days without a gap or an overlap."""
    p = x["gl_periods"].sort_values("start", ignore_index=True)
    gap = p["start"].iloc[1:].reset_index(drop=True) != (p["end"].iloc[:-1] + pd.Timedelta(days=1)).reset_index(drop=True)
    problems = [Problem(files["gl_periods"], row_place(int(p.at[i + 1, "source_row"]) - 2, "start"),
                        f"{p.at[i + 1, 'start'].date()}: a period must start the day after the one before ends "
                        f"({p.at[i, 'end'].date()})") for i in np.flatnonzero(gap)]
    problems += [Problem(files["gl_periods"], row_place(int(r.source_row) - 2, "end"), "ends before it starts")
                 for r in p[p["end"] < p["start"]].itertuples()]
    if problems:
        raise InputError(problems)
    return p


def calendar(days: pd.DatetimeIndex, periods: pd.DataFrame) -> pd.DataFrame:
    """One row per day: its ISO week and calendar month (:func:`twin.calendars.calendar_view`)
    and its fiscal year, quarter, period and week by the GL's period table (empty outside it)."""
    view = calendar_view(days).reset_index(names="day")
    at = periods["start"].searchsorted(view["day"], side="right") - 1
    inside = (at >= 0) & (view["day"] <= periods["end"].iloc[np.maximum(at, 0)].to_numpy())
    p = periods.iloc[np.maximum(at, 0)].reset_index(drop=True)
    year_start = periods.groupby("fiscal_year")["start"].min()
    fiscal = pd.DataFrame({"fiscal_year": p["fiscal_year"], "fiscal_quarter": (p["fiscal_period"] - 1) // 3 + 1,
                           "fiscal_period": p["fiscal_period"],
                           "fiscal_week": (view["day"] - p["fiscal_year"].map(year_start)).dt.days // 7 + 1})
    return view.join(fiscal.where(pd.Series(inside), other=pd.NA).astype("Int64"))


def _supply(x: dict[str, pd.DataFrame], aliases: pd.DataFrame, net: Network) -> dict[str, pd.DataFrame]:
    """The plants' facts: production, downtime, purchase orders and receipts (with lateness)."""
    plant = net.lines["plant"]
    made = x["mes_production"]
    made = made.assign(day=made["date"], plant=made["line"].map(plant), qty_units=made["qty_good_units"],
                       sku=_map(made["item_number"], made["date"], aliases, "erp"))
    down = x["mes_downtime"].assign(plant=lambda f: f["line"].map(plant))
    po = x["erp_purchase_orders"]
    got = x["erp_receipts"].merge(po[["po_id", "po_line", "supplier", "material", "promised_date"]],
                                  on=["po_id", "po_line"], how="left")
    got["days_late"] = (got["receipt_date"] - got["promised_date"]).dt.days.astype("Int64")
    return {"production": made, "downtime": down, "purchase_orders": po, "receipts": got}


def _production(made: pd.DataFrame, moves: pd.DataFrame, files: dict[str, str]) -> list[dict]:
    """Per SKU, a week's production against the hubs' receipts of the Monday after."""
    received = moves[moves["kind"] == "receipt"]
    a = made.assign(week=_week(made["day"]) + pd.Timedelta(days=7))
    b = received.assign(week=_week(received["date"]))
    first, last = a["week"].min(), min(a["week"].max(), b["week"].max())
    a, b = a[a["week"] <= last], b[(b["week"] >= first) & (b["week"] <= last)]
    both = pd.concat([a.groupby(["sku", "week"])["qty_units"].sum().rename("made"),
                      b.groupby(["sku", "week"])["qty_units"].sum().rename("received")], axis=1).fillna(0)
    out = []
    for (sku, week), r in both[both["made"] != both["received"]].iterrows():
        rows_a = a[(a["sku"] == sku) & (a["week"] == week)]
        rows_b = b[(b["sku"] == sku) & (b["week"] == week)]
        out.append(_variance("production_vs_receipts", f"{sku} received week of {week.date()}",
                             r["received"] - r["made"], UNIT_EA, files["mes_production"], rows_a["source_row"],
                             files["wms_movements"], rows_b["source_row"],
                             f"the MES made {int(r['made'])} the week before; the hubs received {int(r['received'])}"
                             + ("; a line-day of exactly twice the others suggests a double booking"
                                if (rows_a["qty_units"] >= 2 * rows_a["qty_units"].median()).any() and
                                len(rows_a) > 2 else "")))
    return out


def _purchases(po: pd.DataFrame, got: pd.DataFrame, files: dict[str, str]) -> list[dict]:
    """Per purchase order line received, the units received against the units ordered."""
    received = got.groupby(["po_id", "po_line"]).agg(units=("qty_units", "sum"), rows=("source_row", list))
    both = po.join(received, on=["po_id", "po_line"], how="inner")
    return [_variance("receipts_vs_orders", f"{r.po_id}/{r.po_line} {r.material}", r.units - r.qty_units, "units",
                      files["erp_purchase_orders"], [r.source_row], files["erp_receipts"], r.rows,
                      f"{r.supplier} delivered {int(r.units)} of the {int(r.qty_units)} ordered "
                      f"({100 * (r.units / r.qty_units - 1):+.1f} %)")
            for r in both[both["units"] != both["qty_units"]].itertuples()]


def _returns(returns: pd.DataFrame, moves: pd.DataFrame, files: dict[str, str]) -> list[dict]:
    back = moves[moves["kind"] == "return"].set_index("reference")
    ref = returns["invoice_id"] + "/" + returns["invoice_line"].astype(str)
    out = []
    for r, line in zip(returns.itertuples(), ref):
        got = back["qty_units"].get(line)
        if got != r.qty_units:
            rows = [back.at[line, "source_row"]] if line in back.index else []
            out.append(_variance("returns_vs_wms", f"{r.invoice_id}/{r.invoice_line} {r.sku}",
                                 (got or 0) - r.qty_units, UNIT_EA, files["erp_invoices"], [r.source_row],
                                 files["wms_movements"], rows,
                                 "no return receipt in the WMS for this credit note: credited but not received"
                                 if got is None else f"the WMS received {got} eaches"))
    return out


def _prices(inv: pd.DataFrame, orders: pd.DataFrame, price_list: pd.DataFrame, aliases: pd.DataFrame,
            files: dict[str, str]) -> list[dict]:
    lines = inv[inv["doc_type"] == "invoice"].merge(
        orders[["order_id", "order_line", "discount_pct"]], on=["order_id", "order_line"], how="left")
    prices = price_list.sort_values("valid_from")
    lines = pd.merge_asof(lines.sort_values("invoice_date"), prices.rename(columns={"unit_price": "list_cents",
                          "source_row": "list_row"}), left_on="invoice_date", right_on="valid_from",
                          by=["item_number", "currency"])
    lines["expected"] = net_price_cents(lines["list_cents"].fillna(0), lines["discount_pct"].fillna(0))
    off = lines[lines["list_cents"].isna() | (lines["unit_price"] != lines["expected"])]
    out = []
    for r in off.itertuples():
        if pd.isna(r.list_cents):
            out.append(_variance("invoice_price", f"{r.invoice_id}/{r.invoice_line}", 0, UNIT_CENTS,
                                 files["erp_invoices"], [r.source_row], cause=f"no {r.currency} list price of "
                                 f"{r.item_number} on {r.invoice_date.date()}"))
            continue
        pct = 100 * (r.unit_price / r.expected - 1)
        out.append(_variance("invoice_price", f"{r.invoice_id}/{r.invoice_line}", r.unit_price - r.expected,
                             UNIT_CENTS, files["erp_invoices"], [r.source_row], files["erp_price_list"], [r.list_row],
                             f"priced {pct:+.1f} % against the list price {r.list_cents / 100:.2f} {r.currency} net "
                             f"of the order's {r.discount_pct:g} % discount"))
    return out


def _revenue(inv: pd.DataFrame, gl: pd.DataFrame, fx: pd.DataFrame, cal: pd.DataFrame,
             files: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    docs = inv.groupby("invoice_id", as_index=False).agg(invoice_date=("invoice_date", "first"),
                                                          currency=("currency", "first"), amount_cents=("amount", "sum"),
                                                          rows=("source_row", list))
    rate = fx.set_index(["month", "currency"])["rate"]
    month = docs["invoice_date"].dt.to_period("M").dt.start_time
    docs["rate"] = np.where(docs["currency"] == FUNCTIONAL_CURRENCY, 1.0,
                            rate.reindex(pd.MultiIndex.from_arrays([month, docs["currency"]])).to_numpy())
    docs["functional_cents"] = np.where(docs["currency"] == FUNCTIONAL_CURRENCY, docs["amount_cents"],
                                        functional_cents(docs["amount_cents"], docs["rate"].fillna(0)))
    fiscal = cal.set_index("day")[["fiscal_year", "fiscal_period"]]
    docs = docs.join(fiscal, on="invoice_date")
    revenue = gl[gl["account"] == REVENUE]
    erp = docs.groupby(["fiscal_year", "fiscal_period", "invoice_id"])["functional_cents"].sum()
    posted = revenue.groupby(["fiscal_year", "fiscal_period", "document"])["amount"].sum()
    posted.index.names = erp.index.names
    both = pd.concat([erp.rename("erp"), posted.rename("gl")], axis=1).fillna(0)
    off = both[both["erp"] != both["gl"]]
    by_doc = docs.set_index("invoice_id")
    out = []
    for (year, period, doc), r in off.iterrows():
        lines = revenue[revenue["document"] == doc]
        here = lines[(lines["fiscal_year"] == year) & (lines["fiscal_period"] == period)]
        d = by_doc.loc[doc] if doc in by_doc.index else None
        out.append(_variance("invoices_vs_gl", f"FY{int(year)} P{int(period):02d} {doc}", r["gl"] - r["erp"],
                             UNIT_CENTS, files["erp_invoices"], d["rows"] if d is not None else [],
                             files["gl_postings"], here["source_row"] if len(here) else lines["source_row"],
                             _gl_cause(d, lines, year, period)))
    documents = docs.drop(columns="rows")
    totals = pd.concat([erp.groupby(level=[0, 1]).sum().rename("erp_cents"),
                        posted.groupby(level=[0, 1]).sum().rename("gl_cents")], axis=1).fillna(0).astype(np.int64)
    flagged = (off["gl"] - off["erp"]).groupby(level=[0, 1]).sum()
    totals["difference_cents"] = totals["gl_cents"] - totals["erp_cents"]
    totals["flagged_cents"] = flagged.reindex(totals.index, fill_value=0).astype(np.int64)
    return documents, totals.reset_index(), out


def _gl_cause(doc, lines: pd.DataFrame, year, period) -> str:
    if doc is None:
        return "the GL posts revenue for a document the ERP has no invoice of"
    if lines.empty:
        return "the invoice has no revenue posting in the GL"
    total = lines["amount"].sum()
    elsewhere = lines[(lines["fiscal_year"] != doc["fiscal_year"]) | (lines["fiscal_period"] != doc["fiscal_period"])]
    if len(lines) > 1 and (lines["amount"] == doc["functional_cents"]).sum() > 1:
        return f"duplicate posting: lines {_rows(lines['source_row'])} each post the document's revenue"
    if not elsewhere.empty and total == doc["functional_cents"]:
        posted = elsewhere["posting_date"].iloc[0].date()
        return (f"cut-off: dated {doc['invoice_date'].date()} (FY{int(doc['fiscal_year'])} "
                f"P{int(doc['fiscal_period']):02d}), posted {posted} in the next period")
    if doc["currency"] != FUNCTIONAL_CURRENCY and total == doc["amount_cents"]:
        return (f"currency: posted as {doc['amount_cents'] / 100:,.2f} {doc['currency']} unconverted "
                f"(rate {doc['rate']:g}: {doc['functional_cents'] / 100:,.2f} {FUNCTIONAL_CURRENCY})")
    return f"amount differs: {total / 100:,.2f} posted against {doc['functional_cents'] / 100:,.2f} invoiced"


def _stock(erp: pd.DataFrame, wms: pd.DataFrame, files: dict[str, str]) -> list[dict]:
    both = erp.merge(wms, left_on=["month_end", "hub", "sku"], right_on=["snapshot_date", "hub", "sku"], how="left",
                     suffixes=("_e", "_w"))
    off = both[both["on_hand_units_e"] != both["on_hand_units_w"]]
    return [_variance("stock_wms_vs_erp", f"{r.hub} {r.sku} {r.month_end.date()}",
                      (r.on_hand_units_w if pd.notna(r.on_hand_units_w) else 0) - r.on_hand_units_e, UNIT_EA,
                      files["erp_stock"], [r.source_row_e], files["wms_onhand"],
                      [r.source_row_w] if pd.notna(r.source_row_w) else [],
                      "no WMS count that day" if pd.isna(r.on_hand_units_w) else
                      f"the ERP holds {int(r.on_hand_units_e)}, the WMS counted {int(r.on_hand_units_w)}")
            for r in off.itertuples()]
