"""Run folders on disk: tidy tables a planner can open, written so a partial folder never looks complete.

Layout of a run folder::

    kpis.csv                   one row per scenario x replication x KPI (tidy)
    summary.csv                per scenario x KPI: n, mean, se, 95 % interval, P5/P50/P95
    finance.csv                the profit and loss, the shortage penalty (memo) and the margin
                               per family and SKU, with intervals (twin.finance.tables)
    decisions.csv              the decision log: one row per rule firing per replication
    manifest.json              what the run is (scenario fingerprint, seed): --resume checks it
    results/kpis/              replication, kpi, scope, entity, value: one Parquet file per batch
    results/timeseries/        replication, day, entity, metric, value: daily hub series, weekly
                               line hours, weekly family balances and weekly cash and working
                               capital (finance_*, twin.finance.cash), per batch
    results/decisions/         the decision log, per batch
    results/ledger/            replication, account, sku, entity, amount: the measured days'
                               money per account x SKU x entity (twin.finance.ledger), per batch
    run.json                   what was run: scenario file, seed, replications, versions, timing
    plan/                      the capacity plan the run executed (supply: plan), as below
    forecast/                  the demand forecast it ran on (demand model: forecast), as below
    weak_points.csv            the network's single points of failure (twin.weak_points)
    bridge.csv                 (a plan and a budget.csv) the margin from budget to plan to
                               outcome per family: price, mix, quantity, cost (twin.finance.budget)
    balance.csv                the S&OP balance per family x month x measure: plan, twin mean,
                               P10-P90 (twin.balance); balance_weekly.csv per plan week

Layout of a plan folder (``twin plan``, or ``plan/`` in a run folder)::

    summary.json               status, objective, cost breakdown, solve time, model size
    costs.csv                  cost kind -> total over the horizon
    ledger.csv                 week, account, sku, entity, amount: the plan's money on the
                               account plan, per SKU (twin.finance.ledger.plan_ledger)
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

    forecasts.csv              sku, market, week, qty: the chosen method per family, ahead, with
                               the accepted adjustments (what the plan reads); statistical_qty
                               without them
    methods.csv                family, chosen method, how it was chosen and why (the figures),
                               what the backtest chose (where the scenario fixed another), and
                               how its final forecast was fitted (refitted, or carried forward)
    backtest.csv               family, method, mean MASE on the selection windows, and on the
                               holdout for the record
    patterns.csv               each SKU x market series' demand pattern (ADI, CV^2)
    accuracy.csv               level (series, sku, family, total, revenue_weighted), entity,
                               method (chosen, adjusted, naive, seasonal_naive), metrics, on the last
                               backtest window, which the choice never saw
    hidden.csv                 SKUs with revenue whose error the total hides
    fva.csv                    forecast value added on the holdout window, per family and in
                               total: naive, statistical, adjusted (twin.demand.adjustments)
    adjustments.csv            the adjustment log read, with each row's baseline_qty; an
                               input of twin forecast and of a scenario as it stands
    worst_skus.png             actual vs forecast for the worst revenue-weighted SKUs

Everything is written into ``<folder>.partial`` first and renamed into place at the end; a
run folder fills batch by batch there and resumes from it (:class:`RunFolder`). A folder is
replaced only if sop-twin wrote it (``twin.folders``: a ``.sop-twin`` file in it). A Parquet
folder reads as one table: ``pandas.read_parquet("out/baseline/results/kpis")``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twin.finance.tables import finance_table
from twin.folders import Claim, check_out, check_writable, mark, replace_folder, start_partial
from twin.spreadsheet import write_csv

from reports.summary import summarise
from twin.montecarlo import Executor, ReplicationFailed, RunResult, simulate_batches
from twin.sim import SimInput

if TYPE_CHECKING:  # the optimizer is wired in by twin.planning and the CLI only
    from matplotlib.figure import Figure

    from optimizer import Plan
    from twin.demand.forecast import ForecastResult
    from twin.scenario import LoadedScenario

PLAN_TABLES = ("production", "lines", "outsourcing", "partners", "shipments", "inventory", "materials", "markets",
               "workforce", "bottlenecks")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def _plan_files(folder: Path, plan: Plan, meta: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in PLAN_TABLES:
        table: pd.DataFrame = getattr(plan, name)
        weeks = {"period": "week", "arrival_period": "arrival_week", "first_period": "first_week",
                 "last_period": "last_week", "periods": "weeks"}
        write_csv(table.rename(columns=weeks), folder / f"{name}.csv")
    write_csv(plan.costs.rename_axis("kind").reset_index(), folder / "costs.csv")
    if plan.ledger is not None:
        write_csv(plan.ledger.rename(columns={"period": "week"}), folder / "ledger.csv")
    _write_json(folder / "summary.json", {**meta, **plan.summary()})


def _forecast_files(folder: Path, result: ForecastResult) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(result.forecasts, folder / "forecasts.csv")
    write_csv(result.chosen, folder / "methods.csv")
    write_csv(result.selection, folder / "backtest.csv")
    write_csv(result.patterns, folder / "patterns.csv")
    write_csv(result.accuracy, folder / "accuracy.csv")
    write_csv(result.hidden, folder / "hidden.csv")
    write_csv(result.fva, folder / "fva.csv")
    write_csv(result.adjustments.assign(**{c: result.adjustments[c].dt.strftime("%Y-%m-%d")
                                           for c in ("start", "end", "logged_on")}), folder / "adjustments.csv")


def write_forecast(folder: str | Path, result: ForecastResult, figure: Figure, meta: dict[str, Any],
                   overwrite: bool = False) -> None:
    """Write a forecast folder (layout in the module docstring); one already there is
    replaced only when ``overwrite``."""
    folder = Path(folder)
    partial = start_partial(folder, overwrite)
    _forecast_files(partial, result)
    figure.savefig(partial / "worst_skus.png", dpi=110)
    _write_json(partial / "forecast.json", meta)
    replace_folder(partial, folder)


def write_plan(folder: str | Path, plan: Plan, meta: dict[str, Any], overwrite: bool = False) -> None:
    """Write a plan folder (layout in the module docstring); one already there is replaced
    only when ``overwrite``."""
    folder = Path(folder)
    partial = start_partial(folder, overwrite)
    _plan_files(partial, plan, meta)
    replace_folder(partial, folder)


class RunInProgress(Exception):
    """An interrupted run of the same scenario is on disk and ``resume`` was not asked for."""


class KPIsNotFinite(Exception):
    """A run's KPIs over the horizon came out NaN or infinite: its inputs leave them undefined."""


