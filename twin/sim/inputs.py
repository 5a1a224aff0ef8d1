"""Arrays the simulation runs on, compiled once per run from plain data: the network's
tables, the timelines of the events (``twin.timeline``), the demand model, the forecast
and the touchless rules. Nothing here reads a scenario file or its schema.

Tables are the source of truth; this module turns them into positional arrays so that
the daily loop does vector arithmetic only. Every array axis is named by an ID list
kept beside it (``skus``, ``markets``, ``hubs``, ``lines``, ``plants``, ``materials``),
in the order of :class:`twin.timeline.Axes`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.network import Network
from twin.timeline import Axes, Timeline

if TYPE_CHECKING:
    from twin.sim.demand import DemandModel
    from twin.sim.rules import Rule
    from twin.sim.spikes import Calibration

POLICY_CODES = {"base_stock": 0, "sS": 1, "rQ": 2}
SOURCE_PLANT, SOURCE_PARTNER, SOURCE_HUB = 0, 1, 2


@dataclass(frozen=True)
class Lane:
    """One lane's transit-time distribution and cost, by position of its ends."""

    lane: str
    lead_time_days: float
    lead_time_sd_days: float
    lognormal: bool
    cost_per_unit: float

    def sample_days(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Whole transit days, at least 1 (a shipment lands at the earliest on the next day's receipts).

        A lognormal lead time keeps the table's mean and standard deviation:
        sigma^2 = ln(1 + sd^2/mean^2), mu = ln(mean) - sigma^2/2.
        """
        if self.lognormal and self.lead_time_sd_days > 0:
            s2 = np.log1p((self.lead_time_sd_days / self.lead_time_days) ** 2)
            days = rng.lognormal(np.log(self.lead_time_days) - s2 / 2, np.sqrt(s2), size)
        else:
            days = np.full(size, self.lead_time_days)
        return np.maximum(1, np.rint(days)).astype(np.int64)


@dataclass(frozen=True)
class PlanSchedule:
    """A capacity plan as the twin executes it, in weekly arrays from the first plan day.

    Week ``w`` starts on simulated day ``first_day + 7 w``. At its start the plan releases
    ``make`` to the lines' queues, ``outsource`` to the partners and ``transfer`` between
    hubs; the hubs then correct for what randomness changes, against the inventory
    position the plan expects: ``start_position + release - consumption`` (cumulative,
    consumption spread evenly over the week's days).
    """

    first_day: int
    start_position: np.ndarray  # (H, S) the position the plan starts from: on hand + on order - backorders
    make: np.ndarray            # (W, L, H, S) units each line makes for each hub
    outsource: np.ndarray       # (W, X, H, S) units ordered from each partner for each hub
    transfer: np.ndarray        # (W, H, H, S) units sent from hub g (axis 1) to hub h (axis 2)
    release: np.ndarray         # (W, H, S) make + outsource + transfers in - transfers out, per hub
    consumption: np.ndarray     # (W, H, S) planned demand served or backordered at each hub's markets
    material_position: np.ndarray  # (W, P, K) what plants order materials up to each plan week
    purchase: np.ndarray        # (W, P, K) materials the plan has each supplier dispatch to each plant

    @property
    def weeks(self) -> int:
        return self.make.shape[0]


@dataclass(frozen=True)
class SimInput:
    """Everything one replication needs, as arrays. Shared read-only by replications."""

    name: str
    start: dt.date            # first measured day (horizon start)
    warmup_days: int
    days: int                 # simulated days, warm-up included
    skus: list[str]
    families: list[str]       # per SKU
    price: np.ndarray         # (S,)
    cost: np.ndarray          # (S,)
    shortage_cost: np.ndarray  # (S,)
    markets: list[str]
    market_hub: np.ndarray    # (M,) hub position, non-decreasing
    hub_markets: list[slice]  # (H,) each hub's markets, a contiguous range of market positions
    backorder: np.ndarray     # (M,) bool: True backorders, False loses sales
    hub_market_lane_cost: np.ndarray  # (M,) cost per unit delivered to the market
    market_lane: list[str]    # (M,) the lane from each market's hub
    market_terms_days: np.ndarray  # (M,) days from a delivery until the customer pays
    market_down_payment: np.ndarray  # (M,) share of a delivery's value paid on the day
    hubs: list[str]
    review_days: np.ndarray   # (H,)
    holding_rate_per_day: np.ndarray  # (H,) fraction of unit cost per day
    policy: np.ndarray        # (H, S) code from POLICY_CODES
    reorder_point: np.ndarray  # (H, S)
    order_up_to: np.ndarray   # (H, S)
    order_qty: np.ndarray     # (H, S)
    initial: np.ndarray       # (H, S)
    source_kind: np.ndarray   # (H, S) SOURCE_* code
    source_index: np.ndarray  # (H, S) position in lines (plant source: the line that makes it), partners or hubs
    plant_hub_lane: dict[tuple[int, int], Lane]  # (plant, hub) -> lane
    partner_hub_lane: dict[tuple[int, int], Lane]  # (partner, hub) -> lane
    hub_hub_lane: dict[tuple[int, int], Lane]  # (from hub, to hub) -> lane
    lines: list[str]
    line_plant: np.ndarray    # (L,) plant position, non-decreasing
    plant_lines: list[slice]  # (P,) each plant's lines, a contiguous range of line positions
    regular_hours_per_day: np.ndarray  # (L,) hours_per_week / 7
    overtime_hours_per_day: np.ndarray  # (L,)
    cost_per_hour: np.ndarray  # (L,)
    overtime_cost_per_hour: np.ndarray  # (L,)
    mtbf_hours: np.ndarray    # (L,) inf where the line never breaks down
    mttr_hours: np.ndarray    # (L,)
    hours_per_unit: np.ndarray  # (L, S), inf where the line cannot make the SKU
    plants: list[str]
    materials: list[str]
    bom: np.ndarray           # (S, K) material units per unit
    material_cost: np.ndarray  # (K,)
    material_target: np.ndarray  # (P, K) position a plant orders up to
    material_initial: np.ndarray  # (P, K) on hand at the start
    material_usage_per_day: np.ndarray  # (P, K) expected use, for the initial pipeline
    material_cover_days: np.ndarray  # (P,) days of use a plant keeps on hand
    material_supplier: np.ndarray  # (P, K) supplier position serving the plant, -1 if none needed
    material_lane: dict[tuple[int, int], Lane]  # (plant, material) -> lane from its supplier
    suppliers: list[str]
    supplier_capacity: np.ndarray  # (U, K) units per week
    supplier_reliability: np.ndarray  # (U,)
    supplier_late_days: np.ndarray  # (U,)
    supplier_terms_days: np.ndarray  # (U,) days from a dispatch until it is paid
    supplier_down_payment: np.ndarray  # (U,) share of a dispatch's value paid on the day
    partners: list[str]
    partner_capacity_per_day: np.ndarray  # (X,)
    partner_lead_days: np.ndarray  # (X,)
    partner_cost: np.ndarray   # (X, S), inf where the partner cannot make the SKU
    partner_terms_days: np.ndarray  # (X,) days from a dispatch until it is paid
    opening_cash: float       # at the horizon's start (opening_balances.csv; 0 without a row)
    opening_receivables: float  # at the horizon's start; NaN: what the warm-up's deliveries leave open
    opening_payables: float     # likewise, of the warm-up's purchases
    timeline: Timeline        # what the events make of each day: the twin meets all of them
    known: Timeline           # the events the plan knows of: what the plan and the rules expect
    demand: DemandModel
    supply: str               # "plan": execute ``plan``; "policy": the hubs' policies alone
    rules: tuple[Rule, ...]   # the touchless rules checked at every weekly review
    mean_demand_per_day: np.ndarray  # (M, S) over the demand window
    demand_window: np.ndarray  # (W, M, S) weekly history the empirical model resamples
    weekly_expected: np.ndarray | None = None  # (weeks, M, S) forecast model: history, then forecast
    weekly_known: np.ndarray | None = None     # (weeks,) True for weeks still in the history
    weekly_errors: np.ndarray | None = None    # (R, M, S) backtest errors (actual - forecast) to draw from
    weekly_mean: np.ndarray | None = None      # (weeks, M, S) mean of the forecast model's weekly draw
    spike_detector: Calibration | None = None  # how demand spikes are told from noise (twin.sim.spikes)
    plan: PlanSchedule | None = None  # the capacity plan to execute (supply: plan)

    @property
    def n_days_measured(self) -> int:
        return self.days - self.warmup_days


@dataclass(frozen=True)
class WeeklyForecast:
    """The demand forecast as the twin draws from it, in weeks from the first simulated day."""

    expected: np.ndarray  # (weeks, M, S) the forecast, and the history for weeks it still covers
    known: np.ndarray     # (weeks,) True for weeks still in the history
    errors: np.ndarray    # (R, M, S) backtest errors (actual - forecast) to draw from


def compile_inputs(net: Network, axes: Axes, timeline: Timeline, known: Timeline, *, name: str, start: dt.date,
                   demand: DemandModel, history_weeks: int, supply: str = "policy", rules: tuple[Rule, ...] = (),
                   forecast: WeeklyForecast | None = None) -> SimInput:
    """Compile a network, the timelines of its events and the demand model into :class:`SimInput` arrays.

    ``timeline`` holds every event (what the twin meets), ``known`` the events the plan
    knows of (what the rules measure demand against); both start ``start - first day``
    simulated days of warm-up before ``start``. ``forecast`` is needed by the ``forecast``
    demand model.
    """
    first_day, days = timeline.first_day, timeline.days
    warmup_days = (start - first_day).days
    skus, markets, hubs, lines = axes.skus, axes.markets, axes.hubs, axes.lines
    plants, materials, suppliers, partners = axes.plants, axes.materials, axes.suppliers, axes.partners
    markets_df, lines_df = net.markets.loc[markets], net.lines.loc[lines]
    pos = {kind: axes.at(f"{kind}s") for kind in ("sku", "market", "hub", "line", "plant", "material", "supplier",
                                                  "partner")}
    S, M, H, L = len(skus), len(markets), len(hubs), len(lines)
    P, K = len(plants), len(materials)

    def lane(origin: str, destination: str) -> Lane:
        lane_id = net.lane_between(origin, destination)
        r = net.lanes.loc[lane_id]
        return Lane(lane_id, float(r["lead_time_days"]), float(r["lead_time_sd_days"]),
                    r["lead_time_distribution"] == "lognormal", float(r["cost_per_unit"]))

    # demand window: the last `history_weeks` weeks before the horizon (warm-up included)
    hist = net.demand_history["qty"].unstack("week", fill_value=0.0)
    week_cols = [w for w in hist.columns if w.date() < first_day][-history_weeks:]
    cube = np.zeros((len(week_cols), M, S))
    window = hist[week_cols]
    for (sku, market), row in window.iterrows():
        cube[:, pos["market"][market], pos["sku"][sku]] = row.to_numpy()
    mean_per_day = cube.mean(axis=0) / 7.0

    # hours: inf where a line cannot make a SKU
    hpu = np.full((L, S), np.inf)
    for (line, sku), r in net.routings.iterrows():
        hpu[pos["line"][line], pos["sku"][sku]] = r["hours_per_unit"]
    line_plant = np.array([pos["plant"][p] for p in lines_df["plant"]], dtype=np.int64)

    pol = net.hub_policies
    shape = (H, S)
    policy, s_pt, S_pt, q_pt, init = (np.zeros(shape, dtype=np.int64), np.zeros(shape), np.zeros(shape),
                                      np.zeros(shape), np.zeros(shape))
    src_kind, src_idx = np.full(shape, -1, dtype=np.int64), np.full(shape, -1, dtype=np.int64)
    kinds = net.site_kind()
    for (hub, sku), r in pol.iterrows():
        h, s = pos["hub"][hub], pos["sku"][sku]
        policy[h, s] = POLICY_CODES[r["policy"]]
        s_pt[h, s] = np.nan_to_num(r["reorder_point_units"])
        S_pt[h, s] = np.nan_to_num(r["order_up_to_units"])
        q_pt[h, s] = np.nan_to_num(r["order_quantity_units"])
        init[h, s] = r["initial_units"]
        src = r["source"]
        if kinds[src] == "plants":
            # the plant's fastest line for this SKU takes the order
            candidates = [i for i in range(L) if line_plant[i] == pos["plant"][src] and np.isfinite(hpu[i, s])]
            src_kind[h, s], src_idx[h, s] = SOURCE_PLANT, min(candidates, key=lambda i: hpu[i, s])
        elif kinds[src] == "partners":
            src_kind[h, s], src_idx[h, s] = SOURCE_PARTNER, pos["partner"][src]
        else:
            src_kind[h, s], src_idx[h, s] = SOURCE_HUB, pos["hub"][src]

    bom = np.zeros((S, K))
    for (sku, material), r in net.bom.iterrows():
        bom[pos["sku"][sku], pos["material"][material]] = r["qty_per_unit"]

    # expected material use per plant: hub demand routed to the plant's lines, times the BOM
    hub_demand = np.zeros((H, S))
    market_hub = np.array([pos["hub"][h] for h in markets_df["hub"]], dtype=np.int64)
    np.add.at(hub_demand, market_hub, mean_per_day)
    made_at = np.zeros((P, S))
    for h in range(H):
        for s in range(S):
            if src_kind[h, s] == SOURCE_PLANT:
                made_at[line_plant[src_idx[h, s]], s] += hub_demand[h, s]
    usage = made_at @ bom  # (P, K)

    supplier_capacity = np.zeros((len(suppliers), K))
    for (sup, material), r in net.supplier_materials.iterrows():
        supplier_capacity[pos["supplier"][sup], pos["material"][material]] = r["capacity_units_per_week"]
    material_supplier = np.full((P, K), -1, dtype=np.int64)
    material_lane: dict[tuple[int, int], Lane] = {}
    cover = net.plants["material_cover_days"].to_numpy()
    target = np.zeros((P, K))
    for p, plant in enumerate(plants):
        for k, material in enumerate(materials):
            sellers = [u for u in range(len(suppliers)) if supplier_capacity[u, k] > 0
                       and net.lane_between(suppliers[u], plant) is not None]
            if not sellers:
                continue
            u = max(sellers, key=lambda u: supplier_capacity[u, k])
            material_supplier[p, k] = u
            material_lane[(p, k)] = ln = lane(suppliers[u], plant)
            target[p, k] = material_target(usage[p, k], ln.lead_time_days, cover[p])
    material_initial = usage * (cover[:, None] + 7)

    weekly_expected = weekly_known = weekly_errors = weekly_mean = None
    if demand.model == "forecast":
        weekly_expected, weekly_known, weekly_errors = forecast.expected, forecast.known, forecast.errors
        # E[round(max(0, forecast x scale + error))]: what the draw averages, bias, zero floor
        # and rounding included
        base = weekly_expected * demand.scale
        weekly_mean = np.where(weekly_known[:, None, None], base,
                               np.rint(np.maximum(base[:, None] + weekly_errors[None], 0.0)).mean(axis=1))

    partner_cost = np.full((len(partners), S), np.inf)
    for (partner, sku), r in net.partner_skus.iterrows():
        partner_cost[pos["partner"][partner], pos["sku"][sku]] = r["cost_per_unit"]

    hubs_df = net.hubs
    # in the lanes table's order: the order of the routes is the order of their transit-time
    # draws, so it must not follow a set's (per-process) hash order
    pairs = list(dict.fromkeys((o, d) for o, d in zip(net.lanes["origin"], net.lanes["destination"])
                               if d in pos["hub"]))
    opening = net.opening_balances["amount"].to_dict()
    return SimInput(
        name=name, start=start, warmup_days=warmup_days, days=days,
        skus=skus, families=axes.families,
        price=net.products["price_per_unit"].to_numpy(float), cost=net.products["cost_per_unit"].to_numpy(float),
        shortage_cost=net.products["shortage_cost_per_unit"].to_numpy(float),
        markets=markets, market_hub=market_hub, hub_markets=_ranges(market_hub, H),
        backorder=(markets_df["unmet_demand"] == "backorder").to_numpy(),
        hub_market_lane_cost=np.array([lane(h, m).cost_per_unit for m, h in markets_df["hub"].items()]),
        market_lane=[net.lane_between(h, m) for m, h in markets_df["hub"].items()],
        market_terms_days=markets_df["payment_terms_days"].to_numpy(float),
        market_down_payment=markets_df["down_payment_share"].to_numpy(float),
        hubs=hubs, review_days=hubs_df["review_period_days"].to_numpy(np.int64),
        holding_rate_per_day=hubs_df["holding_cost_rate_per_year"].to_numpy(float) / 365.0,
        policy=policy, reorder_point=s_pt, order_up_to=S_pt, order_qty=q_pt, initial=init,
        source_kind=src_kind, source_index=src_idx,
        plant_hub_lane={(pos["plant"][o], pos["hub"][d]): lane(o, d) for o, d in pairs if o in pos["plant"]},
        partner_hub_lane={(pos["partner"][o], pos["hub"][d]): lane(o, d) for o, d in pairs if o in pos["partner"]},
        hub_hub_lane={(pos["hub"][o], pos["hub"][d]): lane(o, d) for o, d in pairs if o in pos["hub"]},
        lines=lines, line_plant=line_plant,
        plant_lines=_ranges(line_plant, P),
        regular_hours_per_day=lines_df["hours_per_week"].to_numpy(float) / 7.0,
        overtime_hours_per_day=lines_df["overtime_hours_per_week_max"].to_numpy(float) / 7.0,
        cost_per_hour=lines_df["cost_per_hour"].to_numpy(float),
        overtime_cost_per_hour=lines_df["overtime_cost_per_hour"].to_numpy(float),
        mtbf_hours=lines_df["mtbf_hours"].fillna(np.inf).to_numpy(float),
        mttr_hours=lines_df["mttr_hours"].to_numpy(float),
        hours_per_unit=hpu,
        plants=plants, materials=materials, bom=bom,
        material_cost=net.materials["cost_per_unit"].to_numpy(float),
        material_target=target, material_initial=material_initial, material_usage_per_day=usage,
        material_cover_days=cover.astype(float),
        material_supplier=material_supplier, material_lane=material_lane,
        suppliers=suppliers, supplier_capacity=supplier_capacity,
        supplier_reliability=net.suppliers["reliability"].to_numpy(float),
        supplier_late_days=net.suppliers["late_days"].to_numpy(float),
        supplier_terms_days=net.suppliers["payment_terms_days"].to_numpy(float),
        supplier_down_payment=net.suppliers["down_payment_share"].to_numpy(float),
        partners=partners,
        partner_capacity_per_day=net.partners["capacity_units_per_week"].to_numpy(float) / 7.0,
        partner_lead_days=net.partners["lead_time_days"].to_numpy(float),
        partner_cost=partner_cost, partner_terms_days=net.partners["payment_terms_days"].to_numpy(float),
        opening_cash=float(opening.get("cash", 0.0)), opening_receivables=float(opening.get("receivables", np.nan)),
        opening_payables=float(opening.get("payables", np.nan)),
        timeline=timeline, known=known, demand=demand, supply=supply, rules=tuple(rules),
        mean_demand_per_day=mean_per_day, demand_window=cube,
        weekly_expected=weekly_expected, weekly_known=weekly_known, weekly_errors=weekly_errors,
        weekly_mean=weekly_mean,
    )


def material_target(usage_per_day: np.ndarray | float, lead_time_days: float, cover_days: float):
    """What a plant orders a material up to each week: the use over the transit time, a
    weekly order cycle and the cover the plant keeps on hand."""
    return usage_per_day * (lead_time_days + 7 + cover_days)


def _ranges(owner: np.ndarray, n: int) -> list[slice]:
    """For a non-decreasing array of owner positions, the slice of items each of ``n`` owners has."""
    return [slice(int(np.searchsorted(owner, i)), int(np.searchsorted(owner, i, "right"))) for i in range(n)]
