"""The comparison report on disk: ``report.html`` (one self-contained file: styles and
figures inline, no script, nothing fetched), ``report.md``, the tables as CSV and the
figures as PNG.

Layout of a report folder::

    report.html       the report an executive reads; prints to PDF from a browser
    report.md         the same content as Markdown (for a wiki or an e-mail)
    kpis.csv          per scenario x KPI x scope x entity: n, mean, se, 95 % interval,
                      P5/P50/P95, and against the baseline: delta, its 95 % interval,
                      whether that excludes zero, whether it is paired (same seed)
    risks.csv         the risk register per scenario: chances with their exact 95 % intervals, tails
                      with how many replications make them
    service.csv       per scenario x market and x family: the target as given, P(fill rate < target), its interval
    finance.csv       per scenario: revenue, each cost and the margin, the shortage penalty
                      (memo), the margin per family and SKU, each with its 95 % interval
    sensitivity.csv   (``twin compare``) each run that moved one key assumption, with its margin
    break_even.csv    per choice, assumption and side: where the recommended strategy stops being best
    bottlenecks.csv   the plan's bottlenecks per scenario with what the simulation saw
    balance.csv       the S&OP balance per scenario x family x month x measure: plan, twin
                      mean and P10-P90 (``twin.balance``)
    decisions.csv     the decision log over replications per scenario, decisions for a person first
    figures/*.png     service, costs, inventory and backlog, line utilisation, the tornado
    runs/             (``twin compare``) the run folders the report was made from
    sensitivity/      (``twin compare``) the run folders that moved one assumption each

Every text that comes from a scenario file goes through Jinja2's autoescape (HTML) or
:func:`_md` (Markdown): a scenario named ``<script>`` is shown, not run.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from reports import figures
from reports.compare import GAP_PARTS, PER_UNIT, Comparison, break_even_table, decision_rates, recommendation, tornado_table
from reports.formats import (fmt_delta_money, fmt_delta_pt, fmt_money, fmt_money_range, fmt_pct, fmt_units, format_delta,
                             format_range, format_value)
from reports.summary import COST_LABELS, GAP_LABELS, MODE_ORDER, decision_summary, fva_table
from twin.balance import BALANCE_COLUMNS
from twin.folders import check_out, mark
from twin.finance.tables import finance_table
from twin.finance.variances import COMPONENTS
from twin.spreadsheet import write_csv

# kpi, label, format, which way is better (+1 up, -1 down, 0 neither); margin leads
REPORT_KPIS = [
    ("margin", "Margin", "money", +1),
    ("fill_rate", "Fill rate", "pct2", +1),
    ("order_line_service", "Order lines served in full", "pct2", +1),
    ("revenue", "Revenue", "money", +1),
    ("cost_per_unit_delivered", "Cost per unit delivered", "money2", -1),
    ("cost_total", "Total cost", "money", -1),
    *[(f"cost_{k}", f"· {COST_LABELS[k]}", "money", -1)
      for k in figures.COST_KINDS],
    ("cost_shortage", "Shortage penalty (memo: outside the margin)", "money", -1),
    ("inventory_value_avg", "Working capital in inventory (average)", "money", -1),
    ("inventory_units_avg", "Inventory (average), units", "units", 0),
    ("lost_sales_units", "Lost sales, units", "units", -1),
    ("backorder_units_avg", "Backorders (average), units", "units", -1),
    ("utilisation_avg", "Line utilisation", "pct1", 0),
    ("overtime_hours", "Overtime hours", "units", -1),
    ("outsourced_units", "Outsourced units", "units", -1),
]


@dataclass(frozen=True)
class Cell:
    """One scenario's value of one KPI in the table, with where it comes from."""

    scenario: str
    kpi: str
    mean: str
    ci: str
    delta: str = ""
    delta_ci: str = ""
    tone: str = ""        # good / bad / "" : the delta's interval excludes zero, in which direction
    value: float = math.nan


