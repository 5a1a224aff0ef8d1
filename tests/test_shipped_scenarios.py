"""The shipped scenarios against the baseline, at their default number of replications:
every headline KPI a scenario should move moves the expected way, with a 95 % interval
of the paired difference (common random numbers: same seed, replication by replication)
that excludes zero; and the playbook's rules fire where the scenario calls for them."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pytest
from conftest import SCENARIOS

from reports.summary import paired_deltas
from twin.montecarlo import LocalExecutor, run
from twin.pipeline import prepare
from twin.scenario import load_scenario, variants

# the twin's costs in the profit and loss (shortage is a memo account)
COST_ACCOUNTS = ("materials", "regular_time", "overtime", "outsourcing", "transport", "holding")

UP, DOWN = 1, -1
# scenario -> the headline KPIs it must move, and which way
EXPECTED = {
    # Both events are known to the plan, which rides them out: the closure with overtime
    # (session 10: +61 h, 42 to 79) at a service cost 30 replications cannot tell from noise
    # (fill rate -0.20 pt, -0.44 to +0.04; the plan's optimum is degenerate and which vertex
    # HiGHS returns moves it: separable before alike markets were merged, not after); the
    # late resin by buying ahead and rerouting, at a cost in transport and stock held and no
    # catch-up overtime to speak of (+15 h, -3 to +34 h); its accounting cost (shortage
    # penalties left out, session 16) rises too little for 30 replications to tell (+$2.1k,
    # -4.6k to 8.8k), and so does its margin's fall, 4,000 of 26.5 million (2026-12-08:
    # -3.5k, -13.0k to +6.0k, after -4.7k, -9.0k to -0.5k on the forecast before)
    "Port closure": {"overtime_hours": UP},
    "Resin supplier late": {"cost_transport": UP, "cost_holding": UP},
    "Demand spike 4 %": {"demand_units": UP, "revenue": UP, "cost_total": UP},
    "Demand spike 12 %": {"demand_units": UP, "revenue": UP, "cost_total": UP, "utilisation_avg": UP},
    "Line 3 outage": {"overtime_hours": UP, "inventory_value_avg": UP, "cost_total": UP, "margin": DOWN},
    "New competitor: Hold price": {"demand_units": DOWN, "revenue": DOWN, "margin": DOWN},
    # 8 % cheaper sells (0.92 ^ -1.8) x 0.88 = 1.02 of the volume, at 0.92 of the price
    "New competitor: Match at -8 %": {"demand_units": UP, "revenue": DOWN, "margin": DOWN},
    "New competitor: Premium +5 %": {"demand_units": DOWN, "revenue": DOWN, "margin": DOWN},
}
FILES = ["port_closure", "supplier_delay", "demand_spike_small", "demand_spike_large", "line_outage",
         "new_competitor"]


def _prepared(job: tuple[str, int]):
    """The twin's inputs of one variant of a shipped scenario, its plan attached."""
    name, i = job
    return prepare(variants(load_scenario(SCENARIOS / f"{name}.yaml"))[i])[0]


@pytest.fixture(scope="module")
def shipped(baseline):
    loaded, inp, _ = baseline
    mc = loaded.scenario.montecarlo
    jobs = [(name, i) for name in FILES for i in range(len(variants(load_scenario(SCENARIOS / f"{name}.yaml"))))]
    with ProcessPoolExecutor(2) as pool:  # the eight plans, two at a time (each solve is single-threaded)
        inputs = [inp, *pool.map(_prepared, jobs)]
    results = [run(v_inp, mc.replications, mc.seed, LocalExecutor(2)) for v_inp in inputs]
    return (pd.concat([r.kpis for r in results], ignore_index=True),
            pd.concat([r.decisions for r in results], ignore_index=True),
            pd.concat([r.ledger for r in results], ignore_index=True))


