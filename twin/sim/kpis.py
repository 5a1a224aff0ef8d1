"""KPIs of one replication as tidy rows, over the measured days (warm-up excluded).

Rows are ``kpi, scope, entity, value``: ``scope`` is ``total``, ``market``, ``sku``,
``family``, ``hub`` or ``line`` and ``entity`` the ID (``"all"`` for totals). Money is
in the network's currency; units are units of product.

Definitions
-----------
fill_rate
    Units served from stock on the day they were ordered / units ordered (the "fill
    rate" or beta service level; Axsäter, *Inventory Control*, 3rd ed., §5.1).
order_line_service
    Share of order lines (a market's demand for one SKU on one day, when positive)
    served in full from stock that day.
revenue
    Units delivered to customers (new orders and backorders) x price (list price, times a
    pricing strategy's change where one applies).
cost_*
    ``materials`` consumed at purchase cost; ``regular_time`` and ``overtime`` hours
    worked x their hourly cost; ``outsourcing`` units bought from partners; ``transport``
    every lane at its cost per unit; ``holding`` on-hand value x the hub's yearly rate
    per day: the costs of the profit and loss (``twin.finance.accounts``), whose sum is
    ``cost_total``, so ``margin`` = revenue - cost_total is the accounting margin.
    ``cost_shortage``, units not served on the day ordered x the product's shortage cost,
    is a memo account: a penalty for comparing plans, outside the margin.
utilisation
    Hours worked (regular + overtime) / regular hours available after outages and
    repairs: above 1 means the line ran overtime.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.finance.accounts import PROFIT_AND_LOSS
from twin.sim.model import Replication

KPI_COLUMNS = ["kpi", "scope", "entity", "value"]
SHARES = ("fill_rate", "order_line_service")  # between 0 and 1 by definition, and so are their intervals
# the network-wide KPIs, in the order replication_kpis writes them
TOTAL_KPIS = ("fill_rate", "order_line_service", "demand_units", "shipped_units", "lost_sales_units",
              "backorder_units_end", "backorder_units_avg", "revenue", "cost_materials", "cost_regular_time",
              "cost_overtime", "cost_outsourcing", "cost_transport", "cost_holding", "cost_shortage", "cost_total",
              "margin", "inventory_units_avg", "inventory_value_avg", "utilisation_avg", "overtime_hours",
              "outsourced_units", "simulated_years")
SERIES_COLUMNS = ["day", "entity", "metric", "value"]


def _rows(kpi: str, scope: str, entities, values) -> pd.DataFrame:
    return pd.DataFrame({"kpi": kpi, "scope": scope, "entity": list(entities), "value": np.asarray(values, float)})


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(np.shape(num), np.nan), where=np.asarray(den) > 0)


def priced_units(rep: Replication, a: int = 0, b: int | None = None) -> np.ndarray:
    """(days, M, S) units delivered on days ``a`` to ``b``, each times its pricing change:
    times the list price, what customers paid."""
    shipped = rep.shipped[a:b]
    return shipped if rep.price_factor is None else shipped * rep.price_factor[a:b]


def revenue(rep: Replication, a: int, b: int) -> float:
    """A replication's revenue over days ``a`` to ``b`` (module docstring)."""
    return float((priced_units(rep, a, b).sum(axis=(0, 1)) * rep.inp.price).sum())


def costs_by_kind(rep: Replication, a: int, b: int) -> dict[str, float]:
    """A replication's costs by kind (module docstring, ``cost_*``; the last, shortage, a
    memo account) over days ``a`` to ``b``, each counted day by day as the twin ran."""
    inp = rep.inp
    holding = float(((rep.inventory[a:b] @ inp.cost) * inp.holding_rate_per_day[None, :]).sum())
    short_units = rep.demand[a:b] - rep.filled[a:b]  # not served on the day ordered
    return {
        "materials": float(rep.material_cost[a:b].sum()),
        "regular_time": float((rep.regular_hours[a:b] * inp.cost_per_hour).sum()),
        "overtime": float((rep.overtime_hours[a:b] * inp.overtime_cost_per_hour).sum()),
        "outsourcing": float(rep.outsourcing_cost[a:b].sum()),
        "transport": float(rep.transport_cost[a:b].sum()),
        "holding": holding,
        "shortage": float((short_units.sum(axis=(0, 1)) * inp.shortage_cost).sum()),
    }


