"""A comparison of scenario runs: the tables an executive report is made of, computed from
the run folders' tidy results alone (DESIGN.md §8), so ``twin report`` rebuilds a report
without running anything.

The first run is the baseline. Every other run's KPIs are compared with it replication
by replication when the two share a seed (common random numbers: the paired difference
isolates what the scenario changed), else by Welch's unpaired interval.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
from scipy import stats

from reports.formats import fmt_delta_money, fmt_delta_pt, fmt_money, fmt_money_range, fmt_pct
from reports.summary import KEYS, paired_deltas, summarise, unpaired_deltas
from twin.demand.accuracy import BENCHMARKS, beaten_by
from twin.errors import InputError, Problem
from twin.finance.accounts import CASH_METRICS
from twin.scenario import ASSUMPTION_BOUNDS
from twin.sensitivity import Assumption, BreakEven, Subject, break_evens

TAIL = 0.05  # the risk register's tail: the worst 1 in 20 replications
BAND = (0.10, 0.50, 0.90)  # the inventory and backlog bands: P10, median, P90


@dataclass(frozen=True)
class Run:
    """A finished run folder (``twin run`` or ``twin compare``) and what ``run.json`` says of it."""

    folder: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.meta["scenario"])

    @property
    def group(self) -> str:
        """The scenario file's own name: the strategies of one competitor entry share it."""
        return str(self.meta.get("group") or self.name)

    @property
    def strategy(self) -> str | None:
        return self.meta.get("strategy")

    @property
    def moved(self) -> dict[str, Any] | None:
        """For a run that moves one assumption of another (``twin.sensitivity``): which, to what."""
        return self.meta.get("sensitivity")


def read_run(folder: str | Path) -> Run:
    """A finished run folder, or an :class:`InputError` that says what is wrong with it."""
    folder = Path(folder)
    missing = [f for f in ("run.json", "summary.csv", "results/kpis") if not (folder / f).exists()]
    if missing:
        partial = folder.with_name(folder.name + ".partial")
        hint = (f"; {partial} holds an unfinished run: finish it with `twin run ... --resume` first"
                if partial.exists() else "; give a folder written by `twin run` or `twin compare` (its runs/*)")
        raise InputError([Problem(str(folder), "", f"not a finished run folder (no {', '.join(missing)}){hint}")])
    try:
        meta = json.loads((folder / "run.json").read_text())
    except ValueError as exc:
        raise InputError([Problem(str(folder / "run.json"), "", f"not valid JSON: {exc}")]) from None
    return Run(folder, meta)


@dataclass(frozen=True)
class Comparison:
    """Everything a report shows, as tidy tables (one row per scenario x thing)."""

    runs: list[Run]
    kpis: pd.DataFrame        # raw: scenario, replication, kpi, scope, entity, value
    table: pd.DataFrame       # kpis.csv: summary with intervals and the deltas against the baseline
    risks: pd.DataFrame       # risks.csv: the risk register per scenario
    bands: pd.DataFrame       # scenario, metric, day, p10, p50, p90: network inventory and backlog
    line_weeks: pd.DataFrame  # scenario, line, day, utilisation: mean over replications per week
    decisions: pd.DataFrame   # every rule firing of every run
    bottlenecks: pd.DataFrame
    weak_points: pd.DataFrame
    accuracy: pd.DataFrame    # the baseline's forecast accuracy per family (empty without a forecast)
    hidden: pd.DataFrame      # SKUs with revenue whose error the total hides
    fva: pd.DataFrame         # the baseline forecast's value added per step (fva.csv; empty without a forecast)
    balance: pd.DataFrame     # scenario, then each run's balance.csv (twin.balance): per family and month
    promise: pd.DataFrame     # the plan's promised fill rate beside the twin's, with the gap by source
    sensitivity: pd.DataFrame  # sensitivity.csv: each run that moved one assumption, with its margin
    service: pd.DataFrame     # service.csv: per scenario, market and family, P(fill rate < its target)
    bridge: pd.DataFrame      # scenario, then each run's bridge.csv (twin.finance.budget): budget to plan to outcome

    @property
    def baseline(self) -> str:
        return self.runs[0].name

    @property
    def replications(self) -> int:
        return int(self.kpis["replication"].nunique())


