"""Summaries of replication results: mean, standard error, 95 % interval, percentiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from reports.formats import fmt_delta_pt
from twin.demand.accuracy import BENCHMARKS, beaten_by
from twin.sim.kpis import SHARES

KEYS = ["scenario", "kpi", "scope", "entity"]


def summarise(kpis: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per scenario x KPI x scope x entity over replications.

    The interval is Student's t around the mean: mean +- t(n-1) x sd / sqrt(n), cut to
    [0, 1] for the KPIs that are shares (:data:`twin.sim.kpis.SHARES`: a few replications
    near 100 % fill would otherwise read "97.3 % to 100.9 %"); with one replication it is
    undefined (NaN). Percentiles are of the replication values.
    """
    g = kpis.groupby(KEYS, sort=False, observed=True)["value"]
    out = g.agg(n="count", mean="mean", sd="std",
                p5=lambda v: np.nanpercentile(v, 5), p50="median", p95=lambda v: np.nanpercentile(v, 95))
    out["se"] = out["sd"] / np.sqrt(out["n"])
    t = stats.t.ppf(0.5 + confidence / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, t * out["se"], np.nan)
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    out = out.reset_index()
    share = out["kpi"].isin(SHARES)
    out.loc[share, ["ci_low", "ci_high"]] = out.loc[share, ["ci_low", "ci_high"]].clip(0.0, 1.0)
    return out[KEYS + ["n", "mean", "se", "ci_low", "ci_high", "p5", "p50", "p95"]]


def paired_deltas(kpis: pd.DataFrame, baseline: str, confidence: float = 0.95) -> pd.DataFrame:
    """Each scenario's KPIs against ``baseline``, replication by replication.

    Runs with the same seed share their random numbers replication by replication
    (common random numbers), so the difference of replication ``i`` of a scenario and of
    the baseline isolates what the scenario changed. The interval is Student's t on
    those paired differences; ``separated`` says whether it excludes zero. One row per
    scenario x KPI x scope x entity (the baseline excluded).
    """
    keys = ["kpi", "scope", "entity", "replication"]
    base = kpis[kpis["scenario"] == baseline].set_index(keys)["value"]
    other = kpis[kpis["scenario"] != baseline]
    if other.empty:  # the baseline alone: nothing to compare
        return pd.DataFrame(columns=KEYS + ["n", "base", "mean", "delta", "delta_low", "delta_high", "separated"])
    diff = other.join(base.rename("base"), on=keys, how="inner")
    diff = diff.assign(delta=diff["value"] - diff["base"])
    g = diff.groupby(KEYS, sort=False, observed=True)
    out = g.agg(n=("delta", "count"), base=("base", "mean"), mean=("value", "mean"), delta=("delta", "mean"),
                sd=("delta", "std"))
    t = stats.t.ppf(0.5 + confidence / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, t * out["sd"] / np.sqrt(out["n"]), np.nan)
    out["delta_low"], out["delta_high"] = out["delta"] - half, out["delta"] + half
    out["separated"] = (out["delta_low"] > 0) | (out["delta_high"] < 0)
    return out.drop(columns="sd").reset_index()


def unpaired_deltas(kpis: pd.DataFrame, baseline: str, confidence: float = 0.95) -> pd.DataFrame:
    """Each scenario's KPIs against ``baseline`` when the runs do not share random numbers
    (other seeds): the difference of the means with Welch's interval (unequal variances,
    Welch-Satterthwaite degrees of freedom). Same columns as :func:`paired_deltas`."""
    g = kpis.groupby(KEYS, sort=False, observed=True)["value"].agg(n="count", mean="mean", var="var")
    base = g.xs(baseline, level="scenario")
    other = g[g.index.get_level_values("scenario") != baseline]
    b = base.reindex(other.index.droplevel("scenario"))
    b.index = other.index
    se2_a, se2_b = other["var"] / other["n"], b["var"] / b["n"]
    se = np.sqrt(se2_a + se2_b)
    dof = (se2_a + se2_b) ** 2 / (se2_a ** 2 / (other["n"] - 1) + se2_b ** 2 / (b["n"] - 1))
    t = stats.t.ppf(0.5 + confidence / 2, np.maximum(dof.fillna(1), 1))
    out = pd.DataFrame({"n": other["n"], "base": b["mean"], "mean": other["mean"], "delta": other["mean"] - b["mean"]})
    half = np.where(se > 0, t * se, 0.0)
    out["delta_low"], out["delta_high"] = out["delta"] - half, out["delta"] + half
    out["separated"] = (out["delta_low"] > 0) | (out["delta_high"] < 0)
    return out.reset_index()


