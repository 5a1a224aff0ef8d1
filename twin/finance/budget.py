"""The bridge from budget to plan to outcome, per product family (``bridge.csv``).

Each of the three is a margin per family, read as quantity x (price - unit cost):

- **budget**: ``budget.csv`` of the network, its months (or fiscal periods, where the
  network has a fiscal calendar) pro rata by their days inside the horizon; price and cost
  per unit weighted by the months' units;
- **plan**: the plan's ledger (``Plan.ledger``): units delivered to the markets, revenue and
  the accounting costs (memo penalties left out) per family, over the plan's weeks;
- **outcome**: the twin's mean over the replications of the units delivered, the revenue
  and the accounting margin per family (``margin_kpis``), over the measured days.

A cost per unit is the family's costs in the period over its units delivered: stock made
and not sold in the period is in it, as the ledger expenses costs when incurred. Each step
is split by :func:`twin.finance.variances.margin_bridge` (price at actual quantity, mix and
quantity at standard margin, cost at actual quantity, the mix across families), so the
components add up to the change exactly.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from twin.finance.accounts import BY_NAME
from twin.finance.variances import COMPONENTS, margin_bridge

if TYPE_CHECKING:
    from optimizer import Plan
    from twin.calendars import FiscalCalendar

STAGES = (("budget", "plan"), ("plan", "outcome"))
BRIDGE_COLUMNS = ["from", "to", "family", "standard_margin", *COMPONENTS, "actual_margin"]


def _per_unit(quantity: pd.Series, revenue: pd.Series, cost: pd.Series) -> pd.DataFrame:
    """Families with units: ``quantity, price_per_unit, cost_per_unit``."""
    sold = quantity[quantity > 0]
    return pd.DataFrame({"quantity": sold, "price_per_unit": revenue.reindex(sold.index, fill_value=0.0) / sold,
                         "cost_per_unit": cost.reindex(sold.index, fill_value=0.0) / sold}).rename_axis("family")


def budget_for(budget: pd.DataFrame, start: dt.date, days: int, fiscal: FiscalCalendar | None = None) -> pd.DataFrame:
    """The budget (``budget.csv``, indexed by family and month) over ``days`` from
    ``start``: each row a calendar month, or with ``fiscal`` the fiscal period it begins."""
    rows = budget.reset_index()
    first = pd.to_datetime(rows["month"])
    if fiscal is None:
        after = first + pd.offsets.MonthBegin(1)
    else:
        spans = fiscal.period_spans(first.min().date(), first.max().date())
        ends = dict(zip(pd.to_datetime(spans["start"]), pd.to_datetime(spans["end"])))
        after = first.map(ends) + pd.Timedelta(days=1)
    lo, hi = pd.Timestamp(start), pd.Timestamp(start) + pd.Timedelta(days=days)
    inside = (after.clip(upper=hi) - first.clip(lower=lo)).dt.days.clip(lower=0)
    units = rows["volume_units"] * inside / (after - first).dt.days
    by = rows["family"]
    return _per_unit(units.groupby(by).sum(), (units * rows["price_per_unit"]).groupby(by).sum(),
                     (units * rows["cost_per_unit"]).groupby(by).sum())


def plan_by_family(plan: Plan, family_of: dict[str, str]) -> pd.DataFrame:
    """The plan's units delivered, price and accounting cost per unit per family."""
    ledger = plan.ledger
    family = ledger["sku"].map(family_of)
    kind = ledger["account"].map({a: BY_NAME[a].kind for a in BY_NAME})
    revenue = ledger["amount"].where(kind == "revenue", 0.0).groupby(family).sum()
    cost = ledger["amount"].where(kind == "cost", 0.0).groupby(family).sum()
    units = plan.markets.groupby(plan.markets["sku"].map(family_of))["delivered_units"].sum()
    return _per_unit(units, revenue, cost)


def outcome_by_family(kpis: pd.DataFrame) -> pd.DataFrame:
    """The twin's mean units delivered, price and accounting cost per unit per family, from
    the KPI rows of a run (``replication, kpi, scope, entity, value``)."""
    family = kpis[(kpis["scope"] == "family") & kpis["kpi"].isin(["shipped_units", "revenue", "margin"])]
    mean = family.groupby(["kpi", "entity"], observed=True)["value"].mean().unstack("kpi")
    mean.index = mean.index.astype(str)
    return _per_unit(mean["shipped_units"], mean["revenue"], mean["revenue"] - mean["margin"])


def bridge_table(budget: pd.DataFrame, plan: pd.DataFrame, outcome: pd.DataFrame) -> pd.DataFrame:
    """``bridge.csv``: per step (budget to plan, plan to outcome) and family, then ``all``,
    the standard margin, the four components (favourable positive) and the actual margin."""
    sides = {"budget": budget, "plan": plan, "outcome": outcome}
    parts = []
    for a, b in STAGES:
        bridge = margin_bridge(sides[a], sides[b]).rename_axis("family").reset_index()
        total = bridge.drop(columns="family").sum().to_frame().T.assign(family="all")
        parts.append(pd.concat([bridge, total], ignore_index=True).assign(**{"from": a, "to": b}))
    return pd.concat(parts, ignore_index=True)[BRIDGE_COLUMNS]