def kpi_rows(c: Comparison) -> list[dict]:
    """The KPI table: one row per KPI, one cell per scenario, every number from ``c.table``."""
    total = c.table[c.table["scope"] == "total"].set_index(["kpi", "scenario"])
    rows = []
    for kpi, label, kind, better in REPORT_KPIS:
        if kpi not in total.index.get_level_values(0):
            continue
        cells = []
        for run in c.runs:
            r = total.loc[(kpi, run.name)]
            # a t-interval near zero can cross it; a count cannot (shares are cut by summarise)
            low = r["ci_low"] if kpi == "margin" else max(r["ci_low"], 0.0)
            ci = "" if math.isnan(r["ci_low"]) else format_range(kind, low, r["ci_high"])
            if run.name == c.baseline or pd.isna(r.get("delta")):
                cells.append(Cell(run.name, kpi, format_value(kind, r["mean"]), ci, value=float(r["mean"])))
                continue
            # a cost is judged per unit delivered: a scenario that sells less never looks better for spending less
            judged = total.loc[(PER_UNIT[kpi], run.name)] if (PER_UNIT.get(kpi), run.name) in total.index else r
            tone = ""
            if bool(judged["separated"]) and better:
                tone = "good" if better * judged["delta"] > 0 else "bad"
            elif bool(judged["separated"]):
                tone = "moved"
            cells.append(Cell(run.name, kpi, format_value(kind, r["mean"]), ci, format_delta(kind, r["delta"]),
                              format_range(kind, r["delta_low"], r["delta_high"], delta=True),
                              tone, float(r["mean"])))
        rows.append({"kpi": kpi, "label": label, "cells": cells, "sub": label.startswith("·")})
    return rows


def make_figures(c: Comparison) -> dict[str, Figure]:
    """The report's figures by file stem."""
    start = c.runs[0].meta.get("start")
    fill = c.kpis[(c.kpis["scope"] == "total") & (c.kpis["kpi"] == "fill_rate")]
    costs = c.table[(c.table["scope"] == "total") & c.table["kpi"].isin([f"cost_{k}" for k in figures.COST_KINDS])]
    target = c.risks["service_target"].iloc[0] if len(c.risks) else None
    out = {
        "service": figures.service_distribution(fill.assign(scenario=fill["scenario"].astype(str)), target),
        "costs": figures.cost_breakdown(costs.assign(kind=costs["kpi"].str.removeprefix("cost_"),
                                                     value=costs["mean"]), c.baseline),
        "inventory": figures.over_time(c.bands, "inventory_units", "On hand at the hubs", c.baseline, start),
        "backlog": figures.over_time(c.bands, "backlog_units", "Backlog", c.baseline, start),
    }
    if len(c.bridge):
        base = c.bridge[(c.bridge["scenario"] == c.baseline) & (c.bridge["family"] == "all")]
        if len(base) == 2:
            out["bridge"] = figures.waterfall(base.set_index("from"), c.baseline)
    if (c.bands["metric"] == "finance_working_capital").any():  # runs written before the cash book have none
        out["working_capital"] = figures.over_time(c.bands, "finance_working_capital",
                                                   "Working capital (end of each week)", c.baseline, start, unit="$M",
                                                   scale=1e-6)
        out["cash"] = figures.over_time(c.bands, "finance_cash", "Cash balance (end of each week)",
                                        c.baseline, start, unit="$M", scale=1e-6)
    if len(c.line_weeks):
        out["line_utilisation"] = figures.utilisation_heatmap(c.line_weeks, c.baseline, start)
    tornado = tornado_table(c)
    if len(tornado):
        out["tornado"] = figures.tornado(tornado)
    return out


ASSUMPTION_FIGURES = ("tornado",)  # shown with the recommendation, not among the other figures