def test_every_shipped_scenario_moves_its_kpis_the_expected_way(shipped):
    kpis, _, _ = shipped
    assert kpis.groupby("scenario")["replication"].nunique().eq(30).all()  # the scenarios' default
    deltas = paired_deltas(kpis[kpis["scope"] == "total"], "Baseline").set_index(["scenario", "kpi"])
    assert set(deltas.index.get_level_values("scenario")) == set(EXPECTED)
    wrong = []
    for scenario, moves in EXPECTED.items():
        for kpi, sign in moves.items():
            d = deltas.loc[(scenario, kpi)]
            bound = d["delta_low"] if sign == UP else -d["delta_high"]
            if not bound > 0:
                wrong.append(f"{scenario}: {kpi} delta {d['delta']:+.4g} [{d['delta_low']:.4g}, {d['delta_high']:.4g}]")
    assert not wrong, "\n".join(wrong)


def test_the_playbook_fires_where_the_scenarios_call_for_it(shipped):
    _, log, _ = shipped
    fired = log.groupby(["scenario", "action", "entity"])["replication"].nunique()
    assert fired[("Resin supplier late", "reroute_stock", "S2")] == 30
    # +4 % for six weeks, seen through four-week windows of noisy demand (CORE's noise is
    # about 1 % a window, and a spike must clear 3 of it): caught in most replications,
    # mostly under 5 % (overtime), now and then over it (escalated)
    core = log[(log["scenario"] == "Demand spike 4 %") & (log["entity"] == "CORE")]
    assert core["replication"].nunique() >= 20
    assert (core["action"] == "approve_overtime").mean() > 0.5
    assert fired[("Demand spike 12 %", "escalate", "CORE")] == 30
    for strategy in ("Hold price", "Match at -8 %", "Premium +5 %"):
        assert fired[(f"New competitor: {strategy}", "prepare_pricing_options", "competitor in M05, M06")] == 30
    assert ("Baseline", "approve_overtime", "CORE") not in fired.index
    assert ("Baseline", "escalate", "CORE") not in fired.index
    assert not (log["scenario"] == "Baseline").sum() > 30 * 0.5, "noise alone should rarely fire a rule"


def test_margin_per_sku_adds_up_to_the_accounting_margin_in_every_replication(shipped):
    """Every replication of every shipped scenario: the margin per SKU (a query over the
    ledger) sums to the accounting margin the KPIs count day by day, to 1e-6 relative, and
    the ledger's accounts to the cost KPIs; the penalty for shortage stays outside it."""
    kpis, _, ledger = shipped
    by = ["scenario", "replication"]
    total = kpis[kpis["scope"] == "total"].pivot_table(index=by, columns="kpi", values="value")
    per_sku = kpis[(kpis["kpi"] == "margin") & (kpis["scope"] == "sku")].groupby(by)["value"].agg(["sum", "size"])
    per_family = kpis[(kpis["kpi"] == "margin") & (kpis["scope"] == "family")].groupby(by)["value"].sum()
    assert len(total) == 9 * 30 and per_sku.index.equals(total.index)
    assert (per_sku["size"] == 40).all()  # every SKU, each replication
    assert ((per_sku["sum"] - total["margin"]).abs() <= 1e-6 * total["margin"].abs()).all()
    assert ((per_family - total["margin"]).abs() <= 1e-6 * total["margin"].abs()).all()
    revenue = kpis[(kpis["kpi"] == "revenue") & (kpis["scope"] == "sku")].groupby(by)["value"].sum()
    assert ((revenue - total["revenue"]).abs() <= 1e-9 * total["revenue"]).all()
    booked = ledger.pivot_table(index=by, columns="account", values="amount", aggfunc="sum")
    for kpi in ("revenue", *(f"cost_{k}" for k in (*COST_ACCOUNTS, "shortage"))):
        account = kpi.removeprefix("cost_")
        counted = total[kpi]
        amount = booked[account].fillna(0.0) if account in booked else 0.0
        assert ((amount - counted).abs() <= 1e-9 * counted.abs() + 1e-6).all(), kpi
    assert (total["margin"] == total["revenue"] - total["cost_total"]).all()
    assert (total["cost_total"] - sum(total[f"cost_{k}"] for k in COST_ACCOUNTS)).abs().max() < 1e-6 * total["cost_total"].max()
