"""The planner's adjustments to the statistical forecast, and what each step of the forecast adds.

An **adjustment** is a row of a log (:data:`ADJUSTMENTS`): one SKU in one market, the
days from ``start`` to ``end``, the units the forecast should hold over those days
(``adjusted_qty``), whether it was proposed, accepted or rejected, a reason code, the
rationale, who logged it and when. Only accepted rows change the forecast. The units are
spread over the buckets in proportion to the statistical forecast, day by day: a bucket
whose days the adjustment covers only in part (a month-level override over its first and
last weeks) keeps the statistical forecast of its other days, so the adjusted forecast
over the covered days sums to ``adjusted_qty`` exactly. Where the statistical forecast is
zero over the days, the units are spread evenly.

An adjustment may cover the **holdout window** (the last backtest window, which the
choice of method never saw) as well as the periods ahead: there it adjusts the forecast
made at the last backtest origin, as the planner adjusted it then, and the holdout's
accuracy measures whether overrides help. **Forecast value added** (Gilliland, *The
Business Forecasting Deal*, 2010) is the stairstep of that accuracy per family and in
total: naive, the statistical forecast, the planner-adjusted forecast; each step's value
added is the previous step's error minus its own, so the steps add up to the naive
forecast's error minus the final one's. (Sensing from signals will be a step between the
statistical forecast and the planner's.)

The log written back (``adjustments.csv`` of a forecast folder) is the log read, sorted
by its ID, with ``baseline_qty``: the statistical forecast over each row's days. Reading
it again gives the same forecast and the same log, byte for byte.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from twin.calendars import Bucket, bucket_of
from twin.data.tables import Column, TableSpec, duplicate_keys, parse, read_csv, report, row_place
from twin.errors import Problem, choices

STATUSES = ("proposed", "accepted", "rejected")
SOURCES = ("planner", "sensing", "rule")
# what moved the number: the usual reason codes of a demand review
REASONS = ("promotion", "price_change", "new_customer", "lost_customer", "new_product", "phase_out",
           "market_intelligence", "event", "data_correction", "other")

ADJUSTMENTS = TableSpec("adjustments", ("adjustment_id",), (
    Column("adjustment_id", "id", "the adjustment's own ID"),
    Column("sku", "id", "the SKU adjusted (products.csv)"),
    Column("market", "id", "the market adjusted (markets.csv)"),
    Column("start", "date", "the first day the adjustment covers"),
    Column("end", "date", "the last day it covers"),
    Column("adjusted_qty", "float", "units over the days from start to end, in place of the statistical forecast's",
           min=0.0),
    Column("status", "choice", "proposed, accepted or rejected: only accepted rows change the forecast",
           choices=STATUSES),
    Column("source", "choice", "who proposed it: a planner, demand sensing or a rule", choices=SOURCES),
    Column("reason", "choice", "the reason code", choices=REASONS),
    Column("rationale", "str", "why, in a sentence", required=False, default=""),
    Column("who", "str", "the person who accepted or rejected it (or proposed it, while proposed)"),
    Column("logged_on", "date", "when"),
    Column("baseline_qty", "float", "the statistical forecast over those days: written by twin forecast, "
           "ignored when read", required=False, min=0.0),
), "the planner's adjustments to the statistical forecast", optional=False)
COLUMNS = [c.name for c in ADJUSTMENTS.columns]
FVA_STEPS = ("naive", "statistical", "adjusted")  # the forecast-value-added stairstep, in order


def empty_log() -> pd.DataFrame:
    """A log with no rows, as :func:`read_adjustments` types one."""
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c in ("start", "end", "logged_on")
                                      else float if c in ("adjusted_qty", "baseline_qty") else object)
                         for c in COLUMNS})


def adjustable_days(history: pd.DataFrame, horizon_end: dt.date, window: int) -> tuple[dt.date, dt.date]:
    """The days an adjustment may cover, given a network's demand history: from the first
    day of the holdout window (its last ``window`` periods) to the forecast's last (the end
    of the period that holds the horizon's last day)."""
    periods = history.index.get_level_values("week")
    bucket, last = bucket_of(periods), periods.max()
    first = pd.date_range(end=last, periods=window, freq=bucket.freq)[0]
    ahead = bucket.after(last, bucket.periods_until(last, horizon_end))
    end = bucket.following(pd.Series(ahead[-1:])).iloc[0] - pd.Timedelta(days=1)
    return first.date(), end.date()


