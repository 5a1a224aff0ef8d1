"""Forecast a network's demand per SKU x market and period, with a method chosen per family.

Periods are the history's buckets, weeks or calendar months (:func:`twin.calendars.bucket_of`);
the season length and the frequency follow from them. One pass (:func:`forecast_series`,
which :func:`forecast_network` calls on a network's history):

1. every SKU x market series is classified (:mod:`twin.demand.classify`): its demand
   pattern and its strength of yearly seasonality;
2. each family is backtested on rolling origins with the candidate methods its series'
   patterns call for (:data:`CANDIDATES`; a family whose median seasonal strength is at
   least :data:`SEASONAL` gets seasonal methods only: a non-seasonal method chosen on
   windows from one part of the year fails in another; a family below it no seasonal
   decomposition, which would fit its noise: on the reference's LEGACY family MSTL
   backtested at MASE 0.39, the naive method at 0.34), and a method is chosen per
   family on every window but the last (:func:`twin.demand.methods.select`), unless the
   scenario fixes it; combinations of a family's best methods compete too, and win only
   by more than one standard error; a family with promotions also tries the global
   ``gbm`` model with the promotion calendar as a regressor;
3. the chosen method, refitted on the whole history, forecasts the periods asked for. The
   heavy methods (ETS, MSTL, the Thetas, the fitted Crostons) are not refitted unless the scenario
   asks (``refit_final``): their fit at the last backtest origin, its states carried
   forward over the last window, forecasts, as forecasting systems update forecasts with
   new actuals between re-estimations (13 weeks of 156 stale on the reference: MASE +0.005
   at most on its last window);
4. accuracy is reported on the last backtest window, which the choice never saw, per
   series, per SKU and per family (forecasts summed bottom-up, so they are coherent) and
   in total, plain and revenue-weighted, each beside the naive and seasonal-naive
   benchmarks; :func:`hidden_errors` flags the SKUs that carry revenue and forecast badly
   inside a comfortable total.
"""

from __future__ import annotations

import datetime as dt
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, fields, replace
from functools import partial

import numpy as np
import pandas as pd

from twin.calendars import Bucket, bucket_of
from twin.demand import cache
from twin.demand.accuracy import BENCHMARKS, accuracy_rows, naive_scales
from twin.demand.adjustments import apply_adjustments, empty_log, fva_stairstep
from twin.demand.classify import adi_cv2, pattern, seasonal_strength
from twin.demand.methods import (COMBINATIONS, GLOBAL, HEAVY, PER_SERIES, Carried, backtest, carry_forward, combine,
                                 cores, global_model, jobs, map_chunks, models, process_pool, select)
from twin.network import Network
from twin.scenario import Forecasting

# the Theta family through DOT alone: on the M3 monthly series it scores a sMAPE of 13.72
# against AutoTheta's 14.97, at a third of AutoTheta's cost (benchmarks/accuracy_m3.py)
CANDIDATES = {
    "smooth": ("naive", "seasonal_naive", "moving_average", "ses", "ets", "dot"),
    "erratic": ("naive", "seasonal_naive", "moving_average", "ses", "ets", "dot", "gbm"),
    "intermittent": ("naive", "seasonal_naive", "croston", "sba", "croston_optimised", "sba_optimised", "tsb",
                     "adida"),
    "lumpy": ("naive", "seasonal_naive", "croston", "sba", "croston_optimised", "sba_optimised", "tsb", "adida",
              "gbm"),
    "no demand": ("naive",),
}
SEASONAL = 0.5  # median strength of yearly seasonality above which a family gets seasonal methods only
SEASONAL_CANDIDATES = ("naive", "seasonal_naive", "mstl")
# seasonal only for seasons up to 24: statsforecast's ETS is not seasonal beyond, and DOT's
# seasonality test rejects a yearly cycle of 52 weeks on three years (on the reference's
# GARDEN family it backtested as simple exponential smoothing, MASE 1.08 on the last window
# against MSTL's 0.55)
SHORT_SEASON_CANDIDATES = ("ets", "dot")
PROMOTION = "promo_discount_pct"  # known-in-advance regressor: the promotion calendar
# LightGBM's threads here: the pool's processes keep the other cores busy, and OpenMP
# threads that share cores with them wait on each other (a family's global model took
# 3.6 s on two threads beside the pool, 2.0 s on one)
GBM_THREADS = 1