def compare(folders: list[str | Path]) -> Comparison:
    """Read run folders (the first is the baseline) and compute the report's tables. Runs
    that move an assumption of another (``twin.sensitivity``) are not scenarios of their own:
    they make the sensitivity table."""
    read = [read_run(f) for f in folders]
    runs = [r for r in read if r.moved is None]
    names = [r.name for r in runs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError([Problem(", ".join(str(r.folder) for r in runs if r.name in twice), "",
                                  f"two runs of the same scenario name {twice}: a comparison needs each once")])
    kpis = pd.concat([_parquet(r, "kpis").assign(scenario=r.name) for r in runs], ignore_index=True)
    kpis["scenario"] = pd.Categorical(kpis["scenario"], categories=names)
    kpis = kpis[["scenario", "replication", "kpi", "scope", "entity", "value"]]
    kpis = pd.concat([kpis, per_unit_delivered(kpis)], ignore_index=True)
    paired = [r.name for r in runs if r.meta.get("seed") == runs[0].meta.get("seed")]
    bands, weeks = zip(*(_series_tables(r) for r in runs))
    targets = {r.name: r.meta.get("fill_rate_targets", {}) for r in runs}
    family_targets = {r.name: r.meta.get("family_fill_rate_targets", {}) for r in runs}
    return Comparison(
        runs=runs, kpis=kpis, table=comparison_table(kpis, runs[0].name, paired),
        risks=risk_register(kpis, targets), service=service_against_targets(kpis, {"market": targets, "family": family_targets}),
        bands=pd.concat(bands, ignore_index=True), line_weeks=pd.concat(weeks, ignore_index=True),
        decisions=_concat([_decisions(r) for r in runs]),
        bottlenecks=bottleneck_table(runs, kpis),
        weak_points=_csv(runs[0].folder / "weak_points.csv"),
        accuracy=forecast_accuracy(runs[0].folder / "forecast"),
        hidden=_csv(runs[0].folder / "forecast" / "hidden.csv"),
        fva=_csv(runs[0].folder / "forecast" / "fva.csv"),
        balance=pd.concat([_csv(r.folder / "balance.csv").assign(scenario=r.name) for r in runs], ignore_index=True),
        bridge=pd.concat([_csv(r.folder / "bridge.csv").assign(scenario=r.name) for r in runs], ignore_index=True),
        promise=promise_table(runs, kpis),
        sensitivity=sensitivity_table([r for r in read if r.moved is not None]),
    )


SENSITIVITY_COLUMNS = ["of", "assumption", "event", "field", "strategy", "unit", "base", "low", "high", "point",
                       "value", "unchanged", "replications", "margin", "margin_low", "margin_high", "scenario",
                       "folder"]


def sensitivity_table(moved: list[Run]) -> pd.DataFrame:
    """``sensitivity.csv``: per run that moved one assumption, which and to what, and its
    mean margin with the 95 % interval (its replications share the scenario's seed)."""
    rows = []
    for run in moved:
        k = _parquet(run, "kpis")
        margin = summarise(k[(k["scope"] == "total") & (k["kpi"] == "margin")].assign(scenario=run.name)).iloc[0]
        rows.append(run.moved | {"unchanged": "; ".join(run.moved["unchanged"]), "replications": int(margin["n"]),
                                 "margin": margin["mean"], "margin_low": margin["ci_low"],
                                 "margin_high": margin["ci_high"], "scenario": run.name, "folder": str(run.folder)})
    frame = pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
    # one order whatever order the folders came in: by scenario, event, strategy, field, value
    order = frame.assign(strategy=frame["strategy"].fillna("")).sort_values(["of", "event", "strategy", "field",
                                                                             "value"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


COST_KPIS = ("cost_total", "cost_materials", "cost_regular_time", "cost_overtime", "cost_outsourcing",
             "cost_transport", "cost_holding", "cost_shortage")
PER_UNIT = {k: "cost_per_unit_delivered" if k == "cost_total" else f"{k}_per_unit" for k in COST_KPIS}


def per_unit_delivered(kpis: pd.DataFrame) -> pd.DataFrame:
    """Each replication's costs per unit delivered (``cost_per_unit_delivered`` for the
    total, ``<cost kind>_per_unit`` for each kind): a cost is judged by these, so a scenario
    that loses sales never looks better for spending less."""
    total = kpis[(kpis["scope"] == "total") & kpis["kpi"].isin(COST_KPIS + ("shipped_units",))]
    wide = total.pivot_table(index=["scenario", "replication"], columns="kpi", values="value", observed=True)
    shipped = wide.pop("shipped_units").where(lambda v: v > 0)
    per_unit = wide.div(shipped, axis=0).rename(columns=PER_UNIT)
    tidy = per_unit.rename_axis(columns="kpi").stack().rename("value").reset_index()
    tidy = tidy.assign(scope="total", entity="all")[["scenario", "replication", "kpi", "scope", "entity", "value"]]
    tidy["scenario"] = pd.Categorical(tidy["scenario"], categories=kpis["scenario"].cat.categories)
    return tidy


GAP_PARTS = ("bucketing", "demand", "lead_times", "breakdowns")  # twin.agreement.SOURCES, bucketing first


def promise_table(runs: list[Run], kpis: pd.DataFrame) -> pd.DataFrame:
    """Per run with a plan: the fill rate the plan promises (``run.json``), the twin's mean
    and 95 % interval, and where the run has ``gap.csv`` (``twin run --explain-gap``) the
    gap split into bucketing and each source of randomness (Shapley values that add up to
    the twin's mean there minus the promise; those runs' own replications)."""
    fill = kpis[(kpis["scope"] == "total") & (kpis["kpi"] == "fill_rate")]
    summary = summarise(fill).set_index("scenario") if len(fill) else pd.DataFrame()
    rows = []
    for run in runs:
        promised = run.meta.get("plan_fill_rate")
        if promised is None:
            continue
        row = {"scenario": run.name, "plan": float(promised), "twin": float(summary.loc[run.name, "mean"]),
               "twin_low": float(summary.loc[run.name, "ci_low"]), "twin_high": float(summary.loc[run.name, "ci_high"])}
        gap = _csv(run.folder / "gap.csv")
        parts = gap.set_index("part")["value"] if len(gap) else pd.Series(dtype=float)
        row |= {"split_twin": float(parts.get("twin", math.nan))}
        row |= {p: float(parts.get(p, math.nan)) for p in GAP_PARTS}
        rows.append(row)
    return pd.DataFrame(rows, columns=["scenario", "plan", "twin", "twin_low", "twin_high", "split_twin",
                                       *GAP_PARTS])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames one under the other; empty ones (a run in which no rule fired) add no rows
    and, unlike in pandas' concat, do not decide the columns' types."""
    rows = [f for f in frames if len(f)]
    return pd.concat(rows, ignore_index=True) if rows else frames[0]


def _parquet(run: Run, table: str) -> pd.DataFrame:
    return ds.dataset(run.folder / "results" / table).to_table().to_pandas()


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


def _decisions(run: Run) -> pd.DataFrame:
    frame = pd.read_csv(run.folder / "decisions.csv", parse_dates=["date", "due"])
    return frame.assign(scenario=run.name)


def comparison_table(kpis: pd.DataFrame, baseline: str, paired: list[str] | None = None) -> pd.DataFrame:
    """``kpis.csv``: per scenario x KPI x scope x entity the mean, standard error, 95 %
    interval and P5/P50/P95 over replications, and for scenarios other than the baseline
    the mean difference from it with its 95 % interval and whether that excludes zero.
    Scenarios in ``paired`` (default: all) share the baseline's seed and are compared
    replication by replication; the others by Welch's interval (``paired`` column)."""
    summary = summarise(kpis)
    paired = list(kpis["scenario"].unique()) if paired is None else paired
    same_seed = kpis["scenario"].isin(paired)
    parts = [paired_deltas(kpis[same_seed], baseline).assign(paired=True)]
    if (~same_seed).any():
        parts.append(unpaired_deltas(kpis[~same_seed | (kpis["scenario"] == baseline)], baseline)
                     .assign(paired=False))
    deltas = pd.concat(parts, ignore_index=True)[KEYS + ["delta", "delta_low", "delta_high", "separated", "paired"]]
    for k in ("scenario", "kpi", "scope", "entity"):
        summary[k] = summary[k].astype(str)
        deltas[k] = deltas[k].astype(str)
    return summary.merge(deltas, on=KEYS, how="left")


TAIL_FEWEST = 10  # a tail made of fewer replications than this is flagged as rough


def chance_bounds(misses: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a probability seen ``misses`` times in ``n`` trials: exact
    (beta quantiles), never narrower than its nominal level. With 0 misses in 30 the upper
    end is 11.6 %, so 30 replications cannot show a chance under 10 %."""
    if n == 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2
    low = 0.0 if misses == 0 else float(stats.beta.ppf(tail, misses, n - misses + 1))
    high = 1.0 if misses == n else float(stats.beta.ppf(1 - tail, misses + 1, n - misses))
    return low, high


def quantile_bounds(values: np.ndarray, q: float, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval of the ``q`` quantile from order statistics (the ranks a
    binomial(n, q) count puts around it); an end beyond the replications is NaN."""
    v, n = np.sort(values), len(values)
    tail = (1 - confidence) / 2
    low, high = int(stats.binom.ppf(tail, n, q)), int(stats.binom.ppf(1 - tail, n, q)) + 1
    return (float(v[low - 1]) if low >= 1 else math.nan), (float(v[high - 1]) if high <= n else math.nan)


def risk_register(kpis: pd.DataFrame, targets: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Per scenario: the probability that service falls below target, and the tail.

    - ``service_target``: the mean of the markets' fill-rate targets (each market's own is
      in :func:`service_against_targets`); ``p_below_target``: the share of replications whose
      network fill rate is under it, with its exact 95 % interval (``_low``, ``_high``);
    - ``p_any_market_below``: the share of replications in which at least one market's
      fill rate is under its own target, with its interval, and the market most often under
      (``worst_market``, ``p_worst_market_below``);
    - ``fill_rate_p5``: the fill rate of a bad year (5th percentile), and ``margin_p5``
      with its distribution-free 95 % interval (NaN where an end is beyond the replications);
    - ``margin_cvar5``: the mean margin of the worst 5 % of replications (at least one):
      the conditional value at risk; ``tail_replications`` says how many make it, and
      ``tail_rough`` that they are fewer than :data:`TAIL_FEWEST`;
    - ``cost_total_p95``, ``lost_sales_p95``: the cost and lost units of a bad year.
    """
    rows = []
    for scenario, k in kpis.groupby("scenario", observed=True, sort=False):
        total = k[k["scope"] == "total"].pivot_table(index="replication", columns="kpi", values="value",
                                                     observed=True)
        n = len(total)
        market_targets = pd.Series(targets.get(str(scenario), {}), dtype=float)
        target = float(market_targets.mean()) if len(market_targets) else math.nan
        markets = k[(k["scope"] == "market") & (k["kpi"] == "fill_rate")].pivot_table(
            index="replication", columns="entity", values="value", observed=True)
        below = markets.lt(market_targets.reindex(markets.columns.astype(str)).to_numpy(), axis=1)
        worst = below.mean().sort_values(ascending=False, kind="stable") if below.shape[1] else pd.Series(dtype=float)
        margin = np.sort(total["margin"].to_numpy())
        tail = max(1, int(math.ceil(TAIL * len(margin))))
        misses = int((total["fill_rate"] < target).sum()) if not math.isnan(target) else None
        any_market = int(below.any(axis=1).sum()) if below.shape[1] else None
        p_low, p_high = chance_bounds(misses, n) if misses is not None else (math.nan, math.nan)
        a_low, a_high = chance_bounds(any_market, n) if any_market is not None else (math.nan, math.nan)
        m_low, m_high = quantile_bounds(margin, 0.05)
        rows.append({
            "scenario": str(scenario), "replications": n, "service_target": target,
            "p_below_target": misses / n if misses is not None else math.nan,
            "p_below_target_low": p_low, "p_below_target_high": p_high,
            "p_any_market_below": any_market / n if any_market is not None else math.nan,
            "p_any_market_below_low": a_low, "p_any_market_below_high": a_high,
            "worst_market": str(worst.index[0]) if len(worst) else "",
            "p_worst_market_below": float(worst.iloc[0]) if len(worst) else math.nan,
            "fill_rate_p5": float(np.percentile(total["fill_rate"], 5)),
            "margin_p5": float(np.percentile(margin, 5)), "margin_p5_low": m_low, "margin_p5_high": m_high,
            "margin_cvar5": float(margin[:tail].mean()),
            "tail_replications": tail, "tail_rough": tail < TAIL_FEWEST,
            "cost_total_p95": float(np.percentile(total["cost_total"], 95)),
            "lost_sales_p95": float(np.percentile(total["lost_sales_units"], 95)),
        })
    return pd.DataFrame(rows)


def service_against_targets(kpis: pd.DataFrame, targets: dict[str, dict[str, dict[str, float]]]) -> pd.DataFrame:
    """``service.csv``: per scenario, and per market and per product family (``scope``), the
    fill-rate target as the network gives it (``markets.csv``, ``families.csv``), the mean
    fill rate, and the probability (share of replications, with its exact 95 % interval)
    that the fill rate falls below that target. ``targets``: scope -> scenario -> entity ->
    target."""
    rows = []
    for scope, by_scenario in targets.items():
        fill = kpis[(kpis["scope"] == scope) & (kpis["kpi"] == "fill_rate")]
        for (scenario, entity), v in fill.groupby(["scenario", "entity"], observed=True, sort=False):
            target = by_scenario.get(str(scenario), {}).get(str(entity), math.nan)
            values = v["value"].to_numpy()
            misses = int((values < target).sum())
            low, high = chance_bounds(misses, len(values)) if not math.isnan(target) else (math.nan, math.nan)
            rows.append({"scenario": str(scenario), "scope": scope, "entity": str(entity), "target": target,
                         "fill_rate": float(values.mean()), "replications": len(values),
                         "p_below_target": misses / len(values) if not math.isnan(target) else math.nan,
                         "p_below_target_low": low, "p_below_target_high": high})
    return pd.DataFrame(rows, columns=["scenario", "scope", "entity", "target", "fill_rate", "replications",
                                       "p_below_target", "p_below_target_low", "p_below_target_high"])


FINANCE_SERIES = tuple(f"finance_{m}" for m in CASH_METRICS)


def _series_tables(run: Run) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Network inventory and backlog per day and cash and working capital per week
    (:data:`FINANCE_SERIES`) as P10/P50/P90 over replications, and each
    line's utilisation per week (hours worked / regular hours available, over all
    replications). Read batch file by batch file and reduced at once: a 10,000-replication
    run's daily series never sit in memory whole, only the network totals per day."""
    totals, hours = [], []
    for path in sorted((run.folder / "results" / "timeseries").glob("*.parquet")):
        s = pd.read_parquet(path)
        hubs = s[s["metric"].isin(["inventory_units", "backlog_units", *FINANCE_SERIES])]
        totals.append(hubs.groupby(["metric", "replication", "day"], observed=True)["value"].sum())
        lines = s[s["metric"].isin(["hours_worked", "hours_available"])]
        hours.append(lines.groupby(["entity", "day", "metric"], observed=True)["value"].sum())
    total = pd.concat(totals)
    bands = total.groupby(level=["metric", "day"], observed=True).quantile(list(BAND)).unstack()
    bands.columns = [f"p{round(q * 100)}" for q in BAND]
    bands = bands.reset_index().assign(scenario=run.name)
    weekly = pd.concat(hours).groupby(level=["entity", "day", "metric"]).sum().unstack("metric") if hours else None
    if weekly is None or weekly.empty:
        return bands, pd.DataFrame(columns=["line", "day", "utilisation", "scenario"])
    utilisation = weekly["hours_worked"] / weekly["hours_available"].where(weekly["hours_available"] > 0)
    weekly = utilisation.rename("utilisation").reset_index().rename(columns={"entity": "line"})
    return bands, weekly.assign(scenario=run.name)


def bottleneck_table(runs: list[Run], kpis: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """The baseline's ``top`` bottlenecks, and each other scenario's where they differ from
    the baseline's (another resource, two or more weeks more or less at capacity in the
    plan, or a simulated utilisation a point or more apart): the plan's (duals: weeks at
    capacity, the value of one more hour or unit) joined with what the simulation saw on
    that resource (utilisation and overtime hours, mean over replications). Without a plan,
    the busiest lines in the simulation."""
    line = kpis[kpis["scope"] == "line"].groupby(["scenario", "entity", "kpi"], observed=True)["value"].mean() \
        .unstack("kpi")
    rows: list[dict[str, Any]] = []
    base: dict[str, dict[str, Any]] = {}
    for run in runs:
        sim = line.loc[run.name] if run.name in line.index.get_level_values(0) else pd.DataFrame()
        plan = _csv(run.folder / "plan" / "bottlenecks.csv")
        if len(plan):
            picked = plan.sort_values("value_all_periods", ascending=False, kind="stable") \
                .drop_duplicates("resource").head(top)
        else:
            busiest = sim.sort_values("utilisation", ascending=False).index[:top] if len(sim) else []
            picked = pd.DataFrame({"kind": "line", "resource": busiest, "text": ""})
        for r in picked.itertuples():
            seen = sim.loc[r.resource] if r.kind == "line" and r.resource in sim.index else None
            row = {
                "scenario": run.name, "kind": r.kind, "resource": r.resource,
                "plan_weeks_at_capacity": getattr(r, "weeks", math.nan),
                "plan_value_per_unit": getattr(r, "value_per_unit", math.nan),
                "plan_overtime_hours": getattr(r, "overtime_hours", math.nan),
                "plan_outsourced_units": getattr(r, "outsourced_units", math.nan),
                "sim_utilisation": seen["utilisation"] if seen is not None else math.nan,
                "sim_overtime_hours": seen["overtime_hours"] if seen is not None else math.nan,
                "plan_text": r.text,
            }
            if run is runs[0]:
                base[r.resource] = row
            elif not _differs(row, base.get(r.resource)):
                continue
            rows.append(row)
    return pd.DataFrame(rows, columns=["scenario", "kind", "resource", "plan_weeks_at_capacity", "plan_value_per_unit",
                                       "plan_overtime_hours", "plan_outsourced_units", "sim_utilisation",
                                       "sim_overtime_hours", "plan_text"])


def _differs(row: dict[str, Any], base: dict[str, Any] | None) -> bool:
    if base is None:
        return True
    weeks = abs(np.nan_to_num(row["plan_weeks_at_capacity"]) - np.nan_to_num(base["plan_weeks_at_capacity"]))
    utilisation = abs(np.nan_to_num(row["sim_utilisation"]) - np.nan_to_num(base["sim_utilisation"]))
    return bool(weeks >= 2 or utilisation >= 0.01)


def forecast_accuracy(folder: Path) -> pd.DataFrame:
    """Per family, in total and revenue-weighted over SKUs: the chosen method and why, and MASE and
    WAPE of it, of naive and of seasonal naive on the last backtest window; ``beaten_by``,
    the benchmark whose MASE is lower than the chosen method's, if any."""
    if not (folder / "accuracy.csv").exists():
        return pd.DataFrame()
    acc = pd.read_csv(folder / "accuracy.csv")
    chosen = pd.read_csv(folder / "methods.csv").set_index("family")
    methods = chosen["method"]
    why = chosen["why"] if "why" in chosen else pd.Series(dtype=str)
    acc = acc[acc["level"].isin(["family", "total"])
              | ((acc["level"] == "revenue_weighted") & (acc["entity"] == "all"))]
    wide = acc.pivot_table(index=["level", "entity"], columns="method", values=["mase", "wape"], sort=False)
    out = pd.DataFrame({
        "family": [e if lvl == "family" else ("all SKUs, revenue-weighted" if lvl == "revenue_weighted" else "total")
                   for lvl, e in wide.index],
        "method": [methods.get(e, "") for _, e in wide.index],
        "why": [why.get(e, "") if lvl == "family" else "" for lvl, e in wide.index],
    })
    for metric in ("mase", "wape"):
        for method in ("chosen", "naive", "seasonal_naive"):
            out[f"{metric}_{method}"] = wide[(metric, method)].to_numpy()
    out["beaten_by"] = [beaten_by(r.mase_chosen, {b: getattr(r, f"mase_{b}") for b in BENCHMARKS})
                        for r in out.itertuples()]
    return out


MAX_BELOW = 0.10  # a strategy qualifies when it misses the service target in at most this share of replications
NAMED_RISKS = 2   # the risks the recommendation names


def _ranked(c: Comparison, names: list[str], max_below: float) -> tuple[list[str], bool]:
    """Strategies best first: by mean margin among those whose probability of missing the
    service target is at most ``max_below``; if none qualifies, all by fill rate. And
    whether any qualified."""
    total = c.table[c.table["scope"] == "total"].set_index(["scenario", "kpi"])
    risks = c.risks.set_index("scenario")
    ok = [n for n in names if not risks.loc[n, "p_below_target"] > max_below]
    by = "margin" if ok else "fill_rate"
    return sorted(ok or names, key=lambda n: -total.loc[(n, by), "mean"]), bool(ok)


def subjects(c: Comparison, max_below: float = MAX_BELOW) -> list[Subject]:
    """What the recommendation speaks of: each competitor entry's choice of strategy (the
    best of :func:`_ranked` recommended), and the :data:`NAMED_RISKS` scenarios that are
    not a choice and lose the most margin against the baseline."""
    total = c.table[c.table["scope"] == "total"].set_index(["scenario", "kpi"])
    groups: dict[str, list[Run]] = {}
    for run in c.runs[1:]:
        groups.setdefault(run.group, []).append(run)
    out, threats = [], []
    for group, members in groups.items():
        if len(members) < 2 or any(m.strategy is None for m in members):
            threats += [m.name for m in members]
            continue
        names = [m.name for m in members]
        out.append(Subject("choice", group, _ranked(c, names, max_below)[0][0], tuple(names)))
    losing = sorted((n for n in threats if total.loc[(n, "margin"), "delta"] < 0),
                    key=lambda n: total.loc[(n, "margin"), "delta"])
    return out + [Subject("risk", n, n, (n,)) for n in losing[:NAMED_RISKS]]


def _margins(c: Comparison) -> pd.Series:
    """Mean margin per scenario run."""
    total = c.table[(c.table["scope"] == "total") & (c.table["kpi"] == "margin")]
    return total.set_index("scenario")["mean"]


def _assumption(row: Any) -> Assumption:
    strategy = row.strategy if isinstance(row.strategy, str) else None
    return Assumption(int(row.event), row.field, strategy, row.assumption, float(row.base), float(row.low),
                      float(row.high))


def curves(c: Comparison, subject: Subject) -> dict[str, tuple[Assumption, dict[str, dict[float, float]]]]:
    """Per assumption moved for a subject: the assumption, and each of the subject's
    scenarios' mean margin at every value run (its own where a value leaves its inputs
    as they were); values at which some scenario's margin is unknown are left out."""
    s = c.sensitivity[c.sensitivity["of"].isin(subject.members)] if len(c.sensitivity) else c.sensitivity
    margins = _margins(c)
    out = {}
    for label, rows in s.groupby("assumption", sort=False):
        a = _assumption(rows.iloc[0])
        table: dict[str, dict[float, float]] = {m: {a.base: float(margins[m])} for m in subject.members}
        for value, at in rows.groupby("value"):
            run = at.set_index("of")["margin"]
            unchanged = {m for u in at["unchanged"].fillna("") for m in u.split("; ") if m}
            if all(m in run.index or m in unchanged for m in subject.members):
                for m in subject.members:
                    table[m][float(value)] = float(run[m]) if m in run.index else float(margins[m])
        out[label] = (a, {m: dict(sorted(v.items())) for m, v in table.items()})
    return out


def break_even_results(c: Comparison) -> list[tuple[Subject, Assumption, BreakEven]]:
    """Per choice and assumption, on each side of its value: where another strategy starts
    to earn more than the recommended one (``twin.sensitivity.break_evens``)."""
    out = []
    for subject in subjects(c):
        if subject.kind != "choice":
            continue
        for label, (a, table) in curves(c, subject).items():
            bounds = ASSUMPTION_BOUNDS[a.field][:2]
            out += [(subject, a, b) for b in break_evens(table, subject.best, a.base, bounds, label)]
    return out


def tornado_table(c: Comparison) -> pd.DataFrame:
    """Per subject and assumption: the recommended strategy's mean margin (a risk's margin
    against the baseline) at the low end of the range, at the value written and at the high
    end; ``swing`` is the distance between the two ends. Largest swing first per subject."""
    margins = _margins(c)
    rows = []
    for subject in subjects(c):
        offset = float(margins[c.baseline]) if subject.kind == "risk" else 0.0
        for label, (a, table) in curves(c, subject).items():
            m = table[subject.best]
            if a.low not in m or a.high not in m:
                continue
            rows.append({"subject": subject.group, "kind": subject.kind, "scenario": subject.best, "assumption": label,
                         "measure": "margin against the baseline" if subject.kind == "risk" else "margin",
                         "low": a.low, "base": a.base, "high": a.high, "low_text": a.text(a.low),
                         "base_text": a.text(a.base), "high_text": a.text(a.high), "at_low": m[a.low] - offset,
                         "at_base": m[a.base] - offset, "at_high": m[a.high] - offset,
                         "swing": abs(m[a.high] - m[a.low])})
    frame = pd.DataFrame(rows, columns=["subject", "kind", "scenario", "assumption", "measure", "low", "base", "high",
                                        "low_text", "base_text", "high_text", "at_low", "at_base", "at_high", "swing"])
    return frame.sort_values(["subject", "swing"], ascending=[True, False], kind="stable").reset_index(drop=True)


def break_even_table(c: Comparison) -> pd.DataFrame:
    """``break_even.csv``: per choice, assumption and side, the value at which the
    recommended strategy stops being best and which strategy then earns more, or the
    farthest value run if it stays best up to there."""
    strategy = {r.name: r.strategy for r in c.runs}
    rows = [{"subject": s.group, "recommended": strategy[s.best], "assumption": a.label, "value_written": a.base,
             "side": b.side, "break_even": b.value if b.value is not None else math.nan,
             "then_best": strategy[b.winner] if b.winner else "", "farthest_run": b.end,
             "text": (f"{a.label} {'below' if b.side == 'low' else 'above'} {a.text(b.value)}" if b.value is not None
                      else f"{a.label} down to {a.text(b.end)}" if b.side == "low"
                      else f"{a.label} up to {a.text(b.end)}")}
            for s, a, b in break_even_results(c)]
    return pd.DataFrame(rows, columns=["subject", "recommended", "assumption", "value_written", "side", "break_even",
                                       "then_best", "farthest_run", "text"])


def recommendation(c: Comparison, max_below: float = MAX_BELOW) -> list[str]:
    """The report's first paragraph, sentence by sentence, every number from ``c.table``,
    ``c.risks``, ``c.bottlenecks`` or ``c.sensitivity``.

    A strategy (one of a competitor entry's pricing options) is recommended when it has the
    highest mean margin among its group's strategies whose probability of missing the
    service target is at most ``max_below``; if none qualifies, the one with the best fill
    rate. Where its assumptions were moved (``twin.sensitivity``), what it rests on, the
    simulation noise apart from the assumptions' range, and the break-even. A scenario that
    is not a choice (a port closure) is a risk: the worst ones by margin are named with
    what they cost, and how much that depends on its assumptions."""
    total = c.table[c.table["scope"] == "total"].set_index(["scenario", "kpi"])
    risks = c.risks.set_index("scenario")
    base = c.baseline
    called = base if base.lower() == "baseline" else f"{base} (the baseline)"
    out = [f"{called}: fill rate {fmt_pct(total.loc[(base, 'fill_rate'), 'mean'])}, margin "
           f"{fmt_money(total.loc[(base, 'margin'), 'mean'])} over {c.replications} replications"
           + _risk_clause(risks, base) + "."]
    strategy = {r.name: r.strategy for r in c.runs}
    tornado, evens = tornado_table(c), break_even_table(c)
    named = [s for s in subjects(c, max_below) if s.kind == "risk"]
    for subject in subjects(c, max_below):
        if subject.kind != "choice":
            continue
        ranked, ok = _ranked(c, list(subject.members), max_below)
        best, runner = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        sentence = (f"For {subject.group}, choose “{strategy[best]}”: margin "
                    f"{fmt_money(total.loc[(best, 'margin'), 'mean'])} "
                    f"({fmt_delta_money(total.loc[(best, 'margin'), 'delta'])} against the baseline), fill rate "
                    f"{fmt_pct(total.loc[(best, 'fill_rate'), 'mean'])}" + _risk_clause(risks, best))
        if runner is not None:
            gap = _paired_gap(c.kpis, best, runner, "margin")
            sentence += (f"; it earns {fmt_money(gap[0])} more margin than “{strategy[runner]}” (95 % CI "
                         f"{fmt_money_range(gap[1], gap[2])})"
                         + ("" if gap[1] > 0 else ", a difference these replications cannot tell from zero: "
                            "run more (--until-precision margin=...) before deciding"))
        if not ok:
            sentence += f"; no strategy keeps the risk of missing the service target under {fmt_pct(max_below, 0)}"
        elif risks.loc[best, "p_below_target_high"] >= max_below:
            sentence += (f"; {risks.loc[best, 'replications']} replications cannot show that its chance of missing "
                         f"the service target is under {fmt_pct(max_below, 0)} (at 95 % confidence): run more "
                         "(-n, or --until-precision fill_rate=...) before relying on it")
        out.append(sentence + ".")
        out += _assumption_sentences(total.loc[(best, "margin")], tornado[tornado["subject"] == subject.group],
                                     evens[evens["subject"] == subject.group])
    for subject in named:
        name = subject.best
        m, f = total.loc[(name, "margin")], total.loc[(name, "fill_rate")]
        mark = "" if m["separated"] else " (not distinguishable from zero)"
        sentence = (f"{'The biggest risk' if subject is named[0] else 'Next'} is {name}: margin "
                    f"{fmt_delta_money(m['delta'])}{mark}, fill rate {fmt_delta_pt(f['delta'])}"
                    + _risk_clause(risks, name))
        for t in tornado[tornado["subject"] == subject.group].itertuples():
            sentence += (f"; with its {t.assumption} from {t.low_text} to {t.high_text} (as written "
                         f"{t.base_text}), margin {fmt_money_range(t.at_low, t.at_high, delta=True)}")
        out.append(sentence + ".")
    b = c.bottlenecks[c.bottlenecks["scenario"] == base]
    if len(b) and b.iloc[0]["plan_text"]:
        r = b.iloc[0]
        seen = "" if math.isnan(r["sim_utilisation"]) else \
            f" (the simulation sees it at {fmt_pct(r['sim_utilisation'], 0)} of regular hours)"
        out.append(f"Watch the baseline's bottleneck: {r['plan_text']}{seen}.")
    waiting = _waiting_decisions(c, risks["replications"])
    if waiting:
        out.append(f"Waiting for a person's decision: {waiting} (the decision log below).")
    return out


def _assumption_sentences(margin: pd.Series, tornado: pd.DataFrame, evens: pd.DataFrame) -> list[str]:
    """What a recommended strategy rests on: its assumptions as written, the simulation
    noise on its margin under them apart from how far their ranges move it, and the values
    at which it stops being best."""
    if tornado.empty:
        return []
    written = ", ".join(f"{t.assumption} {t.base_text}" for t in tornado.itertuples())
    low = min(tornado["at_low"].min(), tornado["at_high"].min())
    high = max(tornado["at_low"].max(), tornado["at_high"].max())
    noise = (margin["ci_high"] - margin["ci_low"]) / 2
    out = [f"It rests on {written}. Under these assumptions its margin is known to ±{fmt_money(noise)} (95 %: the "
           f"simulation's noise); moved one at a time over their ranges (the tornado chart), the assumptions take it "
           f"from {fmt_money_range(low, high)}."]
    stops = [f"{r.text} (then “{r.then_best}” earns more)" for r in evens.itertuples() if not math.isnan(r.break_even)]
    holds = {}
    for r in evens[evens["break_even"].isna()].itertuples():
        holds.setdefault(r.assumption, []).append(r)
    whole = [a for a, rs in holds.items() if len(rs) == 2]
    if stops:
        out.append(f"It stops being best at {_and(stops)}" + (f"; it stays best over the whole range of {_and(whole)}"
                                                               if whole else "") + ".")
    elif whole:
        out.append(f"It stays best over the whole range of every assumption moved ({_and(whole)}).")
    return out


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def decision_rates(c: Comparison) -> pd.DataFrame:
    """Per rule x entity x scenario: the share of the scenario's replications in which the
    rule fired, and the median over those replications of the first firing's date."""
    columns = ["mode", "rule", "entity", "action", "owner", "scenario", "share", "first"]
    if c.decisions.empty:
        return pd.DataFrame(columns=columns)
    keys = ["mode", "rule", "entity", "action", "owner", "scenario"]
    first = c.decisions.groupby(keys + ["replication"], sort=False)["date"].min()
    g = first.groupby(level=keys, sort=False)
    replications = c.risks.set_index("scenario")["replications"]
    out = pd.DataFrame({"reps": g.size(), "first": g.agg(lambda d: pd.to_datetime(pd.Series(d)).median())})
    out = out.reset_index()
    out["share"] = out["reps"] / out["scenario"].map(replications)
    return out[columns]


def _waiting_decisions(c: Comparison, replications: pd.Series, often: float = 0.5) -> str:
    """The ``decide`` rules, each with the scenarios where it fires in at least ``often``
    of the replications, and how often at most elsewhere."""
    decide = c.decisions[c.decisions["mode"] == "decide"] if len(c.decisions) else c.decisions
    if decide.empty:
        return ""
    share = decide.groupby(["rule", "scenario"], sort=False)["replication"].nunique() \
        / decide.groupby(["rule", "scenario"], sort=False)["scenario"].first().map(replications)
    parts = []
    for rule, s in share.groupby(level="rule", sort=False):
        s = s.droplevel("rule")
        named = [f"{name}: {'every replication' if v >= 1 else fmt_pct(v, 0) + ' of replications'}"
                 for name, v in s[s >= often].sort_values(ascending=False, kind="stable").items()]
        rest = s[s < often]
        if not named:
            parts.append(f"{rule} (in at most {fmt_pct(rest.max(), 0)} of replications)")
            continue
        tail = [f"elsewhere at most {fmt_pct(rest.max(), 0)}"] if len(rest) else []
        parts.append(f"{rule} ({'; '.join(named + tail)})")
    return "; ".join(parts)


def _risk_clause(risks: pd.DataFrame, name: str) -> str:
    """Service against target as a count with the chance's 95 % upper bound (a chance is
    never claimed lower than the replications show), and the margin's tail with how many
    replications make it."""
    r = risks.loc[name]
    misses = round(r["p_below_target"] * r["replications"]) if not math.isnan(r["p_below_target"]) else 0
    service = "" if math.isnan(r["service_target"]) else \
        f"service below its {fmt_pct(r['service_target'], 0)} target in {misses} of {r['replications']} " \
        f"replications (the chance is at most {fmt_pct(r['p_below_target_high'], 1)} at 95 % confidence), "
    n = r["tail_replications"]
    rough = f", from {n} replication{'s' if n > 1 else ''} only" if r["tail_rough"] else ""
    return f"; {service}margin in the worst 5 % {fmt_money(r['margin_cvar5'])}{rough}"


def _paired_gap(kpis: pd.DataFrame, a: str, b: str, kpi: str) -> tuple[float, float, float]:
    """Mean of ``a - b`` for a total KPI and its 95 % interval, replication by replication."""
    pair = kpis[(kpis["scope"] == "total") & (kpis["kpi"] == kpi) & kpis["scenario"].isin([a, b])]
    d = paired_deltas(pair.assign(scenario=pair["scenario"].astype(str)), baseline=b).iloc[0]
    return float(d["delta"]), float(d["delta_low"]), float(d["delta_high"])