def read_adjustments(path: str | Path, series: pd.MultiIndex, days: tuple[dt.date, dt.date],
                     problems: list[Problem]) -> pd.DataFrame | None:
    """The log at ``path``, typed and checked (:func:`check_adjustments`), or None with
    every problem appended (file, row, column and what would be valid)."""
    path = Path(path)
    file = str(path)
    if not path.is_file():
        problems.append(Problem(file, "", "no such file: the adjustment log is a CSV file with the columns "
                                          f"{', '.join(COLUMNS)}"))
        return None
    found: list[Problem] = []
    raw = read_csv(path, ADJUSTMENTS, found)
    if raw is None:
        problems += found
        return None
    log = parse(ADJUSTMENTS, raw, file, found)
    duplicate_keys(ADJUSTMENTS, log, file, found)
    return check_adjustments(log, file, series, days, problems, found)


def check_adjustments(log: pd.DataFrame, file: str, series: pd.MultiIndex, days: tuple[dt.date, dt.date],
                      problems: list[Problem], found: list[Problem] | None = None) -> pd.DataFrame | None:
    """``log`` sorted by ID, or None with every problem appended, ``found`` (the reading's)
    among them; each located in ``file`` at the row ``log``'s index gives (0: the line
    after the header). The checks: SKUs, markets and SKU x market pairs that are not among
    the forecast's ``series`` (a demand history's ``sku``, ``market`` pairs), an end before
    its start, days outside ``days`` (the first day of the holdout window to the last
    forecast day), and accepted rows of one SKU and market whose days overlap (which
    would be applied first?)."""
    found = list(found or [])
    known = {}
    for column in ("sku", "market"):
        valid = series.unique(column)
        known[column] = log[column].isin(valid)
        unknown = log[column].notna() & ~known[column]
        if unknown.any():
            report(found, file, log.index[unknown], column, log[column], f"not in the demand history; {choices(valid)}")
    unsold = known["sku"] & known["market"] & ~pd.MultiIndex.from_frame(log[["sku", "market"]]).isin(series)
    if unsold.any():
        report(found, file, log.index[unsold], "market", log["market"],
               "the SKU has no demand history in this market, so no forecast to adjust")
    dated = log["start"].notna() & log["end"].notna()
    backwards = dated & (log["end"] < log["start"])
    if backwards.any():
        report(found, file, log.index[backwards], "end", log["end"].dt.date, "before the row's start")
    first, last = pd.Timestamp(days[0]), pd.Timestamp(days[1])
    outside = dated & ~backwards & ((log["start"] < first) | (log["end"] > last))
    if outside.any():
        report(found, file, log.index[outside], "start", log["start"].dt.date,
               f"the days from start to end must lie between {first.date()} (the holdout window's first day, "
               f"which accuracy is measured on) and {last.date()} (the forecast's last)")
    found += _overlaps(log[dated & ~backwards & (log["status"] == "accepted")], file)
    problems += found
    if found:
        return None
    return log.sort_values("adjustment_id", ignore_index=True)


def _overlaps(accepted: pd.DataFrame, file: str) -> list[Problem]:
    out = []
    for _, rows in accepted.groupby(["sku", "market"]):
        rows = rows.sort_values("start")
        clash = rows["start"].to_numpy()[1:] <= rows["end"].to_numpy()[:-1]
        for i, j in zip(rows.index[:-1][clash], rows.index[1:][clash]):
            out.append(Problem(file, row_place(j, "start"),
                               f"accepted adjustment {rows.at[j, 'adjustment_id']} of {rows.at[j, 'sku']} in "
                               f"{rows.at[j, 'market']} covers days of accepted adjustment "
                               f"{rows.at[i, 'adjustment_id']} (row {i + 2}): merge them, or reject one"))
    return out


