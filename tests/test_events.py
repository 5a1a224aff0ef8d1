"""Disruption events, each on a small network where the effect is known by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SCENARIOS
from plan_instances import one_line

from optimizer import make_plan
from twin.montecarlo import replication_rng
from twin.planning import plan_data
from twin.scenario import load_scenario, variants
from twin.pipeline import prepare, sim_inputs
from twin.sim import replication_kpis, simulate

FIRST_DAY = dt.date(2025, 12, 8)  # the single hub's first simulated day (4 warm-up weeks before 2026-01-05)
START, DAYS = dt.date(2026, 2, 2), 10


def _baseline_with(tmp_path, events: list[dict], **fields):
    """The shipped baseline, extended by a scenario with these events (and other fields), loaded."""
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump({"extends": str(SCENARIOS / "baseline.yaml"), "name": "Event test",
                                    "events": events, **fields}))
    return load_scenario(path)


def _run(single_hub, event: dict):
    # plant to hub: 3 days, fixed; the line has ample hours, so it makes each day what was ordered
    path = single_hub(network=dict(lane_days=3, via_port=True), events=[event])
    loaded = load_scenario(path)
    inp = sim_inputs(loaded)
    return inp, simulate(inp, replication_rng(0, 0))


def _arrivals(rep) -> np.ndarray:
    """Units landing at the single hub each day: the change in stock plus what it delivered."""
    stock = rep.inventory[:, 0].sum(axis=1)
    return np.diff(stock, prepend=rep.initial_units) + rep.shipped[:, 0].sum(axis=1)


def test_port_closure_holds_arrivals_for_exactly_its_days(single_hub):
    """Nothing lands while the port is shut; everything that would have landed meanwhile
    lands the day it reopens, with that day's own arrivals; departures never stop."""
    inp, rep = _run(single_hub, {"type": "port_closure", "port": "PORT", "start": str(START), "days": DAYS})
    a = (START - FIRST_DAY).days
    b = a + DAYS
    arrived, left = _arrivals(rep), rep.lane_departures["PH"]
    assert arrived[a:b] == pytest.approx(0.0, abs=1e-9)
    assert arrived[b] == pytest.approx(left[a - 3:b - 3 + 1].sum())
    assert arrived[a - 1] > 0 and (left[a:b] > 0).all()
    assert arrived[b + 1] == pytest.approx(left[b + 1 - 3])  # back to normal the next day


def test_lane_closure_stops_departures_for_exactly_its_days(single_hub):
    """Nothing leaves while the lane is closed; the output made meanwhile leaves the day it
    reopens."""
    inp, rep = _run(single_hub, {"type": "lane_closure", "lane": "PH", "start": str(START), "days": DAYS})
    a = (START - FIRST_DAY).days
    b = a + DAYS
    left = rep.lane_departures["PH"]
    assert left[a:b] == pytest.approx(0.0, abs=1e-9)
    assert left[a - 1] > 0
    assert left[b] == pytest.approx(rep.produced[a:b + 1, 0].sum())


def test_closures_reach_the_plan_in_exactly_the_weeks_they_cover(tmp_path):
    """The reference's motors come by sea through PORT1 (lanes LN07-LN09, 35 days = 5
    weeks). A two-week port closure from Monday 1 March 2027 (weeks 9 and 10 of the plan)
    forbids the departures that would land in those weeks, weeks 4 and 5; a lane closure
    of one road lane for the same days forbids its departures in weeks 9 and 10."""
    loaded = _baseline_with(tmp_path, [{"type": "port_closure", "port": "PORT1", "start": "2027-03-01", "days": 14},
                                       {"type": "lane_closure", "lane": "LN12", "start": "2027-03-01", "days": 14}])
    data = plan_data(loaded, sim_inputs(loaded))
    weeks = [loaded.scenario.horizon.start + dt.timedelta(weeks=w) for w in range(52)]
    expected = {(lane, weeks[w]) for lane in ("LN07", "LN08", "LN09") for w in (3, 4)}
    expected |= {("LN12", weeks[w]) for w in (8, 9)}
    assert set(data.lane_closed) == expected
    assert isinstance(data.lane_closed, pd.MultiIndex)


