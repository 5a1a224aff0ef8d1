"""Small :class:`~optimizer.PlanData` instances written from a few numbers, for optimizer tests."""

from __future__ import annotations

import math

import pandas as pd

from optimizer import PlanData

INF = math.inf


def frame(rows: list[dict], key: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows).set_index(key)


def series(values: dict, key: list[str], name: str) -> pd.Series:
    if values and isinstance(next(iter(values)), tuple):
        index = pd.MultiIndex.from_tuples(list(values), names=key)
    else:
        index = pd.Index(list(values), name=key[0], dtype=object)
    return pd.Series(list(values.values()), index=index, name=name, dtype=float)


def lane(lane_id: str, origin: str, destination: str, cost: float = 0.0, lead: int = 0,
         capacity: float = INF) -> dict:
    return dict(lane=lane_id, origin=origin, destination=destination, lead_periods=lead, cost_per_unit=cost,
                capacity_units_per_period=capacity)


def skus(**prices_and_costs: tuple[float, float, float]) -> pd.DataFrame:
    """``sku=(price, backlog cost per unit-period, lost-sale cost per unit)``."""
    return frame([dict(sku=s, price_per_unit=p, backlog_cost_per_unit_period=b, lost_sale_cost_per_unit=lost)
                  for s, (p, b, lost) in prices_and_costs.items()], ["sku"])


def red_tomato() -> PlanData:
    """Red Tomato Tools, the aggregate-planning example of Chopra & Meindl, *Supply Chain
    Management: Strategy, Planning, and Operation*, chapter "Aggregate Planning in a Supply
    Chain" (Tables 8-1 and 8-2 in the 6th edition).

    Six months of demand (1,600, 3,000, 3,200, 3,800, 2,200, 2,200 tools); 80 workers at
    $640 per month (160 regular hours each); 4 labour hours per tool; overtime $6 per hour,
    at most 10 hours per worker per month; hiring $300, layoff $500 per worker;
    subcontracting $30 per tool; materials $10 per tool; holding $2 and backlog $5 per tool
    per month; 1,000 tools in stock at the start, at least 500 and no backlog at the end.
    """
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
    demand = [1600, 3000, 3200, 3800, 2200, 2200]
    return PlanData(
        periods=months, period_name="month",
        skus=skus(TOOL=(40.0, 5.0, 0.0)),
        lines=frame([dict(line="L", plant="P", cost_per_hour=0.0, overtime_cost_per_hour=6.0)], ["line"]),
        line_hours=frame([dict(line="L", period=m, regular_hours=1e9, overtime_hours_max=1e9) for m in months],
                         ["line", "period"]),
        routings=series({("L", "TOOL"): 4.0}, ["line", "sku"], "hours_per_unit"),
        hubs=frame([dict(hub="H", storage_capacity_units=1e9)], ["hub"]),
        hub_stock=frame([dict(hub="H", sku="TOOL", initial_units=1000.0, holding_cost_per_unit_period=2.0,
                              safety_stock_units=0.0, ending_min_units=500.0)], ["hub", "sku"]),
        markets=frame([dict(market="M", backorder=True)], ["market"]),
        demand=series({("M", "TOOL", m): q for m, q in zip(months, demand)}, ["market", "sku", "period"], "units"),
        lanes=frame([lane("SP", "S", "P"), lane("PH", "P", "H"), lane("XH", "X", "H"), lane("HM", "H", "M")],
                    ["lane"]),
        materials=series({"MAT": 10.0}, ["material"], "cost_per_unit"),
        bom=series({("TOOL", "MAT"): 1.0}, ["sku", "material"], "qty_per_unit"),
        supply=series({("S", "MAT"): 1e9}, ["supplier", "material"], "capacity_units_per_period"),
        partners=frame([dict(partner="X", capacity_units_per_period=1e9, lead_periods=0)], ["partner"]),
        partner_skus=series({("X", "TOOL"): 30.0}, ["partner", "sku"], "cost_per_unit"),
        workforce=frame([dict(plant="P", workers_initial=80.0, hours_per_worker=160.0,
                              overtime_hours_per_worker_max=10.0, cost_per_worker_period=640.0,
                              hire_cost_per_worker=300.0, layoff_cost_per_worker=500.0)], ["plant"]),
    )


def p_and_t() -> PlanData:
    """The P&T Company transportation problem of Hillier & Lieberman, *Introduction to
    Operations Research*, section 9.1 (Table 9.2): three canneries ship 75, 125 and 100
    truckloads of peas to four warehouses that need 80, 65, 70 and 85; the cost per
    truckload of each route is in the table below. Canneries are plants whose one line
    can make exactly their output; warehouses are hubs, each serving one market."""
    supply = {"C1": 75, "C2": 125, "C3": 100}
    need = {"W1": 80, "W2": 65, "W3": 70, "W4": 85}
    cost = {"C1": [464, 513, 654, 867], "C2": [352, 416, 690, 791], "C3": [995, 682, 388, 685]}
    lanes = [lane(f"{c}-{w}", c, w, cost[c][j]) for c in supply for j, w in enumerate(need)]
    lanes += [lane(f"{w}-M{w}", w, f"M{w}") for w in need]
    return PlanData(
        periods=[1], skus=skus(PEAS=(0.0, 1e4, 1e4)),
        lines=frame([dict(line=f"L{c}", plant=c, cost_per_hour=0.0, overtime_cost_per_hour=0.0) for c in supply],
                    ["line"]),
        line_hours=frame([dict(line=f"L{c}", period=1, regular_hours=float(q), overtime_hours_max=0.0)
                          for c, q in supply.items()], ["line", "period"]),
        routings=series({(f"L{c}", "PEAS"): 1.0 for c in supply}, ["line", "sku"], "hours_per_unit"),
        hubs=frame([dict(hub=w, storage_capacity_units=1e9) for w in need], ["hub"]),
        hub_stock=frame([dict(hub=w, sku="PEAS", initial_units=0.0, holding_cost_per_unit_period=0.0,
                              safety_stock_units=0.0, ending_min_units=0.0) for w in need], ["hub", "sku"]),
        markets=frame([dict(market=f"M{w}", backorder=True) for w in need], ["market"]),
        demand=series({(f"M{w}", "PEAS", 1): float(q) for w, q in need.items()}, ["market", "sku", "period"], "units"),
        lanes=frame(lanes, ["lane"]),
    )