def replication_kpis(rep: Replication) -> pd.DataFrame:
    """Tidy KPI rows of one replication."""
    inp = rep.inp
    w = inp.warmup_days
    demand, filled, shipped, lost = rep.demand[w:], rep.filled[w:], rep.shipped[w:], rep.lost[w:]
    lines_ordered = demand > 0
    lines_full = lines_ordered & (filled >= demand - 1e-9)
    families = np.array(inp.families)
    fam_ids = sorted(set(inp.families))
    fam_onehot = (families[:, None] == np.array(fam_ids)[None, :]).astype(float)  # (S, F)

    by_market = lambda a: a.sum(axis=(0, 2))  # noqa: E731
    by_sku = lambda a: a.sum(axis=(0, 1))  # noqa: E731
    d_m, f_m, d_s, f_s = by_market(demand), by_market(filled), by_sku(demand), by_sku(filled)
    l_m, lf_m = by_market(lines_ordered), by_market(lines_full)
    l_s, lf_s = by_sku(lines_ordered), by_sku(lines_full)

    days = demand.shape[0]
    years = days / 365.0
    inventory = rep.inventory[w:]  # (T, H, S)
    inv_value = inventory @ inp.cost  # (T, H)
    cost = {f"cost_{kind}": value for kind, value in costs_by_kind(rep, w, inp.days).items()}
    sales = revenue(rep, w, inp.days)
    spent = sum(v for k, v in cost.items() if k.removeprefix("cost_") in PROFIT_AND_LOSS)
    worked = rep.regular_hours[w:] + rep.overtime_hours[w:]
    total = {
        "fill_rate": filled.sum() / demand.sum() if demand.sum() > 0 else np.nan,
        "order_line_service": lines_full.sum() / lines_ordered.sum() if lines_ordered.any() else np.nan,
        "demand_units": demand.sum(),
        "shipped_units": shipped.sum(),
        "lost_sales_units": lost.sum(),
        "backorder_units_end": rep.backlog_end.sum(),
        "backorder_units_avg": rep.backlog[w:].sum(axis=(1, 2)).mean(),
        "revenue": sales,
        **cost,
        "cost_total": spent,
        "margin": sales - spent,
        "inventory_units_avg": inventory.sum(axis=(1, 2)).mean(),
        "inventory_value_avg": inv_value.sum(axis=1).mean(),
        "utilisation_avg": worked.sum() / rep.available_hours[w:].sum(),
        "overtime_hours": rep.overtime_hours[w:].sum(),
        "outsourced_units": rep.outsourced[w:].sum(),
        "simulated_years": years,
    }
    assert tuple(total) == TOTAL_KPIS, "TOTAL_KPIS names the total KPIs"
    parts = [pd.DataFrame({"kpi": list(total), "scope": "total", "entity": "all",
                           "value": np.array(list(total.values()), float)})]
    parts += [
        _rows("fill_rate", "market", inp.markets, _ratio(f_m, d_m)),
        _rows("order_line_service", "market", inp.markets, _ratio(lf_m, l_m)),
        _rows("lost_sales_units", "market", inp.markets, by_market(lost)),
        _rows("fill_rate", "sku", inp.skus, _ratio(f_s, d_s)),
        _rows("order_line_service", "sku", inp.skus, _ratio(lf_s, l_s)),
        _rows("fill_rate", "family", fam_ids, _ratio(f_s @ fam_onehot, d_s @ fam_onehot)),
        _rows("order_line_service", "family", fam_ids, _ratio(lf_s @ fam_onehot, l_s @ fam_onehot)),
        _rows("inventory_units_avg", "hub", inp.hubs, inventory.sum(axis=2).mean(axis=0)),
        _rows("inventory_value_avg", "hub", inp.hubs, inv_value.mean(axis=0)),
        _rows("utilisation", "line", inp.lines, _ratio(worked.sum(axis=0), rep.available_hours[w:].sum(axis=0))),
        _rows("overtime_hours", "line", inp.lines, rep.overtime_hours[w:].sum(axis=0)),
        _rows("downtime_hours", "line", inp.lines, rep.downtime_hours[w:].sum(axis=0)),
        _rows("produced_units", "line", inp.lines, rep.produced[w:].sum(axis=0)),
    ]
    return pd.concat(parts, ignore_index=True)[KPI_COLUMNS]


