"""Run folders on disk: tidy tables a planner can open, written so a partial folder never looks complete.

Layout of a run folder::

    kpis.csv                   one row per scenario x replication x KPI (tidy)
    summary.csv                per scenario x KPI: n, mean, se, 95 % interval, P5/P50/P95
    decisions.csv              the decision log: one row per rule firing per replication
    results/kpis.parquet       the same rows as kpis.csv, typed
    results/timeseries.parquet scenario, replication, day, entity, metric, value
    results/decisions.parquet  the same rows as decisions.csv, typed
    run.json                   what was run: scenario file, seed, replications, versions, timing
    plan/                      the capacity plan the run executed (supply: plan), as below

Layout of a plan folder (``twin plan``, or ``plan/`` in a run folder)::

    summary.json               status, objective, cost breakdown, solve time, model size
    costs.csv                  cost kind -> total over the horizon
    bottlenecks.csv            ranked bottlenecks, each with a sentence a planner reads
    production.csv             line, sku, week: units and hours on regular time and overtime
    lines.csv                  line, week: hours available and used, utilisation, value of an hour
    outsourcing.csv            partner, sku, week: units ordered
    partners.csv               partner, week: units, capacity, value of a unit of capacity
    shipments.csv              lane, origin, destination, item, week, arrival week, units
    inventory.csv              hub, sku, week: units at the end of the week, safety stock
    materials.csv              plant, material, week: units at the end of the week
    markets.csv                market, sku, week: demand, delivered, backlog, lost units
    workforce.csv              plant, week: workers, hired, laid off (plants with a workforce)

Layout of a forecast folder (``twin forecast``)::

    forecasts.csv              sku, market, week, qty: the chosen method per family, ahead
    methods.csv                family, chosen method, and how it was chosen
    backtest.csv               family, method, mean MASE on the selection windows
    patterns.csv               each SKU x market series' demand pattern (ADI, CV^2)
    accuracy.csv               level (series, sku, family, total, revenue_weighted), entity,
                               method (chosen, naive, seasonal_naive), metrics, on the last
                               backtest window, which the choice never saw
    hidden.csv                 SKUs with revenue whose error the total hides
    worst_skus.png             actual vs forecast for the worst revenue-weighted SKUs

Everything is written into ``<folder>.partial`` first and renamed into place at the end.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from reports.summary import summarise
from twin.montecarlo import RunResult

if TYPE_CHECKING:  # the optimizer is wired in by twin.planning and the CLI only
    from matplotlib.figure import Figure

    from optimizer import Plan
    from twin.demand.forecast import ForecastResult

PLAN_TABLES = ("production", "lines", "outsourcing", "partners", "shipments", "inventory", "materials", "markets",
               "workforce", "bottlenecks")


def _start(folder: Path) -> Path:
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    return partial


def _finish(partial: Path, folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    partial.rename(folder)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def _plan_files(folder: Path, plan: Plan, meta: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in PLAN_TABLES:
        table: pd.DataFrame = getattr(plan, name)
        table.rename(columns={"period": "week", "arrival_period": "arrival_week", "first_period": "first_week",
                              "last_period": "last_week", "periods": "weeks"}).to_csv(folder / f"{name}.csv",
                                                                                         index=False)
    plan.costs.rename_axis("kind").reset_index().to_csv(folder / "costs.csv", index=False)
    _write_json(folder / "summary.json", {**meta, **plan.summary()})


def write_forecast(folder: str | Path, result: ForecastResult, figure: Figure, meta: dict[str, Any]) -> None:
    """Write a forecast folder (layout in the module docstring)."""
    folder = Path(folder)
    partial = _start(folder)
    result.forecasts.to_csv(partial / "forecasts.csv", index=False)
    result.chosen.to_csv(partial / "methods.csv", index=False)
    result.selection.to_csv(partial / "backtest.csv", index=False)
    result.patterns.to_csv(partial / "patterns.csv", index=False)
    result.accuracy.to_csv(partial / "accuracy.csv", index=False)
    result.hidden.to_csv(partial / "hidden.csv", index=False)
    figure.savefig(partial / "worst_skus.png", dpi=110)
    _write_json(partial / "forecast.json", meta)
    _finish(partial, folder)


def write_plan(folder: str | Path, plan: Plan, meta: dict[str, Any]) -> None:
    """Write a plan folder (layout in the module docstring)."""
    folder = Path(folder)
    partial = _start(folder)
    _plan_files(partial, plan, meta)
    _finish(partial, folder)


def write_run(folder: str | Path, result: RunResult, meta: dict[str, Any], plan: Plan | None = None) -> pd.DataFrame:
    """Write a run folder (with the plan it executed, if any) and return its summary table."""
    folder = Path(folder)
    partial = _start(folder)
    (partial / "results").mkdir()
    summary = summarise(result.kpis)
    result.kpis.to_csv(partial / "kpis.csv", index=False)
    summary.to_csv(partial / "summary.csv", index=False)
    result.kpis.to_parquet(partial / "results" / "kpis.parquet", index=False)
    result.series.to_parquet(partial / "results" / "timeseries.parquet", index=False)
    result.decisions.to_csv(partial / "decisions.csv", index=False)
    result.decisions.to_parquet(partial / "results" / "decisions.parquet", index=False)
    if plan is not None:
        _plan_files(partial / "plan", plan, {"scenario": meta.get("scenario")})
    _write_json(partial / "run.json", meta)
    _finish(partial, folder)
    return summary
