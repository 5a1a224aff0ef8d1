"""Between a scenario, the capacity plan and the twin.

:func:`plan_data` turns a loaded scenario into the optimizer's :class:`~optimizer.PlanData`
(weekly buckets over the horizon) and :func:`plan_schedule` turns the resulting
:class:`~optimizer.Plan` into the arrays the twin executes; ``twin.pipeline.prepare``
calls both for ``supply: plan`` scenarios. With the pipeline, this is the only module of
``twin`` that imports the optimizer (DESIGN.md §2).

Choices made here, in planning terms:

- the plan plans for the *expected* demand of the scenario's demand model (the forecast,
  or the history window's mean, scaled, times the events it knows of: a competitor's
  share loss and price response, a demand shock marked ``known_to_plan``), per market,
  SKU and week; it sees only the events it knows of (``twin.timeline``: every type but
  ``demand_shock`` by default); a pricing strategy's price is the
  plan's price (revenue, and the cost of a lost sale) in the markets it covers;
- a line's weekly hours in the plan are its regular (and overtime) hours less planned
  outages, times its expected availability MTBF / (MTBF + MTTR): breakdowns are random
  in the twin, their expected loss is planned for;
- lead times of finished goods are the twin's whole transit days in weeks, fractions
  kept: a week's departures on a 3-day lane land 4/7 in that week and 3/7 in the next,
  as departures spread over the week do; a supplier's weekly lot of materials, and a
  transfer between hubs (sent on the week's first day), count from the first whole week
  after they land (the 35-day sea lane takes 5 weeks, a 3-day lane 1); lanes
  to markets take none (the twin serves a market from its hub's stock on the day); a
  supplier delay adds its expected days (days x probability) to the lots leaving in the
  weeks it covers, counted as the lot's lead time is (from the first whole week after it
  lands);
- a capacity change scales the line's weekly hours like an outage does; a cost change
  scales a material's price or a lane's cost by its mean over each week's days;
- a hub starts from the state the warm-up leaves (``twin.agreement.warmed_state``: stock
  on hand, on its way, owed by partners; backorders; materials at plants and on their
  way), keeps its starting stock as a soft floor (dipping below it costs the backlog
  penalty per unit and week: a week-end balance that dips below it runs out within the
  week, which the twin, serving demand day by day, does not forgive; at half that
  penalty the deterministic twin lost 464 units in a six-week port closure, at the full
  penalty 209) and, by default, ends the horizon with at least that stock, so the plan
  cannot look cheap by emptying the shelves;
- a lost sale costs the price plus the shortage (goodwill) cost; a backorder costs the
  shortage cost per week late;
- materials at plants cost the hubs' mean holding rate at their purchase price, so the
  plan does not buy ahead for free;
- materials already on their way at the start (a week's use per week of transit, as
  the twin starts) are scheduled receipts.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from optimizer import Plan, PlanData, SolverOptions
from twin.agreement import StartState, warmed_state
from twin.scenario import LoadedScenario, Planning
from twin.sim.demand import expected_demand
from twin.sim.inputs import PlanSchedule, SimInput, material_target


def solver_options(settings: Planning, **overrides) -> SolverOptions:
    """Solver options from the scenario's ``planning:`` section; ``overrides`` that are not None win."""
    values = dict(time_limit_seconds=settings.time_limit_seconds, threads=settings.threads, gap=settings.gap,
                  algorithm=settings.algorithm)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return SolverOptions(**values)


SAFETY_SHORTFALL_COST_RATIO = 1.0  # below a hub's starting stock, per unit-week, relative to backlog (docstring)


def _transit_weeks(days: float, lots: bool = False) -> float:
    """A transit time in weeks as the twin runs it (whole days, at least one). ``lots``:
    what leaves once a week as one lot (a supplier's weekly dispatch, the plan's transfers
    between hubs on the week's first day) counts from the first whole week after it lands
    (a lot landing on day 3 of a week is not there on days 0-2). Split leads on transfers
    between hubs also made HiGHS's dual simplex crawl (80 s against 6 s on a demand spike)."""
    weeks = max(1.0, float(np.rint(days))) / 7.0
    return float(np.ceil(weeks - 1e-9)) if lots else weeks


