"""Finance: the sales-margin variances reproduce the textbooks' worked examples to the
dollar, and their components always sum to the change in margin."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from twin.finance.variances import COMPONENTS, bridge_steps, margin_bridge


def _products(quantity: dict, price: dict, cost: dict | None = None) -> pd.DataFrame:
    return pd.DataFrame({"quantity": quantity, "price_per_unit": price,
                         "cost_per_unit": cost if cost is not None else dict.fromkeys(quantity, 0.0)})


def test_opentuition_sales_mix_and_quantity_variances():
    """OpenTuition, "Sales mix and quantity variances": budget 500 A and 500 B at $5 and
    $10 contribution a unit, actual 550 and 650 at standard contribution: volume variance
    $1,750 F = quantity $1,500 F + mix $250 F."""
    contribution = {"A": 5.0, "B": 10.0}
    bridge = margin_bridge(_products({"A": 500, "B": 500}, contribution), _products({"A": 550, "B": 650}, contribution))
    total = bridge.sum()
    assert total["quantity"] == 1_500 and total["mix"] == 250 and total["mix"] + total["quantity"] == 1_750
    assert total["price"] == 0 and total["cost"] == 0


def test_drury_milano_company_sales_margin_mix_and_quantity_variances():
    """Drury, *Management and Cost Accounting*, the Milano Company (three products at their
    budgeted contributions of £20, £12 and £9): 22,000 units sold against 20,000 budgeted,
    yet the sales margin volume variance is £4,000 adverse: quantity £28,900 F, mix £32,900
    A (fewer of the richest product)."""
    contribution = {"X": 20.0, "Y": 12.0, "Z": 9.0}
    bridge = margin_bridge(_products({"X": 8_000, "Y": 7_000, "Z": 5_000}, contribution),
                           _products({"X": 6_000, "Y": 7_000, "Z": 9_000}, contribution))
    total = bridge.sum()
    assert total["standard_margin"] == 289_000 and total["actual_margin"] == 285_000
    assert total["quantity"] == pytest.approx(28_900, abs=1e-6)
    assert total["mix"] == pytest.approx(-32_900, abs=1e-6)
    assert bridge["mix"].round(6).to_dict() == {"X": -56_000, "Y": -8_400, "Z": 31_500}


def test_acca_pm_furniture_company_price_mix_quantity_and_cost_variances():
    """Kaplan's ACCA Performance Management workbook (2018-19), chapter 10, example 6: tables,
    chairs and sideboards at budgeted contributions of $760, $94 and $940. Published: sales
    mix contribution variance $570,600 A (tables $1,520,000 A, chairs $103,400 F, sideboards
    $846,000 F), sales quantity contribution variance $2,124,600 F (at a weighted average
    contribution of $354.10). From the same figures by the same definitions: price $1,210,000
    A, cost $1,912,000 A, and the four sum to the change in contribution, $1,568,000 A."""
    budget = _products({"tables": 8_000, "chairs": 26_000, "sideboards": 6_000},
                       {"tables": 2_200, "chairs": 320, "sideboards": 2_800},
                       {"tables": 1_000 + 400 + 40, "chairs": 160 + 60 + 6, "sideboards": 1_200 + 600 + 60})
    actual = _products({"tables": 7_200, "chairs": 31_000, "sideboards": 7_800},
                       {"tables": 2_400, "chairs": 310, "sideboards": 2_500},
                       {"tables": 1_100 + 450 + 60, "chairs": 150 + 60 + 8, "sideboards": 1_300 + 600 + 80})
    bridge = margin_bridge(budget, actual)
    total = bridge.sum()
    assert total["standard_margin"] == 14_164_000
    assert total["standard_margin"] / budget["quantity"].sum() == pytest.approx(354.10)
    assert bridge["mix"].round(6).to_dict() == {"tables": -1_520_000, "chairs": 103_400, "sideboards": 846_000}
    assert total["mix"] == pytest.approx(-570_600, abs=1e-6)
    assert total["quantity"] == pytest.approx(2_124_600, abs=1e-6)
    assert total["price"] == -1_210_000 and total["cost"] == -1_912_000
    assert total["actual_margin"] - total["standard_margin"] == -1_568_000
    steps = bridge_steps(bridge)
    assert steps["step"].tolist() == ["standard margin", *COMPONENTS, "actual margin"]
    assert steps["cumulative"].iloc[-2] == pytest.approx(steps["amount"].iloc[-1], abs=1e-6)


def test_the_components_sum_to_the_change_in_margin_for_any_products():
    """On random products, some sold only on one side: the four components sum to the
    change in margin on every row and in total."""
    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(1, 8))
        names = [f"P{i}" for i in range(n)]
        sides = []
        for _side in range(2):
            kept = [p for p in names if rng.random() < 0.8] or names[:1]
            sides.append(pd.DataFrame({"quantity": rng.uniform(0, 1_000, len(kept)),
                                       "price_per_unit": rng.uniform(5, 50, len(kept)),
                                       "cost_per_unit": rng.uniform(1, 40, len(kept))}, index=kept))
        bridge = margin_bridge(*sides)
        change = bridge["actual_margin"] - bridge["standard_margin"]
        assert np.allclose(bridge[list(COMPONENTS)].sum(axis=1), change, rtol=1e-12, atol=1e-9)
        assert bridge["standard_margin"].sum() == pytest.approx(
            (sides[0]["quantity"] * (sides[0]["price_per_unit"] - sides[0]["cost_per_unit"])).sum())


def test_the_budget_over_a_horizon_takes_its_months_pro_rata_by_their_days():
    """Worked by hand: January, 310 units at $10 and $6 a unit; February, 280 at $12 and $7.
    A horizon of 28 days from 17 January holds 15 of January's 31 days (150 units) and 13
    of February's 28 (130 units): 280 units at $10.93 and $6.46 a unit."""
    from twin.finance.budget import budget_for

    budget = pd.DataFrame({"family": ["F", "F"], "month": [dt.date(2027, 1, 1), dt.date(2027, 2, 1)],
                           "volume_units": [310.0, 280.0], "price_per_unit": [10.0, 12.0],
                           "cost_per_unit": [6.0, 7.0]}).set_index(["family", "month"])
    got = budget_for(budget, dt.date(2027, 1, 17), 28).loc["F"]
    assert got["quantity"] == pytest.approx(280)
    assert got["price_per_unit"] == pytest.approx((150 * 10 + 130 * 12) / 280)
    assert got["cost_per_unit"] == pytest.approx((150 * 6 + 130 * 7) / 280)