FIGURE_CAPTIONS = {
    "service": "Fill rate of every replication per scenario: box P25–P75, whiskers P5–P95, the target dashed.",
    "costs": "Mean cost by kind over the horizon (left) and each kind's change against the baseline (right).",
    "inventory": "Units on hand at the hubs per scenario: the median replication and its P10–P90 band; dashed, "
                 "the baseline's median.",
    "backlog": "Units in backlog per scenario: the median replication and its P10–P90 band; dashed, the "
               "baseline's median.",
    "line_utilisation": "Hours worked / regular hours available per line and week, mean over replications: the "
                        "baseline's, then each scenario's change from it in points; grey: the line is down all "
                        "week.",
    "bridge": "The baseline's margin from the budget to the plan to the outcome (the twin's mean): each step's "
              "price, mix, quantity and cost variances, green favourable, red adverse (bridge.csv).",
    "working_capital": "Working capital, network-wide, at the end of each week: inventory at standard cost plus "
                       "receivables less payables; the median replication and its P10–P90 band; dashed, the "
                       "baseline's median.",
    "cash": "Cash balance (the opening cash plus the net flow since the horizon's start), network-wide, at the end "
            "of each week: the median replication and its P10–P90 band; dashed, the baseline's median "
            "(receivables, payables and inventory per week in runs/*/results/timeseries).",
    "tornado": "The recommended strategy's mean margin (a risk's, against the baseline) with each key assumption "
               "moved alone to the low (blue) and high (orange) end of its range, the others as written; the "
               "vertical line is the margin as written. Same seed and replications: the bars are the "
               "assumptions' doing, not noise.",
}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def decision_matrix(c: Comparison) -> pd.DataFrame:
    """The decision log as a planner scans it: one row per rule and entity (decisions for a
    person first, then the most frequent), one column per scenario with the share of
    replications in which the rule fired and the median date it first did."""
    rates = decision_rates(c)
    keys = ["mode", "rule", "entity", "action", "owner"]
    if rates.empty:
        return pd.DataFrame(columns=keys)
    rates["cell"] = [f"{fmt_pct(s, 0)} · {f:%d %b}" for s, f in zip(rates["share"], rates["first"])]
    wide = rates.pivot_table(index=keys, columns="scenario", values="cell", aggfunc="first", sort=False)
    wide = wide.reindex(columns=[r.name for r in c.runs if r.name in wide.columns]).fillna("")
    peak = rates.groupby(keys, sort=False)["share"].max().reindex(wide.index)
    order = sorted(range(len(wide)), key=lambda i: (MODE_ORDER.get(wide.index[i][0], 9), -peak.iloc[i]))
    return wide.iloc[order].reset_index().rename_axis(columns=None)


