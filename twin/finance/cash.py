"""Working capital and cash of one replication, day by day, from what the twin moved and
the payment terms in the network tables (anyLogistix's "cash to serve" is the model).

- **Receivables.** A delivery is invoiced on the day it reaches the customer, at the price
  paid; ``down_payment_share`` of it is collected then, the rest ``payment_terms_days``
  later (``markets.csv``).
- **Payables.** A supplier's dispatch is invoiced on the day it leaves, at that day's
  purchase price; ``down_payment_share`` of it is paid then, the rest after the
  supplier's ``payment_terms_days`` (``suppliers.csv``). A partner's dispatch is paid
  after the partner's terms (``partners.csv``).
- **Paid on the day:** regular and overtime hours, transport. Holding is a charge for the
  capital tied up, not a payment: it is in the margin, not in the cash.
- **Inventory** is valued at standard cost: finished goods at the hubs at the product's
  unit cost, materials at the plants at their list price (stock on lanes is left out).
- **Opening balances** come from the books where the network has them
  (``opening_balances.csv``): cash opens at its amount, else at 0. Receivables and
  payables without a row are what the warm-up leaves: its invoices still open at the
  horizon's start. With a row, the books' balance replaces them, settled evenly over each
  customer's (supplier's, partner's) terms from the horizon's start, split by their shares
  of the horizon's invoices: the balance a steady flow leaves open is evenly aged.

Days-based measures over the measured days, as the textbooks define them: DIO = average
inventory / cost of goods made per day (materials used, hours, outsourcing); DSO = average
receivables / revenue per day; DPO = average payables / purchases per day (materials
dispatched, outsourcing); cash-to-cash = DIO + DSO - DPO.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.finance.accounts import CASH_KPIS, CASH_METRICS
from twin.sim.kpis import KPI_COLUMNS, SERIES_COLUMNS, priced_units
from twin.sim.model import Replication



@dataclass(frozen=True)
class CashBook:
    """One replication's money by simulated day (warm-up included), network-wide."""

    invoiced: np.ndarray      # (T,) deliveries invoiced to customers
    collected: np.ndarray     # (T,) received from customers
    purchased: np.ndarray     # (T,) invoices of suppliers (materials dispatched) and partners
    paid: np.ndarray          # (T,) paid out: suppliers and partners when due, hours and transport on the day
    receivables: np.ndarray   # (T,) open at the end of the day
    payables: np.ndarray      # (T,)
    inventory_value: np.ndarray  # (T,) finished goods at the hubs and materials at the plants, at standard cost
    cash: np.ndarray          # (T,) the opening cash plus the net flow since the horizon's start

    @property
    def working_capital(self) -> np.ndarray:
        """(T,) inventory + receivables - payables."""
        return self.inventory_value + self.receivables - self.payables


def _lags(terms_days: np.ndarray) -> np.ndarray:
    return np.maximum(np.rint(terms_days), 0).astype(np.int64)


def _when_due(amounts: np.ndarray, terms_days: np.ndarray) -> np.ndarray:
    """(T,) what falls due each day: ``amounts`` (T, E) of each day, each payee ``e`` paid
    ``terms_days[e]`` days later (past the last day: not within the run)."""
    T = len(amounts)
    due = np.zeros(T)
    for e, lag in enumerate(_lags(terms_days)):
        due[lag:] += amounts[:T - lag, e] if lag < T else 0.0
    return due


def _still_open(amounts: np.ndarray, terms_days: np.ndarray) -> np.ndarray:
    """(T,) invoiced and not yet due at the end of each day: the invoices of the last
    ``terms_days`` days (an invoice due today is settled today)."""
    T = len(amounts)
    total = np.zeros(T)
    for e, lag in enumerate(_lags(terms_days)):
        running = np.cumsum(amounts[:, e])
        settled = np.zeros(T)
        settled[lag:] = running[:T - lag] if lag < T else 0.0
        total += running - settled
    return total


def _settle(amounts: np.ndarray, terms_days: np.ndarray, warmup_days: int,
            opening: float) -> tuple[np.ndarray, np.ndarray]:
    """(what falls due, what is still open) each day, of ``amounts`` (T, E) invoiced by
    day and payee. ``opening`` NaN: the warm-up's invoices stand as the opening balance;
    else ``opening`` replaces them (module docstring), and before the horizon nothing is open."""
    if np.isnan(opening):
        return _when_due(amounts, terms_days), _still_open(amounts, terms_days)
    current = amounts.copy()
    current[:warmup_days] = 0.0
    due, still_open = _when_due(current, terms_days), _still_open(current, terms_days)
    T, E = amounts.shape
    totals = current[warmup_days:].sum(axis=0)
    shares = totals / totals.sum() if totals.sum() > 0 else np.full(E, 1.0 / max(E, 1))
    payees = list(zip(shares, _lags(terms_days))) or [(1.0, 0)]  # no payee: settled on the horizon's first day
    for share, lag in payees:
        n = max(int(lag), 1)
        days = np.arange(warmup_days, min(warmup_days + n, T))
        due[days] += opening * share / n
        still_open[days] += opening * share * (1.0 - (days - warmup_days + 1) / n)
    return due, still_open


