"""The twin executes a capacity plan: it follows the plan when demand is as forecast,
and the hubs' policies absorb what randomness changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.montecarlo import replication_rng
from twin.pipeline import plan_against_twin, prepare
from twin.scenario import load_scenario
from twin.sim import simulate

# 28 units a week (price $10, lost sale $11) against 2 regular hours a week (0.1 h per
# unit: $5 a unit at $50 an hour), a partner at $7 a unit for at most 5 a week, and up to
# 1 overtime hour ($7.50 a unit): the plan makes 20 on regular time, buys 5 from the
# partner and makes 3 on overtime, leaving 7 units of overtime a week to absorb randomness.
NETWORK = dict(daily_mean=4.0, hours_per_unit=0.1, line_hours_per_week=2, overtime_hours_per_week=1.0,
               partner=dict(capacity_units_per_week=5, cost_per_unit=7, lead_time_days=7), lane_days=1, base_stock=60)


def _plan_and_run(single_hub, model: str, seed: int = 0):
    # no warm-up: the twin starts in the state the plan assumes (60 on hand, nothing queued)
    path = single_hub(network=NETWORK, supply="plan", demand={"model": model, "history_weeks": 52},
                      horizon={"start": "2026-01-05", "weeks": 52, "warmup_weeks": 0})
    loaded = load_scenario(path)
    inp, plan = prepare(loaded)
    rep = simulate(inp, replication_rng(seed, 0))
    return inp, plan, rep


def test_plan_uses_regular_time_then_the_partner_then_overtime_in_cost_order(single_hub):
    _, plan, _ = _plan_and_run(single_hub, "empirical")
    weeks = plan.production.groupby("period")[["regular_units", "overtime_units"]].sum()
    bought = plan.outsourcing.groupby("period")["units"].sum()
    assert weeks["regular_units"].to_numpy() == pytest.approx(20.0)
    # the partner's units take 8 days (a week's lead, a day's lane): a week's order lands 6/7
    # the next week and 1/7 the week after, so the first weeks run more overtime instead, and
    # the last two weeks too (the partner's last orders would land after the horizon)
    assert bought.iloc[:-1].to_numpy() == pytest.approx(5.0)
    assert weeks["overtime_units"].iloc[0] == pytest.approx(10.0)  # at its cap: nothing from the partner yet
    assert weeks["overtime_units"].iloc[12:-2].to_numpy() == pytest.approx(3.0, abs=1e-6)
    assert plan.markets["lost_units"].sum() == pytest.approx(0.0)


def test_with_demand_as_forecast_the_twin_follows_the_plan(single_hub):
    """The empirical model on a constant history draws exactly 28 units every week, so
    the twin's totals over the year match the plan's: production on regular time and
    overtime, and units bought from the partner. The week's 28 units still fall on its
    days at random, and the hub corrects for that within the week: hence tolerances of
    a few percent on units, and more on overtime hours, which absorb those corrections."""
    inp, plan, rep = _plan_and_run(single_hub, "empirical")
    w = inp.warmup_days
    made_plan = plan.production[["regular_units", "overtime_units"]].to_numpy().sum()
    assert rep.produced[w:].sum() + rep.line_backlog[-1, 0] == pytest.approx(made_plan, rel=0.02)
    assert rep.overtime_hours[w:].sum() == pytest.approx(plan.production["overtime_hours"].sum(), rel=0.3)
    # the partner dispatches a week after the order: the last week's order ships after the run
    ordered = plan.outsourcing.groupby("period")["units"].sum().iloc[:-1].sum()
    assert rep.outsourced[w:].sum() == pytest.approx(ordered, rel=0.05)
    assert rep.filled[w:].sum() / rep.demand[w:].sum() > 0.99


def test_hub_policies_absorb_random_demand_without_drift(single_hub):
    """With Poisson demand around the forecast, corrections keep supply equal to demand
    over the year (no pile-up, no starvation) and service high."""
    inp, plan, rep = _plan_and_run(single_hub, "poisson", seed=3)
    w = inp.warmup_days
    supplied = rep.produced[w:].sum() + rep.outsourced[w:].sum()
    assert supplied == pytest.approx(rep.demand[w:].sum(), rel=0.03)
    stock = rep.inventory[w:, 0, 0]
    assert abs(stock[-56:].mean() - stock[:56].mean()) < 0.5 * rep.demand[w:].sum() / (len(stock) / 7)
    assert rep.filled[w:].sum() / rep.demand[w:].sum() > 0.95
    assert np.isfinite(rep.inventory).all()


def test_forecast_demand_is_history_then_forecast_plus_backtest_errors(baseline):
    """Under ``demand: forecast`` the warm-up weeks still in the history are the history,
    unit for unit; the horizon's weeks scatter around the forecast with the series' own
    backtest errors (their mean is the forecast's bias)."""
    loaded, inp, _ = baseline
    rep = simulate(inp, replication_rng(0, 0))
    weeks = rep.demand[: 7 * inp.weekly_expected.shape[0]].reshape(-1, 7, *rep.demand.shape[1:]).sum(axis=1)
    known = inp.weekly_known
    assert known.sum() == 4  # December 2026: the four warm-up weeks
    assert np.array_equal(weeks[known], inp.weekly_expected[known])
    future = ~known
    expected = (inp.weekly_expected[future] + inp.weekly_errors.mean(axis=0)).clip(min=0).sum()
    assert weeks[future].sum() == pytest.approx(expected, rel=0.03)


def test_the_deterministic_twin_draws_nothing_and_its_table_holds_the_plan_as_planned(single_hub):
    """The deterministic twin (``twin.agreement``): demand is the expected 4 units a day,
    every day, so two seeds give the same table; its plan column is the plan's own
    numbers; and on this instance, with no event and no warm-up, the twin delivers the
    plan's units and makes its production within 1 %."""
    path = single_hub(network=NETWORK, supply="plan", demand={"model": "poisson", "history_weeks": 52},
                      horizon={"start": "2026-01-05", "weeks": 52, "warmup_weeks": 0})
    loaded = load_scenario(path)
    plan, table = plan_against_twin(loaded, seed=0)
    _, again = plan_against_twin(loaded, seed=1)
    pd.testing.assert_frame_equal(table, again, check_exact=True)
    assert list(table.columns) == ["kpi", "entity", "period", "plan", "twin", "difference"]
    np.testing.assert_array_equal(table["difference"], table["twin"] - table["plan"])
    total = table[table["period"] == "horizon"].set_index(["kpi", "entity"])
    assert total.loc[("delivered_units", "M/F"), "plan"] == pytest.approx(plan.markets["delivered_units"].sum())
    assert total.loc[("production_units", "L"), "plan"] == pytest.approx(
        plan.production[["regular_units", "overtime_units"]].to_numpy().sum())
    assert total.loc[("delivered_units", "M/F"), "twin"] == pytest.approx(52 * 28, rel=0.01)
    assert total.loc[("delivered_units", "M/F"), "twin"] == pytest.approx(
        total.loc[("delivered_units", "M/F"), "plan"], rel=0.01)
    assert total.loc[("production_units", "L"), "twin"] == pytest.approx(
        total.loc[("production_units", "L"), "plan"], rel=0.01)