def report_tables(c: Comparison) -> dict[str, pd.DataFrame]:
    """The tables the report shows, ready to print (formatted strings), by section."""
    r = c.risks
    risks = pd.DataFrame({
        "scenario": r["scenario"],
        "P(fill rate < target), 95 % interval": [_chance(*v) for v in
                                                  zip(r["p_below_target"], r["p_below_target_low"],
                                                      r["p_below_target_high"])],
        "P(a market < its target), 95 % interval": [_chance(*v) for v in
                                                     zip(r["p_any_market_below"], r["p_any_market_below_low"],
                                                         r["p_any_market_below_high"])],
        "market most often short": [f"{m} ({fmt_pct(p, 0)})" if m and p > 0 else "none" for m, p in
                                    zip(r["worst_market"], r["p_worst_market_below"])],
        "fill rate, bad year (P5)": r["fill_rate_p5"].map(lambda v: fmt_pct(v, 2)),
        "margin, bad year (P5), 95 % interval": [
            f"{fmt_money(v)} ({'below the worst replication to ' + fmt_money(hi) if math.isnan(lo) else fmt_money_range(lo, hi)})"
            for v, lo, hi in zip(r["margin_p5"], r["margin_p5_low"], r["margin_p5_high"])],
        "margin, worst 5 % (CVaR)": [f"{fmt_money(v)} ({n} replication{'s' if n > 1 else ''}{': rough' if rough else ''})"
                                     for v, n, rough in zip(r["margin_cvar5"], r["tail_replications"],
                                                            r["tail_rough"])],
        "cost, bad year (P95)": r["cost_total_p95"].map(fmt_money),
        "lost sales, bad year (P95)": r["lost_sales_p95"].map(fmt_units),
    })
    b = c.bottlenecks
    bottlenecks = pd.DataFrame({
        "scenario": b.get("scenario", pd.Series(dtype=str)),
        "resource": [f"{k} {r}" for k, r in zip(b.get("kind", []), b.get("resource", []))],
        "simulated utilisation": b.get("sim_utilisation", pd.Series(dtype=float)).map(lambda v: fmt_pct(v, 1)),
        "simulated overtime h": b.get("sim_overtime_hours", pd.Series(dtype=float)).map(fmt_units),
        "the plan says": b.get("plan_text", pd.Series(dtype=str)).fillna(""),
    })
    tables = {"risks": risks, "service": service_table(c), **finance_tables(c), "bottlenecks": bottlenecks,
              "decisions": decision_matrix(c),
              "assumptions": assumption_table(c),
              "weak_points": c.weak_points[["text"]].rename(columns={"text": "single point of failure"})
              if len(c.weak_points) else pd.DataFrame()}
    if len(c.promise):
        p = c.promise
        tables["promise"] = pd.DataFrame({
            "scenario": p["scenario"], "the plan promises": p["plan"].map(lambda v: fmt_pct(v, 2)),
            "the twin delivers (95 % interval)": [f"{fmt_pct(m, 2)} ({fmt_pct(lo, 2)} to {fmt_pct(hi, 2)})"
                                                  for m, lo, hi in zip(p["twin"], p["twin_low"], p["twin_high"])],
            **{GAP_LABELS[part]: p[part].map(fmt_delta_pt) for part in GAP_PARTS},
            "twin in the split": p["split_twin"].map(lambda v: fmt_pct(v, 2)),
        })
    if len(c.accuracy):
        a = c.accuracy
        tables["accuracy"] = pd.DataFrame({
            "family": a["family"], "method (by backtest)": a["method"],
            "MASE": a["mase_chosen"].map("{:.2f}".format),
            "MASE naive": a["mase_naive"].map("{:.2f}".format),
            "MASE seasonal naive": a["mase_seasonal_naive"].map("{:.2f}".format),
            "WAPE": a["wape_chosen"].map("{:.1f} %".format),
            "WAPE seasonal naive": a["wape_seasonal_naive"].map("{:.1f} %".format),
            "loses to (MASE)": [f"{b.replace('_', ' ')} ({getattr(r, f'mase_{b}'):.2f})" if b else "—"
                                for b, r in zip(a["beaten_by"], a.itertuples())],
        })
        if "why" in a and (a["why"] != "").any():
            why = a[a["why"] != ""]
            tables["why"] = pd.DataFrame({"family": why["family"], "why this method": why["why"]})
    if len(c.fva):
        tables["fva"] = fva_table(c.fva, percent=" %").rename(columns={
            "naive": "naive WAPE", "statistical": "statistical (points it removed)",
            "adjusted": "planner-adjusted (points it removed)", "adjustments": "accepted adjustments"})
    if len(c.hidden):
        h = c.hidden
        tables["hidden"] = pd.DataFrame({
            "SKU": h["sku"], "share of revenue": h["revenue_share"].map(lambda v: fmt_pct(v, 1)),
            "WAPE": h["wape"].map("{:.0f} %".format), "total WAPE": h["total_wape"].map("{:.0f} %".format)})
    return tables


WORST_SKUS = 5  # per scenario, in the finance section


