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
- lead times are rounded to whole weeks (a lane of 1-3 days lands in the week it
  leaves; the 35-day sea lane takes 5 weeks); a supplier delay adds its expected days
  (days x probability), in whole weeks, to departures in the weeks it covers;
- a capacity change scales the line's weekly hours like an outage does; a cost change
  scales a material's price or a lane's cost by its mean over each week's days;
- a hub keeps its starting stock as a soft floor (its policy's level: dipping below it
  costs half the backlog penalty per unit and week) and, by default, ends the horizon
  with at least that stock, so the plan cannot look cheap by emptying the shelves;
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
from twin.scenario import LoadedScenario, Planning
from twin.sim.demand import expected_demand
from twin.sim.inputs import PlanSchedule, SimInput, material_target


def solver_options(settings: Planning, **overrides) -> SolverOptions:
    """Solver options from the scenario's ``planning:`` section; ``overrides`` that are not None win."""
    values = dict(time_limit_seconds=settings.time_limit_seconds, threads=settings.threads, gap=settings.gap,
                  algorithm=settings.algorithm)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return SolverOptions(**values)


def _weeks(days: int) -> int:
    return int(round(days / 7.0))


def plan_data(loaded: LoadedScenario, inp: SimInput) -> PlanData:
    """The capacity-planning problem of a scenario, in weekly buckets over its horizon."""
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
    initial = pol["initial_units"].to_numpy(float)
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
        "lead_periods": [_weeks(d) for d in lanes["lead_time_days"]],
        "cost_per_unit": lanes["cost_per_unit"],
        "capacity_units_per_period": lanes["capacity_units_per_week"].fillna(math.inf),
    })

    receipts = []
    for (p, k), lane in inp.material_lane.items():
        weekly_use = inp.material_usage_per_day[p, k] * 7
        for t in range(min(_weeks(lane.lead_time_days), weeks)):
            if weekly_use > 0:
                receipts.append((inp.plants[p], inp.materials[k], periods[t], weekly_use))
    receipts = pd.DataFrame(receipts, columns=["site", "item", "period", "units"]).set_index(
        ["site", "item", "period"])["units"]

    wf = net.workforce
    workforce = pd.DataFrame({
        "workers_initial": wf["workers_initial"], "hours_per_worker": wf["hours_per_worker_per_week"],
        "overtime_hours_per_worker_max": wf["overtime_hours_per_worker_per_week_max"],
        "cost_per_worker_period": wf["cost_per_worker_per_week"], "hire_cost_per_worker": wf["hire_cost_per_worker"],
        "layoff_cost_per_worker": wf["layoff_cost_per_worker"]}, index=wf.index)

    plant_material = pd.MultiIndex.from_product([inp.plants, inp.materials], names=["plant", "material"])
    material_stock = pd.Series(inp.material_initial.ravel(), index=plant_material, name="initial_units")
    # materials at plants cost what stock at the hubs costs to hold, at their purchase price
    rate = float(net.hubs["holding_cost_rate_per_year"].mean()) * 7 / 365
    material_holding = pd.Series(np.tile(inp.material_cost, len(inp.plants)) * rate, index=plant_material)
    return PlanData(
        periods=periods, period_name="week", price_factor=price_weeks, lane_closed=_closed_weeks(inp, lane_table, periods),
        lead_extra=_late_weeks(inp, lane_table, periods), **_cost_factor_weeks(inp, periods),
        skus=skus, lines=lines, line_hours=line_hours,
        routings=net.routings["hours_per_unit"], hubs=net.hubs[["storage_capacity_units"]], hub_stock=hub_stock,
        markets=pd.DataFrame({"backorder": net.markets["unmet_demand"] == "backorder"}),
        demand=demand, lanes=lane_table, materials=net.materials["cost_per_unit"], bom=net.bom["qty_per_unit"],
        supply=net.supplier_materials["capacity_units_per_week"], material_stock=material_stock,
        material_holding=material_holding,
        partners=pd.DataFrame({"capacity_units_per_period": net.partners["capacity_units_per_week"],
                               "lead_periods": [_weeks(d) for d in net.partners["lead_time_days"]]}),
        partner_skus=net.partner_skus["cost_per_unit"], receipts=receipts, workforce=workforce,
        objective=settings.objective, clear_backlog_at_end=settings.clear_backlog_at_end,
        integer_workforce=settings.integer_workforce,
    )


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
            lead = int(lanes.at[lane, "lead_periods"])
            pairs |= {(lane, periods[w - lead]) for w in np.flatnonzero(mostly(closed)) if w - lead >= 0}
    return pd.MultiIndex.from_tuples(sorted(pairs, key=str), names=["lane", "period"])


def _late_weeks(inp: SimInput, lanes: pd.DataFrame, periods: list) -> pd.Series:
    """(lane, week) -> extra weeks a supplier's shipments leaving that week take: the
    expected delay of a ``supplier_delay`` event (days x probability), in whole weeks."""
    first, weeks = inp.warmup_days, len(periods)
    expected = (inp.known.supplier_delay_days * inp.known.supplier_delay_probability)[first:first + 7 * weeks]
    weekly = np.rint(expected.reshape(weeks, 7, -1).max(axis=1) / 7).astype(int)  # (W, U)
    rows = {}
    for w, u in zip(*np.nonzero(weekly)):
        for lane in lanes.index[lanes["origin"] == inp.suppliers[u]]:
            rows[(lane, periods[w])] = int(weekly[w, u])
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


def plan_schedule(plan: Plan, inp: SimInput) -> PlanSchedule:
    """The arrays the twin executes, from a plan made by :func:`plan_data` for ``inp``."""
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

    # plants order materials for what the plan makes there, not only what the policies would
    use = np.zeros((P, K))
    bom = inp.bom
    np.add.at(use, inp.line_plant, made.sum(axis=0) @ bom)
    use_per_day = use / (7.0 * W)
    target = inp.material_target.copy()
    for (p, k), lane in inp.material_lane.items():
        planned = material_target(use_per_day[p, k], lane.lead_time_days, inp.material_cover_days[p])
        target[p, k] = max(target[p, k], planned)
    return PlanSchedule(first_day=inp.warmup_days, make=make, outsource=outsource,
                        transfer=transfer, release=release, consumption=consumption, material_target=target)
