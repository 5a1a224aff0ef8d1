"""The capacity LP against published optima and hand-solved instances.

Each constraint family is shown to bind where it should: hours, overtime, partner
capacity, lanes, supplier capacity, and the end-of-horizon requirements.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import SCENARIOS
from plan_instances import alike_markets as alike_markets_instance
from plan_instances import one_line, p_and_t, red_tomato

from optimizer import PlanError, PlanInfeasible, SolverOptions, make_plan
from optimizer.merge import alike_markets


def test_aggregate_planning_red_tomato_chopra_meindl():
    """Chopra & Meindl, Supply Chain Management, "Aggregate Planning in a Supply Chain":
    the optimal aggregate plan of Red Tomato Tools costs $422,275; it lays off 15.4 of
    the 80 workers in January, keeps 64.6 all season and backlogs 267 tools in April."""
    plan = make_plan(red_tomato())
    assert plan.status == "optimal"
    assert plan.objective_value == pytest.approx(422_275, abs=0.5)
    assert plan.total_cost == pytest.approx(422_275, abs=0.5)
    workers = plan.workforce.set_index("period")
    assert workers.loc["Jan", "laid_off"] == pytest.approx(15.42, abs=0.01)
    assert workers["workers"].to_numpy() == pytest.approx([64.58] * 6, abs=0.01)
    backlog = plan.markets.set_index("period")["backlog_units"]
    assert backlog["Apr"] == pytest.approx(266.67, abs=0.01)
    assert backlog.drop("Apr").sum() == pytest.approx(0.0, abs=1e-6)


def test_transportation_p_and_t_hillier_lieberman():
    """Hillier & Lieberman, Introduction to Operations Research, section 9.1: the P&T
    Company ships its 300 truckloads at a minimum cost of $152,535, on the six routes of
    the published optimal solution."""
    plan = make_plan(p_and_t())
    assert plan.objective_value == pytest.approx(152_535, abs=0.5)
    assert plan.costs["transport"] == pytest.approx(152_535, abs=0.5)
    routes = plan.shipments[plan.shipments["origin"].str.startswith("C")]
    shipped = {(o, d): u for o, d, u in zip(routes["origin"], routes["destination"], routes["units"])}
    assert shipped == pytest.approx({("C1", "W2"): 20, ("C1", "W4"): 55, ("C2", "W1"): 80, ("C2", "W2"): 45,
                                     ("C3", "W3"): 70, ("C3", "W4"): 30})


def test_both_routes_to_highs_agree_on_values_and_shadow_values():
    """The standard-form route (default) and Pyomo's HiGHS interface give the same plan."""
    a = make_plan(red_tomato(), SolverOptions(route="standard_form"))
    b = make_plan(red_tomato(), SolverOptions(route="pyomo"))
    assert a.objective_value == pytest.approx(b.objective_value)
    assert a.workforce["workers"].to_numpy() == pytest.approx(b.workforce["workers"].to_numpy())
    x, y = make_plan(one_line(regular_hours=12)), make_plan(one_line(regular_hours=12), SolverOptions(route="pyomo"))
    assert x.lines["hour_value"].to_numpy() == pytest.approx(y.lines["hour_value"].to_numpy())
    assert x.partners["unit_value"].to_numpy() == pytest.approx(y.partners["unit_value"].to_numpy())


@pytest.mark.parametrize("regular_hours, regular, overtime, outsourced, hour_value", [
    (20, 20, 0, 0, 0.0),   # enough regular hours
    (17, 17, 3, 0, 1.0),   # overtime fills the gap: an hour saves $2 - $1
    (12, 12, 5, 3, 2.5),   # overtime at its cap, then the partner: an hour saves $4 - ($1 + $0.5 transport)
])
def test_cutting_line_hours_forces_overtime_then_outsourcing(regular_hours, regular, overtime, outsourced,
                                                              hour_value):
    plan = make_plan(one_line(regular_hours=regular_hours))
    p = plan.production.iloc[0]
    assert (p["regular_units"], p["overtime_units"]) == pytest.approx((regular, overtime))
    assert plan.outsourcing["units"].sum() == pytest.approx(outsourced)
    assert plan.lines["hour_value"].iloc[0] == pytest.approx(hour_value)
    assert plan.markets["lost_units"].sum() == pytest.approx(0.0)