def finance_tables(c: Comparison) -> dict[str, pd.DataFrame]:
    """The finance section: the accounting margin per product family (and in all), one
    column per scenario, mean and 95 % interval; and the SKUs with the lowest margin as a
    share of their revenue (the five lowest of each scenario, in the baseline's order), the
    margin and that share per scenario. Every figure is a row of ``finance.csv``."""
    t = c.table[c.table["kpi"].isin(["margin", "revenue"])].assign(scenario=lambda f: f["scenario"].astype(str))
    margin = t[t["kpi"] == "margin"]
    if not {"family", "sku"} <= set(margin["scope"]) or not (t["scope"] == "sku").any():
        return {}  # runs written before the ledger (sop-twin 0.1, session 15) have no margin per SKU
    names = [r.name for r in c.runs]
    cell = [f"{fmt_money(m)} ({fmt_money_range(lo, hi)})"
            for m, lo, hi in zip(margin["mean"], margin["ci_low"], margin["ci_high"])]
    families = margin.assign(cell=cell)[margin["scope"].isin(["family", "total"])].pivot_table(
        index=["scope", "entity"], columns="scenario", values="cell", aggfunc="first", sort=False)
    families = families.reindex(columns=[n for n in names if n in families.columns]).reset_index()
    families = pd.concat([families[families["scope"] == "family"], families[families["scope"] == "total"]])
    families.insert(0, "family", np.where(families["scope"] == "total", "All families", families["entity"]))
    per_sku = t[t["scope"] == "sku"].pivot_table(index=["scenario", "entity"], columns="kpi", values="mean",
                                                   observed=True)
    per_sku["rate"] = per_sku["margin"] / per_sku["revenue"].where(per_sku["revenue"] > 0)
    worst = set(per_sku.groupby(level="scenario")["rate"].nsmallest(WORST_SKUS).index.get_level_values("entity"))
    base = per_sku.loc[c.baseline]
    order = base.loc[base.index.isin(worst)].sort_values("rate", kind="stable").index
    skus = pd.DataFrame({"SKU": order.astype(str)})
    for name in names:
        if name in per_sku.index.get_level_values("scenario"):
            mine = per_sku.loc[name].reindex(order)
            skus[name] = [f"{fmt_money(m)} ({fmt_pct(r, 1)})" for m, r in zip(mine["margin"], mine["rate"])]
    out = {"finance_families": families.drop(columns=["scope", "entity"]).rename_axis(columns=None)
           .reset_index(drop=True), "finance_worst": skus, "finance_cash": _cash_table(c, names)}
    if len(c.bridge):
        out["finance_bridge"] = bridge_table(c, names)
    return out


BRIDGE_LABELS = {"price": "· price", "mix": "· mix", "quantity": "· quantity", "cost": "· cost"}


def bridge_table(c: Comparison, names: list[str]) -> pd.DataFrame:
    """Per scenario with a budget and a plan: the margin of the budget, the plan and the
    outcome (the twin's mean), and each step's price, mix, quantity and cost variances
    (favourable positive), over all families; every figure is a row of ``bridge.csv``."""
    total = c.bridge[c.bridge["family"] == "all"].set_index(["scenario", "from"])
    rows = [("Budget margin", lambda s: total.loc[(s, "budget"), "standard_margin"])]
    for stage, margin in (("budget", "Plan margin"), ("plan", "Outcome margin (the twin's mean)")):
        rows += [(BRIDGE_LABELS[k], lambda s, k=k, stage=stage: total.loc[(s, stage), k]) for k in COMPONENTS]
        rows.append((margin, lambda s, stage=stage: total.loc[(s, stage), "actual_margin"]))
    shown = [n for n in names if n in total.index.get_level_values("scenario")]
    return pd.DataFrame([[label, *(fmt_delta_money(value(s)) if label.startswith("·") else fmt_money(value(s))
                                   for s in shown)] for label, value in rows], columns=["", *shown])


# working capital and cash in the finance section: KPI, label, format of a value
CASH_ROWS = (("dio_days", "Days of inventory (DIO)", "days"), ("dso_days", "Days of receivables (DSO)", "days"),
             ("dpo_days", "Days of payables (DPO)", "days"), ("cash_to_cash_days", "Cash-to-cash cycle", "days"),
             ("working_capital_avg", "Working capital (average)", "money"),
             ("inventory_value_total_avg", "· inventory at standard cost", "money"),
             ("receivables_avg", "· receivables", "money"), ("payables_avg", "· less payables", "money"),
             ("cash_end", "Cash at the end (opening cash plus the net flow)", "money"),
             ("cash_min", "Lowest cash balance", "money"))


def _cash_table(c: Comparison, names: list[str]) -> pd.DataFrame:
    """Per working-capital and cash KPI (:data:`CASH_ROWS`) and scenario: mean (95 % interval)."""
    t = c.table[(c.table["scope"] == "total")].assign(scenario=lambda f: f["scenario"].astype(str))
    t = t.set_index(["kpi", "scenario"])
    rows = []
    for kpi, label, kind in CASH_ROWS:
        cells = []
        for name in names:
            if (kpi, name) not in t.index:
                cells.append("–")
                continue
            r = t.loc[(kpi, name)]
            if kind == "days":
                cells.append(f"{r['mean']:.1f} d ({r['ci_low']:.1f} to {r['ci_high']:.1f})")
            else:
                cells.append(f"{fmt_money(r['mean'])} ({fmt_money_range(r['ci_low'], r['ci_high'])})")
        rows.append([label, *cells])
    return pd.DataFrame(rows, columns=["measure", *names])