# kpi, label, format, whether the KPI can be negative (only margin can)
HEADLINE = [
    ("fill_rate", "Fill rate", "{:.2%}", False),
    ("order_line_service", "Order-line service", "{:.2%}", False),
    ("revenue", "Revenue", "{:,.0f}", False),
    ("cost_total", "Total cost", "{:,.0f}", False),
    ("margin", "Margin", "{:,.0f}", True),
    ("lost_sales_units", "Lost sales (units)", "{:,.0f}", False),
    ("backorder_units_end", "Backorders at end (units)", "{:,.0f}", False),
    ("inventory_value_avg", "Average inventory value", "{:,.0f}", False),
    ("utilisation_avg", "Line utilisation", "{:.1%}", False),
    ("overtime_hours", "Overtime hours", "{:,.0f}", False),
]


def headline_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The totals a planner reads first, formatted, one row per KPI and scenario."""
    total = summary[summary["scope"] == "total"].set_index(["kpi", "scenario"])
    rows = []
    for kpi, label, fmt, signed in HEADLINE:
        if kpi not in total.index.get_level_values(0):
            continue
        for scenario, r in total.loc[kpi].iterrows():
            # a t-interval around a mean near zero can dip below it; a count cannot
            low = r["ci_low"] if signed else max(r["ci_low"], 0.0)
            ci = "" if np.isnan(r["ci_low"]) else f"{fmt.format(low)} to {fmt.format(r['ci_high'])}"
            rows.append({"scenario": scenario, "KPI": label, "mean": fmt.format(r["mean"]), "95% CI": ci,
                         "P5": fmt.format(r["p5"]), "P95": fmt.format(r["p95"])})
    return pd.DataFrame(rows)


def line_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Utilisation and overtime per line, busiest first: where the bottleneck is."""
    lines = summary[summary["scope"] == "line"].pivot_table(index=["scenario", "entity"], columns="kpi",
                                                            observed=True, dropna=False,
                                                            values=["mean", "ci_low", "ci_high"])
    out = pd.DataFrame({
        "scenario": lines.index.get_level_values(0),
        "line": lines.index.get_level_values(1),
        "utilisation": [f"{m:.1%}" for m in lines[("mean", "utilisation")]],
        # one replication has no interval
        "95% CI": [f"{a:.1%} to {b:.1%}" if np.isfinite(a) else "" for a, b in zip(lines[("ci_low", "utilisation")],
                                                                                   lines[("ci_high", "utilisation")])],
        "overtime h": [f"{v:,.0f}" for v in lines[("mean", "overtime_hours")]],
        "downtime h": [f"{v:,.0f}" for v in lines[("mean", "downtime_hours")]],
        "_sort": lines[("mean", "utilisation")].to_numpy(),
    })
    return out.sort_values(["scenario", "_sort"], ascending=[True, False]).drop(columns="_sort").reset_index(drop=True)


COST_LABELS = {
    "materials": "Materials", "regular_time": "Regular time", "overtime": "Overtime", "outsourcing": "Outsourcing",
    "transport": "Transport", "holding": "Holding", "material_holding": "Holding, materials at plants",
    "safety_shortfall": "Below safety stock (penalty)",
    "backlog": "Backlog (penalty)", "lost_sales": "Lost sales (penalty)", "hiring": "Hiring", "layoffs": "Layoffs",
    "shortage": "Shortage (penalty)",
}


def cost_table(costs: pd.Series, revenue: float) -> pd.DataFrame:
    """A plan's cost breakdown a planner can paste: kind, cost, share of the total; then
    the total, the revenue of the delivered units and the margin. Zero lines are left out."""
    total = float(costs.sum())
    rows = [(COST_LABELS.get(k, k), v, v / total if total else 0.0) for k, v in costs.items() if abs(v) >= 0.5]
    rows += [("Total cost", total, 1.0), ("Revenue (planned deliveries)", revenue, None),
             ("Margin", revenue - total, None)]
    return pd.DataFrame({"Cost": [r[0] for r in rows], "$": [f"{r[1]:,.0f}" for r in rows],
                         "share": ["" if r[2] is None else f"{r[2]:.1%}" for r in rows]})


MODE_ORDER = {"decide": 0, "review": 1, "auto": 2}  # what needs a person comes first


