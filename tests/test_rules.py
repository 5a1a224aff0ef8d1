"""The default touchless rules: each fires when its threshold is crossed, not when it is
not, does (or only prepares) its action, and writes its decision-log row."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SCENARIOS

from twin.montecarlo import LocalExecutor, replication_rng, run
from twin.pipeline import sim_inputs
from twin.scenario import DEFAULT_POLICIES, load_scenario, variants
from twin.sim import Twin

HORIZON_START = dt.date(2026, 1, 5)  # the single hub's; 4 warm-up weeks before it
FIRST_DAY = HORIZON_START - dt.timedelta(weeks=4)
SMALL, LARGE, SUPPLIER, COMPETITOR = (r.name for r in DEFAULT_POLICIES)


def _twin(path) -> tuple[Twin, pd.DataFrame]:
    loaded = load_scenario(path)
    twin = Twin(sim_inputs(loaded), replication_rng(0, 0))
    rep = twin.run()
    return twin, pd.DataFrame(rep.decisions)


def _spike(single_hub, change_pct: float | None):
    """1,000 units a day, exactly, every week of the history (no noise), and a demand shock
    over every simulated day: each weekly review sees a spike of about ``change_pct``."""
    events = [] if change_pct is None else [{"type": "demand_shock", "change_pct": change_pct,
                                             "start": str(FIRST_DAY), "days": 400}]
    return _twin(single_hub(network=dict(daily_mean=1000, base_stock=30_000, line_hours_per_week=168,
                                         hours_per_unit=0.01), events=events,
                            demand={"model": "empirical", "history_weeks": 52}))


def test_no_spike_no_decision(single_hub):
    twin, log = _spike(single_hub, None)
    assert log.empty and not twin.extra_overtime.any()


def test_spike_under_the_threshold_fires_nothing(single_hub):
    """+0.5 %: under the small-spike rule's 1 % floor (the history has no noise, so the
    detector signals and sizes it exactly)."""
    twin, log = _spike(single_hub, 0.5)
    assert log.empty and not twin.extra_overtime.any()


def test_spike_under_5_percent_auto_approves_an_overtime_shift(single_hub):
    """+4 %: the auto rule approves 8 h/day more overtime on the line for 4 weeks, then rests
    4 weeks, in which the spike detector gathers new evidence: it fires at the horizon start
    and every 4 weeks after, 13 times in 52 weeks."""
    twin, log = _spike(single_hub, 4)
    assert set(log["rule"]) == {SMALL}
    assert len(log) == 13
    assert log["value"].between(3.5, 4.5).all()
    first = log.iloc[0]
    assert first["date"] == HORIZON_START and first["due"] == HORIZON_START  # auto: nothing to wait for
    assert (first["action"], first["mode"], first["done"], first["owner"]) == ("approve_overtime", "auto", True,
                                                                               "Plant manager")
    assert first["threshold"] == "> 1 and < 5"
    assert "8 h/day more overtime on L for 4 weeks" in first["detail"]
    # 4 % of 7,000 units a week at 0.01 h each, over 4 weeks, at $75 an overtime hour
    assert first["action_cost"] == pytest.approx(0.04 * 7000 * 4 * 0.01 * 75, rel=0.15)
    assert first["revenue_at_stake"] == pytest.approx(0.04 * 7000 * 4 * 10, rel=0.15)  # $10 a unit
    start = (HORIZON_START - FIRST_DAY).days
    assert (twin.extra_overtime[start:, 0] == 8).all() and not twin.extra_overtime[:start].any()


def test_spike_over_5_percent_prepares_an_executive_decision_and_approves_nothing(single_hub):
    twin, log = _spike(single_hub, 12)
    assert set(log["rule"]) == {LARGE}
    assert log["value"].between(11, 13).all()
    assert not log["done"].any() and set(log["mode"]) == {"decide"} and set(log["owner"]) == {"S&OP executive"}
    assert (log["due"] - log["date"] == dt.timedelta(days=14)).all()
    assert not twin.extra_overtime.any()


def _with_supplier(single_hub, delay_days: int):
    """The single hub's plant buys one material per unit from a supplier that is always on
    time, and a ``supplier_delay`` makes its dispatch on Monday 2 February 2026 late."""
    path = single_hub(events=[{"type": "supplier_delay", "supplier": "U", "delay_days": delay_days,
                               "start": "2026-02-02", "days": 7}])
    net = path.parent / "net"
    tables = {
        "materials": [dict(material="K", name="Resin", cost_per_unit=1)],
        "suppliers": [dict(supplier="U", name="Supplier", reliability=1.0, late_days=0)],
        "supplier_materials": [dict(supplier="U", material="K", capacity_units_per_week=1e6)],
        "bom": [dict(sku="A", material="K", qty_per_unit=1)],
    }
    for name, rows in tables.items():
        pd.DataFrame(rows).to_csv(net / f"{name}.csv", index=False)
    lanes = pd.read_csv(net / "lanes.csv")
    lanes.loc[len(lanes)] = dict(lane="UP", origin="U", destination="P", mode="road", lead_time_days=2,
                                 lead_time_sd_days=0, lead_time_distribution="fixed", cost_per_unit=0)
    lanes.to_csv(net / "lanes.csv", index=False)
    return _twin(path)


def test_supplier_a_week_late_fires_nothing(single_hub):
    _, log = _with_supplier(single_hub, 7)
    assert log.empty


def test_supplier_over_a_week_late_reroutes_for_review(single_hub):
    """8 days late: seen at the next weekly review, a reroute for a planner to review (one
    hub: nothing to move, and the row says so)."""
    _, log = _with_supplier(single_hub, 8)
    assert len(log) == 1
    row = log.iloc[0]
    assert row["rule"] == SUPPLIER and row["entity"] == "U" and row["value"] == 8
    assert row["date"] == dt.date(2026, 2, 9) and row["due"] == dt.date(2026, 2, 16)
    assert (row["action"], row["mode"], row["done"], row["owner"]) == ("reroute_stock", "review", True,
                                                                       "Supply planner")
    assert row["action_cost"] == 0 and "No other hub" in row["detail"]


def test_reroute_moves_stock_between_hubs_on_the_day_it_fires(tmp_path):
    """The reference network under the policies alone: no hub-to-hub shipment happens but
    the reroute's, so what leaves on hub-to-hub lanes that day is what the row moved."""
    path = tmp_path / "late.yaml"
    path.write_text(yaml.safe_dump({"extends": str(SCENARIOS / "supplier_delay.yaml"), "supply": "policy",
                                    "demand": {"model": "empirical"}}))
    loaded = load_scenario(path)
    twin = Twin(sim_inputs(loaded), replication_rng(0, 0))
    rep = twin.run()
    log = pd.DataFrame(rep.decisions)
    reroutes = log[log["rule"] == SUPPLIER]
    assert len(reroutes) == 2  # six late weeks: it fires, rests four weeks, fires again
    hub_lanes = [lane.lane for lane in rep.inp.hub_hub_lane.values()]
    first_day = loaded.scenario.horizon.start - dt.timedelta(weeks=4)
    for row in reroutes.itertuples():
        moved = float(re.search(r"Moved ([\d,]+) units", row.detail).group(1).replace(",", ""))
        assert moved > 0
        assert sum(rep.lane_departures[lane][(row.date - first_day).days] for lane in hub_lanes) == pytest.approx(moved)
    assert sum(rep.lane_departures[lane].sum() for lane in hub_lanes) == pytest.approx(
        sum(float(re.search(r"Moved ([\d,]+)", d).group(1).replace(",", "")) for d in reroutes["detail"]))