FAMILY_METRICS = ("demand", "delivered", "lost", "produced", "outsourced", "inventory", "backlog")  # family_<m>_units


def replication_series(rep: Replication) -> pd.DataFrame:
    """Measured days only (day 0 = horizon start): daily on-hand, backlog and in-transit
    units per hub; per line and week (``day`` = the week's first day) the hours worked
    (regular + overtime) and the regular hours available, whose ratio is the week's
    utilisation; and per product family and week the S&OP balance (``twin.balance``):
    ``family_<m>_units`` for each of :data:`FAMILY_METRICS`, the flows (units demanded,
    delivered, lost, made, dispatched by partners) summed over the week, the stocks (on
    hand at the hubs, backorders open) at its end."""
    inp = rep.inp
    w = inp.warmup_days
    days = np.arange(inp.n_days_measured)
    inventory = rep.inventory[w:].sum(axis=2)  # (T, H)
    backlog = np.zeros((len(days), len(inp.hubs)))
    np.add.at(backlog.T, inp.market_hub, rep.backlog[w:].sum(axis=2).T)
    frames = []
    in_transit = rep.in_transit[w:]
    for metric, values in (("inventory_units", inventory), ("backlog_units", backlog), ("in_transit_units", in_transit)):
        frames.append(pd.DataFrame({
            "day": np.repeat(days, len(inp.hubs)),
            "entity": np.tile(inp.hubs, len(days)),
            "metric": metric,
            "value": values.reshape(-1),
        }))
    weeks = len(days) // 7  # whole weeks: a last partial week would read as a slack one
    worked = rep.regular_hours[w:] + rep.overtime_hours[w:]
    for metric, values in (("hours_worked", worked), ("hours_available", rep.available_hours[w:])):
        weekly = values[:7 * weeks].reshape(weeks, 7, -1).sum(axis=1)  # (weeks, L)
        frames.append(pd.DataFrame({
            "day": np.repeat(np.arange(weeks) * 7, len(inp.lines)),
            "entity": np.tile(inp.lines, weeks),
            "metric": metric,
            "value": weekly.reshape(-1),
        }))
    families = sorted(set(inp.families))
    one_hot = (np.asarray(inp.families)[:, None] == np.asarray(families)[None, :]).astype(float)  # (S, F)
    end = w + 7 * weeks
    flows = {"demand": rep.demand.sum(axis=1), "delivered": rep.shipped.sum(axis=1), "lost": rep.lost.sum(axis=1),
             "produced": rep.produced_sku, "outsourced": rep.outsourced}
    stocks = {"inventory": rep.inventory.sum(axis=1), "backlog": rep.backlog.sum(axis=1)}
    for metric in FAMILY_METRICS:
        per_sku = (flows[metric][w:end].reshape(weeks, 7, -1).sum(axis=1) if metric in flows
                   else stocks[metric][w + 6:end:7])  # (weeks, S)
        frames.append(pd.DataFrame({
            "day": np.repeat(np.arange(weeks) * 7, len(families)),
            "entity": np.tile(families, weeks),
            "metric": f"family_{metric}_units",
            "value": (per_sku @ one_hot).reshape(-1),
        }))
    return pd.concat(frames, ignore_index=True)[SERIES_COLUMNS]