class RunMismatch(Exception):
    """``resume`` was asked for, but the run on disk is of another scenario, network or seed."""


TABLES = {"kpis": "kpis", "series": "timeseries", "decisions": "decisions", "ledger": "ledger"}  # RunResult field -> folder


class RunFolder:
    """A run folder being filled batch by batch, resumable after any interruption.

    While it runs, it lives in ``<folder>.partial``: ``manifest.json`` (what is being run)
    and one Parquet file per finished batch under ``results/kpis/``, ``results/timeseries/``,
    ``results/decisions/`` and ``results/ledger/``, each written to a temporary name and renamed into place,
    the KPI file last: a batch counts as done when its KPI file exists. :meth:`finish`
    writes the tables a planner opens and renames the folder into place.

    Parameters
    ----------
    folder : path
        The run folder to make.
    identity : dict
        What makes two runs the same run (scenario fingerprint, seed): resuming checks it.
    resume : bool
        Continue an interrupted run (``<folder>.partial``) or extend a finished one
        (``<folder>``) instead of refusing to touch it.
    overwrite : bool
        Start over: a finished run in ``<folder>`` is replaced when this one finishes (it
        stays until then), an interrupted one in ``<folder>.partial`` is discarded.

    One process writes a run folder at a time (:class:`twin.folders.Claim`): another that
    tries, with whatever options, gets :class:`twin.errors.FolderBusy` and touches nothing.
    :meth:`release` (or the process's end) lets the folder go.
    """

    def __init__(self, folder: str | Path, identity: dict[str, Any], resume: bool = False, overwrite: bool = False):
        self.folder = check_writable(folder) if resume else check_out(folder, overwrite, resumable=True)
        self.partial = check_writable(self.folder.with_name(self.folder.name + ".partial"))
        manifest = {**identity}
        self.claim: Claim | None = None
        if not self.partial.exists() and resume and (self.folder / "manifest.json").exists():
            self.claim = Claim(self.folder)  # before the rename: one process extends it
            self.folder.rename(self.partial)  # extend a finished run: it is partial again until finish()
        if self.partial.exists() and self.claim is None:
            self.claim = Claim(self.partial)  # FolderBusy while another process fills it
            if overwrite and not resume:
                self.release()
                shutil.rmtree(self.partial)
        if self.partial.exists():
            found = _read_json(self.partial / "manifest.json")
            if not resume:
                self.release()
                raise RunInProgress(
                    f"an interrupted run is in {self.partial} ({len(self._done_on_disk())} replications done): "
                    f"add --resume to continue it, or --overwrite to start over")
            if found.get("identity") != manifest:
                self.release()
                raise RunMismatch(f"{self.partial} holds a run of something else ({found.get('identity')}); "
                                  f"it cannot be resumed as this one ({manifest}): use another --out")
        self.made = not self.partial.exists()  # this run started the folder (abandon() may remove it)
        if self.made:
            self.partial.mkdir(parents=True)
            self.claim = Claim(self.partial)
            for table in TABLES.values():
                (self.partial / "results" / table).mkdir(parents=True)
            mark(self.partial)
            _write_json(self.partial / "manifest.json", {"identity": manifest})
        self._clean_orphans()
        self.done: set[int] = self._done_on_disk()

    def release(self) -> None:
        """Let another process write the folder (after :meth:`finish`, or when giving up)."""
        if self.claim is not None:
            self.claim.release()

    def abandon(self) -> None:
        """The run failed before its first replication (a plan that cannot be made): remove
        the ``.partial`` it started, so that it neither blocks the next run nor looks like one."""
        if self.made and not self._done_on_disk():
            shutil.rmtree(self.partial, ignore_errors=True)
        self.release()

    def _done_on_disk(self) -> set[int]:
        files = sorted((self.partial / "results" / "kpis").glob("*.parquet"))
        if not files:
            return set()
        return set(pq.read_table(files, columns=["replication"]).column("replication").to_pylist())

    def _clean_orphans(self) -> None:
        """Files of a batch cut off before its KPI file landed: the batch runs again."""
        committed = {f.name for f in (self.partial / "results" / "kpis").glob("*.parquet")}
        for table in TABLES.values():
            for f in (self.partial / "results" / table).iterdir():
                if f.suffix == ".tmp" or f.name not in committed:
                    f.unlink()

    def add(self, result: RunResult) -> None:
        """Write one finished batch (its replications that ran; failures are not written)."""
        reps = result.replications
        if not reps:
            return
        name = f"{reps[0]:07d}-{reps[-1]:07d}.parquet"
        for field_name in ("decisions", "series", "ledger", "kpis"):  # KPIs last: the batch's commit mark
            target = self.partial / "results" / TABLES[field_name] / name
            tmp = target.with_suffix(".tmp")
            _write_parquet(getattr(result, field_name), tmp, decisions=field_name == "decisions")
            os.replace(tmp, target)
        self.done.update(reps)

    def kpis(self) -> pd.DataFrame:
        """Every KPI row written so far (names as categories: a 10,000-replication run fits)."""
        return pq.read_table(self.partial / "results" / "kpis").to_pandas(strings_to_categorical=True)

    def finish(self, meta: dict[str, Any], plan: Plan | None = None, forecast: ForecastResult | None = None,
               weak_points: pd.DataFrame | None = None, tables: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        """Write the summary tables, the plan, the forecast, the weak points, any other
        ``tables`` (name -> frame, as ``<name>.csv``) and ``run.json``; rename the folder into
        place; return the summary."""
        scenario = meta["scenario"]
        kpis = self.kpis()
        kpis.insert(0, "scenario", scenario)
        totals = kpis[kpis["scope"] == "total"]
        undefined = sorted(set(totals.loc[~np.isfinite(totals["value"].astype(float)), "kpi"].astype(str)))
        if undefined:  # a run that says nothing must not look like one that does
            raise KPIsNotFinite(f"{scenario}: {', '.join(undefined)} came out undefined (NaN or infinite) in some "
                                f"of the {len(self.done)} replications: the scenario's inputs leave them undefined. "
                                f"The replications stay in {self.partial}; no run was written")
        summary = summarise(kpis)
        write_csv(kpis, self.partial / "kpis.csv")
        write_csv(summary, self.partial / "summary.csv")
        write_csv(finance_table(summary), self.partial / "finance.csv")
        decisions = pq.read_table(self.partial / "results" / "decisions").to_pandas()
        decisions.insert(0, "scenario", scenario)
        write_csv(decisions.sort_values(["replication", "date"], kind="stable"), self.partial / "decisions.csv")
        if plan is not None:
            shutil.rmtree(self.partial / "plan", ignore_errors=True)
            _plan_files(self.partial / "plan", plan, {"scenario": scenario})
        if forecast is not None:
            shutil.rmtree(self.partial / "forecast", ignore_errors=True)
            _forecast_files(self.partial / "forecast", forecast)
        if weak_points is not None:
            write_csv(weak_points, self.partial / "weak_points.csv")
        for name, table in (tables or {}).items():
            write_csv(table, self.partial / f"{name}.csv")
        _write_json(self.partial / "run.json", {**meta, "replications": len(self.done)})
        replace_folder(self.partial, self.folder)
        self.release()
        return summary


# every batch's decision log has this schema, so the files read as one table even when
# a batch's log is empty
DECISION_SCHEMA = pa.schema([
    ("replication", pa.int64()), ("date", pa.date32()), ("rule", pa.string()), ("trigger", pa.string()),
    ("entity", pa.string()), ("value", pa.float64()), ("threshold", pa.string()), ("action", pa.string()),
    ("mode", pa.string()), ("done", pa.bool_()), ("owner", pa.string()), ("due", pa.date32()),
    ("action_cost", pa.float64()), ("revenue_at_stake", pa.float64()), ("detail", pa.string())])


def _write_parquet(frame: pd.DataFrame, path: Path, decisions: bool) -> None:
    if decisions:
        pq.write_table(pa.Table.from_pandas(frame, schema=DECISION_SCHEMA, preserve_index=False), path)
    else:
        frame.to_parquet(path, index=False)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def run_to_folder(inp: SimInput, folder: RunFolder, replications: int, seed: int, executor: Executor,
                  progress: bool = False,
                  precision: dict[str, tuple[float, bool]] | None = None, most: int = 100_000) -> int:
    """Run the replications of ``range(replications)`` not yet in ``folder``, writing each
    batch as it finishes; with ``precision``, keep adding replications (up to ``most``)
    until the 95 % interval of each KPI named there is narrow enough.

    ``precision`` maps a total KPI to ``(target, relative)``: the interval's half-width
    must be under ``target`` (relative: ``target`` x |mean|). Returns the number of
    replications in the run. Nothing is kept in memory but the batch being written.

    Raises
    ------
    ReplicationFailed
        After every other replication ran and was written; resuming retries only the
        ones that failed.
    """
    n = replications
    while True:
        pending = [i for i in range(n) if i not in folder.done]
        failures = []
        for result in simulate_batches(inp, seed, pending, executor, progress):
            folder.add(result)
            failures += result.failures
        if failures:
            raise ReplicationFailed(failures)
        if not precision or n >= most:
            return n
        reached = precision_reached(folder, precision)
        ratio = (reached["half_width"] / reached["target"]).max()  # the worst over the KPIs
        if ratio <= 1.0:
            return n
        # the half-width shrinks as 1 / sqrt(n): aim 10 % past what the estimate needs
        n = min(most, max(n + executor.workers, int(np.ceil(n * ratio ** 2 * 1.1))))


def precision_reached(folder: RunFolder, precision: dict[str, tuple[float, bool]]) -> pd.DataFrame:
    """Per KPI of ``precision`` (``run_to_folder``), the half-width of its 95 % interval over
    the replications in ``folder``, the target in the KPI's units and whether it is met."""
    kpis = folder.kpis()
    chosen = kpis[(kpis["scope"] == "total") & kpis["kpi"].isin(list(precision))]
    rows = []
    for row in summarise(chosen.assign(scenario="run")).itertuples():
        target, relative = precision[str(row.kpi)]
        half_width = (row.ci_high - row.ci_low) / 2
        rows.append(dict(kpi=str(row.kpi), n=int(row.n), half_width=half_width,
                         target=target * abs(row.mean) if relative else target))
    frame = pd.DataFrame(rows, columns=["kpi", "n", "half_width", "target"])
    return frame.assign(met=frame["half_width"] <= frame["target"])


def fingerprint(loaded: LoadedScenario) -> str:
    """A digest of the scenario as validated and of its network's files: a resumed run must
    be of exactly the same inputs."""
    digest = hashlib.sha256(loaded.scenario.model_dump_json().encode())
    for f in sorted(Path(loaded.scenario.network).glob("*.csv")):
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()[:16]
