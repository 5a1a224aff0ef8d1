"""The account plan: every kind of money the plan or the twin books, declared once.

A ledger row is ``account, sku, entity, amount``. ``kind`` says where an account stands:
``revenue`` and ``cost`` make the accounting margin (revenue less costs); ``memo``
accounts are the penalties an optimiser weighs (backlog, lost sales, shortage, safety
stock) and stay outside the profit and loss. ``entity`` names what the entity column holds
for that account, and ``key`` how an amount is put on a SKU: directly where the flow is
per SKU, by a declared allocation key where one line, lane or plant serves several.

Costs are booked when they are incurred (materials as they are used, transport when
committed to a lane), as both the plan and the twin count them; nothing is capitalised
into inventory, so the margin of a period is its revenue less what it spent.

Leaf module: the twin (``twin.sim``) and the optimizer may import it; it imports nothing
of the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LEDGER_COLUMNS = ["account", "sku", "entity", "amount"]


@dataclass(frozen=True)
class Account:
    name: str
    label: str
    kind: Literal["revenue", "cost", "memo"]
    entity: Literal["market", "plant", "line", "partner", "lane", "hub"]
    key: str  # how an amount reaches a SKU


ACCOUNTS = (
    Account("revenue", "Revenue", "revenue", "market", "units delivered x the price paid (list price x any pricing change)"),
    Account("materials", "Materials", "cost", "plant", "units made x the bill of materials at that day's purchase price"),
    Account("regular_time", "Regular time", "cost", "line",
            "the line's regular hours each day, split by units made x hours per unit"),
    Account("overtime", "Overtime", "cost", "line", "the line's overtime hours each day, split by units made x hours per unit"),
    Account("workforce", "Hiring and layoffs", "cost", "plant", "the plant's regular hours in the period (plan only)"),
    Account("outsourcing", "Outsourcing", "cost", "partner", "units dispatched x the partner's price"),
    Account("transport", "Transport", "cost", "lane",
            "units carried x cost per unit; a material's freight by the plant's use of it over the horizon, "
            "per SKU through the bill of materials"),
    Account("holding", "Holding", "cost", "hub", "unit-days on hand x unit cost x the hub's holding rate"),
    Account("material_holding", "Holding, materials at plants", "cost", "plant",
            "the material's use per SKU through the bill of materials (plan only)"),
    Account("shortage", "Shortage (penalty)", "memo", "market", "units not served on the day ordered x shortage cost"),
    Account("backlog", "Backlog (penalty)", "memo", "market", "units backordered per period x backlog cost (plan only)"),
    Account("lost_sales", "Lost sales (penalty)", "memo", "market", "units lost x lost-sale cost (plan only)"),
    Account("safety_shortfall", "Below safety stock (penalty)", "memo", "hub", "units below safety stock (plan only)"),
)
BY_NAME = {a.name: a for a in ACCOUNTS}
PROFIT_AND_LOSS = tuple(a.name for a in ACCOUNTS if a.kind != "memo")
MEMO = tuple(a.name for a in ACCOUNTS if a.kind == "memo")

# what twin.finance.cash measures: weekly series (as finance_<metric>) and KPIs per replication
CASH_METRICS = ("cash", "working_capital", "receivables", "payables", "inventory_value")
CASH_KPIS = ("receivables_avg", "payables_avg", "inventory_value_total_avg", "working_capital_avg", "cash_end",
             "cash_min", "dio_days", "dso_days", "dpo_days", "cash_to_cash_days")

# the plan's cost kinds (optimizer.model.COST_KINDS) by account
PLAN_ACCOUNTS = {"materials": "materials", "regular_time": "regular_time", "overtime": "overtime",
                 "outsourcing": "outsourcing", "transport": "transport", "holding": "holding",
                 "material_holding": "material_holding", "safety_shortfall": "safety_shortfall",
                 "backlog": "backlog", "lost_sales": "lost_sales", "hiring": "workforce", "layoffs": "workforce"}