def test_a_budget_by_fiscal_period_counts_each_period_pro_rata_by_its_days():
    """Worked by hand on a 4-4-5 calendar ending on December's last Saturday: fiscal 2027
    begins on 27 December 2026; its period 1 runs to 23 January (28 days), period 2 to 20
    February. 280 units in each, at $10 and $12: a horizon of 28 days from 10 January holds
    14 days of each, 140 + 140 units at $11."""
    from twin.calendars import FiscalCalendar
    from twin.finance.budget import budget_for

    fiscal = FiscalCalendar()
    assert fiscal.year_start(2027) == dt.date(2026, 12, 27)
    budget = pd.DataFrame({"family": ["F", "F"], "month": [dt.date(2026, 12, 27), dt.date(2027, 1, 24)],
                           "volume_units": [280.0, 280.0], "price_per_unit": [10.0, 12.0],
                           "cost_per_unit": [6.0, 7.0]}).set_index(["family", "month"])
    got = budget_for(budget, dt.date(2027, 1, 10), 28, fiscal).loc["F"]
    assert got["quantity"] == pytest.approx(280)
    assert got["price_per_unit"] == pytest.approx(11)
    assert got["cost_per_unit"] == pytest.approx(6.5)


def test_the_bridge_from_budget_to_plan_to_outcome_adds_up_per_step_and_family():
    from twin.finance.budget import bridge_table

    def side(q, p, c):
        return pd.DataFrame({"quantity": q, "price_per_unit": p, "cost_per_unit": c}, index=["A", "B"])

    budget, plan, outcome = side([100, 50], [10, 20], [6, 12]), side([90, 70], [11, 19], [6, 13]), \
        side([95, 60], [11, 19], [6.5, 13])
    table = bridge_table(budget, plan, outcome).set_index(["from", "family"])
    parts = table[list(COMPONENTS)].sum(axis=1)
    assert parts.to_numpy() == pytest.approx((table["actual_margin"] - table["standard_margin"]).to_numpy())
    assert table.loc[("budget", "all"), "standard_margin"] == 100 * 4 + 50 * 8
    assert table.loc[("budget", "all"), "actual_margin"] == table.loc[("plan", "all"), "standard_margin"] == \
        90 * 5 + 70 * 6
    assert table.loc[("plan", "all"), "actual_margin"] == pytest.approx(95 * 4.5 + 60 * 6)
    assert table.loc[("budget", "A"), "price"] == 90 * (11 - 10)  # price at the actual units