def cash_book(rep: Replication) -> CashBook:
    """The day-by-day book of one replication (module docstring)."""
    inp = rep.inp
    w = inp.warmup_days
    invoiced = priced_units(rep) @ inp.price  # (T, M)
    down = inp.supplier_down_payment
    owed = np.hstack([rep.purchases * (1.0 - down), rep.outsourcing_cost])  # (T, U + X) after the down-payment
    owed_terms = np.concatenate([inp.supplier_terms_days, inp.partner_terms_days])
    due_in, receivables = _settle(invoiced * (1.0 - inp.market_down_payment), inp.market_terms_days, w,
                                  inp.opening_receivables)
    collected = due_in + invoiced @ inp.market_down_payment
    due, payables = _settle(owed, owed_terms, w, inp.opening_payables)
    on_the_day = (rep.regular_hours @ inp.cost_per_hour + rep.overtime_hours @ inp.overtime_cost_per_hour
                  + rep.transport_cost + rep.purchases @ down)
    paid = on_the_day + due
    flow = collected - paid
    flow[:w] = 0.0  # the warm-up is the past: the opening balances stand for it
    return CashBook(
        invoiced=invoiced.sum(axis=1), collected=collected,
        purchased=rep.purchases.sum(axis=1) + rep.outsourcing_cost.sum(axis=1), paid=paid,
        receivables=receivables, payables=payables,
        inventory_value=rep.inventory.sum(axis=1) @ inp.cost + rep.material_on_hand.sum(axis=1) @ inp.material_cost,
        cash=inp.opening_cash + np.cumsum(flow))


def _per_day(average: float, flow: float, days: int) -> float:
    """``average`` balance in days of ``flow`` (a total over ``days``). Without flow: 0
    days where nothing is held either (nothing bought, nothing owed), else undefined."""
    if flow > 0:
        return average / (flow / days)
    return 0.0 if abs(average) < 1e-9 else float("nan")


def cash_kpis(rep: Replication, book: CashBook) -> pd.DataFrame:
    """Network-wide working-capital and cash KPIs over the measured days (:data:`CASH_KPIS`)."""
    inp = rep.inp
    w, days = inp.warmup_days, inp.n_days_measured
    receivables, payables = book.receivables[w:].mean(), book.payables[w:].mean()
    inventory = book.inventory_value[w:].mean()
    made = (rep.material_cost[w:].sum() + (rep.regular_hours[w:] @ inp.cost_per_hour).sum()
            + (rep.overtime_hours[w:] @ inp.overtime_cost_per_hour).sum() + rep.outsourcing_cost[w:].sum())
    dio = _per_day(inventory, made, days)
    dso = _per_day(receivables, book.invoiced[w:].sum(), days)
    dpo = _per_day(payables, book.purchased[w:].sum(), days)
    values = {"receivables_avg": receivables, "payables_avg": payables, "inventory_value_total_avg": inventory,
              "working_capital_avg": book.working_capital[w:].mean(), "cash_end": book.cash[-1],
              "cash_min": book.cash[w:].min(), "dio_days": dio, "dso_days": dso, "dpo_days": dpo,
              "cash_to_cash_days": dio + dso - dpo}
    assert tuple(values) == CASH_KPIS
    return pd.DataFrame({"kpi": list(values), "scope": "total", "entity": "all",
                         "value": np.array(list(values.values()), float)})[KPI_COLUMNS]


def cash_series(rep: Replication, book: CashBook) -> pd.DataFrame:
    """Per whole measured week (``day`` = its first day, day 0 = the horizon's start) each
    of :data:`CASH_METRICS` at the week's end, network-wide (``entity`` "all")."""
    inp = rep.inp
    w, weeks = inp.warmup_days, inp.n_days_measured // 7
    ends = w + 7 * np.arange(weeks) + 6
    return pd.concat([pd.DataFrame({"day": 7 * np.arange(weeks), "entity": "all", "metric": f"finance_{m}",
                                    "value": getattr(book, m)[ends]}) for m in CASH_METRICS],
                     ignore_index=True)[SERIES_COLUMNS]