def _chance(p: float, low: float, high: float) -> str:
    """A probability seen in the replications with its exact 95 % interval: "0 % (0 % to 11.6 %)"."""
    return "–" if math.isnan(p) else f"{fmt_pct(p, 0)} ({fmt_pct(low, 1)} to {fmt_pct(high, 1)})"


def service_table(c: Comparison) -> pd.DataFrame:
    """Per market and per product family (its target as the network gives it), one column
    per scenario: the chance that its fill rate falls below its target, with its exact 95 %
    interval."""
    if c.service.empty:
        return pd.DataFrame()
    s = c.service.assign(cell=[_chance(*v) for v in zip(c.service["p_below_target"], c.service["p_below_target_low"],
                                                        c.service["p_below_target_high"])])
    wide = s.pivot_table(index=["scope", "entity", "target"], columns="scenario", values="cell", aggfunc="first",
                         sort=False)
    wide = wide.reindex(columns=[r.name for r in c.runs if r.name in wide.columns])
    wide = wide.reset_index().rename_axis(columns=None).rename(columns={"entity": "market or family"})
    wide["target"] = wide["target"].map(lambda v: fmt_pct(v, 1))
    return wide


def assumption_table(c: Comparison) -> pd.DataFrame:
    """Per subject and key assumption: its range, the margin at each end and as written, and
    for a choice where the recommended strategy stops being best (``sensitivity.csv`` and
    ``break_even.csv`` hold every run and value)."""
    t, evens = tornado_table(c), break_even_table(c)
    if t.empty:
        return pd.DataFrame()
    stops = {}
    for r in evens.itertuples():
        if not math.isnan(r.break_even):
            stops.setdefault((r.subject, r.assumption), []).append(f"{r.text} (then “{r.then_best}”)")
    return pd.DataFrame({
        "recommendation or risk": t["scenario"], "assumption": t["assumption"], "as written": t["base_text"],
        "range": [f"{lo} to {hi}" for lo, hi in zip(t["low_text"], t["high_text"])], "measure": t["measure"],
        "at the low end": [fmt_money(v) for v in t["at_low"]], "with all as written": [fmt_money(v) for v in t["at_base"]],
        "at the high end": [fmt_money(v) for v in t["at_high"]],
        "stops being best at": ["; ".join(stops.get((s, a), [])) or ("stays best over the range" if k == "choice"
                                                                      else "–")
                                for s, a, k in zip(t["subject"], t["assumption"], t["kind"])],
    })


def sensitivity_note(c: Comparison) -> str:
    """How many runs the assumptions took, of how many replications."""
    s = c.sensitivity
    if s.empty:
        return ""
    return (f"{len(s)} more runs of {int(s['replications'].max())} replications each, with the seed of the run each "
            "varies (sensitivity.csv lists them; twin compare --no-sensitivity skips them).")


BALANCE_NOTE = ("Per product family and month, units: the plan beside the twin's mean over the replications "
                "(P10–P90 in balance.csv). A month holds the plan weeks that start in it. Unconstrained demand is "
                "the forecast with the events the plan knows of; the twin's is the demand that came.")
BALANCE_LABELS = {"demand": "Demand (unconstrained)", "served": "Served (constrained demand)",
                  "lost": "Lost sales", "production": "Production", "outsourcing": "Outsourcing",
                  "supply": "Supply (production + outsourcing)", "inventory": "Inventory, end of month",
                  "backlog": "Backlog, end of month"}


