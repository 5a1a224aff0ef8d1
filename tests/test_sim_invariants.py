"""Invariants of the twin: conservation of units, no negative stock, same seed -> same result,
the documented order of same-day events, and the effect of events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.montecarlo import LocalExecutor, replication_rng, run
from twin.pipeline import sim_inputs
from twin.scenario import load_scenario
from twin.sim import simulate


@pytest.fixture(scope="module", params=["plan", "policy"])
def reference_runs(request, baseline):
    """Three replications of the baseline, executing its plan or on the hubs' policies alone."""
    loaded, inp, _ = baseline
    if request.param == "policy":
        loaded = loaded.updated(supply="policy")
        inp = sim_inputs(loaded)
    return loaded, [simulate(inp, replication_rng(7, i)) for i in range(3)]


def test_units_are_conserved(reference_runs):
    """Finished goods: on hand at the start + made + bought from partners
    = on hand at the end + delivered to customers + on lanes to hubs."""
    _, reps = reference_runs
    for rep in reps:
        inflow = rep.initial_units + rep.produced.sum() + rep.outsourced.sum()
        outflow = rep.inventory[-1].sum() + rep.shipped.sum() + rep.in_transit[-1].sum()
        assert inflow == pytest.approx(outflow, rel=1e-9)
        # the per-SKU record of what the lines made is the per-line record, split
        np.testing.assert_allclose(rep.produced_sku.sum(axis=1), rep.produced.sum(axis=1), rtol=1e-12, atol=1e-9)
        assert rep.produced.sum() > 0 and rep.shipped.sum() > 0


def test_demand_is_served_backordered_or_lost(reference_runs):
    """Every unit ordered is delivered the same day, backordered or lost."""
    _, reps = reference_runs
    for rep in reps:
        ordered = rep.demand.sum()
        accounted = rep.filled.sum() + rep.lost.sum() + (rep.shipped - rep.filled).sum() + rep.backlog_end.sum()
        assert accounted == pytest.approx(ordered, rel=1e-9)


def test_nothing_goes_negative(reference_runs):
    _, reps = reference_runs
    for rep in reps:
        for name in ("inventory", "backlog", "in_transit", "line_backlog", "filled", "shipped", "lost",
                     "regular_hours", "overtime_hours"):
            assert getattr(rep, name).min() >= -1e-9, name
        assert (rep.regular_hours <= rep.available_hours + 1e-9).all()


def test_weekly_line_hours_add_up_to_the_line_kpis(reference_runs):
    """The heat map's weekly series and the line KPIs are the same hours: summed over the
    horizon's weeks, hours worked / available is each line's utilisation."""
    from twin.sim import replication_kpis, replication_series

    for rep in reference_runs[1]:
        series = replication_series(rep)
        weekly = series[series["metric"].isin(["hours_worked", "hours_available"])]
        assert weekly["day"].nunique() == rep.inp.n_days_measured // 7
        hours = weekly.pivot_table(index="entity", columns="metric", values="value", aggfunc="sum")
        kpis = replication_kpis(rep)
        utilisation = kpis[(kpis["kpi"] == "utilisation") & (kpis["scope"] == "line")].set_index("entity")["value"]
        np.testing.assert_allclose((hours["hours_worked"] / hours["hours_available"]).loc[utilisation.index],
                                   utilisation, rtol=1e-12)


def test_same_seed_same_kpis_whatever_the_workers(baseline):
    loaded, inp, _ = baseline
    one = run(inp, 4, 11, LocalExecutor(1))
    two = run(inp, 4, 11, LocalExecutor(2))
    pd.testing.assert_frame_equal(one.kpis, two.kpis)
    pd.testing.assert_frame_equal(one.series, two.series)
    other = run(inp, 1, 12, LocalExecutor(1))
    assert not one.kpis[one.kpis["replication"] == 0]["value"].equals(other.kpis["value"])


def test_replication_seed_is_the_ith_child_of_the_seed_sequence():
    children = np.random.SeedSequence(99).spawn(5)
    for i, child in enumerate(children):
        assert np.array_equal(np.random.default_rng(child).random(3), replication_rng(99, i).random(3))