def test_partner_capacity_binds_and_has_a_value():
    """Demand 40 against 10 regular + 5 overtime + 20 partner units: 5 are lost; one more
    partner unit saves the $100 lost-sale penalty less its $4 price."""
    plan = make_plan(one_line(demand=40))
    assert plan.outsourcing["units"].sum() == pytest.approx(20)
    assert plan.markets["lost_units"].sum() == pytest.approx(5)
    assert plan.partners["unit_value"].iloc[0] == pytest.approx(96.0)
    # an hour of regular time saves a lost sale ($100) less its cost ($1 + $0.5 transport)
    assert plan.lines["hour_value"].iloc[0] == pytest.approx(98.5)
    ranked = plan.bottlenecks.set_index("resource")
    assert ranked.loc["L", "kind"] == "line" and ranked.loc["X", "kind"] == "partner"
    # without the partner 20 more units are lost: $100 each instead of $4
    assert "outsourcing to it saves $1,920" in ranked.loc["X", "text"]
    # units that cannot be misread (issue 18: "worth $36.43 per week" read as per hour per week)
    assert "one more hour of it in that period lowers the plan's cost by $98.50;" in ranked.loc["L", "text"]
    assert ranked.loc["X", "text"].endswith("one more unit of its capacity in that period lowers the plan's cost by "
                                            "$96.00; outsourcing to it saves $1,920 over the horizon")


def test_closing_the_only_lane_reroutes_through_another_hub_then_loses_sales():
    rerouted = make_plan(one_line(regular_hours=20, hub_lane_closed=True))
    moved = rerouted.shipments.set_index("lane")["units"]
    assert "PH1" not in moved.index
    assert moved["PH2"] == pytest.approx(20) and moved["H2H1"] == pytest.approx(20)
    assert rerouted.costs["transport"] == pytest.approx(20 * (0.5 + 0.25))
    cut_off = make_plan(one_line(regular_hours=20, partner_capacity=0, hub_lane_closed=True,
                                 transfer_lane_closed=True))
    assert cut_off.production[["regular_units", "overtime_units"]].to_numpy().sum() == pytest.approx(0)
    assert cut_off.markets["lost_units"].sum() == pytest.approx(20)


def test_material_shortage_at_a_supplier_lowers_production():
    plan = make_plan(one_line(regular_hours=20, supplier_capacity=8))
    made = plan.production[["regular_units", "overtime_units"]].to_numpy().sum()
    assert made == pytest.approx(8)
    assert plan.outsourcing["units"].sum() == pytest.approx(12)


def test_margin_objective_leaves_unprofitable_demand_unserved():
    """At a price of $3 a unit made on regular time ($1.5 with transport) or overtime ($2.5)
    earns money and an outsourced one ($4) does not: the margin plan makes 17 and loses 3,
    while the cost plan, paying the $100 lost-sale penalty, outsources them."""
    data = one_line(regular_hours=12)
    cheap = replace(data, skus=data.skus.assign(price_per_unit=3.0), objective="margin")
    margin = make_plan(cheap)
    assert margin.outsourcing["units"].sum() == pytest.approx(0)
    assert margin.markets["lost_units"].sum() == pytest.approx(3)
    assert margin.objective_value == pytest.approx(17 * 3 - 12 * 1.5 - 5 * 2.5)
    assert make_plan(data).outsourcing["units"].sum() == pytest.approx(3)


def test_backlog_that_cannot_be_cleared_is_named():
    with pytest.raises(PlanInfeasible) as err:
        make_plan(one_line(demand=100, backorder=True))
    assert "backlog of A in market M cannot be cleared" in str(err.value)
    assert "65 units remain" in str(err.value)