@dataclass(frozen=True)
class ForecastResult:
    """Everything one forecasting pass produced, as tidy tables."""

    patterns: pd.DataFrame     # unique_id, sku, market, family, pattern, adi, cv2, seasonal_strength
    chosen: pd.DataFrame       # family, method, members (what a combination combines), how ("backtest" or
                               # "scenario"), why (the figures that chose it), backtest_choice (what the
                               # backtest chose, the method unless the scenario fixed one), final (how
                               # the final forecast was fitted)
    selection: pd.DataFrame    # family, method, mean MASE on the selection windows (what chose) and on the
                               # holdout (for the record: the choice never reads it)
    accuracy: pd.DataFrame     # level, entity, method, metrics, revenue share, on the holdout window
    hidden: pd.DataFrame       # SKUs whose error the total hides
    holdout: pd.DataFrame      # unique_id, sku, market, family, ds, y and each method's forecast, last window;
                               # "adjusted": the chosen method's with the accepted adjustments
    errors: pd.DataFrame       # sku, market, error: actual - forecast of the chosen method, every backtest period
    forecasts: pd.DataFrame    # sku, market, week (or month: the bucket's name), qty (with the accepted
                               # adjustments: what the plan reads), statistical_qty (the chosen method's)
    adjustments: pd.DataFrame  # the adjustment log read, with each row's baseline_qty (twin.demand.adjustments)
    fva: pd.DataFrame          # forecast value added: the holdout's stairstep per family and in total


def history_frame(net: Network) -> pd.DataFrame:
    """A network's demand history as :func:`series_frame` gives it."""
    return series_frame(net.demand_history["qty"], net.products["family"], net.promotions)


