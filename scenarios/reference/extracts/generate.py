"""Generate the reference network's sample extracts: what Northwind Pumps' CRM, ERP, WMS and
GL would export for the reference's history, disagreeing the way real extracts do.

Run from the repository root to rewrite every CSV in this folder::

    .venv/bin/python scenarios/reference/extracts/generate.py

The output is deterministic (fixed seed) and built from the reference network's own
demand history, promotions, prices, costs and stock (``../``). ``README.md`` beside this
file documents the assumptions. Each disagreement is *planted* by :func:`build` and listed
with its file and rows in ``plants.csv``; ``build(plants=False)`` writes the same extracts
without them (the clean copy a reconciliation must find nothing in).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twin.calendars import FiscalCalendar
from twin.data.extracts import COGS, EXTRACTS, REVENUE, functional_cents, net_price_cents

SEED = 20261207
HERE = Path(__file__).parent
NETWORK = HERE.parent
ERP_START = pd.Timestamp("2024-12-29")  # fiscal 2025's first day: the ERP, WMS and GL went live then
END = pd.Timestamp("2027-01-02")  # fiscal 2026's last day: the extracts' cut
FISCAL = FiscalCalendar(year_end_month=12, week_ends_on="saturday", rule="nearest", pattern=(4, 4, 5))
FAMILY_NUMBER = {"CORE": 1, "GARDEN": 2, "SPARES": 3, "CUSTOM": 4, "LEGACY": 5}  # ERP item 10FFKK (KK: the SKU's)
CASE_SIZES = (6, 8, 10, 12)
EUR_MARKETS = ("M05", "M06", "M07", "M08")  # France, Iberia, Italy, Benelux invoice in euros
EUR_LIST_RATE = 1.10  # the EUR price list is the USD one at this rate, to the cent
ERP_WAREHOUSE = {"H1": "DC10", "H2": "DC20", "H3": "DC30"}
WMS_WAREHOUSE = {"H1": "MAN", "H2": "MRS", "H3": "BER"}
CASE_ORDER_SHARE = 0.5  # of a distributor's lines: ordered in whole cases
CANCELLED_SHARE = 0.015  # extra order lines, cancelled before shipping
RETURN_SHARE = 0.005  # of invoice lines: partly returned, credited
CHANGED_SKU, CHANGED_ITEM, CHANGE_DAY = "GAR-03", "100263", pd.Timestamp("2025-07-01")


@dataclass(frozen=True)
class Plant:
    """One planted disagreement: the check that must find it, and where (file lines, the
    header being line 1)."""

    plant: str
    check: str
    file: str
    rows: tuple[int, ...]
    description: str


def item_number(sku: str) -> str:
    family, k = sku.split("-")
    return f"10{FAMILY_NUMBER[next(f for f in FAMILY_NUMBER if f.startswith(family))]:02d}{int(k):02d}"


def build(plants: bool = True, network: Path = NETWORK) -> tuple[dict[str, pd.DataFrame], list[Plant]]:
    """Every extract table (columns as :data:`twin.data.extracts.EXTRACTS` declares them,
    rows in their key's order) and the plants in them."""
    rng = np.random.default_rng(SEED)
    products = pd.read_csv(network / "products.csv").set_index("sku")
    markets = pd.read_csv(network / "markets.csv").set_index("market")
    history = pd.read_csv(network / "demand_history.csv", parse_dates=["week"])
    promotions = pd.read_csv(network / "promotions.csv", parse_dates=["week"])
    initial = pd.read_csv(network / "hub_policies.csv").set_index(["hub", "sku"])["initial_units"]
    changed = plants  # the clean copy keeps one item number per SKU

    def item_of(sku: pd.Series, day: pd.Series) -> pd.Series:
        items = sku.map(item_number)
        return items.where(~(changed & (sku == CHANGED_SKU) & (day >= CHANGE_DAY)), CHANGED_ITEM)

    t: dict[str, pd.DataFrame] = {}
    case_size = pd.Series(rng.choice(CASE_SIZES, len(products)), index=products.index)
    cost_cents = (products["cost_per_unit"] * 100).round().astype(np.int64)
    usd_cents = (products["price_per_unit"] * 100).round().astype(np.int64)
    eur_cents = (usd_cents / EUR_LIST_RATE).round().astype(np.int64)
    items = pd.DataFrame({"sku": products.index, "item_number": products.index.map(item_number),
                          "description": products["name"].to_numpy(), "case_size_units": case_size.to_numpy(),
                          "standard_cost": cost_cents.to_numpy()})
    if changed:
        new = items[items["sku"] == CHANGED_SKU].assign(item_number=CHANGED_ITEM)
        items = pd.concat([items, new.assign(description=new["description"] + " (new item number)")])
    t["erp_items"] = items.drop(columns="sku")
    t["erp_price_list"] = pd.concat([
        pd.DataFrame({"item_number": items["item_number"], "currency": cur, "valid_from": ERP_START,
                      "unit_price": items["sku"].map(prices).to_numpy()})
        for cur, prices in (("USD", usd_cents), ("EUR", eur_cents))])
    months = pd.date_range(ERP_START - pd.offsets.MonthBegin(1), END, freq="MS")
    t["gl_fx_rates"] = pd.DataFrame({"month": months, "currency": "EUR", "rate": np.round(
        EUR_LIST_RATE * np.exp(np.cumsum(rng.normal(0, 0.012, len(months)))), 4)})
    periods = pd.concat([FISCAL.periods(y) for y in (2025, 2026)])
    t["gl_periods"] = periods.assign(start=pd.to_datetime(periods["start"]), end=pd.to_datetime(periods["end"]))[
        ["fiscal_year", "fiscal_period", "start", "end"]]

    t["crm_customers"] = pd.DataFrame([
        (f"C{m[1:]}{kind}", f"{row['name']} {label}", m, "EUR" if m in EUR_MARKETS else "USD")
        for m, row in markets.iterrows() for kind, label in (("D", "Distribution"), ("K", "Key Account"))],
        columns=["customer", "name", "market", "currency"])
    currency = t["crm_customers"].set_index("customer")["currency"]

    # --- CRM orders: every unit of the history, split between a market's two accounts ---
    d = history[history["qty"] > 0].reset_index(drop=True)
    case = d["sku"].map(case_size).to_numpy()
    cases = np.where(rng.random(len(d)) < CASE_ORDER_SHARE, d["qty"].to_numpy() // case, 0)
    distributor = pd.DataFrame({"sku": d["sku"], "market": d["market"], "week": d["week"], "qty": cases,
                                "uom": "CS", "customer": "C" + d["market"].str[1:] + "D"})
    key_account = pd.DataFrame({"sku": d["sku"], "market": d["market"], "week": d["week"],
                                "qty": d["qty"].to_numpy() - cases * case, "uom": "EA",
                                "customer": "C" + d["market"].str[1:] + "K"})
    lines = pd.concat([distributor, key_account], ignore_index=True)
    lines = lines[lines["qty"] > 0].sort_values(["week", "customer", "sku"], ignore_index=True)
    lines["requested_date"] = lines["week"] + pd.to_timedelta(rng.integers(0, 5, len(lines)), "D")
    orders = lines[["customer", "week"]].drop_duplicates(ignore_index=True)
    orders["order_date"] = orders["week"] - pd.to_timedelta(rng.integers(3, 15, len(orders)), "D")
    orders = orders.sort_values(["order_date", "customer"], ignore_index=True)
    orders["order_id"] = [f"SO-{i:07d}" for i in range(1, len(orders) + 1)]
    lines = lines.merge(orders, on=["customer", "week"])
    lines["order_line"] = lines.groupby("order_id").cumcount() + 1
    promo = promotions.set_index(["sku", "market", "week"])["discount_pct"]
    lines["discount_pct"] = promo.reindex(pd.MultiIndex.from_frame(lines[["sku", "market", "week"]])).fillna(0).to_numpy()
    lines["currency"] = lines["customer"].map(currency)
    listed = np.where(lines["currency"] == "EUR", lines["sku"].map(eur_cents), lines["sku"].map(usd_cents))
    lines["unit_price"] = net_price_cents(listed, lines["discount_pct"])
    lines["status"] = "shipped"
    lines["product_code"] = lines["sku"]
    lines["_plant"] = ""
    extra = lines.sample(frac=CANCELLED_SHARE, random_state=SEED).copy()
    extra["status"] = "cancelled"
    extra["order_line"] = extra.groupby("order_id").cumcount() + 1 + extra["order_id"].map(
        lines.groupby("order_id")["order_line"].max())
    crm = pd.concat([lines, extra], ignore_index=True)
    if plants:
        stray = (crm["customer"] == "C03K") & (crm["sku"] == "COR-05") & (crm["week"] >= "2026-01-01")
        crm.loc[stray, ["product_code", "_plant"]] = ["cor -05", "code_normalised"]
        look = crm[(crm["customer"] == "C01K") & (crm["sku"] == "GAR-03")].tail(3).copy()
        look["order_id"] = [f"SO-{len(orders) + i:07d}" for i in range(1, 4)]
        look["order_line"] = 1
        look["order_date"] = END - pd.Timedelta(days=2)
        look["requested_date"] = END + pd.to_timedelta([2, 9, 16], "D")
        look[["product_code", "status", "_plant"]] = ["GAR-O3", "open", "code_unmapped"]
        look["sku"] = None
        crm = pd.concat([crm, look], ignore_index=True)
    t["crm_orders"] = crm

    # --- ERP deliveries and invoices: from go-live, every line shipped on its requested day ---
    ship = crm[(crm["status"] == "shipped") & (crm["requested_date"] >= ERP_START)].copy()
    ship = ship.sort_values(["requested_date", "customer", "order_id", "order_line"], ignore_index=True)
    ship["hub"] = ship["customer"].str[1:3].radd("M").map(markets["hub"])
    ship["units"] = ship["qty"] * np.where(ship["uom"] == "CS", ship["sku"].map(case_size), 1)
    ship["item_number"] = item_of(ship["sku"], ship["requested_date"])
    deliveries = ship[["requested_date", "customer"]].drop_duplicates(ignore_index=True)
    deliveries["delivery_id"] = [f"DL-{i:07d}" for i in range(1, len(deliveries) + 1)]
    deliveries["invoice_id"] = [f"IN-{i:07d}" for i in range(1, len(deliveries) + 1)]
    ship = ship.merge(deliveries, on=["requested_date", "customer"])
    ship["delivery_line"] = ship.groupby("delivery_id").cumcount() + 1
    ship["ship_date"] = ship["requested_date"]
    ship["warehouse"] = ship["hub"].map(ERP_WAREHOUSE)
    ship["_plant"] = ""
    shipments = ship.copy()
    if plants:
        i = shipments.index[(shipments["uom"] == "CS") & (shipments["qty"] >= 2)][100]
        shipments.loc[i, ["uom", "_plant"]] = ["EA", "units_mismatch"]
        j = shipments.index[shipments["uom"] == "EA"][2000]
        shipments.loc[j, "_plant"] = "missing_in_wms"
    t["erp_shipments"] = shipments

    invoices = ship.assign(doc_type="invoice", invoice_line=ship["delivery_line"], invoice_date=ship["ship_date"],
                           qty=ship["units"], _plant="")
    returned = invoices.sample(frac=RETURN_SHARE, random_state=SEED + 1).copy()
    returned["invoice_date"] = returned["invoice_date"] + pd.to_timedelta(rng.integers(5, 21, len(returned)), "D")
    returned = returned[returned["invoice_date"] <= END].sort_values(["invoice_date", "invoice_id"])
    returned["qty"] = -np.minimum(returned["qty"], rng.integers(1, 4, len(returned)))
    returned["invoice_id"] = [f"CN-{i:07d}" for i in range(1, len(returned) + 1)]
    returned[["doc_type", "invoice_line"]] = ["credit_note", 1]
    returned["item_number"] = item_of(returned["sku"], returned["invoice_date"])
    invoices = pd.concat([invoices, returned], ignore_index=True)
    if plants:
        i = invoices.index[(invoices["currency"] == "USD") & (invoices["doc_type"] == "invoice")][5000]
        invoices.loc[i, "unit_price"] = int(round(invoices.loc[i, "unit_price"] * 1.05))
        invoices.loc[i, "_plant"] = "price_off_list"
        k = invoices.index[invoices["doc_type"] == "credit_note"][10]
        invoices.loc[k, "_plant"] = "return_missing_in_wms"
    invoices["amount"] = invoices["qty"] * invoices["unit_price"]
    t["erp_invoices"] = invoices

    # --- GL: one journal per billing document, revenue then cost of goods sold ---
    docs = invoices.assign(cogs=invoices["qty"] * invoices["sku"].map(cost_cents)).groupby(
        "invoice_id", sort=False).agg(date=("invoice_date", "first"), currency=("currency", "first"),
                                      amount=("amount", "sum"), cogs=("cogs", "sum"), _plant=("_plant", "first"))
    docs = docs.sort_values(["date"], kind="stable")
    rate = t["gl_fx_rates"].set_index("month")["rate"]
    month_rate = docs["date"].dt.to_period("M").dt.start_time.map(rate)
    docs["revenue"] = np.where(docs["currency"] == "EUR", functional_cents(docs["amount"], month_rate),
                               docs["amount"])
    docs["posting_date"] = docs["date"]
    docs["_plant"] = ""
    if plants:
        period_ends = set(t["gl_periods"]["end"] - pd.Timedelta(days=1))  # a period's last weekday: a Friday
        late = docs.index[docs["date"].isin(period_ends) & (docs.index.str.startswith("IN-"))][3]
        docs.loc[late, ["posting_date", "_plant"]] = [docs.loc[late, "date"] + pd.Timedelta(days=3), "invoice_cutoff"]
        eur = docs.index[docs["currency"] == "EUR"][700]
        docs.loc[eur, ["revenue", "_plant"]] = [docs.loc[eur, "amount"], "fx_unconverted"]
    docs["journal_id"] = [f"JE-{i:07d}" for i in range(1, len(docs) + 1)]
    gl = pd.concat([
        pd.DataFrame({"journal_id": docs["journal_id"], "journal_line": 1, "account": REVENUE,
                      "amount": docs["revenue"], "_plant": docs["_plant"]}),
        pd.DataFrame({"journal_id": docs["journal_id"], "journal_line": 2, "account": COGS,
                      "amount": docs["cogs"], "_plant": ""})]).reset_index(names="document")
    gl = gl.merge(docs[["journal_id", "posting_date"]], on="journal_id")
    if plants:
        twice = gl[(gl["account"] == REVENUE)].iloc[[9000]].assign(
            journal_id=f"JE-{len(docs) + 1:07d}", _plant="duplicate_posting")
        gl = pd.concat([gl, twice], ignore_index=True)
    fiscal = FISCAL.of(pd.DatetimeIndex(gl["posting_date"]))
    gl["fiscal_year"], gl["fiscal_period"] = fiscal["fiscal_year"].to_numpy(), fiscal["fiscal_period"].to_numpy()
    t["gl_postings"] = gl

    # --- WMS: issues per delivery line, Monday receipts of last week's issues, returns ---
    issues = ship.assign(date=ship["ship_date"], kind="issue", qty_units=ship["units"], _plant=shipments["_plant"],
                         reference=ship["delivery_id"] + "/" + ship["delivery_line"].astype(str))
    credits = invoices[invoices["doc_type"] == "credit_note"]
    back = credits.assign(date=credits["invoice_date"], kind="return", qty_units=-credits["qty"],
                          hub=credits["customer"].str[1:3].radd("M").map(markets["hub"]),
                          reference=credits["invoice_id"] + "/1")
    week = issues["date"] - pd.to_timedelta(issues["date"].dt.weekday, "D")
    receipts = issues.assign(date=week + pd.Timedelta(days=7)).groupby(["hub", "sku", "date"], as_index=False)[
        "qty_units"].sum()
    receipts = receipts[receipts["date"] <= END].assign(kind="receipt", _plant="")
    receipts["reference"] = "REPL-" + receipts["date"].dt.strftime("%Y%m%d")
    moves = pd.concat([issues, back, receipts], ignore_index=True)
    moves = moves[~moves["_plant"].isin(["missing_in_wms", "return_missing_in_wms"])]
    moves = moves.sort_values(["date", "hub", "kind", "sku", "reference"], ignore_index=True)
    moves["movement_id"] = [f"MV-{i:08d}" for i in range(1, len(moves) + 1)]
    moves["warehouse"] = moves["hub"].map(WMS_WAREHOUSE)
    moves["item"] = item_of(moves["sku"], moves["date"])
    moves["_plant"] = ""
    t["wms_movements"] = moves

    t |= _plants_and_purchasing(rng, network, receipts, item_of, plants)

    days = pd.date_range(ERP_START, END)
    signed = moves["qty_units"].where(moves["kind"] != "issue", -moves["qty_units"])
    flow = signed.groupby([moves["hub"], moves["sku"], moves["date"]]).sum()
    grid = pd.MultiIndex.from_product([initial.index.levels[0], initial.index.levels[1], days],
                                      names=["hub", "sku", "date"])
    flow = flow.reindex(grid, fill_value=0)
    weekly_out = issues.groupby(["hub", "sku", week])["qty_units"].sum().groupby(["hub", "sku"]).max()
    opening = initial + weekly_out.reindex(initial.index, fill_value=0)
    on_hand = flow.groupby(["hub", "sku"]).cumsum() + opening.reindex(grid.droplevel("date")).to_numpy()
    onhand = on_hand.rename("on_hand_units").reset_index()
    onhand["warehouse"] = onhand["hub"].map(WMS_WAREHOUSE)
    onhand["item"] = item_of(onhand["sku"], onhand["date"])
    t["wms_onhand"] = onhand.assign(snapshot_date=onhand["date"], _plant="")

    stock = onhand[onhand["date"].dt.is_month_end].copy()
    stock = stock.assign(month_end=stock["date"], warehouse=stock["hub"].map(ERP_WAREHOUSE),
                         item_number=stock["item"], _plant="")
    if plants:
        i = stock.index[(stock["on_hand_units"] >= 12)][400]
        stock.loc[i, ["on_hand_units", "_plant"]] = [stock.loc[i, "on_hand_units"] - 12, "stock_mismatch"]
    t["erp_stock"] = stock

    aliases = [("sku", "erp", item_number(s), s, ERP_START, None) for s in products.index]
    if changed:
        aliases = [a if a[3] != CHANGED_SKU else a[:5] + (CHANGE_DAY - pd.Timedelta(days=1),) for a in aliases]
        aliases.append(("sku", "erp", CHANGED_ITEM, CHANGED_SKU, CHANGE_DAY, None))
    for system, codes in (("erp", ERP_WAREHOUSE), ("wms", WMS_WAREHOUSE)):
        aliases += [("site", system, code, hub, ERP_START, None) for hub, code in codes.items()]
    t["aliases"] = pd.DataFrame(aliases, columns=["kind", "source", "code", "maps_to", "valid_from", "valid_to"]).assign(
        confirmed_by="master data team", confirmed_on=ERP_START - pd.Timedelta(days=14), _plant="")
    if changed:
        t["aliases"].loc[t["aliases"]["maps_to"] == CHANGED_SKU, ["confirmed_on", "_plant"]] = [
            CHANGE_DAY - pd.Timedelta(days=10), "code_changed"]

    out: dict[str, pd.DataFrame] = {}
    for name, spec in EXTRACTS.items():
        if name not in t:  # the planner's adjustment log: the systems' extracts do not make one
            continue
        frame = t[name].sort_values(list(spec.key), kind="stable", ignore_index=True)
        for col in spec.columns:
            if col.kind == "money":
                frame[col.name] = _decimal(frame[col.name])
        out[name] = frame[[c.name for c in spec.columns] + (["_plant"] if "_plant" in frame else [])]
    return {n: f.drop(columns="_plant", errors="ignore") for n, f in out.items()}, _plants(out) if plants else []


def _plants_and_purchasing(rng: np.random.Generator, network: Path, receipts: pd.DataFrame, item_of,
                           plants: bool) -> dict[str, pd.DataFrame]:
    """MES production and downtime, ERP purchase orders and receipts: what a Monday's hub
    receipts were made of, on the SKU's primary line (its fastest routing), Monday to
    Friday of the week before; the materials of each week's production ordered from their
    supplier a lane's lead time and a week ahead, received on the promised day or, with
    the supplier's unreliability, its late days after."""
    routings = pd.read_csv(network / "routings.csv")
    lines = pd.read_csv(network / "lines.csv").set_index("line")
    suppliers = pd.read_csv(network / "suppliers.csv").set_index("supplier")
    lanes = pd.read_csv(network / "lanes.csv")
    bom = pd.read_csv(network / "bom.csv")
    source = pd.read_csv(network / "supplier_materials.csv").drop_duplicates("material").set_index("material")["supplier"]
    primary = routings.sort_values(["sku", "hours_per_unit", "line"]).drop_duplicates("sku").set_index("sku")["line"]
    made = receipts.groupby(["sku", "date"], as_index=False)["qty_units"].sum()
    made = made.loc[made.index.repeat(5)].reset_index(drop=True)
    weekday = np.tile(np.arange(5), len(made) // 5)
    made["date"] = made["date"] - pd.Timedelta(days=7) + pd.to_timedelta(weekday, "D")
    made["qty_good_units"] = made["qty_units"] // 5 + (weekday < made["qty_units"] % 5)
    made = made[(made["qty_good_units"] > 0) & (made["date"] >= ERP_START)].copy()
    made["line"] = made["sku"].map(primary)
    made["item_number"] = item_of(made["sku"], made["date"])
    made["_plant"] = ""
    production = made.copy()
    if plants:
        i = production.index[3000]
        production.loc[i, ["qty_good_units", "_plant"]] = [2 * production.loc[i, "qty_good_units"],
                                                          "production_double_booked"]

    weeks = pd.date_range(ERP_START + pd.Timedelta(days=1), END, freq="7D")  # Mondays
    down = []
    for line, row in lines.iterrows():
        stops = rng.poisson(row["hours_per_week"] / row["mtbf_hours"], len(weeks))
        for week, n in zip(weeks, stops):
            down += [(line, week + pd.Timedelta(days=int(d)), max(0.1, round(float(h), 1)), "breakdown")
                     for d, h in zip(rng.integers(0, 5, n), rng.exponential(row["mttr_hours"], n))]
        down += [(line, w + pd.Timedelta(days=5), 8.0, "maintenance") for w in weeks if w.day <= 7]
    downtime = pd.DataFrame(down, columns=["line", "start", "hours", "cause"]).sort_values(
        ["start", "line"], kind="stable", ignore_index=True)
    downtime["event_id"] = [f"DT-{i:06d}" for i in range(1, len(downtime) + 1)]

    need = made.merge(bom, on="sku")
    need["qty_units"] = need["qty_good_units"] * need["qty_per_unit"]
    need["plant"] = need["line"].map(lines["plant"])
    need["week"] = need["date"] - pd.to_timedelta(need["date"].dt.weekday, "D")
    po = need.groupby(["plant", "material", "week"], as_index=False)["qty_units"].sum()
    po["supplier"] = po["material"].map(source)
    lead = lanes.set_index(["origin", "destination"])["lead_time_days"]
    po["lead"] = [int(np.ceil(lead[(s_, p_)])) for s_, p_ in zip(po["supplier"], po["plant"])]
    po["promised_date"] = po["week"] - pd.Timedelta(days=3)  # the Friday before the week of use
    po["order_date"] = po["promised_date"] - pd.to_timedelta(po["lead"] + 7, "D")
    po = po[po["order_date"] >= ERP_START].sort_values(["order_date", "supplier", "plant", "material"],
                                                       ignore_index=True)
    heads = po[["order_date", "supplier"]].drop_duplicates(ignore_index=True)
    heads["po_id"] = [f"PO-{i:06d}" for i in range(1, len(heads) + 1)]
    po = po.merge(heads, on=["order_date", "supplier"])
    po["po_line"] = po.groupby("po_id").cumcount() + 1
    po["qty_units"] = po["qty_units"].round().astype(np.int64)
    late = rng.random(len(po)) > po["supplier"].map(suppliers["reliability"]).to_numpy()
    po["receipt_date"] = po["promised_date"] + pd.to_timedelta(
        np.where(late, po["supplier"].map(suppliers["late_days"]), 0), "D")
    received = po[po["receipt_date"] <= END].copy()
    received["receipt_id"] = [f"GR-{i:06d}" for i in range(1, len(received) + 1)]
    received["_plant"] = ""
    if plants:
        i = received.index[500]
        received.loc[i, ["qty_units", "_plant"]] = [int(received.loc[i, "qty_units"] * 0.9), "receipt_short"]
    return {"mes_production": production, "mes_downtime": downtime, "erp_purchase_orders": po,
            "erp_receipts": received}


def _decimal(cents: pd.Series) -> pd.Series:
    cents = cents.astype(np.int64)
    sign = np.where(cents < 0, "-", "")
    return sign + (cents.abs() // 100).astype(str) + "." + (cents.abs() % 100).astype(str).str.zfill(2)


DESCRIPTIONS = {
    "code_normalised": ("sku_code_normalised", "the CRM account C03K's product code for COR-05 is typed 'cor -05' "
                        "(case and a stray space): mapped by rule, reported as information"),
    "code_unmapped": ("sku_code_unmapped", "three open orders of C01K for 'GAR-O3' (the letter O): no SKU is "
                      "spelled so; GAR-03 is suggested, and the lines are kept out of demand until confirmed"),
    "code_changed": ("sku_code_changed", f"{CHANGED_SKU}'s ERP item number changes to {CHANGED_ITEM} on "
                     f"{CHANGE_DAY.date()}: the same SKU under two codes, confirmed in aliases.csv"),
    "units_mismatch": ("orders_vs_shipments", "a delivery line of an order in cases is booked with the number of "
                       "cases as eaches"),
    "missing_in_wms": ("shipments_vs_wms", "a delivery line the WMS has no goods issue for"),
    "price_off_list": ("invoice_price", "an invoice line priced 5 % above the price list"),
    "return_missing_in_wms": ("returns_vs_wms", "a credit note for a return the WMS never received"),
    "invoice_cutoff": ("invoices_vs_gl", "an invoice dated the last weekday of a fiscal period, posted in the next"),
    "fx_unconverted": ("invoices_vs_gl", "a euro invoice posted to revenue in euros, unconverted"),
    "duplicate_posting": ("invoices_vs_gl", "an invoice's revenue posted twice"),
    "stock_mismatch": ("stock_wms_vs_erp", "an ERP month-end stock 12 units below the WMS count of that day"),
    "production_double_booked": ("production_vs_receipts", "a line's day of production booked twice in the MES"),
    "receipt_short": ("receipts_vs_orders", "a goods receipt 10 % short of its purchase order line"),
}


def _plants(tables: dict[str, pd.DataFrame]) -> list[Plant]:
    found = []
    for name, frame in tables.items():
        if "_plant" not in frame:
            continue
        for plant, rows in frame.index[frame["_plant"] != ""].groupby(frame.loc[frame["_plant"] != "", "_plant"]).items():
            check, description = DESCRIPTIONS[plant]
            found.append(Plant(plant, check, EXTRACTS[name].file, tuple(int(i) + 2 for i in rows), description))
    return sorted(found, key=lambda p: list(DESCRIPTIONS).index(p.plant))


def write(folder: Path = HERE, plants: bool = True) -> list[Plant]:
    """Write every extract into ``folder`` and, with ``plants``, ``plants.csv`` listing them."""
    tables, planted = build(plants)
    for name, frame in tables.items():
        frame.to_csv(folder / EXTRACTS[name].file, index=False, date_format="%Y-%m-%d")
    if plants:
        pd.DataFrame([(p.plant, p.check, p.file, " ".join(map(str, p.rows)), p.description) for p in planted],
                     columns=["plant", "check", "file", "rows", "description"]).to_csv(folder / "plants.csv",
                                                                                       index=False)
    return planted


if __name__ == "__main__":
    for p in write():
        print(f"{p.plant}: {p.file} line(s) {', '.join(map(str, p.rows[:5]))}{' …' if len(p.rows) > 5 else ''}")