def test_time_limit_without_a_plan_says_so():
    with pytest.raises(PlanError, match="time limit"):
        make_plan(red_tomato(), SolverOptions(time_limit_seconds=0.0))


def test_integer_workforce_hires_whole_workers():
    plan = make_plan(replace(red_tomato(), integer_workforce=True))
    workers = plan.workforce["workers"].to_numpy()
    assert workers == pytest.approx(np.round(workers))
    assert plan.objective_value >= 422_275 - 0.5


def test_alike_markets_are_solved_as_one_and_split_back_exactly():
    """Markets the plan cannot tell apart but by demand share LP columns (optimizer.merge):
    the same optimum as solving them apart, and a split that is a plan of each market
    (deliveries and backlog non-negative, each market's demand met, owed or lost) costing
    what the merged LP says."""
    data = alike_markets_instance()
    assert alike_markets(data) == {"B1": ["B1", "B2", "B3"], "L1": ["L1", "L2"]}
    merged, apart = make_plan(data), make_plan(data, merge=False)
    assert merged.size["rows"] < apart.size["rows"] and merged.size["columns"] < apart.size["columns"]
    assert merged.objective_value == pytest.approx(apart.objective_value, rel=1e-9)
    assert apart.markets["backlog_units"].max() > 1 and apart.markets["lost_units"].max() > 1  # the split matters

    mk = merged.markets.sort_values(["market", "sku", "period"])
    assert len(mk) == len(apart.markets) and set(mk["market"]) == set(data.markets.index)
    assert (mk[["delivered_units", "backlog_units", "lost_units"]] >= -1e-9).all().all()
    assert (mk["lost_units"] <= mk["demand_units"] + 1e-9).all()
    owed = mk.groupby(["market", "sku"])["backlog_units"].shift(fill_value=0.0) + [
        data.initial_backlog.get((m, s), 0.0) if t == 1 else 0.0 for m, s, t in zip(mk["market"], mk["sku"],
                                                                                      mk["period"])]
    np.testing.assert_allclose(mk["delivered_units"], mk["demand_units"] + owed - mk["backlog_units"] - mk["lost_units"],
                               atol=1e-9)
    price = data.skus["price_per_unit"]
    assert (mk["delivered_units"] * mk["sku"].map(price)).sum() == pytest.approx(merged.revenue, rel=1e-12)
    backlog_cost = data.skus["backlog_cost_per_unit_period"]
    assert (mk["backlog_units"] * mk["sku"].map(backlog_cost)).sum() == pytest.approx(merged.costs["backlog"],
                                                                                      rel=1e-12)
    for kind in merged.costs.index:
        assert merged.costs[kind] == pytest.approx(apart.costs[kind], abs=1e-6 * apart.total_cost), kind
    # what leaves the hub for each market is what it gets, on its own lane
    to_markets = merged.shipments[merged.shipments["destination"].isin(data.markets.index)]
    assert set(to_markets["lane"]) <= {f"H{m}" for m in data.markets.index}
    sent = to_markets.groupby(["destination", "item", "arrival_period"])["units"].sum()
    got = mk[mk["delivered_units"] > 1e-6].set_index(["market", "sku", "period"])["delivered_units"]
    np.testing.assert_allclose(sent.reindex(got.index).to_numpy(), got.to_numpy(), rtol=1e-12)


def test_a_plan_highs_presolve_leaves_unsolvable_is_solved_without_it():
    """The plan of the competitor's "Match at -8 %" at a 6 % share loss (a point of the
    sensitivity runs): after presolve, dual simplex and the interior point method both end
    in HiGHS's kSolveError (highspy 1.x, seen 2026-12-02); the same LP without presolve is
    optimal, and make_plan retries it that way."""
    from twin.pipeline import prepare
    from twin.scenario import load_scenario, variants
    from twin.sensitivity import key_assumptions

    match = variants(load_scenario(SCENARIOS / "new_competitor.yaml"))[1]
    share = next(a for a in key_assumptions(match) if a.label == "share loss")
    _, plan = prepare(share.at(match, 6.0))
    assert plan.status == "optimal"