def test_closing_the_market_lane_stops_deliveries_and_backorders_demand(single_hub):
    inp, rep = _run(single_hub, {"type": "lane_closure", "lane": "HM", "start": str(START), "days": DAYS})
    a = (START - FIRST_DAY).days
    b = a + DAYS
    assert rep.shipped[a:b].sum() == 0.0
    assert rep.backlog[b - 1, 0] == pytest.approx(rep.demand[a:b].sum())  # nothing was owed before
    assert rep.shipped[b].sum() >= rep.backlog[b - 1, 0]  # the hub had the stock to clear it at once


def test_capacity_change_scales_a_lines_hours_for_exactly_its_days(single_hub):
    inp, rep = _run(single_hub, {"type": "capacity_change", "line": "L", "change_pct": -40,
                                 "start": str(START), "days": DAYS})
    a = (START - FIRST_DAY).days
    b = a + DAYS
    regular = inp.regular_hours_per_day[0]
    assert rep.available_hours[a:b, 0] == pytest.approx(0.6 * regular)
    assert rep.available_hours[b, 0] == pytest.approx(regular)
    assert rep.available_hours[a - 1, 0] == pytest.approx(regular)


def test_supplier_delay_makes_every_dispatch_in_its_window_leave_late(tmp_path):
    """The reference's steel supplier S1 ships weekly on Mondays by road (3 days). A 10-day
    delay over two weeks makes both of its dispatches in them leave 10 days later, and no
    other."""
    loaded = _baseline_with(
        tmp_path, [{"type": "supplier_delay", "supplier": "S1", "delay_days": 10, "start": "2027-03-01", "days": 14}],
        supply="policy", overrides={"suppliers": {"S1": {"reliability": 1.0}}})  # no random lateness on top
    inp = sim_inputs(loaded)
    rep = simulate(inp, replication_rng(0, 0))
    start = (dt.date(2027, 3, 1) - (loaded.scenario.horizon.start - dt.timedelta(weeks=4))).days
    steel = rep.lane_departures["LN01"]
    dispatched = np.flatnonzero(steel > 0)
    assert start not in dispatched and start + 7 not in dispatched
    assert start + 10 in dispatched and start + 17 in dispatched
    assert start - 7 in dispatched and start + 14 in dispatched  # the weeks around are on time


def test_supplier_delay_adds_lead_time_in_the_plan(tmp_path):
    """10 days late with certainty, over two weeks from Monday 1 March 2027 (plan weeks 9
    and 10): each lane from supplier S1 takes one more week for departures in them (a
    3-day lot counts from the next week; 13 days, from the second week after)."""
    loaded = _baseline_with(
        tmp_path, [{"type": "supplier_delay", "supplier": "S1", "delay_days": 10, "start": "2027-03-01", "days": 14}])
    data = plan_data(loaded, sim_inputs(loaded))
    weeks = [loaded.scenario.horizon.start + dt.timedelta(weeks=w) for w in range(52)]
    assert data.lead_extra.to_dict() == {(lane, weeks[w]): 1.0 for lane in ("LN01", "LN02", "LN03") for w in (8, 9)}
    plan = make_plan(data, partner_savings=False)
    steel = plan.shipments[plan.shipments["lane"] == "LN01"].set_index("period")["arrival_period"]
    assert set(steel.loc[[weeks[8]]]) == {weeks[10]}  # 3 days' road lead: 1 week, plus 1
    assert set(steel.loc[[weeks[10]]]) == {weeks[11]}


def test_hub_outage_stops_receipts_and_deliveries_for_exactly_its_days(single_hub):
    inp, rep = _run(single_hub, {"type": "site_outage", "site": "H", "start": str(START), "days": DAYS})
    a = (START - FIRST_DAY).days
    b = a + DAYS
    arrived, left = _arrivals(rep), rep.lane_departures["PH"]
    assert rep.shipped[a:b].sum() == 0.0 and arrived[a:b] == pytest.approx(0.0, abs=1e-9)
    assert arrived[b] == pytest.approx(left[a - 3:b - 3 + 1].sum())  # what waited at the gate lands
    assert rep.shipped[b].sum() > 0


def test_plant_outage_stops_its_lines_for_exactly_its_days(single_hub):
    inp, rep = _run(single_hub, {"type": "site_outage", "site": "P", "start": str(START), "days": DAYS})
    a = (START - FIRST_DAY).days
    b = a + DAYS
    assert rep.produced[a:b].sum() == 0.0 and rep.available_hours[a:b].sum() == 0.0
    assert rep.produced[b, 0] > 0


