"""What the capacity plan is built from: index sets and parameters as tables keyed by ID.

:class:`PlanData` knows no Pyomo, no SimPy and no YAML. Whoever calls the optimizer
(``twin.planning`` for a scenario, a test for a textbook instance) fills it with plain
pandas tables. Periods are opaque labels in order (weeks for a scenario, months in the
textbook tests); every rate and capacity is per period and every lead time is in periods:
a fraction (3 days in weekly periods: 3/7) splits a period's departures over the two
periods they land in; a lane to a market takes a whole number.

Sites share one ID space: a lane's ``origin`` and ``destination`` say what it carries.

==========================  ==================================================
lane from -> to             carries
==========================  ==================================================
supplier -> plant           materials the supplier sells and the plant uses
plant -> hub                SKUs the plant's lines can make
partner -> hub              SKUs the partner makes (outsourcing)
hub -> hub                  SKUs both hubs stock (rerouting)
hub -> market               SKUs the market demands
==========================  ==================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Literal

import pandas as pd


def _frame(index: list[str], **columns: type) -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    if len(index) == 1:
        return frame.set_index(pd.Index([], name=index[0], dtype=object))
    return frame.set_index(pd.MultiIndex.from_tuples([], names=index))


def _series(index: list[str], name: str) -> pd.Series:
    if len(index) == 1:
        return pd.Series(dtype=float, name=name, index=pd.Index([], name=index[0], dtype=object))
    return pd.Series(dtype=float, name=name, index=pd.MultiIndex.from_tuples([], names=index))


@dataclass(frozen=True)
class PlanData:
    """Index sets and parameters of the capacity-allocation LP.

    Every table is indexed by its key (single or multi-level). Missing rows mean "not
    possible" (a line without a routing row cannot make the SKU) or zero (no demand,
    no scheduled receipt), as each field says.
    """

    periods: list[Hashable]
    # products: price_per_unit, backlog_cost_per_unit_period, lost_sale_cost_per_unit
    skus: pd.DataFrame
    # line -> plant, cost_per_hour, overtime_cost_per_hour
    lines: pd.DataFrame
    # (line, period) -> regular_hours, overtime_hours_max (planned maintenance already taken off)
    line_hours: pd.DataFrame
    # (line, sku) -> hours_per_unit; a line makes only what it has a routing for
    routings: pd.Series
    # hub -> storage_capacity_units
    hubs: pd.DataFrame
    # (hub, sku) -> initial_units, holding_cost_per_unit_period, safety_stock_units, ending_min_units
    hub_stock: pd.DataFrame
    # market -> backorder (bool: True keeps unmet demand as backlog, False loses it)
    markets: pd.DataFrame
    # (market, sku, period) -> units; missing rows are zero
    demand: pd.Series
    # lane -> origin, destination, lead_periods (>= 0; whole to markets), cost_per_unit,
    # capacity_units_per_period (inf: none)
    lanes: pd.DataFrame
    # material -> cost_per_unit
    materials: pd.Series = field(default_factory=lambda: _series(["material"], "cost_per_unit"))
    # (sku, material) -> qty_per_unit
    bom: pd.Series = field(default_factory=lambda: _series(["sku", "material"], "qty_per_unit"))
    # (supplier, material) -> capacity_units_per_period
    supply: pd.Series = field(default_factory=lambda: _series(["supplier", "material"], "capacity_units_per_period"))
    # (plant, material) -> initial_units
    material_stock: pd.Series = field(default_factory=lambda: _series(["plant", "material"], "initial_units"))
    # (plant, material) -> holding cost per unit and period of material kept at the plant (missing: 0)
    material_holding: pd.Series = field(default_factory=lambda: _series(["plant", "material"], "cost"))
    # partner -> capacity_units_per_period, lead_periods (>= 0, order to dispatch)
    partners: pd.DataFrame = field(default_factory=lambda: _frame(["partner"], capacity_units_per_period=float,
                                                                  lead_periods=float))
    # (partner, sku) -> cost_per_unit
    partner_skus: pd.Series = field(default_factory=lambda: _series(["partner", "sku"], "cost_per_unit"))
    # (market, sku) -> units owed at the start
    initial_backlog: pd.Series = field(default_factory=lambda: _series(["market", "sku"], "units"))
    # (site, item, period) -> units already on their way that land at the site in the period:
    # materials at plants, SKUs at hubs
    receipts: pd.Series = field(default_factory=lambda: _series(["site", "item", "period"], "units"))
    # (material, period) and (lane, period) -> cost multiplier in that period (missing: 1)
    material_cost_factor: pd.Series = field(default_factory=lambda: _series(["material", "period"], "factor"))
    lane_cost_factor: pd.Series = field(default_factory=lambda: _series(["lane", "period"], "factor"))
    # (market, sku, period) -> multiplier on price_per_unit there (a pricing strategy; missing: 1)
    price_factor: pd.Series = field(default_factory=lambda: _series(["market", "sku", "period"], "factor"))
    # (lane, period) -> extra periods a departure in that period takes (a supplier running late)
    lead_extra: pd.Series = field(default_factory=lambda: _series(["lane", "period"], "periods"))
    # (lane, period) rows: the lane carries nothing in that period
    lane_closed: pd.Index = field(default_factory=lambda: pd.MultiIndex.from_tuples([], names=["lane", "period"]))
    # plant -> workers_initial, hours_per_worker, overtime_hours_per_worker_max, cost_per_worker_period,
    # hire_cost_per_worker, layoff_cost_per_worker; plants without a row have no workforce limit
    workforce: pd.DataFrame = field(default_factory=lambda: _frame(
        ["plant"], workers_initial=float, hours_per_worker=float, overtime_hours_per_worker_max=float,
        cost_per_worker_period=float, hire_cost_per_worker=float, layoff_cost_per_worker=float))
    period_name: str = "period"  # "week", "month": how the bottleneck list names periods
    objective: Literal["cost", "margin"] = "cost"
    clear_backlog_at_end: bool = True
    # below a hub's safety stock the plan pays this per unit and period (relative to backlog cost)
    safety_shortfall_cost_ratio: float = 0.5
    integer_workforce: bool = False

    # --- derived index sets ---------------------------------------------------------------

    @property
    def plants(self) -> list[str]:
        return sorted(set(self.lines["plant"]))

    @property
    def suppliers(self) -> list[str]:
        return sorted(set(self.supply.index.get_level_values("supplier")))

    def site_kinds(self) -> dict[str, str]:
        """Every site ID mapped to ``supplier``, ``plant``, ``partner``, ``hub`` or ``market``."""
        kinds = {s: "supplier" for s in self.suppliers}
        kinds |= {p: "plant" for p in self.plants}
        kinds |= {x: "partner" for x in self.partners.index}
        kinds |= {h: "hub" for h in self.hubs.index}
        kinds |= {m: "market" for m in self.markets.index}
        return kinds