def one_line(*, regular_hours: float = 10.0, overtime_hours: float = 5.0, partner_capacity: float = 20.0,
             demand: float = 20.0, backorder: bool = False, supplier_capacity: float = INF,
             hub_lane_closed: bool = False, transfer_lane_closed: bool = False) -> PlanData:
    """One period, one SKU: a line (1 h per unit; $1 regular, $2 overtime per hour), a partner
    ($4 per unit), one material per unit from one supplier, two hubs (H2 can reroute to H1),
    one market at H1 (lost sale $100 per unit; backlog $50 per unit-period)."""
    closed = [("PH1", 1)] if hub_lane_closed else []
    closed += [("H2H1", 1)] if transfer_lane_closed else []
    return PlanData(
        periods=[1], skus=skus(A=(150.0, 50.0, 100.0)),
        lines=frame([dict(line="L", plant="P", cost_per_hour=1.0, overtime_cost_per_hour=2.0)], ["line"]),
        line_hours=frame([dict(line="L", period=1, regular_hours=regular_hours, overtime_hours_max=overtime_hours)],
                         ["line", "period"]),
        routings=series({("L", "A"): 1.0}, ["line", "sku"], "hours_per_unit"),
        hubs=frame([dict(hub=h, storage_capacity_units=1e9) for h in ("H1", "H2")], ["hub"]),
        hub_stock=frame([dict(hub=h, sku="A", initial_units=0.0, holding_cost_per_unit_period=0.1,
                              safety_stock_units=0.0, ending_min_units=0.0) for h in ("H1", "H2")], ["hub", "sku"]),
        markets=frame([dict(market="M", backorder=backorder)], ["market"]),
        demand=series({("M", "A", 1): demand}, ["market", "sku", "period"], "units"),
        lanes=frame([lane("SP", "S", "P"), lane("PH1", "P", "H1", cost=0.5), lane("PH2", "P", "H2", cost=0.5),
                     lane("H2H1", "H2", "H1", cost=0.25), lane("XH1", "X", "H1"), lane("H1M", "H1", "M")], ["lane"]),
        materials=series({"K": 0.0}, ["material"], "cost_per_unit"),
        bom=series({("A", "K"): 1.0}, ["sku", "material"], "qty_per_unit"),
        supply=series({("S", "K"): supplier_capacity}, ["supplier", "material"], "capacity_units_per_period"),
        partners=frame([dict(partner="X", capacity_units_per_period=partner_capacity, lead_periods=0)], ["partner"]),
        partner_skus=series({("X", "A"): 4.0}, ["partner", "sku"], "cost_per_unit"),
        lane_closed=pd.MultiIndex.from_tuples(closed, names=["lane", "period"]),
        clear_backlog_at_end=backorder,
    )


def alike_markets() -> PlanData:
    """Six periods, two SKUs made on one short line (16 h a period, 1 h per unit, overtime
    8 h) at hub H: backorder markets B1-B3 and lost-sales markets L1-L2 served through
    lanes alike ($1 per unit, no lead), with demand peaking at different times, B2 owing
    5 units of A at the start; market C like B1 but $2 a unit away (a market of its own)."""
    peaks = {"B1": 1, "B2": 3, "B3": 4, "L1": 2, "L2": 5, "C": 3}
    demand = {(m, s, t): (6.0 if t == peak else 1.0) + (1.0 if s == "B" else 0.0)
              for m, peak in peaks.items() for s in ("A", "B") for t in range(1, 7)}
    markets = list(peaks)
    return PlanData(
        periods=list(range(1, 7)), skus=skus(A=(30.0, 2.0, 20.0), B=(40.0, 3.0, 25.0)),
        lines=frame([dict(line="L", plant="P", cost_per_hour=1.0, overtime_cost_per_hour=3.0)], ["line"]),
        line_hours=frame([dict(line="L", period=t, regular_hours=16.0, overtime_hours_max=8.0) for t in range(1, 7)],
                         ["line", "period"]),
        routings=series({("L", "A"): 1.0, ("L", "B"): 1.0}, ["line", "sku"], "hours_per_unit"),
        hubs=frame([dict(hub="H", storage_capacity_units=1e9)], ["hub"]),
        hub_stock=frame([dict(hub="H", sku=s, initial_units=4.0, holding_cost_per_unit_period=0.5,
                              safety_stock_units=0.0, ending_min_units=0.0) for s in ("A", "B")], ["hub", "sku"]),
        markets=frame([dict(market=m, backorder=not m.startswith("L")) for m in markets], ["market"]),
        demand=series(demand, ["market", "sku", "period"], "units"),
        lanes=frame([lane("PH", "P", "H", cost=0.5),
                     *(lane(f"H{m}", "H", m, cost=2.0 if m == "C" else 1.0) for m in markets)], ["lane"]),
        initial_backlog=series({("B2", "A"): 5.0}, ["market", "sku"], "units"),
    )