def plan_data(loaded: LoadedScenario, inp: SimInput, start: StartState | None = None) -> PlanData:
    """The capacity-planning problem of a scenario, in weekly buckets over its horizon, from
    the state the network is in at the horizon's start (default :func:`~twin.agreement.warmed_state`)."""
    start = start if start is not None else warmed_state(inp)
    sc, net = loaded.scenario, loaded.network
    settings = sc.planning
    weeks = sc.horizon.weeks
    periods = [sc.horizon.start + dt.timedelta(weeks=w) for w in range(weeks)]
    first = inp.warmup_days

    products = net.products
    skus = pd.DataFrame({
        "price_per_unit": products["price_per_unit"],
        "backlog_cost_per_unit_period": products["shortage_cost_per_unit"],
        "lost_sale_cost_per_unit": products["price_per_unit"] + products["shortage_cost_per_unit"],
    })

    lines = net.lines[["plant", "cost_per_hour", "overtime_cost_per_hour"]]
    events = inp.known  # the plan plans for the events it knows of
    up = events.line_up[first:first + 7 * weeks].reshape(weeks, 7, -1).mean(axis=1)  # (W, L) share of days up
    mtbf, mttr = inp.mtbf_hours, inp.mttr_hours
    availability = 1.0 / (1.0 + mttr / mtbf)  # MTBF / (MTBF + MTTR); 1 where MTBF is infinite
    regular = up * (inp.regular_hours_per_day * 7 * availability)
    overtime = up * (inp.overtime_hours_per_day * 7)
    line_hours = pd.DataFrame({
        "line": np.repeat(inp.lines, weeks), "period": periods * len(inp.lines),
        "regular_hours": regular.T.ravel(), "overtime_hours_max": overtime.T.ravel(),
    }).set_index(["line", "period"])

    pol = net.hub_policies
    unit_cost = pol.index.get_level_values("sku").map(products["cost_per_unit"]).to_numpy(float)
    rate = pol.index.get_level_values("hub").map(net.hubs["holding_cost_rate_per_year"]).to_numpy(float)
    hub_at, sku_at = _at(inp.hubs), _at(inp.skus)
    stocked = (pol.index.get_level_values("hub").map(hub_at).to_numpy(), pol.index.get_level_values("sku").map(
        sku_at).to_numpy())
    initial = start.onhand[stocked]
    hub_stock = pd.DataFrame({
        "initial_units": initial,
        "holding_cost_per_unit_period": unit_cost * rate * 7 / 365,
        "safety_stock_units": initial,
        "ending_min_units": initial if settings.ending_inventory == "initial" else 0.0,
    }, index=pol.index)

    daily = expected_demand(inp)[first:first + 7 * weeks]  # (7W, M, S)
    weekly = daily.reshape(weeks, 7, *daily.shape[1:]).sum(axis=1)  # (W, M, S)
    w, m, s = np.nonzero(weekly > 0)
    demand = pd.Series(weekly[w, m, s], index=pd.MultiIndex.from_arrays(
        [np.asarray(inp.markets)[m], np.asarray(inp.skus)[s], [periods[i] for i in w]],
        names=["market", "sku", "period"]), name="units")

    prices = events.price_factor
    if prices is not None:  # a pricing strategy: the mean multiplier over each week's days
        weekly_price = prices[first:first + 7 * weeks].reshape(weeks, 7, *prices.shape[1:]).mean(axis=1)
        w, m, s = np.nonzero(weekly_price != 1.0)
        price_weeks = pd.Series(weekly_price[w, m, s], name="factor", index=pd.MultiIndex.from_arrays(
            [np.asarray(inp.markets)[m], np.asarray(inp.skus)[s], [periods[i] for i in w]],
            names=["market", "sku", "period"]))
    else:
        price_weeks = _keyed({}, ["market", "sku", "period"])

    kinds = net.site_kind()
    lanes = net.lanes
    serving = net.markets["hub"]
    # the twin serves a market from its own hub only, so the plan does too
    keep = [not (kinds.get(d) == "markets" and serving[d] != o) for o, d in zip(lanes["origin"], lanes["destination"])]
    lanes = lanes[keep]
    lane_table = pd.DataFrame({
        "origin": lanes["origin"], "destination": lanes["destination"],
        # the twin serves markets from the hub's stock on the day: no transit to plan for
        "lead_periods": [0.0 if kinds.get(d) == "markets"
                         else _transit_weeks(days, lots=kinds.get(o) in ("suppliers", "hubs"))
                         for o, d, days in zip(lanes["origin"], lanes["destination"], lanes["lead_time_days"])],
        "cost_per_unit": lanes["cost_per_unit"],
        "capacity_units_per_period": lanes["capacity_units_per_week"].fillna(math.inf),
    })

    receipts = _receipts(inp, start, periods)

    wf = net.workforce
    workforce = pd.DataFrame({
        "workers_initial": wf["workers_initial"], "hours_per_worker": wf["hours_per_worker_per_week"],
        "overtime_hours_per_worker_max": wf["overtime_hours_per_worker_per_week_max"],
        "cost_per_worker_period": wf["cost_per_worker_per_week"], "hire_cost_per_worker": wf["hire_cost_per_worker"],
        "layoff_cost_per_worker": wf["layoff_cost_per_worker"]}, index=wf.index)

    plant_material = pd.MultiIndex.from_product([inp.plants, inp.materials], names=["plant", "material"])
    material_stock = pd.Series(start.material.ravel(), index=plant_material, name="initial_units")
    # materials at plants cost what stock at the hubs costs to hold, at their purchase price
    rate = float(net.hubs["holding_cost_rate_per_year"].mean()) * 7 / 365
    material_holding = pd.Series(np.tile(inp.material_cost, len(inp.plants)) * rate, index=plant_material)
    return PlanData(
        periods=periods, period_name="week", price_factor=price_weeks, lane_closed=_closed_weeks(inp, lane_table, periods),
        lead_extra=_late_weeks(inp, lane_table, net.lanes["lead_time_days"], periods),
        **_cost_factor_weeks(inp, periods),
        skus=skus, lines=lines, line_hours=line_hours,
        routings=net.routings["hours_per_unit"], hubs=net.hubs[["storage_capacity_units"]], hub_stock=hub_stock,
        markets=pd.DataFrame({"backorder": net.markets["unmet_demand"] == "backorder"}),
        demand=demand, lanes=lane_table, materials=net.materials["cost_per_unit"], bom=net.bom["qty_per_unit"],
        supply=net.supplier_materials["capacity_units_per_week"], material_stock=material_stock,
        material_holding=material_holding,
        partners=pd.DataFrame({"capacity_units_per_period": net.partners["capacity_units_per_week"],
                               "lead_periods": np.rint(net.partners["lead_time_days"].to_numpy(float)) / 7.0}),
        partner_skus=net.partner_skus["cost_per_unit"], receipts=receipts, workforce=workforce,
        initial_backlog=_keyed({(inp.markets[m], inp.skus[s]): float(start.backlog[m, s])
                                for m, s in zip(*np.nonzero(start.backlog > 0))}, ["market", "sku"]),
        objective=settings.objective, clear_backlog_at_end=settings.clear_backlog_at_end,
        integer_workforce=settings.integer_workforce, safety_shortfall_cost_ratio=SAFETY_SHORTFALL_COST_RATIO,
    )