def balance_tables(c: Comparison) -> dict[str, pd.DataFrame]:
    """The S&OP balance as the meeting reads it, per scenario: per family and measure
    (``twin.balance``) a plan row and a twin row (mean over replications), one column per
    month, units. A measure that is zero on both sides throughout (no lost sales, no
    outsourcing) is left out; every figure is in the run's ``balance.csv``."""
    out: dict[str, pd.DataFrame] = {}
    for run in c.runs:
        b = c.balance[c.balance["scenario"] == run.name] if len(c.balance) else c.balance
        if b.empty:
            continue
        months = sorted(b["period"].unique())
        header = [dt.date.fromisoformat(f"{m}-01").strftime("%b %Y") for m in months]
        cells = b.set_index(["family", "measure", "period"])[["plan", "twin_mean"]]
        quiet = {m for m in BALANCE_LABELS if (b.loc[b["measure"] == m, ["plan", "twin_mean"]].fillna(0.0) == 0).all()
                 .all()}
        if "outsourcing" in quiet:
            quiet.add("supply")  # the same as production
        sides = (("plan", "plan"), ("twin", "twin_mean"))[0 if b["plan"].notna().any() else 1:]
        rows = []
        for family in sorted(b["family"].unique()):
            shown = [(m, label) for m, label in BALANCE_LABELS.items() if m not in quiet]
            for i, (measure, label) in enumerate(shown):
                for j, (side, column) in enumerate(sides):
                    values = [cells[column].get((family, measure, m), math.nan) for m in months]
                    # each label once, as a planner's sheet shows it (balance.csv repeats them)
                    rows.append([family if i == j == 0 else "", label if j == 0 else "", side,
                                 *map(fmt_units, values)])
        out[run.name] = pd.DataFrame(rows, columns=["family", "measure", "", *header])
    return out