def decision_summary(decisions: pd.DataFrame, replications: int) -> pd.DataFrame:
    """The decision log over replications, one row per scenario x rule x entity: in how
    many replications it fired, when first (median date), how often per replication, and
    per replication the mean cost of the action and the revenue at stake had it not been
    answered; ``decide`` rows first, then ``review``, ``auto``."""
    columns = ["scenario", "mode", "rule", "entity", "action", "owner", "fired in", "first (median)",
               "firings per rep", "action cost per rep", "revenue at stake per rep"]
    if decisions.empty:
        return pd.DataFrame(columns=columns)
    keys = ["scenario", "mode", "rule", "entity", "action", "owner"]
    per_rep = decisions.groupby(keys + ["replication"], sort=False).agg(
        first=("date", "min"), firings=("date", "size"), cost=("action_cost", "sum"),
        at_stake=("revenue_at_stake", lambda v: v.sum(min_count=1)))
    g = per_rep.groupby(level=keys, sort=False)
    out = pd.DataFrame({
        "fired in": g.size().map(lambda k: f"{k} of {replications}"),
        "first (median)": g["first"].agg(lambda d: pd.to_datetime(pd.Series(d)).median().date()),
        "firings per rep": g["firings"].sum() / replications,
        "action cost per rep": g["cost"].sum(min_count=1) / replications,
        "revenue at stake per rep": g["at_stake"].sum(min_count=1) / replications,
        "_fired": g.size(),
    }).reset_index()
    out = out.sort_values(["scenario", "mode", "_fired"], key=lambda c: c.map(MODE_ORDER) if c.name == "mode" else c,
                          ascending=[True, True, False], kind="stable")
    out["firings per rep"] = out["firings per rep"].map("{:.2f}".format)
    for money in ("action cost per rep", "revenue at stake per rep"):
        out[money] = out[money].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
    return out[columns].reset_index(drop=True)


GAP_LABELS = {"bucketing": "bucketing", "demand": "demand error", "lead_times": "lead times",
              "breakdowns": "breakdowns"}


def gap_sentence(gap: pd.DataFrame) -> str:
    """The plan-to-twin gap table (``twin.pipeline.explain_gap``) as a planner reads it:
    'the plan promises 100.0 % fill; the twin delivers 99.4 % (99.2-99.6): bucketing
    -0.1 pt, demand error -0.2 pt, ...'."""
    v = gap.set_index("part")["value"]
    parts = ", ".join(f"{label} {fmt_delta_pt(v[p], 1)}" for p, label in GAP_LABELS.items() if p in v)
    return (f"the plan promises {100 * v['plan']:.1f} % fill; the twin delivers {100 * v['twin']:.1f} % "
            f"({100 * v['twin_ci_low']:.1f}-{100 * v['twin_ci_high']:.1f}): {parts}")


def fva_table(fva: pd.DataFrame, percent: str = "%") -> pd.DataFrame:
    """The forecast-value-added stairstep (``fva.csv``) as a planner reads it: per family and
    in total, each step's WAPE on the holdout and the points it removed from the step before
    (negative where it made the forecast worse), and the accepted adjustments there.
    ``percent``: the sign after a percentage ("%" printed, " %" in the report)."""
    rows = []
    names = {"total": "all", "adjusted_series": "series adjusted"}
    for (level, entity), steps in fva.groupby(["level", "entity"], sort=False):
        step = steps.set_index("step")
        row = {"family": names.get(level, entity), "naive": f"{step.loc['naive', 'wape']:.1f}{percent}"}
        for name in ("statistical", "adjusted"):
            row[name] = f"{step.loc[name, 'wape']:.1f}{percent} ({fmt_delta_pt(step.loc[name, 'wape_added'] / 100, 1)})"
        row["adjustments"] = int(step.loc["adjusted", "adjustments"])
        rows.append(row)
    return pd.DataFrame(rows)


def forecast_accuracy_table(accuracy: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Per family and in total, as ``twin forecast`` prints it: the method and how it was
    chosen, MASE and WAPE of it and of both benchmarks on the holdout window, and the
    benchmark it loses to there, if any (``accuracy.csv`` and ``methods.csv`` rows)."""
    methods = chosen.set_index("family")
    table = accuracy[accuracy["level"].isin(["family", "total"])].pivot_table(
        index="entity", columns="method", values=["mase", "wape"], sort=False)
    rows = []
    for entity in table.index:
        row = {"family": entity, "method": methods["method"].get(entity, ""),
               "chosen by": methods["how"].get(entity, "")}
        for metric in ("mase", "wape"):
            for method, label in (("chosen", ""), ("naive", " naive"), ("seasonal_naive", " s-naive")):
                value = table.loc[entity, (metric, method)]
                row[f"{metric.upper()}{label}"] = f"{value:.2f}" if metric == "mase" else f"{value:.1f}%"
        loser = beaten_by(table.loc[entity, ("mase", "chosen")],
                          {b: table.loc[entity, ("mase", b)] for b in BENCHMARKS})
        row["loses to"] = loser.replace("_", " ") or "-"
        rows.append(row)
    return pd.DataFrame(rows)
