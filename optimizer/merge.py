"""Markets the plan cannot tell apart but by their demand share one set of LP columns.

Two markets are *alike* when they keep or lose unmet demand alike and each is served
through one lane from the same hub with the same cost per unit, lead time, cost factors
and closed periods, without a capacity limit, at the same price factors. Their demand
and opening backlog are summed into one market of the LP (named after its first member)
and the solution is split back, period by period:

- a backorder market's backlog in proportion to what it could be served in the period
  (its demand plus its backlog brought forward): ``b[m,t] = (d[m,t] + b[m,t-1]) * B[t] /
  (D[t] + B[t-1])``, so each member's deliveries are non-negative and they add up;
- a lost-sales market's lost units in proportion to its demand.

Every cost and the revenue are linear in these quantities with the same coefficient for
every member, so the split plan costs what the merged one does, and any plan of the
separate markets sums to a plan of the merged one: the optimum is the same. The reference
network's twelve markets are six of the LP's (``benchmarks/README.md``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.data import PlanData

if TYPE_CHECKING:
    from optimizer.plan import Plan


def alike_markets(data: PlanData) -> dict[str, list[str]]:
    """Groups of alike markets (module docstring) of two or more, keyed by the first member."""
    kinds = data.site_kinds()
    lanes = data.lanes[[kinds.get(d) == "market" for d in data.lanes["destination"]]]
    inbound = lanes.groupby("destination").groups
    closed = pd.Series(data.lane_closed.get_level_values("period"), index=data.lane_closed.get_level_values("lane"))
    price = data.price_factor
    price_market = price.index.get_level_values("market")
    groups: dict[tuple, list[str]] = {}
    for market in data.markets.index:
        into = list(inbound.get(market, []))
        if len(into) != 1 or np.isfinite(float(lanes.at[into[0], "capacity_units_per_period"])):
            continue  # a lane with a capacity is shared by what it carries: the market stays alone
        lane = into[0]
        r = lanes.loc[lane]
        factors = data.lane_cost_factor[data.lane_cost_factor.index.get_level_values("lane") == lane]
        signature = (
            bool(data.markets.at[market, "backorder"]), r["origin"], float(r["cost_per_unit"]),
            float(r["lead_periods"]),
            tuple(sorted((str(p), float(f)) for (_, p), f in factors.items())),
            tuple(sorted(map(str, closed[closed.index == lane]))),
            tuple(sorted((str(s), str(p), float(f)) for (_, s, p), f in price[price_market == market].items())),
        )
        groups.setdefault(signature, []).append(market)
    return {members[0]: members for members in groups.values() if len(members) > 1}


def merge_markets(data: PlanData, groups: dict[str, list[str]]) -> PlanData:
    """``data`` with each group of :func:`alike_markets` as its first member: demand and
    opening backlog summed, the other members and their lanes gone."""
    if not groups:
        return data
    leader = {m: first for first, members in groups.items() for m in members}

    def summed(series: pd.Series) -> pd.Series:
        frame = series.rename("value").reset_index()
        frame["market"] = frame["market"].map(lambda m: leader.get(m, m))
        return frame.groupby(list(series.index.names), sort=False)["value"].sum().rename(series.name)

    gone = {m for m in leader if leader[m] != m}
    lanes = data.lanes[~data.lanes["destination"].isin(gone)]
    price = data.price_factor[~data.price_factor.index.get_level_values("market").isin(gone)]
    return replace(data, markets=data.markets.drop(index=list(gone)), demand=summed(data.demand),
                   initial_backlog=summed(data.initial_backlog), lanes=lanes,
                   lane_cost_factor=data.lane_cost_factor[data.lane_cost_factor.index.get_level_values("lane")
                                                          .isin(lanes.index)],
                   lane_closed=data.lane_closed[data.lane_closed.get_level_values("lane").isin(lanes.index)],
                   lead_extra=data.lead_extra[data.lead_extra.index.get_level_values("lane").isin(lanes.index)],
                   price_factor=price)


def split_markets(plan: Plan, data: PlanData, groups: dict[str, list[str]], tol: float) -> Plan:
    """The plan of the merged markets as one of the markets of ``data`` (module docstring):
    ``plan.markets`` per member and the deliveries in ``plan.shipments`` on each member's
    lane (those over ``tol`` units, as the plan reads deliveries back)."""
    if not groups:
        return plan
    periods = list(data.periods)
    demand = data.demand.groupby(level=["market", "sku", "period"]).sum()
    opening = data.initial_backlog.groupby(level=["market", "sku"]).sum()
    lane_of = {d: lane for lane, d in zip(data.lanes.index, data.lanes["destination"])}
    rows = []
    for first, members in groups.items():
        backorder = bool(data.markets.at[first, "backorder"])
        merged = plan.markets[plan.markets["market"] == first]
        skus = merged["sku"].unique()
        cells = pd.MultiIndex.from_product([skus, periods], names=["sku", "period"])
        whole = merged.set_index(["sku", "period"]).reindex(cells, fill_value=0.0)
        B = whole["backlog_units"].to_numpy().reshape(len(skus), len(periods))  # (S, T) of the merged market
        L = whole["lost_units"].to_numpy().reshape(len(skus), len(periods))
        d = demand.reindex(pd.MultiIndex.from_product([members, skus, periods]), fill_value=0.0).to_numpy()
        d = d.reshape(len(members), len(skus), len(periods))  # (members, S, T)
        before = np.zeros_like(d)  # backlog brought into each period (backorder markets only)
        if backorder:
            brought = opening.reindex(pd.MultiIndex.from_product([members, skus]), fill_value=0.0)
            before[:, :, 0] = brought.to_numpy().reshape(len(members), len(skus))
        backlog, lost = np.zeros_like(d), np.zeros_like(d)
        for t in range(len(periods)):
            if backorder:
                could = d[:, :, t] + before[:, :, t]
                total = could.sum(axis=0)
                backlog[:, :, t] = could * np.divide(B[:, t], total, out=np.zeros_like(total), where=total > 0)
                if t + 1 < len(periods):
                    before[:, :, t + 1] = backlog[:, :, t]
            else:
                total = d[:, :, t].sum(axis=0)
                lost[:, :, t] = d[:, :, t] * np.divide(L[:, t], total, out=np.zeros_like(total), where=total > 0)
        delivered = np.clip(d + before - backlog - lost, 0.0, None)
        rows.append(pd.DataFrame({
            "market": np.repeat(members, len(skus) * len(periods)),
            "sku": np.tile(np.repeat(skus, len(periods)), len(members)),
            "period": np.tile(periods, len(members) * len(skus)),
            "demand_units": d.reshape(-1), "delivered_units": delivered.reshape(-1),
            "backlog_units": backlog.reshape(-1), "lost_units": lost.reshape(-1)}))
    alone = plan.markets[~plan.markets["market"].isin(groups)]
    markets = pd.concat([alone, *rows], ignore_index=True)
    order = {m: i for i, m in enumerate(data.markets.index)}
    markets = markets.sort_values(["market", "sku"], key=lambda c: c.map(order) if c.name == "market" else c,
                                  kind="stable").reset_index(drop=True)
    # deliveries on each member's own lane: from the same hub, with the same lead, as the first's
    position = {p: i for i, p in enumerate(periods)}
    sent = []
    for first, members in groups.items():
        lane = data.lanes.loc[lane_of[first]]
        lead = int(lane["lead_periods"])
        mine = markets[markets["market"].isin(members) & (markets["delivered_units"] > tol)]
        sent.append(pd.DataFrame({
            "lane": mine["market"].map(lane_of), "origin": lane["origin"], "destination": mine["market"],
            "item": mine["sku"], "period": [periods[position[p] - lead] for p in mine["period"]],
            "arrival_period": mine["period"], "units": mine["delivered_units"]}))
    kept = plan.shipments[~plan.shipments["destination"].isin(groups)]
    shipments = pd.concat([kept, *sent], ignore_index=True)[list(plan.shipments.columns)]
    terms = _split_terms(plan.terms, markets, groups, lane_of, periods[-1])
    return replace(plan, markets=markets[list(plan.markets.columns)], shipments=shipments, terms=terms)


def _split_terms(terms: pd.DataFrame, markets: pd.DataFrame, groups: dict[str, list[str]], lane_of: dict[str, str],
                 last) -> pd.DataFrame:
    """``Plan.terms`` with a merged market's revenue, delivery transport, backlog and lost
    sales shared among its members by what drives each (units delivered, backlogged, lost
    or left backlogged at the end, ``last``): every member has the same coefficient, so
    the shares are the members' own terms."""
    lost_end = np.where(markets["period"] == last, markets["backlog_units"], 0.0)
    drivers = markets.assign(revenue=markets["delivered_units"], transport=markets["delivered_units"],
                             backlog=markets["backlog_units"], lost_sales=markets["lost_units"] + lost_end)
    leader_of = {m: first for first, members in groups.items() for m in members}
    drivers = drivers[drivers["market"].isin(leader_of)].melt(
        id_vars=["market", "sku", "period"], value_vars=["revenue", "transport", "backlog", "lost_sales"],
        var_name="kind", value_name="driver").rename(columns={"sku": "item"})
    drivers["leader"] = drivers["market"].map(leader_of)
    by_lane = {lane_of[first]: first for first in groups}
    leader = np.where(terms["kind"].isin(["revenue", "backlog", "lost_sales"]), terms["entity"].where(
        terms["entity"].isin(groups)), terms["entity"].map(by_lane).where(terms["kind"] == "transport"))
    moving = terms[pd.notna(leader)].assign(leader=leader[pd.notna(leader)]).rename_axis("row").reset_index()
    split = moving.merge(drivers, on=["leader", "item", "period", "kind"], how="left")
    total = split.groupby("row")["driver"].transform("sum")
    share = np.where(total > 0, split["driver"] / total.where(total > 0, 1.0), split["market"] == split["leader"])
    split["amount"] = split["amount"] * share
    split["entity"] = np.where(split["kind"] == "transport", split["market"].map(lane_of), split["market"])
    assert np.isclose(split["amount"].sum(), moving["amount"].sum(), rtol=1e-9, atol=1e-6), "a merged term lost money"
    kept = terms[pd.isna(leader)]
    return pd.concat([kept, split[split["amount"] != 0][list(terms.columns)]], ignore_index=True)