def test_cost_change_on_a_lane_costs_exactly_its_percent_for_its_days(single_hub):
    """Plant to hub costs $1 a unit, hub to market $0.50; +50 % on the first lane for ten days."""
    inp, rep = _run(single_hub, {"type": "cost_change", "lane": "PH", "change_pct": 50, "start": str(START),
                                 "days": DAYS})
    a = (START - FIRST_DAY).days
    b = a + DAYS
    factor = np.where((np.arange(inp.days) >= a) & (np.arange(inp.days) < b), 1.5, 1.0)
    expected = rep.lane_departures["PH"] * 1.0 * factor + rep.shipped[:, 0].sum(axis=1) * 0.5
    assert rep.transport_cost == pytest.approx(expected)


def test_cost_change_moves_the_plan_to_the_cheaper_route():
    """Ten times the cost on the direct plant-to-hub lane ($5) makes the route through the
    other hub ($0.50 + $0.25) the cheaper one."""
    data = one_line(regular_hours=20)
    dearer = replace(data, lane_cost_factor=pd.Series([10.0], index=pd.MultiIndex.from_tuples(
        [("PH1", 1)], names=["lane", "period"])))
    plan = make_plan(dearer)
    moved = plan.shipments.set_index("lane")["units"]
    assert "PH1" not in moved.index and moved["H2H1"] == pytest.approx(20)
    assert plan.costs["transport"] == pytest.approx(20 * 0.75)


def test_material_price_change_reaches_the_twin_and_the_plan(tmp_path):
    """+20 % on motors for the two weeks from Monday 1 March 2027: the plan prices motors
    1.2 times in exactly plan weeks 9 and 10, and the twin on exactly those 14 days."""
    loaded = _baseline_with(
        tmp_path, [{"type": "cost_change", "material": "MOTOR", "change_pct": 20, "start": "2027-03-01", "days": 14}])
    inp = sim_inputs(loaded)
    data = plan_data(loaded, inp)
    weeks = [loaded.scenario.horizon.start + dt.timedelta(weeks=w) for w in range(52)]
    assert data.material_cost_factor.to_dict() == {("MOTOR", weeks[8]): pytest.approx(1.2),
                                                   ("MOTOR", weeks[9]): pytest.approx(1.2)}
    k = inp.materials.index("MOTOR")
    a = (dt.date(2027, 3, 1) - (loaded.scenario.horizon.start - dt.timedelta(weeks=4))).days
    assert inp.timeline.material_cost_factor[a:a + 14, k] == pytest.approx(1.2)
    assert inp.timeline.material_cost_factor[a - 1, k] == 1.0 and inp.timeline.material_cost_factor[a + 14, k] == 1.0


ENTRY = {"type": "competitor_entry", "start": "2026-01-05", "share_loss_pct": 10, "elasticity": -2,
         "strategies": [{"name": "Hold", "price_change_pct": 0},
                        {"name": "Cut 10 %", "price_change_pct": -10},
                        {"name": "Premium", "price_change_pct": 5, "share_loss_pct": 5,
                         "delivery_cost_change_pct": 40}]}
# (1 - share) x (1 + price change) ^ elasticity, by hand
VOLUME = {"Hold": 0.9, "Cut 10 %": 0.9 / 0.81, "Premium": 0.95 / 1.05 ** 2}
PRICE = {"Hold": 1.0, "Cut 10 %": 0.9, "Premium": 1.05}


