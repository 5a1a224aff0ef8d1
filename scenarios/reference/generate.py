"""Generate the reference network: a fictional pump manufacturer, "Northwind Pumps".

Run from the repository root to rewrite every CSV in this folder::

    .venv/bin/python scenarios/reference/generate.py

The output is deterministic (fixed seed); the CSVs are committed and are the source of
truth a scenario reads. ``README.md`` beside this file documents the assumptions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from twin.network import expected_columns

SEED = 20261122
HERE = Path(__file__).parent
HORIZON_START = pd.Timestamp("2027-01-04")  # the Monday the shipped scenarios plan from
HISTORY_WEEKS = 156
SKUS_PER_FAMILY = 8

# family: (name, demand pattern, standard cost as a share of price, fill-rate target)
FAMILIES = {
    "CORE": ("Circulator pumps", "smooth seasonal (winter heating peak)", 0.55, 0.97),
    "GARDEN": ("Garden pumps", "promotion-driven, summer peak", 0.62, 0.95),
    "SPARES": ("Spare-part kits", "intermittent", 0.35, 0.92),
    "CUSTOM": ("Custom fittings", "erratic long tail", 0.30, 0.90),
    "LEGACY": ("Legacy controllers", "declining, end of life", 0.55, 0.90),
}
LOGISTICS_PER_UNIT = 4.0  # average inbound, plant-to-hub and delivery cost, in the standard cost
# family: [(primary line, alternative line, SKUs 1..k on it)], so that every line has work of its own
ROUTES = {
    "CORE": [("L1", "L7", 5), ("L7", "L1", 8)], "GARDEN": [("L3", "L4", 5), ("L4", "L3", 8)],
    "SPARES": [("L5", "L9", 8)], "CUSTOM": [("L6", "L9", 5), ("L9", "L6", 8)],
    "LEGACY": [("L8", "L2", 4), ("L2", "L8", 8)],
}


def lines_for(family: str, k: int) -> tuple[str, str]:
    """Primary and alternative line of the k-th SKU (1-based) of a family."""
    return next((p, a) for p, a, last in ROUTES[family] if k <= last)
# line: (plant, name, target utilisation at mean horizon demand, regular hours per week)
LINES = {
    "L1": ("P1", "Line 1 - pump assembly A", 0.78, 120),
    "L2": ("P1", "Line 2 - controller cell", 0.74, 80),
    "L3": ("P1", "Line 3 - garden pump assembly", 0.93, 80),  # the bottleneck
    "L4": ("P2", "Line 4 - garden pump assembly B", 0.72, 80),
    "L5": ("P2", "Line 5 - kitting", 0.70, 80),
    "L6": ("P2", "Line 6 - machining", 0.82, 120),
    "L7": ("P3", "Line 7 - pump assembly B", 0.85, 80),
    "L8": ("P3", "Line 8 - electronics", 0.76, 80),
    "L9": ("P3", "Line 9 - flexible cell", 0.80, 80),
}
PLANTS = {"P1": "Plant Leeds", "P2": "Plant Lyon", "P3": "Plant Poznan"}
HUBS = {"H1": "Hub North (Manchester)", "H2": "Hub South (Marseille)", "H3": "Hub East (Berlin)"}
# market: (name, hub, unmet demand, size multiplier)
MARKETS = {
    "M01": ("UK North", "H1", "backorder", 1.4), "M02": ("UK South", "H1", "backorder", 1.6),
    "M03": ("Ireland", "H1", "lost_sales", 0.6), "M04": ("Nordics", "H1", "backorder", 0.9),
    "M05": ("France", "H2", "backorder", 1.5), "M06": ("Iberia", "H2", "lost_sales", 1.0),
    "M07": ("Italy", "H2", "backorder", 1.1), "M08": ("Benelux", "H2", "lost_sales", 0.7),
    "M09": ("Germany", "H3", "backorder", 1.6), "M10": ("Poland", "H3", "backorder", 0.8),
    "M11": ("Austria & Swiss", "H3", "lost_sales", 0.6), "M12": ("Czechia & Slovakia", "H3", "backorder", 0.5),
}
# material: (name, cost per unit, supplier)
MATERIALS = {
    "STEEL": ("Steel housings", 12.0, "S1"), "RESIN": ("Polymer resin (kg)", 4.0, "S2"),
    "MOTOR": ("Electric motors", 45.0, "S3"), "PCB": ("Control boards", 22.0, "S4"),
}
# days customers take to pay, by market: as trade credit runs in each country (longer in the south)
MARKET_TERMS_DAYS = {"M01": 30, "M02": 30, "M03": 30, "M04": 30, "M05": 60, "M06": 60, "M07": 60, "M08": 45,
                     "M09": 30, "M10": 45, "M11": 30, "M12": 45}
SUPPLIER_TERMS = {"S1": (30, 0.0), "S2": (45, 0.0), "S3": (60, 0.3), "S4": (30, 0.0)}  # days, share paid on dispatch
SUPPLIERS = {  # supplier: (name, reliability, late days, port or "")
    "S1": ("Sheffield Steelworks", 0.97, 3, ""), "S2": ("Rhein Polymers", 0.95, 4, ""),
    "S3": ("Guangdong Motor Co.", 0.85, 7, "PORT1"), "S4": ("Brno Electronics", 0.96, 3, ""),
}
BOM = {  # family: {material: qty per unit}
    "CORE": {"STEEL": 2, "MOTOR": 1, "PCB": 1}, "GARDEN": {"RESIN": 3, "MOTOR": 1},
    "SPARES": {"STEEL": 1, "RESIN": 1}, "CUSTOM": {"STEEL": 3}, "LEGACY": {"PCB": 2, "RESIN": 1},
}
PLANT_HUB_DAYS = {("P1", "H1"): 1, ("P1", "H2"): 3, ("P1", "H3"): 3, ("P2", "H1"): 3, ("P2", "H2"): 1,
                  ("P2", "H3"): 2, ("P3", "H1"): 3, ("P3", "H2"): 3, ("P3", "H3"): 1}


def weekly_demand(rng: np.random.Generator, family: str, weeks: pd.DatetimeIndex, level: float,
                  promo: np.ndarray) -> np.ndarray:
    """Weekly units for one SKU x market: the family's pattern times noise.

    ``level`` is the mean weekly demand at the start of the history; ``promo`` the
    discount (0-1) in each week.
    """
    t = np.arange(len(weeks))
    woy = weeks.isocalendar().week.to_numpy().astype(float)
    if family == "CORE":  # +-30 % around the level, peak in week 2, slight growth
        mean = level * (1 + 0.3 * np.cos(2 * np.pi * (woy - 2) / 52)) * (1 + 0.04 * t / 52)
        return rng.poisson(mean)
    if family == "GARDEN":  # summer peak, promotion uplift 1 + 5 x discount, a dip the week after
        mean = level * (1 + 0.5 * np.cos(2 * np.pi * (woy - 27) / 52))
        after = np.concatenate([[0.0], promo[:-1]]) > 0
        mean = mean * (1 + 5 * promo) * np.where(after & (promo == 0), 0.75, 1.0)
        return rng.negative_binomial(20, 20 / (20 + mean))
    if family == "SPARES":  # Croston-type: occurrence probability and order size
        occurs = rng.random(len(t)) < min(0.35, 0.12 * level)
        return occurs * (1 + rng.poisson(3, len(t)))
    if family == "CUSTOM":  # frequent orders, very variable size (CV^2 well above 0.49)
        occurs = rng.random(len(t)) < 0.7
        return occurs * np.round(rng.lognormal(np.log(level), 1.0, len(t))).astype(int)
    if family == "LEGACY":  # end of life: -45 % a year
        return rng.poisson(level * np.exp(np.log(0.55) * t / 52))
    raise ValueError(family)


def build(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    weeks_all = pd.date_range(HORIZON_START - pd.Timedelta(weeks=HISTORY_WEEKS), periods=HISTORY_WEEKS + 52,
                              freq="7D")
    history_weeks = weeks_all[:HISTORY_WEEKS]

    products, routings, bom, promos, rows = [], [], [], [], []
    base_level = {"CORE": 40, "GARDEN": 14, "SPARES": 2.0, "CUSTOM": 3, "LEGACY": 30}
    line_of: dict[str, tuple[str, str]] = {}
    for family, (fname, _, _, _) in FAMILIES.items():
        for k in range(1, SKUS_PER_FAMILY + 1):
            sku = f"{family[:3]}-{k:02d}"
            line_of[sku] = lines_for(family, k)
            products.append(dict(sku=sku, name=f"{fname[:-1]} {k:02d}", family=family))
            for material, qty in BOM[family].items():
                bom.append(dict(sku=sku, material=material, qty_per_unit=qty))
            sku_level = base_level[family] * rng.lognormal(0, 0.35)
            for market, (_, hub, _, size) in MARKETS.items():
                promo = np.zeros(len(weeks_all))
                if family == "GARDEN":  # 5 promoted weeks a year, chosen per SKU and hub region
                    region_rng = np.random.default_rng([SEED, k, int(hub[1])])
                    for year in range(len(weeks_all) // 52 + 1):
                        picks = region_rng.choice(np.arange(year * 52 + 8, year * 52 + 44), 5, replace=False)
                        disc = region_rng.choice([0.15, 0.20, 0.25, 0.30], 5)
                        promo[picks[picks < len(weeks_all)]] = disc[picks < len(weeks_all)]
                    for w in np.flatnonzero(promo):
                        promos.append(dict(sku=sku, market=market, week=weeks_all[w].date(),
                                           discount_pct=round(100 * promo[w])))
                qty = weekly_demand(rng, family, history_weeks, sku_level * size, promo[:HISTORY_WEEKS])
                rows.append(pd.DataFrame(dict(sku=sku, market=market, week=history_weeks.date, qty=qty)))
    history = pd.concat(rows, ignore_index=True)
    products = pd.DataFrame(products)

    # Size the lines on the last 52 weeks (a full seasonal cycle), which is what the baseline's
    # empirical demand model resamples: hours per unit are set so that each line runs at its
    # target utilisation on regular time. (A forecast that sees LEGACY's decline will find
    # its lines under-used: the end-of-life story the planners should see.)
    family_of = products.set_index("sku")["family"]
    recent = history[history["week"] >= history_weeks[-52].date()]
    weekly_units = recent.groupby("sku")["qty"].sum() / 52
    line_units = weekly_units.groupby(pd.Series({s: p for s, (p, _) in line_of.items()})).sum()
    for sku in family_of.index:
        primary, alternative = line_of[sku]
        _, _, util, hours = LINES[primary]
        hpu = util * hours / line_units[primary]
        routings.append(dict(line=primary, sku=sku, hours_per_unit=round(hpu, 4)))
        routings.append(dict(line=alternative, sku=sku, hours_per_unit=round(hpu * 1.25, 4)))
    lines = pd.DataFrame([
        dict(line=line, plant=plant, name=name, hours_per_week=hours, overtime_hours_per_week_max=16 if hours >= 120 else 24,
             cost_per_hour=round(float(rng.uniform(55, 85)), 0), overtime_cost_per_hour=0.0,
             mtbf_hours=round(float(rng.uniform(150, 400))), mttr_hours=round(float(rng.uniform(2, 6)), 1))
        for line, (plant, name, util, hours) in LINES.items()])
    lines["overtime_cost_per_hour"] = (lines["cost_per_hour"] * 1.5).round(0)

    # Standard cost = materials through the BOM + primary-line hours at the line's rate +
    # logistics; price = standard cost / the family's cost share, +-10 % per SKU.
    material_cost = {m: c for m, (_, c, _) in MATERIALS.items()}
    rate = lines.set_index("line")["cost_per_hour"]
    primary_hpu = {r["sku"]: r["hours_per_unit"] * rate[r["line"]] for r in routings if r["line"] == line_of[r["sku"]][0]}
    std = pd.Series({sku: sum(q * material_cost[m] for m, q in BOM[fam].items()) + primary_hpu[sku] + LOGISTICS_PER_UNIT
                     for sku, fam in family_of.items()})
    products["cost_per_unit"] = std[products["sku"]].round(2).to_numpy()
    share = products["family"].map(lambda f: FAMILIES[f][2])
    products["price_per_unit"] = (products["cost_per_unit"] / share * rng.uniform(0.9, 1.1, len(products))).round(2)
    products["shortage_cost_per_unit"] = (products["price_per_unit"] * 0.1).round(2)

    # Hub policies: base-stock for steady families, (s,S) for spares, (r,Q) for custom fittings.
    # Levels cover the replenishment lead time plus the review period at a 95 % z of 1.65.
    market_hub = {m: v[1] for m, v in MARKETS.items()}
    by_hub = recent.assign(hub=recent["market"].map(market_hub)).groupby(["hub", "sku", "week"])["qty"].sum()
    stats = by_hub.groupby(["hub", "sku"]).agg(["mean", "std"]) / 7  # per day
    policies = []
    for (hub, sku), (mu, sd) in stats.iterrows():
        fam = family_of[sku]
        plant = LINES[line_of[sku][0]][0]
        cover = PLANT_HUB_DAYS[(plant, hub)] + 4 + 1  # lane + ~4 days at the line + 1-day review
        sd_day = sd * np.sqrt(7)  # sd of weekly demand / 7 -> sd of one day's, days independent
        safety = 1.65 * sd_day * np.sqrt(cover)
        row = dict(hub=hub, sku=sku, source=plant, reorder_point_units="", order_up_to_units="",
                   order_quantity_units="")
        if fam == "SPARES":
            s = np.ceil(mu * cover + safety)
            row.update(policy="sS", reorder_point_units=s, order_up_to_units=s + max(2, np.ceil(mu * 14)))
            row["initial_units"] = row["order_up_to_units"]
        elif fam == "CUSTOM":
            r = np.ceil(mu * cover + safety)
            row.update(policy="rQ", reorder_point_units=r, order_quantity_units=max(2, np.ceil(mu * 7)))
            row["initial_units"] = r + row["order_quantity_units"]
        else:
            row.update(policy="base_stock", order_up_to_units=np.ceil(mu * cover + safety))
            row["initial_units"] = row["order_up_to_units"]
        policies.append(row)
    policies = pd.DataFrame(policies)
    for c in ("initial_units", "reorder_point_units", "order_up_to_units", "order_quantity_units"):
        policies[c] = pd.to_numeric(policies[c]).astype("Int64")
    capacity = policies.groupby("hub")["initial_units"].sum() * 2.5

    hubs = pd.DataFrame([dict(hub=h, name=n, storage_capacity_units=round(capacity[h], -2),
                              holding_cost_rate_per_year=0.22, review_period_days=1) for h, n in HUBS.items()])
    markets = pd.DataFrame([dict(market=m, name=n, hub=h, unmet_demand=u, fill_rate_target=0.95,
                                 payment_terms_days=MARKET_TERMS_DAYS[m], down_payment_share=0.0)
                            for m, (n, h, u, _) in MARKETS.items()])

    material_need = pd.DataFrame(bom)
    material_need["units"] = material_need["sku"].map(weekly_units) * material_need["qty_per_unit"]
    weekly_material = material_need.groupby("material")["units"].sum()
    supplier_materials = pd.DataFrame([
        dict(supplier=sup, material=m, capacity_units_per_week=round(weekly_material[m] * 1.6, -1))
        for m, (_, _, sup) in MATERIALS.items()])

    lanes = []
    plants_needing = {m: sorted({LINES[r["line"]][0] for r in routings
                                 if any(b["sku"] == r["sku"] and b["material"] == m for b in bom)})
                      for m in MATERIALS}
    for m, (_, _, sup) in MATERIALS.items():
        _, _, _, port = SUPPLIERS[sup]
        for plant in plants_needing[m]:
            sea = bool(port)
            lanes.append(dict(origin=sup, destination=plant, mode="sea" if sea else "road",
                              lead_time_days=35 if sea else 3, lead_time_sd_days=5 if sea else 1,
                              lead_time_distribution="lognormal", cost_per_unit=0.9 if sea else 0.4,
                              capacity_units_per_week="", via=port))
    for (plant, hub), days in PLANT_HUB_DAYS.items():
        lanes.append(dict(origin=plant, destination=hub, mode="road", lead_time_days=days,
                          lead_time_sd_days=0.5 if days > 1 else 0, lead_time_distribution="lognormal" if days > 1 else "fixed",
                          cost_per_unit=0.8 + 0.6 * days, capacity_units_per_week="", via=""))
    for hub in HUBS:
        lanes.append(dict(origin="X1", destination=hub, mode="road", lead_time_days=3, lead_time_sd_days=0.5,
                          lead_time_distribution="lognormal", cost_per_unit=2.5, capacity_units_per_week="", via=""))
        for other in HUBS:
            if other != hub:
                lanes.append(dict(origin=hub, destination=other, mode="road", lead_time_days=3, lead_time_sd_days=0.5,
                                  lead_time_distribution="lognormal", cost_per_unit=3.0,
                                  capacity_units_per_week=2000, via=""))
    for m, (_, hub, _, _) in MARKETS.items():
        lanes.append(dict(origin=hub, destination=m, mode="road", lead_time_days=1, lead_time_sd_days=0,
                          lead_time_distribution="fixed", cost_per_unit=1.2, capacity_units_per_week="", via=""))
    lanes = pd.DataFrame(lanes)
    lanes.insert(0, "lane", [f"LN{i + 1:02d}" for i in range(len(lanes))])

    garden = products.loc[products["family"].isin(["CORE", "GARDEN"]), ["sku", "cost_per_unit"]]
    return {
        "products": products,
        "families": pd.DataFrame([dict(family=f, name=n, fill_rate_target=t) for f, (n, _, _, t) in FAMILIES.items()]),
        "materials": pd.DataFrame([dict(material=m, name=n, cost_per_unit=c) for m, (n, c, _) in MATERIALS.items()]),
        "suppliers": pd.DataFrame([dict(supplier=s, name=n, reliability=r, late_days=d,
                                        payment_terms_days=SUPPLIER_TERMS[s][0], down_payment_share=SUPPLIER_TERMS[s][1])
                                   for s, (n, r, d, _) in SUPPLIERS.items()]),
        "supplier_materials": supplier_materials,
        "ports": pd.DataFrame([dict(port="PORT1", name="Port of Felixstowe")]),
        "plants": pd.DataFrame([dict(plant=p, name=n, material_cover_days=21) for p, n in PLANTS.items()]),
        "lines": lines,
        "routings": pd.DataFrame(routings),
        "bom": pd.DataFrame(bom),
        "hubs": hubs,
        "hub_policies": policies,
        "partners": pd.DataFrame([dict(partner="X1", name="Kestrel Contract Assembly", capacity_units_per_week=600,
                                       lead_time_days=10, payment_terms_days=30)]),
        "partner_skus": pd.DataFrame(dict(partner="X1", sku=garden["sku"],
                                          cost_per_unit=(garden["cost_per_unit"] * 1.35).round(2))),
        "markets": markets,
        "lanes": lanes,
        "demand_history": history,
        "promotions": pd.DataFrame(promos),
        "budget": budget(history, products),
        "opening_balances": opening_balances(history, products, weekly_material),
    }


def budget(history: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """The budget of the plan year (2027) per family and month: the units of the same month of
    the last history year, 3 % up; price and cost per unit the family's standard ones,
    weighted by those units."""
    last = history[pd.to_datetime(history["week"]).dt.year == 2026].merge(
        products[["sku", "family", "price_per_unit", "cost_per_unit"]], on="sku")
    last = last.assign(month=pd.to_datetime(last["week"]).dt.month, revenue=last["qty"] * last["price_per_unit"],
                       cost=last["qty"] * last["cost_per_unit"])
    g = last.groupby(["family", "month"])[["qty", "revenue", "cost"]].sum().reset_index()
    return pd.DataFrame({"family": g["family"], "month": [f"2027-{m:02d}-01" for m in g["month"]],
                         "volume_units": (g["qty"] * 1.03).round().astype(int), "price_per_unit": (g["revenue"] / g["qty"]).round(2),
                         "cost_per_unit": (g["cost"] / g["qty"]).round(2)})


OPENING_CASH = 2_000_000  # the bank balance at 2026-12-31


def opening_balances(history: pd.DataFrame, products: pd.DataFrame, weekly_material: pd.Series) -> pd.DataFrame:
    """The books at 2026-12-31: what a steady flow leaves open. Receivables: each market's
    revenue a day over the last four history weeks x its payment terms. Payables: each
    material's expected use a day at list price, less the down-payment, x its supplier's terms
    (the partner, idle in steady state, is owed nothing)."""
    last = history[pd.to_datetime(history["week"]) > pd.to_datetime(history["week"]).max() - pd.Timedelta(weeks=4)]
    revenue = (last["qty"] * last["sku"].map(products.set_index("sku")["price_per_unit"])).groupby(last["market"]).sum()
    receivables = sum(revenue[m] / 28 * MARKET_TERMS_DAYS[m] for m in MARKETS)
    payables = 0.0
    for m, (_, cost, sup) in MATERIALS.items():
        days, down = SUPPLIER_TERMS[sup]
        payables += weekly_material[m] / 7 * cost * (1 - down) * days
    return pd.DataFrame({"balance": ["cash", "receivables", "payables"],
                         "amount": [OPENING_CASH, round(receivables, 2), round(payables, 2)]})


def write(folder: Path) -> dict[str, int]:
    """Write every table of the reference network into ``folder``; rows per table."""
    tables = build(np.random.default_rng(SEED))
    for name, frame in tables.items():
        frame[expected_columns(name)].to_csv(folder / f"{name}.csv", index=False)
    return {name: len(frame) for name, frame in tables.items()}


if __name__ == "__main__":
    for table, rows in write(HERE).items():
        print(f"wrote {table}.csv ({rows} rows)")