def test_competitor_entry_prepares_the_pricing_options_for_a_decision(single_hub):
    entry = {"type": "competitor_entry", "start": "2026-03-04", "share_loss_pct": 10, "elasticity": -2,
             "strategies": [{"name": "Hold", "price_change_pct": 0}, {"name": "Cut", "price_change_pct": -10}]}
    path = single_hub(events=[entry])
    rows = []
    for v in variants(load_scenario(path)):
        twin = Twin(sim_inputs(v), replication_rng(0, 0))
        rows.append(pd.DataFrame(twin.run().decisions))
    for log, chosen in zip(rows, ("Hold", "Cut")):
        assert len(log) == 1
        row = log.iloc[0]
        assert row["rule"] == COMPETITOR and row["value"] == 10
        assert row["date"] == dt.date(2026, 3, 9)  # the first weekly review on or after the entry
        assert (row["action"], row["mode"], row["done"]) == ("prepare_pricing_options", "decide", False)
        assert "Hold (price +0 %, volume x0.90)" in row["detail"] and "Cut (price -10 %, volume x1.11)" in row["detail"]
        assert row["detail"].endswith(f"This run: {chosen}")
        # 4 units a day, $10 each, 10 % of it from the entry to the end (2026-01-05 + 52 weeks)
        days = (dt.date(2027, 1, 4) - dt.date(2026, 3, 4)).days
        assert row["action_cost"] == 0  # options prepared: nothing spent
        assert row["revenue_at_stake"] == pytest.approx(4 * days * 10 * 0.10)


def test_no_competitor_share_lost_no_decision(single_hub):
    entry = {"type": "competitor_entry", "start": "2026-03-04", "share_loss_pct": 0, "elasticity": -2,
             "strategies": [{"name": "Hold"}]}
    _, log = _twin(single_hub(events=[entry]))
    assert log.empty


def test_the_decision_log_is_written_with_the_run(single_hub):
    path = single_hub(events=[{"type": "demand_shock", "change_pct": 4, "start": str(FIRST_DAY), "days": 400}],
                      network=dict(daily_mean=1000, base_stock=30_000, hours_per_unit=0.01),
                      demand={"model": "empirical", "history_weeks": 52})
    result = run(sim_inputs(load_scenario(path)), 3, 1, LocalExecutor(1))
    log = result.decisions
    assert sorted(set(log["replication"])) == [0, 1, 2]
    assert (log.groupby("replication").size() == 13).all()
    assert list(log.columns[:2]) == ["scenario", "replication"]
    assert np.isfinite(log["action_cost"]).all()
