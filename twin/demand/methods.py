"""Forecasting methods by name, and rolling-origin backtests that choose one per group.

The methods are statsforecast's (Nixtla, 2.x: a compiled core, no JIT warm-up); this
module only names them, so a scenario can pick one per family from YAML:

===================  ======================================================================
name                 method
===================  ======================================================================
naive                last value (random walk)
seasonal_naive       value of the same season last cycle
moving_average       mean of the last ``min(m, 13)`` periods
ses                  simple exponential smoothing, alpha optimised
ets                  ETS with automatic model selection by AICc (Hyndman et al., 2002);
                     seasonal only for periods up to 24: statsforecast's AutoETS is not
                     seasonal beyond that, so weekly data uses ``mstl``
mstl                 MSTL seasonal decomposition (Bandara, Hyndman & Bergmeir, 2021), ETS on
                     the seasonally adjusted series; STL with R's default loess jumps
croston              Croston (1972)
sba                  Syntetos–Boylan approximation (Syntetos & Boylan, 2005)
tsb                  Teunter, Syntetos & Babai (2011), alpha_d = alpha_p = 0.1
adida                ADIDA temporal aggregation (Nikolopoulos et al., 2011)
gbm                  one global gradient-boosted model per group (LightGBM through Nixtla's
                     mlforecast) over lags 1-4, 13 and 52, the week of the year, and the
                     known future regressors given (the promotion discount), as in the
                     M5 competition's winning approaches (Makridakis et al., 2022)
===================  ======================================================================

A backtest is rolling-origin (Tashman, 2000): ``windows`` forecast origins, each ``h``
periods apart, each forecasting the next ``h`` periods from the data before it. The
light methods are refitted at every origin. ETS and MSTL, whose fits cost a hundred times
more, are fitted at the first origin and carried forward to the next ones with their
parameters fixed and their states updated on the data up to each origin (updating
without recalibration, in Tashman's terms; statsforecast's ``refit``), then refitted at
the last origin. Nothing after an origin is used; the selection windows, if anything,
understate those two methods; and the last window, which scores the choice, sees them
refitted, as the final forecast is made. To keep
the reported accuracy honest, :func:`select` chooses a method per group on every window
but the last and reports it on the last, which played no part in the choice.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.demand.accuracy import accuracy_rows
from twin.demand.classify import stl_jumps

BENCHMARKS = ("naive", "seasonal_naive")


def _models() -> dict[str, Callable[[int], object]]:
    from statsforecast import models as sf

    return {
        "naive": lambda m: sf.Naive(alias="naive"),
        "seasonal_naive": lambda m: sf.SeasonalNaive(season_length=m, alias="seasonal_naive"),
        "moving_average": lambda m: sf.WindowAverage(window_size=min(m, 13), alias="moving_average"),
        "ses": lambda m: sf.SimpleExponentialSmoothingOptimized(alias="ses"),
        "ets": lambda m: sf.AutoETS(season_length=m if m <= 24 else 1, alias="ets"),
        "mstl": lambda m: sf.MSTL(season_length=m, trend_forecaster=sf.AutoETS(model="ZZN"), alias="mstl",
                                  stl_kwargs=stl_jumps(m)),
        "croston": lambda m: sf.CrostonClassic(alias="croston"),
        "sba": lambda m: sf.CrostonSBA(alias="sba"),
        "tsb": lambda m: sf.TSB(alpha_d=0.1, alpha_p=0.1, alias="tsb"),
        "adida": lambda m: sf.ADIDA(alias="adida"),
    }


METHODS = ("naive", "seasonal_naive", "moving_average", "ses", "ets", "mstl", "croston", "sba", "tsb", "adida",
           "gbm")
GLOBAL = ("gbm",)  # fitted across the group's series by mlforecast, not per series by statsforecast


def week_of_year(dates: pd.DatetimeIndex) -> np.ndarray:
    """ISO week number, a calendar feature of the global model."""
    return np.asarray(dates.isocalendar().week, dtype=float)


def global_model(season_length: int, freq: str | int):
    """The ``gbm`` method: an mlforecast pipeline around LightGBM (fixed seed, one thread)."""
    from lightgbm import LGBMRegressor
    from mlforecast import MLForecast

    model = LGBMRegressor(n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=10,
                          subsample=1.0, random_state=0, n_jobs=1, verbose=-1)
    lags = sorted({1, 2, 3, 4, 13, season_length})
    return MLForecast(models={"gbm": model}, freq=freq, lags=lags,
                      date_features=[week_of_year] if isinstance(freq, str) else [])


def models(names: list[str] | tuple[str, ...], season_length: int) -> list[object]:
    """statsforecast model objects for ``names`` (each also its output column)."""
    table = _models()
    unknown = [n for n in names if n not in table and n not in GLOBAL]
    if unknown:
        raise ValueError(f"unknown forecasting method(s) {unknown}; valid: {', '.join(METHODS)}")
    return [table[n](season_length) for n in names if n not in GLOBAL]


HEAVY = ("ets", "mstl")  # 12-18 ms a fit: a process per core, and fitted once per backtest


def jobs(names: list[str], series: int) -> int:
    """statsforecast worker processes: all cores when a heavy method meets many series
    (MSTL on 192 weekly series: 9.7 s on one process, 5.1 s on two), else one, because
    for the light methods starting the pool costs more than it saves (DESIGN.md §5)."""
    return (os.cpu_count() or 1) if series >= 50 and any(n in HEAVY for n in names) else 1


def backtest(history: pd.DataFrame, methods: list[str] | tuple[str, ...], h: int, windows: int,
             season_length: int, freq: str | int, regressors: list[str] | None = None) -> pd.DataFrame:
    """Rolling-origin forecasts of every method for every series.

    Parameters
    ----------
    history : DataFrame
        Long series: ``unique_id``, ``ds``, ``y`` (complete: no missing periods).
    methods : names from :data:`METHODS`
    h, windows : int
        Periods per forecast, and forecast origins (``h`` periods apart).
    season_length : int
        Seasonal period (4 quarterly, 12 monthly, 52 weekly).
    freq : str or int
        pandas frequency of ``ds`` (or 1 for integer periods).
    regressors : list of str, optional
        Columns of ``history`` known in advance (a promotion calendar), for ``gbm``.

    Returns
    -------
    DataFrame
        ``unique_id, ds, cutoff, y`` and one column of forecasts per method.
    """
    from statsforecast import StatsForecast

    names = list(dict.fromkeys([*methods, *BENCHMARKS]))
    series = history["unique_id"].nunique()
    keys = ["unique_id", "ds", "cutoff"]
    out = None
    for group, refit in (([n for n in names if n not in HEAVY and n not in GLOBAL], True),
                         ([n for n in names if n in HEAVY], max(1, windows - 1))):
        if not group:
            continue
        sf = StatsForecast(models=models(group, season_length), freq=freq, n_jobs=jobs(group, series))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsforecast warns per series on short or constant data
            part = sf.cross_validation(df=history[["unique_id", "ds", "y"]], h=h, n_windows=windows, step_size=h,
                                       refit=refit)
        part = part.reset_index(drop=True) if "unique_id" in part.columns else part.reset_index()
        out = part if out is None else out.merge(part.drop(columns="y"), on=keys, how="left")
    if "gbm" in names:
        columns = ["unique_id", "ds", "y", *(regressors or [])]
        ml = global_model(season_length, freq).cross_validation(df=history[columns], n_windows=windows, h=h,
                                                                step_size=h, static_features=[])
        ml["gbm"] = ml["gbm"].clip(lower=0.0)
        out = out.merge(ml[[*keys, "gbm"]], on=keys, how="left")
    return out


def scores(forecasts: pd.DataFrame, history: pd.DataFrame, methods: list[str], season_length: int) -> pd.DataFrame:
    """Accuracy per series, forecast origin and method: ``unique_id, cutoff, method`` and
    every metric of :mod:`twin.demand.accuracy`. MASE and RMSSE are scaled by the
    seasonal-naive error of the data up to each origin (the naive error for series not
    longer than a season). Vectorised over series and origins."""
    fc = forecasts.sort_values(["unique_id", "cutoff", "ds"], ignore_index=True)
    keys = fc[["unique_id", "cutoff"]].drop_duplicates(ignore_index=True)
    h = len(fc) // len(keys)
    scale, scale_sq = _scales(history, keys, season_length)
    actual = fc["y"].to_numpy(float).reshape(-1, h)
    parts = []
    for method in methods:
        metrics = accuracy_rows(actual, fc[method].to_numpy(float).reshape(-1, h), scale, scale_sq)
        parts.append(keys.assign(method=method, **metrics))
    return pd.concat(parts, ignore_index=True)


def _scales(history: pd.DataFrame, keys: pd.DataFrame, season_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute and squared lag-m differences of each series up to each cutoff."""
    hist = history.sort_values(["unique_id", "ds"])
    out = []
    for squared in (False, True):
        parts = []
        for m in (season_length, 1):
            diff = hist.groupby("unique_id")["y"].diff(m)
            value = diff ** 2 if squared else diff.abs()
            frame = hist[["unique_id", "ds"]].assign(
                total=value.fillna(0.0).groupby(hist["unique_id"]).cumsum(),
                count=value.notna().groupby(hist["unique_id"]).cumsum())
            at = keys.merge(frame, left_on=["unique_id", "cutoff"], right_on=["unique_id", "ds"], how="left")
            parts.append((at["total"] / at["count"]).to_numpy(float))
        seasonal, naive = parts
        out.append(np.where(np.isfinite(seasonal), seasonal, naive))
    return out[0], out[1]


