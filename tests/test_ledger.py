"""The twin's ledger (``twin.finance.ledger``): every account booked as the twin counted it
day by day, each shared cost on the SKUs by its declared key, and a small network whose
every ledger row is worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.finance.accounts import ACCOUNTS, BY_NAME, PLAN_ACCOUNTS, PROFIT_AND_LOSS
from twin.finance.ledger import margin_by, margin_kpis, replication_ledger
from twin.montecarlo import replication_rng
from twin.pipeline import sim_inputs
from twin.scenario import load_scenario
from twin.sim import simulate
from twin.sim.kernels import BOOK_MATERIALS, BOOK_OVERTIME, BOOK_REGULAR, BOOK_UNITS
from twin.sim.kpis import costs_by_kind, replication_kpis, revenue

from optimizer.model import COST_KINDS


@pytest.fixture(scope="module", params=["plan", "policy"])
def reference_runs(request, baseline):
    """Three replications of the baseline, executing its plan or on the hubs' policies alone."""
    loaded, inp, _ = baseline
    if request.param == "policy":
        inp = sim_inputs(loaded.updated(supply="policy"))
    return [simulate(inp, replication_rng(11, i)) for i in range(3)]


def test_the_account_plan_names_every_cost_the_plan_and_the_twin_count():
    assert set(PLAN_ACCOUNTS) == set(COST_KINDS)  # each of the plan's cost kinds has its account
    assert set(PLAN_ACCOUNTS.values()) <= set(BY_NAME)
    assert len(BY_NAME) == len(ACCOUNTS)
    # the penalties stay outside the profit and loss
    assert {a.name for a in ACCOUNTS if a.kind == "memo"} == {"shortage", "backlog", "lost_sales", "safety_shortfall"}


def test_every_account_adds_up_to_what_the_twin_counted_day_by_day(reference_runs):
    for rep in reference_runs:
        inp = rep.inp
        ledger = replication_ledger(rep)
        booked = ledger.groupby("account")["amount"].sum()
        counted = {"revenue": revenue(rep, inp.warmup_days, inp.days), **costs_by_kind(rep, inp.warmup_days, inp.days)}
        assert set(booked.index) <= set(counted)
        for account, total in counted.items():
            assert booked.get(account, 0.0) == pytest.approx(total, rel=1e-12, abs=1e-6), account
        assert counted["revenue"] > 0 and counted["materials"] > 0 and counted["transport"] > 0
        # margin per SKU (and per family) sums to the accounting margin of the KPIs
        kpis = replication_kpis(rep).set_index(["kpi", "scope", "entity"])["value"]
        per = margin_kpis(ledger, rep).groupby(["kpi", "scope"])["value"].sum()
        for kpi in ("margin", "revenue", "shipped_units"):
            assert per[(kpi, "sku")] == pytest.approx(kpis[(kpi, "total", "all")], rel=1e-12)
            assert per[(kpi, "family")] == pytest.approx(per[(kpi, "sku")], rel=1e-12)
        assert kpis[("margin", "total", "all")] == pytest.approx(
            counted["revenue"] - sum(v for k, v in counted.items() if k in PROFIT_AND_LOSS and k != "revenue"))


