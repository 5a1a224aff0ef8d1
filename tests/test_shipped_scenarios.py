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

UP, DOWN = 1, -1
# scenario -> the headline KPIs it must move, and which way
EXPECTED = {
    # Both events are known to the plan, which rides them out: the closure with overtime
    # (session 10: +61 h, 42 to 79) at a service cost 30 replications cannot tell from noise
    # (fill rate -0.20 pt, -0.44 to +0.04; the plan's optimum is degenerate and which vertex
    # HiGHS returns moves it: separable before alike markets were merged, not after); the
    # late resin by buying ahead and rerouting, at a cost (+$4.6k, 1.6k to 7.7k) and no catch-
    # up overtime to speak of (+15 h, -3 to +34 h)
    "Port closure": {"overtime_hours": UP},
    "Resin supplier late": {"cost_total": UP, "margin": DOWN, "cost_transport": UP},
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
            pd.concat([r.decisions for r in results], ignore_index=True))


def test_every_shipped_scenario_moves_its_kpis_the_expected_way(shipped):
    kpis, _ = shipped
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
    _, log = shipped
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
