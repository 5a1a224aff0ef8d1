"""Figures as functions of tidy tables: a table in, a matplotlib Figure out. Make and save
them inside :func:`literal_text`."""

from __future__ import annotations

import textwrap
from contextlib import AbstractContextManager

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # not pyplot: no global state, no screen, nothing left open


def literal_text() -> AbstractContextManager:
    """Draw every text as written: a scenario named "Cut to $9 from $12" is not mathtext (in
    italics, dollars gone) and "Plan $\\undefined$" does not stop the report. Tick labels are
    made when a figure is drawn, so figures are saved inside it too."""
    return matplotlib.rc_context({"text.parse_math": False})


def forecast_vs_actual(holdout: pd.DataFrame, skus: list[str], title: str = "", per: str = "week") -> Figure:
    """Actual vs forecast per ``per`` (week or month; chosen method and seasonal naive) on
    the holdout window, one panel per SKU (summed over markets).

    ``holdout`` has ``sku, ds, y, chosen, seasonal_naive``."""
    n = max(len(skus), 1)
    cols = min(n, 2)
    rows = -(-n // cols)
    fig = Figure(figsize=(6.5 * cols, 2.8 * rows))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    for ax, sku in zip(axes.ravel(), skus):
        g = holdout[holdout["sku"] == sku].groupby("ds")[["y", "chosen", "seasonal_naive"]].sum()
        ax.plot(g.index, g["y"], color="black", lw=1.8, label="actual")
        ax.plot(g.index, g["chosen"], color="tab:blue", lw=1.5, label="forecast (chosen method)")
        ax.plot(g.index, g["seasonal_naive"], color="tab:gray", lw=1, ls="--", label="seasonal naive")
        ax.set_title(sku, fontsize=10, loc="left")
        ax.set_ylabel(f"units / {per}")
        if per == "month":  # a tick per month, named as a planner names it
            ax.xaxis.set_major_locator(mdates.MonthLocator())
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(skus):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(title or f"Actual vs forecast, holdout {per}s", fontsize=11)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


# the costs of the profit and loss (twin.finance.accounts): they add up to cost_total
COST_KINDS = ["materials", "regular_time", "overtime", "outsourcing", "transport", "holding"]


def _label(name: str, width: int = 30) -> str:
    """A scenario's name as a figure shows it: two lines at most, shortened with "…" (the
    tables beside the figures carry the whole name)."""
    return textwrap.fill(textwrap.shorten(str(name), 2 * width, placeholder=" …"), width)


def _colours(n: int) -> list:
    from matplotlib import colormaps

    return [colormaps["tab10"](i % 10) for i in range(n)]


def service_distribution(fill: pd.DataFrame, target: float | None = None) -> Figure:
    """Fill rate per replication, one row per scenario (first on top): box of P25-P75 with
    whiskers at P5-P95, every replication as a dot, and the service target.

    ``fill`` has ``scenario, value`` (one row per replication; scenarios in report order)."""
    names = list(dict.fromkeys(fill["scenario"]))
    fig = Figure(figsize=(9, 0.55 * len(names) + 1.4))
    ax = fig.subplots()
    data = [fill.loc[fill["scenario"] == n, "value"].to_numpy() * 100 for n in names]
    positions = list(range(len(names), 0, -1))
    ax.boxplot(data, positions=positions, orientation="horizontal", whis=(5, 95), widths=0.5, showfliers=False,
               medianprops=dict(color="black"), boxprops=dict(color="tab:blue"))
    for pos, values, colour in zip(positions, data, _colours(len(names))):
        jitter = (np.arange(len(values)) % 7 - 3) * 0.04
        ax.scatter(values, pos + jitter, s=9, color=colour, alpha=0.6, zorder=3)
    if target is not None and not np.isnan(target):
        ax.axvline(target * 100, color="tab:red", ls="--", lw=1.2, label=f"target {target:.0%}")
        ax.legend(loc="lower left", fontsize=8)
    ax.set_yticks(positions, [_label(n) for n in names], fontsize=9)
    ax.set_xlabel("fill rate, % of units served from stock on the day ordered (each dot a replication)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Service level per scenario", fontsize=11, loc="left")
    fig.tight_layout()
    return fig


def cost_breakdown(costs: pd.DataFrame, baseline: str) -> Figure:
    """Mean cost by kind per scenario, stacked (left), and each kind's change against
    ``baseline`` (right: increases to the right, savings to the left, the net change as a
    black diamond), where scenarios that look alike in total differ.
    ``costs`` has ``scenario, kind, value``."""
    wide = costs.pivot_table(index="scenario", columns="kind", values="value", sort=False).reindex(
        columns=[k for k in COST_KINDS if k in set(costs["kind"])]).fillna(0.0)
    names = list(wide.index)
    change = (wide - wide.loc[baseline]) / 1e3
    fig = Figure(figsize=(11, 0.45 * len(names) + 1.8))
    axes = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(names))[::-1]
    colours = dict(zip(COST_KINDS, _colours(len(COST_KINDS))))
    left = np.zeros(len(names))
    for kind in wide.columns:
        values = wide[kind].to_numpy() / 1e6
        axes[0].barh(y, values, left=left, color=colours[kind], label=kind.replace("_", " "), height=0.6)
        left += values
    up, down = np.zeros(len(names)), np.zeros(len(names))
    for kind in wide.columns:
        values = change[kind].to_numpy()
        start = np.where(values >= 0, up, down)
        axes[1].barh(y, values, left=start, color=colours[kind], height=0.6)
        up, down = up + np.clip(values, 0, None), down + np.clip(values, None, 0)
    axes[1].scatter(change.sum(axis=1).to_numpy(), y, marker="D", color="black", s=22, zorder=3, label="net change")
    axes[1].axvline(0, color="black", lw=0.8)
    axes[0].set_xlabel("mean cost over the horizon, $M")
    axes[1].set_xlabel(f"change against {_label(baseline, 60)}, $k (left: saved, right: spent)")
    for ax in axes:
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, [_label(n) for n in names], fontsize=9)
    axes[0].set_title("All costs", fontsize=10, loc="left")
    axes[1].set_title("What changes, by kind", fontsize=10, loc="left")
    handles, labels = axes[0].get_legend_handles_labels()
    h2, l2 = axes[1].get_legend_handles_labels()
    fig.legend(handles + h2, labels + l2, loc="lower center", ncol=len(labels) + 1, fontsize=8, frameon=False)
    fig.suptitle("Cost breakdown per scenario", fontsize=11, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


PAGE = (11.0, 6.4)  # inches: a landscape A4 page less its margins and a heading, so printed it keeps its width


def _grid(n: int) -> tuple[int, int]:
    """Rows and columns of small multiples, at most three across."""
    cols = min(n, 3)
    return -(-n // cols), cols


def _dates(days, start: str | None):
    return pd.Timestamp(start) + pd.to_timedelta(days, unit="D") if start else days


def over_time(bands: pd.DataFrame, metric: str, label: str, baseline: str, start: str | None = None,
              unit: str = "units", scale: float = 1.0) -> Figure:
    """One small panel per scenario, on one scale, where nine lines on one chart would be a
    tangle: the scenario's median replication and its P10–P90 band, the baseline's median in
    grey in every other panel to compare against. ``bands`` has ``scenario, metric, day, p10,
    p50, p90``; values are shown times ``scale``, in ``unit``."""
    names = list(dict.fromkeys(bands["scenario"]))
    rows, cols = _grid(len(names))
    fig = Figure(figsize=(PAGE[0], min(PAGE[1], 1.9 * rows + 1.0)))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    data = bands[bands["metric"] == metric].sort_values("day")
    data = data.assign(**{p: data[p] * scale for p in ("p10", "p50", "p90")})
    base = data[data["scenario"] == baseline]
    for ax, name in zip(axes.ravel(), names):
        b = data[data["scenario"] == name]
        x = _dates(b["day"], start)
        if name != baseline:
            ax.plot(_dates(base["day"], start), base["p50"], color="0.55", lw=1.0, ls="--", label="baseline, median")
        ax.fill_between(x, b["p10"], b["p90"], color="tab:blue", alpha=0.2, lw=0, label="P10–P90")
        ax.plot(x, b["p50"], color="tab:blue", lw=1.4, label="median replication")
        ax.set_title(_label(name, 45), fontsize=9, loc="left")
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(unit, fontsize=8)
    handles, labels = axes.ravel()[min(1, len(names) - 1)].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"{label}: median replication, band P10–P90; dashed: the baseline's median", fontsize=11,
                 x=0.01, ha="left")
    if start:
        fig.autofmt_xdate()
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def utilisation_heatmap(line_weeks: pd.DataFrame, baseline: str, start: str | None = None) -> Figure:
    """Line utilisation by week: the baseline's in full (hours worked / regular hours
    available, a scale from 0 that shows every line; above 100 % is overtime; grey: the line
    is down), then each other scenario as its change from the baseline in points, where nine
    panels of the same colours would hide what differs. Scenarios that change no line-week
    by a point or more are named, not drawn. ``line_weeks`` has ``scenario, line, day,
    utilisation``."""
    from matplotlib import colormaps

    lines = sorted(set(line_weeks["line"]))

    def grid(name: str) -> pd.DataFrame:
        return line_weeks[line_weeks["scenario"] == name].pivot_table(index="line", columns="day",
                                                                     values="utilisation").reindex(lines) * 100

    names = list(dict.fromkeys(line_weeks["scenario"]))
    base = grid(baseline)
    changes = {n: grid(n).reindex(columns=base.columns) - base for n in names if n != baseline}
    same = [n for n, d in changes.items() if not (d.abs() >= 1).to_numpy().any()]
    shown = [n for n in changes if n not in same]
    rows, cols = _grid(1 + len(shown))
    fig = Figure(figsize=(PAGE[0], min(PAGE[1], 0.2 * len(lines) * rows + 1.0 * rows + 1.0)))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    weeks = base.columns.to_numpy()
    ticks = list(range(0, len(weeks), 13))
    labels = [(pd.Timestamp(start) + pd.Timedelta(days=int(weeks[t]))).strftime("%d %b") if start else f"w{t + 1}"
              for t in ticks]
    top = max(110.0, float(np.nanmax(base.to_numpy())) if base.notna().any().any() else 110.0)
    level = colormaps["RdYlGn_r"].with_extremes(bad="#9aa5b1")  # grey: no regular hours (the line is down)
    moved = np.concatenate([[5.0]] + [np.abs(changes[n].to_numpy()).ravel() for n in shown])
    spread = max(5.0, float(np.nanpercentile(moved, 99)))  # one outage's ±70 would wash out the rest
    change = colormaps["RdBu_r"].with_extremes(bad="#9aa5b1")
    images = []
    for ax, name in zip(axes.ravel(), [baseline] + shown):
        if name == baseline:
            images.append(ax.imshow(base.to_numpy(), aspect="auto", cmap=level, vmin=0, vmax=top,
                                    interpolation="nearest"))
            ax.set_title(_label(f"{name}: % of regular hours", 45), fontsize=9, loc="left")
        else:
            images.append(ax.imshow(changes[name].to_numpy(), aspect="auto", cmap=change, vmin=-spread,
                                    vmax=spread, interpolation="nearest"))
            ax.set_title(_label(f"{name}: change, points", 45), fontsize=9, loc="left")
        ax.set_yticks(range(len(lines)), lines, fontsize=7)
        ax.set_xticks(ticks, labels, fontsize=7)
    for ax in axes.ravel()[1 + len(shown):]:
        ax.set_visible(False)
    note = f"; the same within a point as the baseline: {', '.join(same)}" if same else ""
    fig.suptitle(_label("Line utilisation by week (mean over replications)" + note, 150), fontsize=10, x=0.01,
                 ha="left")
    fig.tight_layout(rect=(0, 0.13, 1, 0.97))
    bar = fig.add_axes((0.08, 0.07, 0.38, 0.02))
    fig.colorbar(images[0], cax=bar, orientation="horizontal").set_label(
        "baseline: % of regular hours (over 100: overtime)", fontsize=8)
    if shown:
        bar = fig.add_axes((0.56, 0.07, 0.38, 0.02))
        fig.colorbar(images[1], cax=bar, orientation="horizontal", extend="both").set_label(
            "others: change from the baseline, points (red: busier; beyond the ends: as the end)", fontsize=8)
    for ax in fig.axes[-2:]:
        ax.tick_params(labelsize=7)
    return fig


def tornado(rows: pd.DataFrame) -> Figure:
    """One panel per subject (a choice's recommended strategy, a named risk): per key
    assumption a bar from its margin at the low end of the range to the high end, around
    the margin as written (the vertical line), the widest on top; each end labelled with
    the value it was run at. An assumption that does not move the subject shows no bar.

    ``rows`` as :func:`reports.compare.tornado_table`."""
    from matplotlib.ticker import FuncFormatter

    from reports.formats import fmt_money

    subjects = list(dict.fromkeys(rows["subject"]))
    counts = [int((rows["subject"] == s).sum()) for s in subjects]
    fig = Figure(figsize=(PAGE[0], sum(0.5 * n + 1.1 for n in counts) + 0.4))
    axes = fig.subplots(len(subjects), 1, squeeze=False, height_ratios=[n + 1.2 for n in counts])[:, 0]
    for ax, subject in zip(axes, subjects):
        r = rows[rows["subject"] == subject].sort_values("swing", kind="stable")
        y = np.arange(len(r))
        base = float(r["at_base"].iloc[0])
        for i, t in zip(y, r.itertuples()):
            if t.at_low == t.at_high == t.at_base:
                ax.annotate(f"does not move it ({t.low_text} to {t.high_text})", (base, i), xytext=(4, 0),
                            textcoords="offset points", va="center", fontsize=8, color="dimgray")
                continue
            for end, value, text in ((t.at_low, t.low, t.low_text), (t.at_high, t.high, t.high_text)):
                ax.barh(i, end - base, left=base, height=0.55, color="tab:blue" if value < t.base else "tab:orange")
                ax.annotate(text, (end, i), xytext=(4 if end >= base else -4, 0), textcoords="offset points",
                            ha="left" if end >= base else "right", va="center", fontsize=8)
        ax.axvline(base, color="black", lw=1)
        ax.set_yticks(y, [_label(f"{t.assumption} (as written {t.base_text})", 40) for t in r.itertuples()],
                      fontsize=8)
        ax.set_ylim(-0.7, len(r) - 0.3)
        spread = max(float((r[["at_low", "at_high"]] - base).abs().to_numpy().max()), 1.0)
        ax.set_xlim(base - 1.35 * spread, base + 1.35 * spread)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_money(v)))
        kind = r["measure"].iloc[0]
        ax.set_xlabel(f"{kind} (blue: the low end of the range, orange: the high end)", fontsize=8)
        ax.set_title(_label(f"{r['scenario'].iloc[0]}: {kind} over each assumption's range", 90), fontsize=10,
                     loc="left")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def waterfall(bridge: pd.DataFrame, scenario: str) -> Figure:
    """The margin from budget to plan to outcome as a waterfall: the three margins as bars
    from zero, each step's variances (``bridge.csv``'s ``price, mix, quantity, cost``,
    favourable positive) floating between them. ``bridge`` is indexed by ``from``
    (``budget``, ``plan``) with ``standard_margin``, the components and ``actual_margin``."""
    from twin.finance.variances import COMPONENTS

    labels, bottoms, heights, colours = [], [], [], []
    level = float(bridge.loc["budget", "standard_margin"])
    labels.append("budget")
    bottoms.append(0.0)
    heights.append(level)
    colours.append("0.45")
    for stage, end in (("budget", "plan"), ("plan", "outcome")):
        for kind in COMPONENTS:
            v = float(bridge.loc[stage, kind])
            labels.append(kind)
            bottoms.append(level if v >= 0 else level + v)
            heights.append(abs(v))
            colours.append("tab:green" if v >= 0 else "tab:red")
            level += v
        labels.append(end)
        bottoms.append(0.0)
        heights.append(float(bridge.loc[stage, "actual_margin"]))
        colours.append("0.45")
    fig = Figure(figsize=(PAGE[0], 4.2))
    ax = fig.subplots()
    x = np.arange(len(labels))
    ax.bar(x, np.array(heights) / 1e6, bottom=np.array(bottoms) / 1e6, color=colours, width=0.7)
    totals = {"budget", "plan", "outcome"}
    steps = [(b, b + h) for b, h, name in zip(bottoms, heights, labels) if name not in totals]
    levels = [v for step in steps for v in step] + [h for h, name in zip(heights, labels) if name in totals]
    pad = max(max(hi - lo for lo, hi in steps), 1e-9 * max(levels), 1.0)
    ax.set_ylim(max(0.0, min(levels) - 2 * pad) / 1e6, (max(levels) + pad) / 1e6)  # the steps, not the zero, in view
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("$M", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    for i, (b, h, name) in enumerate(zip(bottoms, heights, labels)):
        text = f"${h / 1e6:.2f}M" if name in totals else ("+" if colours[i] == "tab:green" else "−") + f"${h / 1e3:,.0f}k"
        ax.annotate(text, (i, (b + h) / 1e6), ha="center", va="bottom", fontsize=7)
    ax.set_title(f"{_label(scenario, 60)}: margin from budget to plan to outcome (variances: green favourable, "
                 "red adverse; the axis starts above zero)", fontsize=10, loc="left")
    fig.tight_layout()
    return fig
