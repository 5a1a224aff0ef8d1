"""The S&OP balance: the one table the meeting reads, per product family and month (and week).

For each family and period, demand against supply, the plan beside the twin's mean and
P10-P90 over the replications:

==============  =====================================================================
measure         plan / twin
==============  =====================================================================
demand          unconstrained demand: the forecast with the events the plan knows of
                / the demand that came
served          constrained demand: units delivered (new orders and backorders)
lost            units lost (lost-sales markets)
production      units made on the lines (regular time and overtime)
outsourcing     units bought from partners (the plan: ordered; the twin: dispatched)
supply          production + outsourcing
inventory       finished units on hand at the hubs at the period's end
backlog         backorders open at the period's end
==============  =====================================================================

Weeks are the plan's; a month holds the weeks that start in it (flows summed, stocks at
its last week's end), so a month's figures add up from the weekly table. The twin's side
comes from its ``family_*`` series (``twin.sim.kpis.replication_series``): each
replication is bucketed first, then the mean and percentiles are taken over replications.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

from twin.sim.kpis import FAMILY_METRICS

if TYPE_CHECKING:
    from optimizer import Plan

MEASURES = ("demand", "served", "lost", "production", "outsourcing", "supply", "inventory", "backlog")
STOCKS = frozenset({"inventory", "backlog"})  # read at a period's end; the others are flows
BALANCE_COLUMNS = ["family", "period", "measure", "plan", "twin_mean", "twin_p10", "twin_p90", "difference"]
# the twin's series metric behind each measure (supply is made up below)
_SERIES = {"demand": "demand", "served": "delivered", "lost": "lost", "production": "produced",
           "outsourcing": "outsourced", "inventory": "inventory", "backlog": "backlog"}
assert set(_SERIES.values()) == set(FAMILY_METRICS), "every family series has its measure"


def plan_balance(plan: Plan, family_of: Mapping[str, str]) -> pd.DataFrame:
    """The plan's side per family and plan week: ``family, period, measure, value``."""
    made = plan.production.assign(units=plan.production["regular_units"] + plan.production["overtime_units"])
    parts = {
        "demand": (plan.markets, "demand_units"), "served": (plan.markets, "delivered_units"),
        "lost": (plan.markets, "lost_units"), "production": (made, "units"),
        "outsourcing": (plan.outsourcing, "units"), "inventory": (plan.inventory, "units"),
        "backlog": (plan.markets, "backlog_units"),
    }
    periods = sorted(set(plan.markets["period"]))
    families = sorted(set(family_of.values()))
    grid = pd.MultiIndex.from_product([families, periods], names=["family", "period"])
    frames = []
    for measure, (table, column) in parts.items():
        summed = (table.assign(family=table["sku"].map(family_of)).groupby(["family", "period"])[column].sum()
                  if len(table) else pd.Series(dtype=float))
        frames.append(summed.reindex(grid, fill_value=0.0).rename("value").reset_index().assign(measure=measure))
    return _with_supply(pd.concat(frames, ignore_index=True), ["family", "period"])


def read_twin_series(folder: str | Path, start: dt.date) -> pd.DataFrame:
    """The twin's side per replication, family and plan week from a run folder's
    ``results/timeseries``: ``replication, family, period, measure, value``."""
    names = {f"family_{metric}_units": measure for measure, metric in _SERIES.items()}
    table = ds.dataset(Path(folder) / "results" / "timeseries", format="parquet").to_table(
        columns=["replication", "day", "entity", "metric", "value"],
        filter=ds.field("metric").isin(list(names)))
    frame = table.to_pandas(strings_to_categorical=True)  # a 10,000-replication run's rows fit
    frame["measure"] = frame["metric"].map(names).astype(str)
    days = frame["day"].unique()
    frame["period"] = frame["day"].map(dict(zip(days, (start + dt.timedelta(days=int(d)) for d in days))))
    frame = frame.rename(columns={"entity": "family"})[["replication", "family", "period", "measure", "value"]]
    return _with_supply(frame, ["replication", "family", "period"])


def _with_supply(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add the ``supply`` rows: production + outsourcing."""
    made = (frame[frame["measure"].isin(["production", "outsourcing"])]
            .groupby(keys, as_index=False, observed=True)["value"].sum())
    return pd.concat([frame, made.assign(measure="supply")], ignore_index=True)


def by_month(frame: pd.DataFrame) -> pd.DataFrame:
    """Weekly rows -> monthly rows (period ``YYYY-MM``): a month holds the weeks that start
    in it; flows are summed, stocks taken at its last week."""
    frame = frame.assign(month=frame["period"].map({p: f"{p:%Y-%m}" for p in frame["period"].unique()}))
    keys = [c for c in ("replication", "family") if c in frame] + ["month", "measure"]
    stocks = frame["measure"].isin(STOCKS)
    flows = frame[~stocks].groupby(keys, as_index=False, observed=True)["value"].sum()
    last = frame[stocks].sort_values("period").groupby(keys, as_index=False, observed=True)["value"].last()
    return pd.concat([flows, last], ignore_index=True).rename(columns={"month": "period"})


def balance(planned: pd.DataFrame | None, twin: pd.DataFrame) -> pd.DataFrame:
    """Plan and twin side by side (:data:`BALANCE_COLUMNS`), from :func:`plan_balance` and
    :func:`read_twin_series` rows at one bucket (weekly, or both through :func:`by_month`);
    ``planned`` is None for a run without a plan (the plan column is then empty)."""
    keys = ["family", "period", "measure"]
    values = twin.assign(family=twin["family"].astype(str)).groupby(keys, observed=True)["value"]
    stats = pd.DataFrame({"twin_mean": values.mean(), "twin_p10": values.quantile(0.10),
                          "twin_p90": values.quantile(0.90)})  # linear interpolation, as numpy's percentile
    table = (stats.join(planned.set_index(keys)["value"].rename("plan"), how="outer") if planned is not None
             else stats.assign(plan=np.nan)).reset_index()
    table["period"] = table["period"].astype(str)
    table["difference"] = table["twin_mean"] - table["plan"]
    table[BALANCE_COLUMNS[3:]] = table[BALANCE_COLUMNS[3:]].round(2)  # hundredths of a unit: a table to paste
    order = {m: i for i, m in enumerate(MEASURES)}
    table = table.sort_values(["family", "period", "measure"], key=lambda c: c.map(order) if c.name == "measure" else c,
                              kind="stable")
    return table[BALANCE_COLUMNS].reset_index(drop=True)


def balance_tables(plan: Plan | None, folder: str | Path, start: dt.date,
                   family_of: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """``balance`` (per family and month) and ``balance_weekly`` (per family and plan week)
    for a run folder's replications and the plan it executed."""
    twin = read_twin_series(folder, start)
    planned = plan_balance(plan, family_of) if plan is not None else None
    return {"balance": balance(by_month(planned) if planned is not None else None, by_month(twin)),
            "balance_weekly": balance(planned, twin)}