def covered_days(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, bucket: Bucket) -> np.ndarray:
    """The share of each row's bucket (``ds``, its first day) that lies from ``start`` to
    ``end``, both included."""
    first = frame["ds"]
    after = bucket.following(first)
    inside = (after.clip(upper=end + pd.Timedelta(days=1)) - first.clip(lower=start)).dt.days.clip(lower=0)
    return (inside / (after - first).dt.days).to_numpy(float)


def apply_adjustments(forecast: pd.DataFrame, log: pd.DataFrame, bucket: Bucket) -> tuple[np.ndarray, pd.DataFrame]:
    """``forecast`` (``sku``, ``market``, ``ds``, ``forecast``: the statistical forecast
    over the holdout window and the periods ahead) with ``log``'s accepted adjustments,
    and the log with each row's ``baseline_qty`` (module docstring)."""
    adjusted = forecast["forecast"].to_numpy(float).copy()
    baseline = np.zeros(len(log))
    at = forecast.groupby(["sku", "market"]).indices
    for k, row in enumerate(log.itertuples()):
        rows = at.get((row.sku, row.market), np.array([], dtype=int))
        part = forecast.iloc[rows]
        share = covered_days(part, row.start, row.end, bucket)
        stat = part["forecast"].to_numpy(float)
        baseline[k] = float(share @ stat)
        if row.status != "accepted":
            continue
        # the covered days' forecast scaled to the adjusted units; evenly where it is zero
        weights = share * stat if baseline[k] > 0 else share
        adjusted[rows] = stat - share * stat + row.adjusted_qty * weights / weights.sum()
    return adjusted, log.assign(baseline_qty=baseline)[COLUMNS]


def fva_stairstep(accuracy: pd.DataFrame, chosen: pd.DataFrame, holdout: pd.DataFrame,
                  on_holdout: pd.DataFrame) -> pd.DataFrame:
    """The holdout's WAPE and MASE of each step of :data:`FVA_STEPS` and each step's value
    added over the one before (points of WAPE, MASE units: positive where the step helps),
    per family (``level`` "family") and in total ("total", entity "all"), as
    ``accuracy`` scores them (series summed to the level), and over the series the
    accepted adjustments ``on_holdout`` touched ("adjusted_series", entity "all"): there
    the series' errors are not netted against each other, WAPE is their absolute errors
    over their demand and MASE the mean of theirs. ``adjustments``: the accepted
    adjustments on the holdout window."""
    methods = chosen.set_index("family")["method"]
    family = holdout.drop_duplicates("sku").set_index("sku")["family"]
    per_family = on_holdout["sku"].map(family).value_counts()
    scored = accuracy[accuracy["level"].isin(["family", "total"])].set_index(["level", "entity", "method"])
    touched = holdout[pd.MultiIndex.from_frame(holdout[["sku", "market"]]).isin(
        pd.MultiIndex.from_frame(on_holdout[["sku", "market"]]))]
    series = accuracy[(accuracy["level"] == "series") & accuracy["entity"].isin(set(touched["unique_id"]))]
    scores: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    for level, entity, column in scored.index:
        scores.setdefault((level, entity), {})[column] = (float(scored.loc[(level, entity, column), "wape"]),
                                                          float(scored.loc[(level, entity, column), "mase"]))
    if len(touched):
        demand = float(touched["y"].sum())
        scores[("adjusted_series", "all")] = {
            column: (100 * float((touched["y"] - touched[column]).abs().sum()) / demand if demand else np.nan,
                     float(series.loc[series["method"] == column, "mase"].mean()))
            for column in ("naive", "chosen", "adjusted")}
    rows = []
    for (level, entity), by_column in scores.items():
        count = len(on_holdout) if level != "family" else int(per_family.get(entity, 0))
        previous = None
        for step, column in zip(FVA_STEPS, ("naive", "chosen", "adjusted")):
            wape, mase = by_column[column]
            method = {"naive": "naive", "statistical": methods.get(entity, "chosen per family"),
                      "adjusted": "statistical + accepted adjustments"}[step]
            rows.append(dict(level=level, entity=entity, step=step, method=method, wape=wape, mase=mase,
                             wape_added=np.nan if previous is None else previous[0] - wape,
                             mase_added=np.nan if previous is None else previous[1] - mase,
                             adjustments=count if step == "adjusted" else 0))
            previous = (wape, mase)
    return pd.DataFrame(rows)