def _receipts(inp: SimInput, start: StartState, periods: list) -> pd.Series:
    """What is on its way at the start, by the week it lands: finished goods at the hubs (in
    transit, and what partners owe, after their lead time and transit) and materials at the
    plants."""
    weeks = len(periods)
    rows: dict[tuple, float] = {}

    def land(weekly: np.ndarray, sites: list[str], items: list[str]) -> None:
        for t, i, j in zip(*np.nonzero(weekly > 1e-9)):  # (float dust of shared-out orders left out)
            rows[(sites[i], items[j], periods[t])] = rows.get((sites[i], items[j], periods[t]), 0.0) + weekly[t, i, j]

    def by_week(arrivals: np.ndarray) -> np.ndarray:
        days = min(len(arrivals), 7 * weeks)
        return arrivals[:days - days % 7].reshape(days // 7, 7, *arrivals.shape[1:]).sum(axis=1)

    owed = np.zeros((7 * weeks, len(inp.hubs), len(inp.skus)))
    for (x, h), lane in inp.partner_hub_lane.items():
        day = int(round(inp.partner_lead_days[x])) + int(max(1, np.rint(lane.lead_time_days)))
        owed[min(day, len(owed) - 1), h] += start.partner_owed[x, h]
    land(by_week(start.hub_arrivals) + by_week(owed), inp.hubs, inp.skus)
    land(by_week(start.material_arrivals), inp.plants, inp.materials)
    return _keyed(rows, ["site", "item", "period"]).rename("units")


def _closed_weeks(inp: SimInput, lanes: pd.DataFrame, periods: list) -> pd.MultiIndex:
    """(lane, week) pairs the plan may not use: a lane closed on more than half of a week's
    days takes nothing that week; a lane whose port is shut for more than half of a week
    takes nothing that would arrive in it (the twin lets such shipments wait at sea; the
    weekly plan does not plan on waiting)."""
    first, weeks = inp.warmup_days, len(periods)

    def mostly(closed: np.ndarray) -> np.ndarray:
        return closed[first:first + 7 * weeks].reshape(weeks, 7).sum(axis=1) > 3.5

    pairs = {(lane, periods[w]) for lane, closed in inp.known.departures_closed.items() if lane in lanes.index
             for w in np.flatnonzero(mostly(closed))}
    for lane, closed in inp.known.arrivals_closed.items():
        if lane in lanes.index:
            lead = float(lanes.at[lane, "lead_periods"])  # a fractional lead lands in two weeks: both departures
            sent = {w - int(np.floor(lead)) - k for w in np.flatnonzero(mostly(closed)) for k in (0, 1)
                    if k == 0 or lead % 1}
            pairs |= {(lane, periods[w]) for w in sent if w >= 0}
    return pd.MultiIndex.from_tuples(sorted(pairs, key=str), names=["lane", "period"])


def _late_weeks(inp: SimInput, lanes: pd.DataFrame, transit_days: pd.Series, periods: list) -> pd.Series:
    """(lane, week) -> extra weeks a supplier's lot leaving that week takes: the expected
    delay of a ``supplier_delay`` event (days x probability, in whole days as the
    deterministic twin takes it), counted as the lot's lead time is (:func:`_transit_weeks`;
    ``transit_days``: each lane's, as the network table gives them)."""
    first, weeks = inp.warmup_days, len(periods)
    expected = (inp.known.supplier_delay_days * inp.known.supplier_delay_probability)[first:first + 7 * weeks]
    delay_days = np.rint(expected.reshape(weeks, 7, -1).max(axis=1))  # (W, U)
    rows = {}
    for w, u in zip(*np.nonzero(delay_days)):
        for lane in lanes.index[lanes["origin"] == inp.suppliers[u]]:
            transit = max(1.0, float(np.rint(transit_days[lane])))
            rows[(lane, periods[w])] = float(np.ceil((transit + delay_days[w, u]) / 7 - 1e-9)
                                             - lanes.at[lane, "lead_periods"])
    index = pd.MultiIndex.from_tuples(list(rows), names=["lane", "period"])
    return pd.Series(list(rows.values()), index=index, dtype=float, name="periods")


def _cost_factor_weeks(inp: SimInput, periods: list) -> dict[str, pd.Series]:
    """Each ``cost_change`` as the mean multiplier over each week's days."""
    first, weeks = inp.warmup_days, len(periods)

    def weekly(daily: np.ndarray) -> np.ndarray:
        return daily[first:first + 7 * weeks].reshape(weeks, 7, *daily.shape[1:]).mean(axis=1)

    material = {}
    if inp.known.material_cost_factor is not None:
        w = weekly(inp.known.material_cost_factor)
        material = {(inp.materials[k], periods[t]): w[t, k] for t, k in zip(*np.nonzero(w != 1.0))}
    lane = {(lane_id, periods[t]): f for lane_id, daily in inp.known.lane_cost_factor.items()
            for t, f in enumerate(weekly(daily)) if f != 1.0}
    return {"material_cost_factor": _keyed(material, ["material", "period"]),
            "lane_cost_factor": _keyed(lane, ["lane", "period"])}


def _keyed(rows: dict, names: list[str]) -> pd.Series:
    return pd.Series(list(rows.values()), dtype=float, index=pd.MultiIndex.from_tuples(list(rows), names=names))


def _at(ids: list[str]) -> dict[str, int]:
    """Position of each ID in an axis of the twin's arrays."""
    return {k: i for i, k in enumerate(ids)}


def plan_schedule(plan: Plan, inp: SimInput, start: StartState) -> PlanSchedule:
    """The arrays the twin executes, from a plan made by :func:`plan_data` for ``inp`` from ``start``."""
    periods = sorted(set(plan.lines["period"]))
    week = {p: i for i, p in enumerate(periods)}
    W, L, H, S = len(periods), len(inp.lines), len(inp.hubs), len(inp.skus)
    X, P, K = len(inp.partners), len(inp.plants), len(inp.materials)
    line_at, hub_at, sku_at, partner_at = _at(inp.lines), _at(inp.hubs), _at(inp.skus), _at(inp.partners)
    plant_at, market_at = _at(inp.plants), _at(inp.markets)

    ship = plan.shipments

    def flows(origin_ids: dict, destination_ids: dict) -> pd.DataFrame:
        return ship[ship["origin"].isin(origin_ids) & ship["destination"].isin(destination_ids)]

    # a line's output goes to the hubs its plant ships that SKU to that week, pro rata
    to_hubs = np.zeros((W, P, H, S))
    f = flows(plant_at, hub_at)
    np.add.at(to_hubs, (f["period"].map(week), f["origin"].map(plant_at), f["destination"].map(hub_at),
                        f["item"].map(sku_at)), f["units"].to_numpy())
    made = np.zeros((W, L, S))
    prod = plan.production
    np.add.at(made, (prod["period"].map(week), prod["line"].map(line_at), prod["sku"].map(sku_at)),
              (prod["regular_units"] + prod["overtime_units"]).to_numpy())
    share = np.divide(to_hubs, to_hubs.sum(axis=2, keepdims=True), out=np.zeros_like(to_hubs),
                      where=to_hubs.sum(axis=2, keepdims=True) > 0)  # (W, P, H, S)
    make = made[:, :, None, :] * share[:, inp.line_plant]  # (W, L, H, S)

    outsource = np.zeros((W, X, H, S))
    f = flows(partner_at, hub_at)
    np.add.at(outsource, (f["period"].map(week), f["origin"].map(partner_at), f["destination"].map(hub_at),
                          f["item"].map(sku_at)), f["units"].to_numpy())
    transfer = np.zeros((W, H, H, S))
    f = flows(hub_at, hub_at)
    np.add.at(transfer, (f["period"].map(week), f["origin"].map(hub_at), f["destination"].map(hub_at),
                         f["item"].map(sku_at)), f["units"].to_numpy())
    release = make.sum(axis=1) + outsource.sum(axis=1) + transfer.sum(axis=1) - transfer.sum(axis=2)

    consumption = np.zeros((W, H, S))
    mk = plan.markets
    hub_of_market = np.asarray(inp.market_hub)[mk["market"].map(market_at).to_numpy()]
    np.add.at(consumption, (mk["period"].map(week), hub_of_market, mk["sku"].map(sku_at)),
              (mk["demand_units"] - mk["lost_units"]).to_numpy())

    # plants buy what the plan buys: each week they order up to the material position the
    # plan expects then (its start, plus its purchases so far, less its use before the week),
    # and at least up to their own policy's target at the plan's rate of use, whose cover
    # days absorb late lots and random use (the plan knows neither), as long as what they
    # order lands within the horizon (the plan buys nothing that lands after it)
    material_at = _at(inp.materials)
    bought = np.zeros((W, P, K))
    f = ship[ship["origin"].isin(set(inp.suppliers)) & ship["destination"].isin(plant_at)]
    np.add.at(bought, (f["period"].map(week), f["destination"].map(plant_at), f["item"].map(material_at)),
              f["units"].to_numpy())
    use = np.zeros((W, P, K))
    np.add.at(use, (slice(None), inp.line_plant), made @ inp.bom)
    material_position = (start.material + start.material_arrivals.sum(axis=0) + np.cumsum(bought, axis=0)
                         - (np.cumsum(use, axis=0) - use))
    use_per_day = use.sum(axis=0) / (7.0 * W)
    for (p, k), lane in inp.material_lane.items():
        cover = material_target(use_per_day[p, k], lane.lead_time_days, inp.material_cover_days[p])
        lands_in_time = W - int(np.ceil(lane.lead_time_days / 7))
        material_position[:lands_in_time, p, k] = np.maximum(material_position[:lands_in_time, p, k], cover)
    owed = np.zeros((H, S))
    np.add.at(owed, inp.market_hub, start.backlog)
    return PlanSchedule(first_day=inp.warmup_days, start_position=start.position - owed, make=make,
                        outsource=outsource, transfer=transfer, release=release, consumption=consumption,
                        material_position=material_position, purchase=bought)