def series_frame(qty: pd.Series, family: pd.Series, promotions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Demand ``qty``, indexed by ``sku``, ``market`` and the first day of each period, as
    long series: ``unique_id`` ("SKU/market"), ``ds``, ``y``, with ``sku``, ``market``, the
    SKU's ``family`` and the promotion discount that period; every period from the first
    to the last is present (0 where none)."""
    h = qty.unstack(-1, fill_value=0.0).stack().rename("y").reset_index()
    h = h.rename(columns={h.columns[2]: "ds"})
    h["unique_id"] = h["sku"] + "/" + h["market"]
    h["family"] = h["sku"].map(family)
    h = _with_promotions(h, promotions)
    return h[["unique_id", "sku", "market", "family", "ds", "y", PROMOTION]].sort_values(
        ["unique_id", "ds"], ignore_index=True)


def _with_promotions(frame: pd.DataFrame, promotions: pd.DataFrame | None) -> pd.DataFrame:
    """``frame`` (sku, market, ds) with the promotion discount of each period (0 without)."""
    if promotions is None:
        return frame.assign(**{PROMOTION: 0.0})
    promo = promotions["discount_pct"].rename(PROMOTION).rename_axis(["sku", "market", "ds"]).reset_index()
    promo["ds"] = pd.to_datetime(promo["ds"])
    out = frame.merge(promo, on=["sku", "market", "ds"], how="left")
    out[PROMOTION] = out[PROMOTION].fillna(0.0)
    return out


def classify(history: pd.DataFrame, season_length: int, pool: Executor | None = None) -> pd.DataFrame:
    """Demand pattern (Syntetos, Boylan & Croston, 2005) and yearly seasonal strength
    (Wang, Smith & Hyndman, 2006) of each series of a :func:`history_frame` (sorted, and
    series sorted by period), on ``pool`` if given."""
    out = history.drop_duplicates("unique_id")[["unique_id", "sku", "market", "family"]].reset_index(drop=True)
    ids = history["unique_id"].to_numpy()
    values = np.split(history["y"].to_numpy(float), np.flatnonzero(ids[1:] != ids[:-1]) + 1)
    measures = [adi_cv2(y) for y in values]
    # an STL fit per series, 0.7 ms: on every core from 100 series
    strengths = map_chunks(partial(_seasonal_strengths, season_length=season_length), values,
                           cores() if len(values) >= 100 else 1, pool)
    return out.assign(pattern=[pattern(y) for y in values], adi=[a for a, _ in measures],
                      cv2=[c for _, c in measures], seasonal_strength=np.concatenate(strengths))


def _seasonal_strengths(values: list[np.ndarray], season_length: int) -> np.ndarray:
    """Yearly seasonal strength of each series (a process's share of :func:`classify`)."""
    return np.array([seasonal_strength(y, season_length) for y in values], dtype=float)


_CACHE: dict[str, ForecastResult] = {}


def history_bucket(net: Network) -> Bucket:
    """The bucket a network's demand history is kept in."""
    return bucket_of(net.demand_history.index.get_level_values("week"))


def periods_to_forecast(net: Network, horizon_end: dt.date) -> int:
    """Periods from the one after the history's last to the one holding a horizon's last day."""
    last = net.demand_history.index.get_level_values("week").max()
    return history_bucket(net).periods_until(last, horizon_end)


def _cache_key(net: Network, horizon_end: dt.date, settings: Forecasting) -> str:
    """Everything a forecast depends on (and, through :func:`cache.key`, the code)."""
    return cache.key(*(int(pd.util.hash_pandas_object(frame).sum()) for frame in (
        net.demand_history, net.products[["family", "price_per_unit"]], net.promotions)),
        periods_to_forecast(net, horizon_end), settings.model_dump_json(exclude={"adjustments"}))


def remembered(net: Network, horizon_end: dt.date, settings: Forecasting) -> bool:
    """Whether :func:`scenario_forecast` has this forecast already, in this process or on
    disk (no work to announce)."""
    key = _cache_key(net, horizon_end, settings)
    return key in _CACHE or cache.has(key)


def scenario_forecast(net: Network, horizon_end: dt.date, settings: Forecasting,
                      adjustments: pd.DataFrame | None = None) -> ForecastResult:
    """:func:`forecast_network` for a scenario, remembered for the life of the process and
    kept on disk (:mod:`twin.demand.cache`): the same history, products, promotions,
    settings and code give the same forecast, so a comparison of scenarios on one network,
    or a planner's next run, forecasts once. The statistical forecast is what is kept; the
    ``adjustments`` log (:mod:`twin.demand.adjustments`) is applied to it each time, so a
    planner's changed log costs no refit."""
    key = _cache_key(net, horizon_end, settings)
    if key not in _CACHE:
        tables = cache.load(key)
        if tables is None:
            result = forecast_network(net, periods_to_forecast(net, horizon_end), fixed=dict(settings.methods),
                                      h=settings.window_weeks, windows=settings.backtest_windows,
                                      refit_final=settings.refit_final)
            cache.save(key, {f.name: getattr(result, f.name) for f in fields(ForecastResult)})
        else:
            result = ForecastResult(**tables)
        _CACHE[key] = result
    if adjustments is None or adjustments.empty:
        return _CACHE[key]
    return adjust(_CACHE[key], adjustments, history_frame(net), net.products["price_per_unit"])


def forecast_network(net: Network, periods: int, fixed: dict[str, str] | None = None, h: int = 13,
                     windows: int = 4, refit_final: bool = False) -> ForecastResult:
    """:func:`forecast_series` on a network's demand history, priced by its products and
    promoted by its promotion calendar."""
    return forecast_series(history_frame(net), periods, net.products["price_per_unit"], net.promotions,
                           fixed=fixed, h=h, windows=windows, refit_final=refit_final)


def forecast_series(history: pd.DataFrame, periods: int, price: pd.Series, promotions: pd.DataFrame | None = None,
                    fixed: dict[str, str] | None = None, h: int = 13, windows: int = 4,
                    refit_final: bool = False, adjustments: pd.DataFrame | None = None) -> ForecastResult:
    """Classify, backtest, choose, forecast and score (module docstring).

    Parameters
    ----------
    history : DataFrame
        Long series as :func:`history_frame` gives them: ``unique_id`` ("SKU/market"),
        ``sku``, ``market``, ``family``, ``ds`` (the first day of each week or month;
        no period missing inside a series, and every series ending on the same one, so
        that backtest windows line up; a series may begin later and then joins the
        totals when it begins), ``y`` and, optionally, the promotion discount.
    periods : int
        Periods to forecast after the history's last.
    price : Series
        Price per unit by SKU, to weigh accuracy by revenue.
    promotions : DataFrame, optional
        The promotion calendar (``discount_pct`` by sku, market and period) the global
        model reads for the forecast periods; none without.
    fixed : dict, optional
        ``{family: method}`` the scenario fixes; those families are still backtested, so
        their accuracy is reported, but not chosen for.
    h, windows : int
        Periods per backtest forecast and backtest origins (the last one scores).
    refit_final : bool
        Refit ETS and MSTL on the whole history for the final forecast, instead of
        carrying their fit at the last origin forward over the last window (step 3).
    adjustments : DataFrame, optional
        The planner's adjustment log, as :func:`twin.demand.adjustments.read_adjustments`
        reads it (:func:`adjust`).
    """
    fixed = fixed or {}
    bucket = bucket_of(history["ds"])
    if PROMOTION not in history:
        history = _with_promotions(history, promotions)
    with process_pool() as pool:
        patterns = classify(history, bucket.season_length, pool)
        strongly_seasonal = patterns.set_index("unique_id")["seasonal_strength"].ge(SEASONAL)
        families = []
        for family, ids in patterns.groupby("family")["unique_id"]:
            part = history[history["unique_id"].isin(set(ids))]
            candidates = _candidates(patterns.loc[ids.index], promoted=bool((part[PROMOTION] > 0).any()),
                                     season_length=bucket.season_length)
            if family in fixed and fixed[family] not in candidates:
                candidates.append(fixed[family])
            families.append((family, part, candidates))
        # every family's heavy fits start now, on the pool, cheapest first, while this
        # process backtests and chooses family after family in the same order, so that it
        # waits as little as it can
        def cost(family: tuple[str, pd.DataFrame, list[str]]) -> float:
            return sum(HEAVY.get(m, 0.0) for m in family[2]) * family[1]["unique_id"].nunique()

        order = sorted(range(len(families)), key=lambda k: cost(families[k]))
        carried = {}
        for k in order:
            _, part, candidates = families[k]
            heavy = [m for m in candidates if m in HEAVY]
            carried[k] = carry_forward(part, heavy, h, windows, bucket.season_length, bucket.freq,
                                       0 if refit_final else periods, pool) if heavy else None
        done = {}
        for k in order:
            family, part, candidates = families[k]
            done[k] = _forecast_family(family, part, candidates, fixed.get(family), promotions, bucket,
                                       periods=periods, h=h, windows=windows, refit_final=refit_final,
                                       carried=carried[k], seasonal=strongly_seasonal)
    results = [done[k] for k in range(len(families))]
    chosen, selections, holdouts, forecasts, errors = (
        [r[k] for r in results] for k in ("chosen", "selection", "holdout", "forecast", "errors"))
    holdout = pd.concat(holdouts, ignore_index=True)
    keys = patterns.set_index("unique_id")[["sku", "market", "family"]]
    holdout = holdout.join(keys, on="unique_id")
    fc = pd.concat(forecasts, ignore_index=True).join(keys[["sku", "market"]], on="unique_id")
    statistical = ForecastResult(
        patterns=patterns, chosen=pd.DataFrame(chosen), selection=pd.concat(selections, ignore_index=True),
        accuracy=pd.DataFrame(), hidden=pd.DataFrame(), holdout=holdout,
        errors=pd.concat(errors, ignore_index=True).join(keys[["sku", "market"]], on="unique_id")[
            ["sku", "market", "error"]],
        forecasts=fc.rename(columns={"ds": bucket.name, "forecast": "statistical_qty"})[
            ["sku", "market", bucket.name, "statistical_qty"]],
        adjustments=empty_log(), fva=pd.DataFrame())
    return adjust(statistical, empty_log() if adjustments is None else adjustments, history, price)


def adjust(result: ForecastResult, log: pd.DataFrame, history: pd.DataFrame, price: pd.Series) -> ForecastResult:
    """``result`` with ``log``'s accepted adjustments applied to its statistical forecast,
    over the holdout window and the periods ahead, and scored again: the accuracy tables,
    the forecast value added and the log with its baselines
    (:mod:`twin.demand.adjustments`). ``history`` and ``price`` as :func:`forecast_series`
    takes them."""
    holdout, fc = result.holdout, result.forecasts
    bucket = bucket_of(history["ds"])
    timeline = pd.concat([holdout[["sku", "market", "ds"]].assign(forecast=holdout["chosen"].to_numpy()),
                          fc[["sku", "market"]].assign(ds=fc[bucket.name], forecast=fc["statistical_qty"])],
                         ignore_index=True)
    adjusted, log = apply_adjustments(timeline, log, bucket)
    holdout = holdout.assign(adjusted=adjusted[:len(holdout)])
    fc = fc.assign(qty=adjusted[len(holdout):])[["sku", "market", bucket.name, "qty", "statistical_qty"]]
    table = level_accuracy(holdout, history, price, bucket.season_length)
    on_holdout = log[(log["status"] == "accepted") & (log["start"] < fc[bucket.name].min())
                     & (log["end"] >= holdout["ds"].min())]
    return replace(result, holdout=holdout, forecasts=fc, accuracy=table, hidden=hidden_errors(table),
                   adjustments=log, fva=fva_stairstep(table, result.chosen, holdout, on_holdout))


def _candidates(members: pd.DataFrame, promoted: bool, season_length: int) -> list[str]:
    """The methods a family's series call for (module docstring, step 2)."""
    strength = members["seasonal_strength"].dropna()  # undefined for a series that never changes
    if len(strength) and strength.median() >= SEASONAL:
        return [*SEASONAL_CANDIDATES, *(SHORT_SEASON_CANDIDATES if season_length <= 24 else ()),
                *(["gbm"] if promoted else [])]
    candidates = list(dict.fromkeys(m for p in members["pattern"] for m in CANDIDATES[p]))
    return candidates + ["gbm"] if promoted and "gbm" not in candidates else candidates


def _forecast_family(family: str, part: pd.DataFrame, candidates: list[str], fixed: str | None,
                     promotions: pd.DataFrame | None, bucket: Bucket, periods: int, h: int, windows: int,
                     refit_final: bool, carried: Carried | None, seasonal: pd.Series) -> dict:
    """Backtest, choose and forecast one family (module docstring, steps 2 and 3): the
    family's rows of each table of :class:`ForecastResult` it makes. ``carried``: its
    heavy methods' backtest, started by :func:`carry_forward`; ``seasonal``: which of its
    series are strongly seasonal."""
    run = backtest(part, candidates, h=h, windows=windows, season_length=bucket.season_length, freq=bucket.freq,
                   regressors=[PROMOTION], ahead=0 if refit_final else periods, carried=carried, threads=GBM_THREADS)
    ids = part["unique_id"].unique()
    sel = select(run.forecasts, part, pd.Series(family, index=ids), candidates, bucket.season_length,
                 seasonal=seasonal, seasonal_methods=tuple(m for m in candidates if m in _seasonal_methods(bucket)))
    method = fixed or sel.chosen[family]
    method_of = sel.per_series.reindex(ids) if method == PER_SERIES else pd.Series(method, index=ids)

    def singles(name: str) -> list[str]:
        return sel.members[family] if name in COMBINATIONS else [name]

    used = list(dict.fromkeys(m for name in sorted(method_of.unique()) for m in singles(name)))
    carried = [m for m in used if m in HEAVY and not refit_final]
    refitted = [m for m in used if m not in carried]
    pieces = {}
    for m in used:  # each method's final forecast, for the series that use it only
        who = method_of.index[[m in singles(name) for name in method_of]]
        # a global model learns from the whole family, as in the backtest
        fitted_on = part if m in GLOBAL else part[part["unique_id"].isin(who)]
        f = (_carried(run.ahead[run.ahead["unique_id"].isin(who)], m) if m in carried
             else _final(fitted_on, m, bucket, periods, promotions))
        f = f[f["unique_id"].isin(who)]
        pieces[m] = f.set_index(["unique_id", "ds"])["forecast"]
    wide = pd.concat(pieces, axis=1).sort_index()
    series_of_row = wide.index.get_level_values("unique_id")
    forecast = pd.Series(np.nan, index=wide.index)
    for name in method_of.unique():
        rows = series_of_row.isin(method_of.index[method_of == name])
        forecast[rows] = (combine([wide.loc[rows, m].to_numpy() for m in singles(name)], name)
                          if name in COMBINATIONS else wide.loc[rows, name].to_numpy())
    final = "; ".join([*([f"{', '.join(refitted)} refitted on the whole history"] if refitted else []),
                       *([f"{', '.join(carried)} carried forward {h} {bucket.name}s from the last origin"]
                         if carried else [])])
    backtested = sel.forecasts
    column = fixed or "chosen"
    last = backtested[backtested["cutoff"] == backtested["cutoff"].max()]
    return dict(
        chosen=dict(family=family, method=method, members=(", " if method == PER_SERIES else "+").join(used),
                    how="scenario" if fixed else "backtest",
                    why=f"fixed by the scenario; the backtest's own choice: {sel.reasons[family]}" if fixed
                    else sel.reasons[family], backtest_choice=sel.chosen[family], final=final),
        selection=sel.selection.rename(columns={"group": "family"}),
        holdout=last[["unique_id", "ds", "y"]].assign(chosen=last[column].to_numpy(),
                                                      **{b: last[b].to_numpy() for b in BENCHMARKS}),
        forecast=forecast.rename("forecast").reset_index(),
        errors=pd.DataFrame({"unique_id": backtested["unique_id"], "error": backtested["y"] - backtested[column]}))


def _seasonal_methods(bucket: Bucket) -> tuple[str, ...]:
    """The candidates that model a yearly season in ``bucket``'s periods."""
    short = SHORT_SEASON_CANDIDATES if bucket.season_length <= 24 else ()
    return (*(m for m in SEASONAL_CANDIDATES if m != "naive"), *short, "gbm")  # gbm: the season's lag


def _carried(ahead: pd.DataFrame, method: str) -> pd.DataFrame:
    """A heavy method's final forecast, made in the backtest (never negative)."""
    return pd.DataFrame({"unique_id": ahead["unique_id"], "ds": ahead["ds"], "forecast": ahead[method].clip(lower=0.0)})


def _final(history: pd.DataFrame, method: str, bucket: Bucket, periods: int,
           promotions: pd.DataFrame | None) -> pd.DataFrame:
    """``method`` refitted on the whole history, ``periods`` ahead (never negative)."""
    if method in GLOBAL:
        ahead = bucket.after(history["ds"].max(), periods)
        future = pd.DataFrame([(uid, ds) for uid in history["unique_id"].unique() for ds in ahead],
                              columns=["unique_id", "ds"])
        future = future.join(history.drop_duplicates("unique_id").set_index("unique_id")[["sku", "market"]],
                             on="unique_id")
        future = _with_promotions(future, promotions)
        ml = global_model(bucket.season_length, bucket.freq, GBM_THREADS).fit(
            history[["unique_id", "ds", "y", PROMOTION]], static_features=[])
        out = ml.predict(h=periods, X_df=future[["unique_id", "ds", PROMOTION]])
    else:
        from statsforecast import StatsForecast

        sf = StatsForecast(models=models([method], bucket.season_length), freq=bucket.freq,
                           n_jobs=jobs([method], history["unique_id"].nunique()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = sf.forecast(df=history[["unique_id", "ds", "y"]], h=periods)
        out = out.reset_index() if "unique_id" not in out.columns else out
    return pd.DataFrame({"unique_id": out["unique_id"], "ds": out["ds"], "forecast": out[method].clip(lower=0.0)})


METHOD_COLUMNS = ("chosen", "adjusted", *BENCHMARKS)


def level_accuracy(holdout: pd.DataFrame, history: pd.DataFrame, price: pd.Series, season_length: int) -> pd.DataFrame:
    """Accuracy on the holdout window per series, SKU, family and in total.

    Series are summed bottom-up to each level (the forecasts are coherent by
    construction) and scored there, MASE scaled by the summed history's seasonal-naive
    error. ``revenue_share`` is the entity's share of the holdout revenue (price x actual
    units); ``revenue_weighted`` rows weight the SKUs' MASE and WAPE by it.
    """
    holdout = holdout.assign(revenue=holdout["y"] * holdout["sku"].map(price))
    total_revenue = float(holdout["revenue"].sum())
    past = history[history["ds"] < holdout["ds"].min()]
    parts = []
    for level, key in (("series", "unique_id"), ("sku", "sku"), ("family", "family"), ("total", None)):
        test = holdout.assign(entity=holdout[key] if key else "all").groupby(["entity", "ds"])[
            ["y", "revenue", *METHOD_COLUMNS]].sum()
        train = past.assign(entity=past[key] if key else "all").groupby(["entity", "ds"])["y"].sum().unstack()
        entities = test.index.get_level_values("entity").unique()  # sorted, as groupby sorts
        train = train.reindex(entities).to_numpy(float)
        actual = test["y"].unstack().loc[entities].to_numpy(float)
        revenue = test["revenue"].groupby(level="entity").sum().loc[entities].to_numpy(float)
        share = revenue / total_revenue if total_revenue else np.zeros(len(entities))
        scale = [naive_scales(train, season_length, squared) for squared in (False, True)]
        by_method = []
        for method in METHOD_COLUMNS:
            forecast = test[method].unstack().loc[entities].to_numpy(float)
            by_method.append(pd.DataFrame(dict(level=level, entity=entities, method=method, revenue_share=share,
                                               position=np.arange(len(entities)),
                                               **accuracy_rows(actual, forecast, *scale))))
        # one entity's methods together, as a planner reads the table
        parts.append(pd.concat(by_method, ignore_index=True).sort_values("position", kind="stable"))
    table = pd.concat(parts, ignore_index=True).drop(columns="position")
    skus = table[table["level"] == "sku"].join(
        holdout.drop_duplicates("sku").set_index("sku")["family"], on="entity")
    weighted = []
    for method, g in skus.groupby("method"):
        for family, f in [*g.groupby("family"), ("all", g)]:
            w = f["revenue_share"].to_numpy()
            if w.sum() > 0:
                weighted.append(dict(level="revenue_weighted", entity=family, method=method,
                                     revenue_share=float(w.sum()), mase=float(np.average(f["mase"], weights=w)),
                                     wape=float(np.average(f["wape"], weights=w))))
    return pd.concat([table, pd.DataFrame(weighted)], ignore_index=True)


def hidden_errors(table: pd.DataFrame, share: float = 0.5, floor_wape: float = 30.0) -> pd.DataFrame:
    """SKUs the total hides: carrying at least ``share`` times an average SKU's revenue
    share, with a WAPE (chosen method) of at least ``floor_wape`` % and at least twice the
    total's WAPE."""
    chosen = table[table["method"] == "chosen"]
    total = float(chosen.loc[chosen["level"] == "total", "wape"].iloc[0])
    skus = chosen[chosen["level"] == "sku"]
    limit = max(floor_wape, 2 * total)
    flagged = skus[(skus["revenue_share"] >= share / max(len(skus), 1)) & (skus["wape"] >= limit)]
    out = flagged[["entity", "revenue_share", "wape", "mase"]].rename(columns={"entity": "sku"})
    return out.assign(total_wape=total).sort_values("revenue_share", ascending=False, ignore_index=True)