def test_same_day_order_receipts_then_demand_then_review(single_hub):
    """Deterministic demand of 5 a day, lane 3 days, base stock 5 x (3 + 1): if receipts come
    before demand and the review after it, every day ends with nothing on hand and no
    backorders. Any other order of the phases leaves backorders or stock."""
    path = single_hub(network=dict(daily_mean=5, lane_days=3, base_stock=20),
                      demand={"model": "normal", "cv": 1e-12, "history_weeks": 52})
    loaded = load_scenario(path)
    inp = sim_inputs(loaded)
    rep = simulate(inp, replication_rng(0, 0))
    w = inp.warmup_days
    assert (rep.demand[w:] == 5).all()
    assert (rep.backlog[w:] == 0).all()
    assert (rep.inventory[w:] == 0).all()
    assert (rep.filled[w:] == 5).all()


def test_demand_shock_changes_mean_demand_by_its_percent(single_hub):
    path = single_hub(network=dict(daily_mean=20), events=[
        {"type": "demand_shock", "change_pct": -30, "start": "2026-03-02", "days": 70},
        {"type": "demand_shock", "change_pct": 25, "start": "2026-06-01", "days": 70}])
    loaded = load_scenario(path)
    inp = sim_inputs(loaded)
    dates = pd.date_range("2025-12-08", periods=inp.days).date
    cut = (dates >= pd.Timestamp("2026-03-02").date()) & (dates < pd.Timestamp("2026-05-11").date())
    rise = (dates >= pd.Timestamp("2026-06-01").date()) & (dates < pd.Timestamp("2026-08-10").date())
    reps = [simulate(inp, replication_rng(3, i)).demand[:, 0, 0] for i in range(20)]
    d = np.array(reps)
    # mean 20/day over 70 days x 20 reps: se of the mean ~ 0.12
    assert d[:, cut].mean() == pytest.approx(14.0, abs=0.5)
    assert d[:, rise].mean() == pytest.approx(25.0, abs=0.5)
    assert d[:, ~(cut | rise)].mean() == pytest.approx(20.0, abs=0.3)


def test_line_outage_stops_the_line_for_exactly_its_days(single_hub):
    path = single_hub(events=[{"type": "line_outage", "line": "L", "start": "2026-02-02", "days": 10}])
    loaded = load_scenario(path)
    inp = sim_inputs(loaded)
    rep = simulate(inp, replication_rng(0, 0))
    first = (pd.Timestamp("2026-02-02") - pd.Timestamp("2025-12-08")).days
    assert (rep.produced[first:first + 10, 0] == 0).all()
    assert (rep.available_hours[first:first + 10, 0] == 0).all()
    assert rep.produced[first + 10, 0] > 0  # the queue built up during the outage is worked off
    assert (rep.available_hours[first + 10:, 0] > 0).all()


@pytest.mark.parametrize("policy, reorder_point, order_up_to, quantity", [("rQ", 30, "", 25), ("sS", 30, 80, "")])
def test_reorder_point_policies_order_what_they_promise(single_hub, policy, reorder_point, order_up_to, quantity):
    """(r,Q) orders whole multiples of Q; (s,S) orders only at or below s, and then at least S - s.

    The line has ample hours, so each day's order is still in its queue at the end of the day
    it was placed and gone by the next: ``line_backlog`` is the day's order."""
    row = dict(policy=policy, reorder_point_units=reorder_point, order_up_to_units=order_up_to,
               order_quantity_units=quantity)
    path = single_hub(overrides={"hub_policies": {"H/A": row}}, network=dict(daily_mean=6.0))
    loaded = load_scenario(path)
    rep = simulate(sim_inputs(loaded), replication_rng(0, 0))
    orders = rep.line_backlog[:, 0]
    placed = orders[orders > 0]
    assert len(placed) > 20
    if policy == "rQ":
        assert np.allclose(placed / quantity, np.round(placed / quantity))
    else:
        assert placed.min() >= order_up_to - reorder_point
        assert len(placed) < 0.5 * len(orders)  # (s,S) does not order every day