def write_report(c: Comparison, out: str | Path, title: str = "S&OP scenario comparison",
                 overwrite: bool = False) -> Path:
    """Write the report folder (layout in the module docstring); return ``report.html``. A
    folder with output in it already is written only when ``overwrite``.

    The files are made in ``out/.report.partial`` and moved into place together, the HTML
    last, so an interrupted report never leaves a new-looking ``report.html`` beside old
    tables."""
    out = check_out(out, overwrite)
    partial = out / ".report.partial"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "figures").mkdir(parents=True)
    write_csv(c.table, partial / "kpis.csv")
    write_csv(c.risks, partial / "risks.csv")
    write_csv(c.service, partial / "service.csv")
    write_csv(finance_table(c.table), partial / "finance.csv")
    write_csv(c.bottlenecks, partial / "bottlenecks.csv")
    if len(c.sensitivity):
        write_csv(c.sensitivity, partial / "sensitivity.csv")
        write_csv(break_even_table(c), partial / "break_even.csv")
    if len(c.balance):
        write_csv(c.balance[["scenario", *BALANCE_COLUMNS]], partial / "balance.csv")
    tables = report_tables(c)
    write_csv(decision_summary(c.decisions, c.replications), partial / "decisions.csv")
    images = {}
    with figures.literal_text():
        for name, fig in make_figures(c).items():
            png = _png(fig)
            (partial / "figures" / f"{name}.png").write_bytes(png)
            images[name] = base64.b64encode(png).decode("ascii")
    context = dict(title=title, generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"), c=c,
                   recommendation=recommendation(c), kpis=kpi_rows(c), tables=tables, balance=balance_tables(c),
                   balance_note=BALANCE_NOTE, images=images, assumption_figures=ASSUMPTION_FIGURES,
                   sensitivity_note=sensitivity_note(c),
                   captions=FIGURE_CAPTIONS, replications=c.replications)
    (partial / "report.md").write_text(markdown(context))
    env = jinja2.Environment(loader=jinja2.PackageLoader("reports", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    (partial / "report.html").write_text(env.get_template("report.html.j2").render(**context))
    (out / "figures").mkdir(parents=True, exist_ok=True)
    mark(out)
    for f in sorted(partial.rglob("*.*"), key=lambda p: p.name == "report.html"):  # the HTML last
        os.replace(f, out / f.relative_to(partial))
    shutil.rmtree(partial)
    return out / "report.html"


# what Markdown would read as markup in a line of text (CommonMark, GitHub's autolinks,
# markdown-it's linkify): each is backslash-escaped, which every CommonMark reader shows as
# the character itself
_MD_MARKUP = re.compile(r"[\\`*_\[\]|~!]"  # emphasis, code, links and images, tables, strikethrough
                        r"|:(?=//)"  # a bare URL (https://...)
                        r"|(?<=[A-Za-z])\.(?=[A-Za-z0-9])|(?<=[0-9])\.(?=[A-Za-z])"  # a bare domain (www.x, x.com)
                        r"|@"  # an e-mail address
                        r"|^[#+\-=>]")  # a heading, a list or a quote at the start


def _md(text: object) -> str:
    """Text (a scenario's name or description, a sentence with it) shown in Markdown as
    written: HTML escaped, then every character that would make a link, an image, an
    autolink, emphasis or a table cell escaped; numbers keep their decimal points."""
    line = html.escape(str(text), quote=False).replace("\n", " ")
    return _MD_MARKUP.sub(lambda m: "\\" + m.group(), line)


def _md_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_none_\n"
    lines = ["| " + " | ".join(_md(c) for c in frame.columns) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def markdown(ctx: dict) -> str:
    """``report.md``: the HTML report's content as Markdown."""
    c: Comparison = ctx["c"]
    parts = [f"# {_md(ctx['title'])}\n", f"Generated {ctx['generated']}; {ctx['replications']} replications per "
             f"scenario; baseline: {_md(c.baseline)}.\n", "## Recommendation\n",
             " ".join(_md(s) for s in ctx["recommendation"]) + "\n"]
    if len(ctx["tables"]["assumptions"]):
        parts += ["## What the recommendation rests on\n", _md(ctx["sensitivity_note"]) + "\n",
                  _md_table(ctx["tables"]["assumptions"]),
                  *[f"![{_md(FIGURE_CAPTIONS[n])}](figures/{n}.png)\n" for n in ctx["images"]
                    if n in ASSUMPTION_FIGURES]]
    parts += ["## Key figures\n",
             "Mean, 95 % interval in brackets; Δ against the baseline with ● where its 95 % interval excludes "
             "zero (for a cost: where its change per unit delivered does).\n"]
    header = ["KPI"] + [r.name for r in c.runs]
    body = []
    for row in ctx["kpis"]:
        cells = [f"{x.mean} [{x.ci}]" + (f" · Δ {x.delta}{' ●' if x.tone else ''}" if x.delta else "")
                 for x in row["cells"]]
        body.append([row["label"]] + cells)
    parts.append(_md_table(pd.DataFrame(body, columns=header)))
    if ctx["balance"]:
        parts += ["## Demand and supply balance\n", BALANCE_NOTE + "\n"]
        for scenario, frame in ctx["balance"].items():
            parts += [f"### {_md(scenario)}\n", _md_table(frame)]
    parts.append("## Figures\n")
    parts += [f"![{_md(FIGURE_CAPTIONS[n])}](figures/{n}.png)\n" for n in ctx["images"] if n not in ASSUMPTION_FIGURES]
    t = ctx["tables"]
    for key, heading in (("promise", "The plan's promise and the twin"), ("bottlenecks", "Bottlenecks"), ("decisions", "Decision log (decisions for a person first)"),
                         ("finance_families", "Margin per product family"),
                         ("finance_worst", "The SKUs with the lowest margin for their revenue"),
                         ("finance_cash", "Working capital and cash"),
                         ("finance_bridge", "From budget to plan to outcome"),
                         ("risks", "Risk register"), ("service", "Service per market and per family against its target"),
                         ("weak_points", "Single points of failure"),
                         ("accuracy", "Forecast accuracy by family (last backtest window)"),
                         ("why", "Why each family's method (mean MASE on the selection windows)"),
                         ("fva", "Forecast value added (last backtest window, WAPE)"),
                         ("hidden", "What the total hides: SKUs with revenue and a high error")):
        if key in t:
            parts += [f"## {heading}\n", _md_table(t[key])]
    parts += ["## Scenarios\n", _md_table(pd.DataFrame({
        "scenario": [r.name for r in c.runs], "description": [r.meta.get("description", "") for r in c.runs],
        "file": [r.meta.get("scenario_file", "") for r in c.runs], "seed": [r.meta.get("seed", "") for r in c.runs],
        "run folder": [str(r.folder) for r in c.runs]}))]
    return "\n".join(parts)