def test_a_lines_hours_and_materials_go_to_the_skus_whose_units_took_them(reference_runs):
    """Hours per SKU = units made x hours per unit; the SKUs' regular hours add up to the
    line's; materials = units x the bill of materials at the purchase price (the
    baseline has no price change)."""
    for rep in reference_runs:
        inp, w = rep.inp, rep.inp.warmup_days
        assert inp.timeline.material_cost_factor is None
        booked = rep.booked
        hours = booked[:, :, BOOK_REGULAR] + booked[:, :, BOOK_OVERTIME]
        hpu = np.where(np.isfinite(inp.hours_per_unit), inp.hours_per_unit, 0.0)
        np.testing.assert_allclose(hours, booked[:, :, BOOK_UNITS] * hpu, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(booked[:, :, BOOK_REGULAR].sum(axis=1), rep.regular_hours[w:].sum(axis=0), rtol=1e-9)
        np.testing.assert_allclose(booked[:, :, BOOK_OVERTIME].sum(axis=1), rep.overtime_hours[w:].sum(axis=0),
                                   rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(booked[:, :, BOOK_UNITS].sum(axis=0), rep.produced_sku[w:].sum(axis=0), rtol=1e-9)
        np.testing.assert_allclose(booked[:, :, BOOK_MATERIALS],
                                   booked[:, :, BOOK_UNITS] * (inp.bom @ inp.material_cost)[None, :], rtol=1e-9)
        assert (booked[:, :, BOOK_UNITS][~np.isfinite(inp.hours_per_unit)] == 0).all()  # no line makes what it cannot


def test_a_materials_freight_goes_only_to_the_skus_that_use_it(reference_runs):
    for rep in reference_runs:
        inp = rep.inp
        ledger = replication_ledger(rep)
        carried = {}
        for (p, k), lane in inp.material_lane.items():
            carried.setdefault(lane.lane, []).append((p, k))
        freight = ledger[ledger["account"] == "transport"].set_index(["entity", "sku"])["amount"]
        assert any(lane in freight.index.get_level_values(0) for lane in carried)
        for lane, pairs in carried.items():
            total = sum(rep.material_freight[p, k] for p, k in pairs)
            if lane not in freight.index.get_level_values(0):
                assert total == 0
                continue
            per_sku = freight.loc[lane]
            assert per_sku.sum() == pytest.approx(total, rel=1e-12)
            users = {inp.skus[s] for _, k in pairs for s in np.flatnonzero(inp.bom[:, k] > 0)}
            assert set(per_sku.index) <= users


def test_a_single_stage_network_books_each_row_as_worked_by_hand(single_hub):
    """One SKU (price 10, unit cost 6, shortage cost 1), one line (0.25 h a unit at $50
    regular, no overtime), lanes P->H at $1 and H->M at $0.50 a unit, holding 20 % a year
    of the unit cost: each row is the units the twin moved x its rate, under its entity."""
    path = single_hub(network=dict(daily_mean=6, hours_per_unit=0.25, line_hours_per_week=70, base_stock=20))
    inp = sim_inputs(load_scenario(path))
    rep = simulate(inp, replication_rng(3, 0))
    w = inp.warmup_days
    ledger = replication_ledger(rep).set_index(["account", "entity"])
    assert set(ledger["sku"]) == {"A"}
    amount = ledger["amount"]
    delivered, made = rep.shipped[w:].sum(), rep.booked[0, 0, BOOK_UNITS]
    assert made > 0 and delivered > 0
    assert amount[("revenue", "M")] == pytest.approx(10 * delivered)
    assert amount[("transport", "HM")] == pytest.approx(0.5 * delivered)
    assert amount[("regular_time", "L")] == pytest.approx(50 * 0.25 * made)
    assert ("overtime", "L") not in amount.index
    # every unit made on a measured day leaves for the hub that day, at $1
    assert amount[("transport", "PH")] == pytest.approx(1.0 * made)
    assert amount[("holding", "H")] == pytest.approx(rep.inventory[w:].sum() * 6 * 0.2 / 365)
    assert amount[("shortage", "M")] == pytest.approx((rep.demand[w:] - rep.filled[w:]).sum() * 1)
    margin = margin_by(ledger.reset_index(), "sku")["A"]
    assert margin == pytest.approx(amount[("revenue", "M")] - amount.drop([("revenue", "M"), ("shortage", "M")]).sum())
    kpis = margin_kpis(ledger.reset_index(), rep).set_index(["kpi", "scope"])["value"]
    assert kpis.to_dict() == pytest.approx({("revenue", "sku"): 10 * delivered, ("revenue", "family"): 10 * delivered,
                                            ("margin", "sku"): margin, ("margin", "family"): margin,
                                            ("shipped_units", "sku"): delivered, ("shipped_units", "family"): delivered})


def _by_account(plan) -> pd.Series:
    """The plan's costs by account (hiring and layoffs are both workforce) and its revenue."""
    kinds = plan.costs.rename(index=PLAN_ACCOUNTS).groupby(level=0).sum()
    return pd.concat([kinds, pd.Series({"revenue": plan.revenue})])


def test_the_plans_ledger_sums_to_its_objective_terms(baseline):
    """The baseline's plan (a cost objective): per account the ledger sums to the plan's
    cost of that kind; all its costs and penalties to the objective HiGHS reports."""
    _, _, plan = baseline
    ledger = plan.ledger
    assert set(ledger["sku"]) <= set(baseline[1].skus) and ledger["sku"].notna().all()
    booked = ledger.groupby("account")["amount"].sum()
    expected = _by_account(plan)
    for account, total in expected.items():
        assert booked.get(account, 0.0) == pytest.approx(total, rel=1e-9, abs=1e-6), account
    assert booked.drop("revenue").sum() == pytest.approx(plan.objective_value, rel=1e-9)
    # a material's freight and holding reach SKUs that use the material
    assert {"material_holding", "transport", "materials", "revenue"} <= set(booked.index)
    margin = margin_by(ledger, "sku")
    assert margin.sum() == pytest.approx(booked["revenue"] - booked[[a for a in booked.index if a != "revenue"
                                                                       and BY_NAME[a].kind == "cost"]].sum())


def test_red_tomato_tools_ledger_adds_up_to_chopra_and_meindls_422275():
    """Chopra & Meindl's Red Tomato Tools (aggregate planning): the optimal plan costs
    $422,275. The ledger books workers, hiring and layoffs (plant-level terms) on the one
    tool, and its costs add up to the published optimum."""
    from plan_instances import red_tomato

    from optimizer import make_plan
    from twin.finance.ledger import plan_ledger

    data = red_tomato()
    plan = make_plan(data)
    ledger = plan_ledger(plan, data)
    assert set(ledger["sku"]) == {"TOOL"}
    booked = ledger.groupby("account")["amount"].sum()
    assert booked.drop(["revenue"]).sum() == pytest.approx(422_275, abs=0.5)
    assert booked["workforce"] == pytest.approx(plan.costs["hiring"] + plan.costs["layoffs"])
    assert booked["workforce"] > 0 and booked["regular_time"] > 0
    assert (ledger.loc[ledger["account"] == "workforce", "entity"] == "P").all()


def test_a_merged_markets_terms_are_split_to_each_member_by_its_own_units():
    """Markets solved as one (optimizer.merge): each member's revenue, delivery transport,
    backlog and lost-sale terms in the ledger are its own units x the shared coefficient."""
    from plan_instances import alike_markets

    from optimizer import make_plan
    from twin.finance.ledger import plan_ledger

    data = alike_markets()
    plan = make_plan(data)
    ledger = plan_ledger(plan, data).set_index(["account", "entity", "sku", "period"])["amount"]
    mk = plan.markets.set_index(["market", "sku", "period"])
    price = data.skus["price_per_unit"]
    last = data.periods[-1]
    for (market, sku, period), row in mk.iterrows():
        def booked(account, entity):
            return ledger.get((account, entity, sku, period), 0.0)
        assert booked("revenue", market) == pytest.approx(row["delivered_units"] * price[sku], abs=1e-6)
        assert booked("transport", f"H{market}") == pytest.approx(
            row["delivered_units"] * (2.0 if market == "C" else 1.0), abs=1e-6)
        assert booked("backlog", market) == pytest.approx(
            row["backlog_units"] * data.skus.at[sku, "backlog_cost_per_unit_period"], abs=1e-6)
        left = row["lost_units"] + (row["backlog_units"] if period == last else 0.0)
        assert booked("lost_sales", market) == pytest.approx(left * data.skus.at[sku, "lost_sale_cost_per_unit"],
                                                             abs=1e-6)
    assert {"B2", "B3", "L2"} <= set(ledger.index.get_level_values("entity"))  # members, not only the first
    assert ledger.groupby(level="account").sum().drop("revenue").sum() == pytest.approx(plan.objective_value, rel=1e-9)
