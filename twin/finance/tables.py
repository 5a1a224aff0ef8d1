"""``finance.csv``: the money of a run or a comparison, per scenario, read off the KPI summary.

The profit and loss (revenue, each cost of the account plan, their total and the margin),
the shortage penalty apart (a memo account, outside the margin), working capital and cash
(``twin.finance.cash``: receivables, payables, inventory, DIO, DSO, DPO, cash-to-cash,
cash), and the revenue and margin per product family and per SKU, each with its mean and
95 % interval over the replications
(``reports.summary.summarise``). Every figure is a row of ``summary.csv`` (a run) or
``kpis.csv`` (a comparison) as well; this table gathers the ones finance reads.
"""

from __future__ import annotations

import pandas as pd

from twin.finance.accounts import ACCOUNTS, CASH_KPIS

# the total KPIs of the profit and loss, in statement order, then the memo, then working capital and cash
STATEMENT = ("revenue", *(f"cost_{a.name}" for a in ACCOUNTS if a.kind == "cost"), "cost_total", "margin",
             "cost_shortage", *CASH_KPIS)
FINANCE_COLUMNS = ["scenario", "kpi", "scope", "entity", "n", "mean", "ci_low", "ci_high"]


def finance_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``summary`` (one per scenario x KPI x scope x entity, with ``n, mean,
    ci_low, ci_high``) that ``finance.csv`` holds, the statement in order first, then the
    revenue and margin per family and per SKU."""
    total = summary[(summary["scope"] == "total") & summary["kpi"].isin(STATEMENT)]
    total = total.assign(_order=total["kpi"].map({k: i for i, k in enumerate(STATEMENT)}), _kpi=0)
    margins = summary[summary["kpi"].isin(["revenue", "margin"]) & summary["scope"].isin(["family", "sku"])]
    margins = margins.assign(_order=len(STATEMENT) + (margins["scope"] == "sku"), _kpi=margins["kpi"] == "margin")
    out = pd.concat([total, margins], ignore_index=True)
    out["scenario"] = out["scenario"].astype(str)
    order = {s: i for i, s in enumerate(dict.fromkeys(out["scenario"]))}
    out = out.sort_values(["scenario", "_order", "entity", "_kpi"], key=lambda c: c.map(order) if c.name == "scenario" else c,
                          kind="stable")
    return out[FINANCE_COLUMNS].reset_index(drop=True)