@pytest.mark.parametrize("strategy", list(VOLUME))
def test_competitor_share_loss_and_elasticity_give_the_volume_and_price_at_each_strategy(single_hub, strategy):
    """1,000 units a day, every week the same; the competitor enters at the horizon start.
    Each strategy is a variant; its demand is (1 - share loss) x (1 + price change) ^
    elasticity of the old demand, its revenue is at its price, the plan sees both."""
    path = single_hub(network=dict(daily_mean=1000, base_stock=30_000), events=[ENTRY],
                      demand={"model": "empirical", "history_weeks": 52}, policies=[])
    runs = {v.scenario.name.split(": ")[-1]: v for v in variants(load_scenario(path))}
    assert list(runs) == list(VOLUME)
    loaded = runs[strategy]
    inp = sim_inputs(loaded)
    w = inp.warmup_days
    factor = inp.timeline.demand_factor
    assert factor[w:] == pytest.approx(VOLUME[strategy]) and factor[:w] == pytest.approx(1.0)
    rep = simulate(inp, replication_rng(0, 0))
    measured = rep.demand[w:].sum()
    assert measured == pytest.approx(1000 * VOLUME[strategy] * (inp.days - w), rel=0.01)
    assert rep.demand[:w].sum() == 1000 * w  # before the entry: exactly the history
    revenue = replication_kpis(rep).set_index(["kpi", "scope"]).loc[("revenue", "total"), "value"]
    assert revenue == pytest.approx(rep.shipped[w:].sum() * 10 * PRICE[strategy])
    delivery = inp.timeline.lane_cost_factor.get("HM", np.ones(inp.days))
    assert delivery[w:] == pytest.approx(1.4 if strategy == "Premium" else 1.0)

    data = plan_data(loaded, inp)
    assert data.demand.to_numpy() == pytest.approx(7000 * VOLUME[strategy])
    assert data.price_factor.to_numpy() == pytest.approx(np.full(len(data.price_factor), PRICE[strategy]))
    assert len(data.price_factor) == (0 if strategy == "Hold" else 52)


def test_a_price_cut_makes_the_margin_plan_earn_less_per_unit():
    """The LP's revenue is at the strategy's price: 20 units sold at $150, then at $135."""
    data = replace(one_line(regular_hours=20), objective="margin")
    full = make_plan(data, partner_savings=False).revenue
    cut = replace(data, price_factor=pd.Series(0.9, index=pd.MultiIndex.from_tuples(
        [(m, s, p) for m, s, p in data.demand.index], names=["market", "sku", "period"])))
    assert make_plan(cut, partner_savings=False).revenue == pytest.approx(0.9 * full)


@pytest.mark.parametrize("known", [None, False, True])
def test_the_plan_sees_only_the_events_it_knows_of_and_the_twin_all(single_hub, known):
    """+50 % demand in February: a demand shock is a surprise by default (the twin meets it,
    the plan and the rules expect the old demand); marked ``known_to_plan`` the plan plans
    for it and the spike rules expect it."""
    shock = {"type": "demand_shock", "change_pct": 50, "start": str(START), "days": 28}
    if known is not None:
        shock["known_to_plan"] = known
    path = single_hub(supply="plan", events=[shock], demand={"model": "empirical", "history_weeks": 52},
                      network=dict(daily_mean=1000, base_stock=30_000, hours_per_unit=0.01))
    loaded = load_scenario(path)
    inp, _ = prepare(loaded)
    a = (START - FIRST_DAY).days
    assert inp.timeline.demand_factor[a:a + 28] == pytest.approx(1.5)
    assert inp.timeline.demand_factor[a - 1] == 1.0 and inp.timeline.demand_factor[a + 28] == 1.0
    weekly = plan_data(loaded, inp).demand.groupby("period").sum()
    in_window = weekly.index.isin([START + dt.timedelta(weeks=w) for w in range(4)])
    assert weekly[~in_window].to_numpy() == pytest.approx(7000)
    assert weekly[in_window].to_numpy() == pytest.approx(7000 * (1.5 if known else 1.0))
    assert (inp.known.demand_factor is not None) == bool(known)
    log = pd.DataFrame(simulate(inp, replication_rng(0, 0)).decisions)
    spiked = not log.empty and (log["trigger"] == "demand_spike").any()
    assert spiked == (not known)  # a spike the plan expected is no surprise


def test_the_timeline_reads_as_a_table_of_runs(single_hub):
    """A port closure and a line outage, as a planner reads the timeline: one row per entity
    and run of days, from the first day to the first day after."""
    path = single_hub(network=dict(via_port=True), events=[
        {"type": "port_closure", "port": "PORT", "start": str(START), "days": DAYS},
        {"type": "line_outage", "line": "L", "start": "2026-03-02", "end": "2026-03-05"}])
    loaded = load_scenario(path)
    inp = sim_inputs(loaded)
    from twin.timeline import Axes

    table = inp.timeline.frame(Axes.of(loaded.network))
    assert table.to_dict("records") == [
        {"entity": "L", "quantity": "line_up", "start": dt.date(2026, 3, 2), "end": dt.date(2026, 3, 5), "value": 0.0},
        {"entity": "PH", "quantity": "arrivals_closed", "start": START, "end": START + dt.timedelta(days=DAYS),
         "value": 1.0}]