ENSEMBLE = "ensemble"
ENSEMBLE_SIZE = 3


@dataclass(frozen=True)
class Selection:
    """The method chosen per group, and the accuracy that chose it and that tests it."""

    chosen: pd.Series          # group -> method (a name from METHODS, or "ensemble")
    members: dict              # group -> the methods its ensemble averages
    selection: pd.DataFrame    # group, method, mean metric on the selection windows
    holdout: pd.DataFrame      # unique_id, group, method ("chosen" or a benchmark), metrics, last window
    forecasts: pd.DataFrame    # the backtest forecasts, with the ensemble's column added


def select(forecasts: pd.DataFrame, history: pd.DataFrame, groups: pd.Series, methods: list[str],
           season_length: int, metric: str = "mase") -> Selection:
    """Choose a method per group by mean ``metric`` on every window but the last; score the
    choice, and the naive and seasonal-naive benchmarks, on the last window only.

    Besides the single methods, each group's ensemble, the mean of its
    :data:`ENSEMBLE_SIZE` best methods on the selection windows (the naive benchmarks
    left out: averaging in a random walk flattens a seasonal forecast), competes on those
    same windows; forecast combination often beats its members (Makridakis et al., M4, 2020).
    ``groups`` maps ``unique_id`` to its group (a product family, say)."""
    names = list(dict.fromkeys([*methods, *BENCHMARKS]))
    s = scores(forecasts, history, names, season_length)
    s["group"] = s["unique_id"].map(groups)
    last = s["cutoff"].max()
    if not (s["cutoff"] < last).any():
        raise ValueError("selection needs at least two backtest windows: one to choose, one to test")
    column = f"mean_{metric}"
    singles = (s[(s["cutoff"] < last) & s["method"].isin(methods)].groupby(["group", "method"])[metric].mean()
               .rename(column).reset_index())
    forecasts = forecasts.copy()
    members = {}
    for group, g in singles.groupby("group"):
        top = g[~g["method"].isin(BENCHMARKS)].nsmallest(ENSEMBLE_SIZE, column)["method"].tolist()
        if len(top) >= 2:
            rows = forecasts["unique_id"].map(groups) == group
            forecasts.loc[rows, ENSEMBLE] = forecasts.loc[rows, top].mean(axis=1)
            members[group] = top
    if members:
        e = scores(forecasts[forecasts[ENSEMBLE].notna()], history, [ENSEMBLE], season_length)
        e["group"] = e["unique_id"].map(groups)
        s = pd.concat([s, e], ignore_index=True)
    table = (s[(s["cutoff"] < last) & s["method"].isin([*methods, ENSEMBLE])].groupby(["group", "method"])[metric]
             .mean().rename(column).reset_index())
    chosen = table.loc[table.groupby("group")[column].idxmin()].set_index("group")["method"]
    final = s[s["cutoff"] == last]
    picked = final[final["method"] == final["group"].map(chosen)].assign(method="chosen")
    holdout = pd.concat([picked, final[final["method"].isin(BENCHMARKS)]], ignore_index=True)
    return Selection(chosen=chosen, members=members, selection=table, holdout=holdout, forecasts=forecasts)


def summary(holdout: pd.DataFrame, metric: str = "mase") -> pd.DataFrame:
    """Mean ``metric`` per group and method on the holdout window, and over all series."""
    by_group = holdout.pivot_table(index="group", columns="method", values=metric, aggfunc="mean")
    by_group.loc["all series"] = holdout.pivot_table(index="unique_id", columns="method", values=metric).mean()
    return by_group
