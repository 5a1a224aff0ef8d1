"""Forecasting methods by name, and rolling-origin backtests that choose one per group.

The methods are statsforecast's (Nixtla, 2.x: a compiled core, no JIT warm-up), MSTL
through :mod:`twin.demand.mstl`, which gives the same numbers faster; this module only
names them, so a scenario can pick one per family from YAML:

===================  ======================================================================
name                 method
===================  ======================================================================
naive                last value (random walk)
seasonal_naive       value of the same season last cycle
naive2               the naive method on seasonally adjusted data, the M competitions'
                     benchmark (:mod:`twin.demand.naive2`)
moving_average       mean of the last ``min(m, 13)`` periods
ses                  simple exponential smoothing, alpha optimised
ets                  ETS with automatic model selection by AICc (Hyndman et al., 2002);
                     seasonal only for periods up to 24: statsforecast's AutoETS is not
                     seasonal beyond that, so weekly data uses ``mstl``
mstl                 MSTL seasonal decomposition (Bandara, Hyndman & Bergmeir, 2021), ETS on
                     the seasonally adjusted series; STL with R's default loess jumps
theta                the Theta family's automatic choice (AutoTheta: standard, optimised and
                     dynamic variants, Assimakopoulos & Nikolopoulos, 2000; Fiorucci et al.,
                     2016), classical multiplicative deseasonalising where the series is seasonal
dot                  the dynamic optimised Theta method (Fiorucci et al., 2016), the best of
                     the family on the M3 monthly series (benchmarks/accuracy_m3.py)
arima                ARIMA with automatic order selection (Hyndman & Khandakar, 2008), seasonal
                     only for periods up to 12; not a default candidate: a fit costs 140 ms on a
                     non-seasonal series of 100 points and 560 ms on a seasonal monthly one,
                     against ETS's 4 and 53 ms
croston              Croston (1972), both constants 0.1
sba                  Syntetos–Boylan approximation (Syntetos & Boylan, 2005), constants 0.1
croston_optimised    Croston with both constants and starts fitted, as fable's ``CROSTON()``
                     (Kourentzes, 2014; :mod:`twin.demand.croston`)
sba_optimised        the Syntetos–Boylan approximation, fitted the same way
tsb                  Teunter, Syntetos & Babai (2011), alpha_d = alpha_p = 0.1
adida                ADIDA temporal aggregation (Nikolopoulos et al., 2011)
gbm                  one global gradient-boosted model per group (LightGBM through Nixtla's
                     mlforecast) over lags 1-4, 13 and the season's, the week (or month) of
                     the year, and the known future regressors given (the promotion discount), as in the
                     M5 competition's winning approaches (Makridakis et al., 2022)
===================  ======================================================================

A backtest is rolling-origin (Tashman, 2000): ``windows`` forecast origins, each ``h``
periods apart, each forecasting the next ``h`` periods from the data before it. The light
methods are refitted at every origin. ETS, MSTL, the Thetas, ARIMA and the fitted
Crostons (:data:`HEAVY`), whose fits cost ten to a hundred times more, are fitted at the
first and the last origin and carried forward in between with their parameters fixed and
their states updated on the data up to each origin (updating without recalibration, in Tashman's terms;
statsforecast's ``refit=windows - 1``, which :func:`backtest` reproduces exactly). The fit
at the last origin is carried forward once more, over the last window, to the end of the
history: that is their final forecast (:attr:`Backtest.ahead`), so they are fitted twice
per series in all. The global model's backtest is the same: its trees are grown at the
first and the last origin, and in between it forecasts from the lags of the data up to
each origin (mlforecast's ``refit=windows - 1``); its final forecast is a fit on the whole
history. Nothing after an origin is used. To keep the reported accuracy honest,
:func:`select` chooses a method per group on every window but the last and reports it on
the last, which played no part in the choice.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import numpy as np
import pandas as pd

from twin.demand.accuracy import BENCHMARKS, accuracy_rows
from twin.demand.classify import stl_jumps
T = TypeVar("T")


def _models() -> dict[str, Callable[[int], object]]:
    from statsforecast import models as sf

    from twin.demand.croston import CrostonOptimised
    from twin.demand.mstl import MSTL
    from twin.demand.naive2 import Naive2

    return {
        "naive": lambda m: sf.Naive(alias="naive"),
        "seasonal_naive": lambda m: sf.SeasonalNaive(season_length=m, alias="seasonal_naive"),
        "naive2": lambda m: Naive2(season_length=m),
        "moving_average": lambda m: sf.WindowAverage(window_size=min(m, 13), alias="moving_average"),
        "ses": lambda m: sf.SimpleExponentialSmoothingOptimized(alias="ses"),
        "ets": lambda m: sf.AutoETS(season_length=m if m <= 24 else 1, alias="ets"),
        "mstl": lambda m: MSTL(season_length=m, trend_forecaster=sf.AutoETS(model="ZZN"), alias="mstl",
                               stl_kwargs=stl_jumps(m)),
        "croston": lambda m: sf.CrostonClassic(alias="croston"),
        "sba": lambda m: sf.CrostonSBA(alias="sba"),
        "croston_optimised": lambda m: CrostonOptimised("croston"),
        "sba_optimised": lambda m: CrostonOptimised("sba"),
        "tsb": lambda m: sf.TSB(alpha_d=0.1, alpha_p=0.1, alias="tsb"),
        "adida": lambda m: sf.ADIDA(alias="adida"),
        "theta": lambda m: sf.AutoTheta(season_length=m, alias="theta"),
        "dot": lambda m: sf.DynamicOptimizedTheta(season_length=m, alias="dot"),
        "arima": lambda m: sf.AutoARIMA(season_length=m if m <= 12 else 1, alias="arima"),
    }


METHODS = ("naive", "seasonal_naive", "naive2", "moving_average", "ses", "ets", "mstl", "theta", "dot", "arima",
           "croston", "sba", "croston_optimised", "sba_optimised", "tsb", "adida", "gbm")
GLOBAL = ("gbm",)  # fitted across the group's series by mlforecast, not per series by statsforecast


def cores() -> int:
    """Processes or threads to use: one per core, and one inside a worker process: pools
    are not nested, and LightGBM's OpenMP (libgomp) deadlocks on more than one thread in
    a child forked from a process that used it."""
    return (os.cpu_count() or 1) if multiprocessing.parent_process() is None else 1


def one_blas_thread() -> None:
    """A worker process's BLAS on one thread, for its life: the pool's processes already
    fill the cores, and OpenBLAS's threads spinning beside them on tiny vectors (scipy's
    L-BFGS-B in the fitted Crostons) made those fits three times slower (1.33 s against
    0.43 s for 48 series and two methods)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


@contextmanager
def process_pool() -> Iterator[Executor | None]:
    """A process per core for a whole forecasting pass, so that the heavy fits run while
    this process does the rest (None on one core), BLAS on one thread in each, this one
    included, for the pass (:func:`one_blas_thread`). Work not yet started is dropped if
    the pass fails."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        if cores() == 1:
            yield None
            return
        _models()  # imported before the workers fork, so that each does not spend 2.4 s importing statsforecast
        pool = ProcessPoolExecutor(max_workers=cores(), initializer=one_blas_thread)
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


def start_chunks(work: Callable[[list], T], items: list, processes: int,
                 pool: Executor | None = None) -> Callable[[], list[T]]:
    """Start ``work`` on ``processes`` consecutive, near-equal chunks of ``items``, and
    return what waits for the results. On ``pool`` the chunks run meanwhile; without one
    they run now, in a pool of their own (about 25 ms to start); a single chunk runs here
    when its results are asked for."""
    bounds = np.linspace(0, len(items), max(1, min(processes, len(items))) + 1).astype(int)
    chunks = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    if len(chunks) == 1:
        return lambda: [work(items)]
    if pool is None:
        with ProcessPoolExecutor(max_workers=len(chunks), initializer=one_blas_thread) as own:
            done = list(own.map(work, chunks))
        return lambda: done
    futures = [pool.submit(work, chunk) for chunk in chunks]
    return lambda: [f.result() for f in futures]


def map_chunks(work: Callable[[list], T], items: list, processes: int, pool: Executor | None = None) -> list[T]:
    """``work`` on near-equal chunks of ``items`` (:func:`start_chunks`), waited for."""
    return start_chunks(work, items, processes, pool)()


def week_of_year(dates: pd.DatetimeIndex) -> np.ndarray:
    """ISO week number, a calendar feature of the global model on weekly data."""
    return np.asarray(dates.isocalendar().week, dtype=float)


def month_of_year(dates: pd.DatetimeIndex) -> np.ndarray:
    """Calendar month, the global model's calendar feature on monthly data."""
    return np.asarray(dates.month, dtype=float)


def global_model(season_length: int, freq: str | int, threads: int | None = None):
    """The ``gbm`` method: an mlforecast pipeline around LightGBM (fixed seed; on
    ``threads`` threads, by default one per core)."""
    from lightgbm import LGBMRegressor
    from mlforecast import MLForecast

    # column-wise histograms: the same trees whatever the number of threads
    model = LGBMRegressor(n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=10,
                          subsample=1.0, random_state=0, n_jobs=threads or cores(), force_col_wise=True,
                          deterministic=True, verbose=-1)
    lags = sorted({1, 2, 3, 4, 13, season_length})
    calendar = {"W": [week_of_year], "M": [month_of_year]}.get(freq[0], []) if isinstance(freq, str) else []
    return MLForecast(models={"gbm": model}, freq=freq, lags=lags, date_features=calendar)


def models(names: list[str] | tuple[str, ...], season_length: int) -> list[object]:
    """statsforecast model objects for ``names`` (each also its output column)."""
    table = _models()
    unknown = [n for n in names if n not in table and n not in GLOBAL]
    if unknown:
        raise ValueError(f"unknown forecasting method(s) {unknown}; valid: {', '.join(METHODS)}")
    return [table[n](season_length) for n in names if n not in GLOBAL]


# milliseconds a fit on the reference's weekly series: fitted twice per series, on every core
HEAVY = {"ets": 7.0, "mstl": 12.0, "theta": 10.0, "dot": 3.5, "arima": 140.0, "croston_optimised": 2.0,
         "sba_optimised": 2.0}


def jobs(names: list[str], series: int) -> int:
    """Worker processes: all cores when a heavy method meets many series (MSTL on 192
    weekly series: 9.7 s on one process, 5.1 s on two), else one, because for the light
    methods starting the pool costs more than it saves (DESIGN.md §5)."""
    return cores() if series >= 50 and any(n in HEAVY for n in names) else 1


@dataclass(frozen=True)
class Backtest:
    """Rolling-origin forecasts, and the heavy methods' final forecasts made on the way."""

    forecasts: pd.DataFrame  # unique_id, ds, cutoff, y, one column per method
    ahead: pd.DataFrame      # unique_id, ds, one column per heavy method: ``ahead`` periods after the history


Carried = Callable[[], tuple[pd.DataFrame, pd.DataFrame]]  # waits for :func:`carry_forward`'s tables


def backtest(history: pd.DataFrame, methods: list[str] | tuple[str, ...], h: int, windows: int,
             season_length: int, freq: str | int, regressors: list[str] | None = None,
             ahead: int = 0, carried: Carried | None = None, threads: int | None = None) -> Backtest:
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
    ahead : int
        Periods the heavy methods forecast after the history, their last fit carried
        forward (module docstring); 0 for none.
    carried : optional
        The heavy methods' part, already started on a pool by :func:`carry_forward`
        with the same arguments; else it is done here.
    threads : int, optional
        LightGBM's threads for ``gbm`` (:func:`global_model`).
    """
    from statsforecast import StatsForecast

    names = list(dict.fromkeys([*methods, *BENCHMARKS]))
    keys = ["unique_id", "ds", "cutoff"]
    heavy = [n for n in names if n in HEAVY]
    if heavy and carried is None:
        carried = carry_forward(history, heavy, h, windows, season_length, freq, ahead)
    light = [n for n in names if n not in HEAVY and n not in GLOBAL]
    sf = StatsForecast(models=models(light, season_length), freq=freq, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsforecast warns per series on short or constant data
        out = sf.cross_validation(df=history[["unique_id", "ds", "y"]], h=h, n_windows=windows, step_size=h)
    out = out.reset_index(drop=True) if "unique_id" in out.columns else out.reset_index()
    if "gbm" in names:
        columns = ["unique_id", "ds", "y", *(regressors or [])]
        with warnings.catch_warnings():
            # a series shorter than the lags is left out of the model (its gbm forecast
            # missing, so unscored), and mlforecast says so per call
            warnings.simplefilter("ignore", UserWarning)
            ml = global_model(season_length, freq, threads).cross_validation(
                df=history[columns], n_windows=windows, h=h, step_size=h, static_features=[], refit=windows - 1)
        ml["gbm"] = ml["gbm"].clip(lower=0.0)
    ahead_frame = pd.DataFrame(columns=["unique_id", "ds"])
    if heavy:
        cv, ahead_frame = carried()
        out = out.merge(cv, on=keys, how="left")
    if "gbm" in names:
        out = out.merge(ml[[*keys, "gbm"]], on=keys, how="left")
    return Backtest(forecasts=out, ahead=ahead_frame)


def carry_forward(history: pd.DataFrame, names: list[str], h: int, windows: int, season_length: int,
                  freq: str | int, ahead: int, pool: Executor | None = None) -> Carried:
    """Start the heavy methods' backtest (``unique_id, ds, cutoff`` and a column per
    method) and their forecasts ``ahead`` periods after the history, the series split
    across every core (:func:`jobs`), on ``pool`` if given; returns what waits for the two
    tables."""
    hist = history.sort_values(["unique_id", "ds"])
    ids, starts = np.unique(hist["unique_id"].to_numpy(), return_index=True)
    ends = np.append(starts[1:], len(hist))
    ys = np.split(hist["y"].to_numpy(float), starts[1:])
    work = partial(_fit_and_carry, names=names, season_length=season_length, h=h, windows=windows, ahead=ahead)
    parts = start_chunks(work, ys, jobs(names, len(ys)), pool)
    dates = hist["ds"].to_numpy()

    def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
        done = parts()
        cv = np.concatenate([p[0] for p in done])        # series, windows, h, methods
        final = np.concatenate([p[1] for p in done])     # series, ahead, methods
        origins = ends[:, None] - (windows - np.arange(windows)) * h          # series, windows
        backtested = pd.DataFrame({
            "unique_id": np.repeat(ids, windows * h),
            "ds": dates[(origins[:, :, None] + np.arange(h)).ravel()],
            "cutoff": np.repeat(dates[origins - 1].ravel(), h),
            **{n: cv[..., k].ravel() for k, n in enumerate(names)}})
        last = dates[ends - 1]
        if isinstance(freq, str):
            steps = {d: pd.date_range(d, periods=ahead + 1, freq=freq)[1:] for d in set(last)}
            future = np.concatenate([steps[d] for d in last]) if ahead else last[:0]
        else:
            future = (last[:, None] + freq * np.arange(1, ahead + 1)).ravel()
        return backtested, pd.DataFrame({"unique_id": np.repeat(ids, ahead), "ds": future,
                                         **{n: final[..., k].ravel() for k, n in enumerate(names)}})

    return tables


def _fit_and_carry(ys: list[np.ndarray], names: list[str], season_length: int, h: int, windows: int,
                   ahead: int) -> tuple[np.ndarray, np.ndarray]:
    """For each series: fit at the first and last origin, carry forward between them and
    from the last origin to the end (module docstring), with the calls statsforecast's
    ``cross_validation(refit=windows - 1)`` makes. Returns forecasts (series, windows, h,
    methods) and (series, ahead, methods)."""
    cv = np.empty((len(ys), windows, h, len(names)))
    final = np.empty((len(ys), ahead, len(names)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, model in enumerate(models(names, season_length)):
            for i, y in enumerate(ys):
                for w in range(windows):
                    cut = len(y) - (windows - w) * h
                    if w in (0, windows - 1):  # predict: what forward gives on the data just fitted, 15x cheaper
                        cv[i, w, :, k] = model.fit(y=y[:cut]).predict(h=h)["mean"]
                    else:
                        cv[i, w, :, k] = model.forward(y=y[:cut], h=h)["mean"]
                if ahead:
                    final[i, :, k] = model.forward(y=y, h=ahead)["mean"]
    return cv, final


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
    """Mean absolute and squared lag-m differences of each series up to each cutoff (lag 1
    where a series is not yet longer than a season), as differences of running sums."""
    hist = history.sort_values(["unique_id", "ds"], ignore_index=True)
    y = hist["y"].to_numpy(float)
    ids = hist["unique_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(y)]))  # each row's series' first row
    at = pd.MultiIndex.from_frame(hist[["unique_id", "ds"]]).get_indexer(
        pd.MultiIndex.from_arrays([keys["unique_id"], keys["cutoff"]]))
    found = at >= 0
    at = np.where(found, at, 0)
    out = []
    for squared in (False, True):
        parts = []
        for m in (season_length, 1):
            valid = np.arange(len(y)) - first >= m
            diff = np.zeros(len(y))
            diff[m:] = y[m:] - y[:-m]
            value = np.where(valid, diff ** 2 if squared else np.abs(diff), 0.0)
            total, count = (np.r_[0.0, np.cumsum(v)] for v in (value, valid))
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = (total[at + 1] - total[first[at]]) / (count[at + 1] - count[first[at]])
            parts.append(np.where(found, mean, np.nan))
        seasonal, naive = parts
        out.append(np.where(np.isfinite(seasonal), seasonal, naive))
    return out[0], out[1]


# forecast combinations that compete with the single methods: name -> (how many of the
# group's best single methods it combines, how); forecast combination often beats its
# members (Makridakis et al., M4, 2020), the median guarding against one member gone wrong
COMBINATIONS = {"mean_of_2": (2, "mean"), "mean_of_3": (3, "mean"), "median_of_3": (3, "median")}


def combine(forecasts: list[np.ndarray], combination: str) -> np.ndarray:
    """The members' forecasts combined as :data:`COMBINATIONS` says (member on axis 0)."""
    return getattr(np, COMBINATIONS[combination][1])(np.asarray(forecasts, float), axis=0)


PER_SERIES = "per series"  # a group whose series each get their own method


@dataclass(frozen=True)
class Selection:
    """The method chosen per group, why, and the accuracy that chose it and that tests it."""

    chosen: pd.Series          # group -> method (a name from METHODS or COMBINATIONS, or PER_SERIES)
    members: dict              # group -> the single methods its choice combines (itself for a single
                               # method; those its series use, per series)
    per_series: pd.Series      # unique_id -> method, for the series of PER_SERIES groups
    reasons: pd.Series         # group -> why, in a sentence with the figures
    selection: pd.DataFrame    # group, method, mean metric on the selection windows and on the holdout
    holdout: pd.DataFrame      # unique_id, group, method ("chosen" or a benchmark), metrics, last window
    forecasts: pd.DataFrame    # the backtest forecasts, with a column per combination and "chosen" added


def _paired_gain(window: pd.DataFrame, metric: str, challenger: str, incumbent: str) -> tuple[float, float]:
    """Mean of ``incumbent``'s minus ``challenger``'s ``metric`` over the series and windows
    of ``window`` (long scores) where both are defined, and its standard error."""
    pair = window.pivot_table(index=["unique_id", "cutoff"], columns="method", values=metric)
    diff = (pair[incumbent] - pair[challenger]).dropna().to_numpy()
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("inf")
    return (float(diff.mean()) if len(diff) else float("nan")), se


def _group_choice(window: pd.DataFrame, metric: str, singles: list[str], members: dict) -> tuple[str, str]:
    """One group's method on the scores of ``window`` (:func:`select`), among ``singles``
    and the combinations ``members`` names (combination -> its methods), and the sentence
    that says why."""
    by = metric if window[metric].notna().any() else "mae"  # MASE is undefined for series that never change
    means = window.groupby("method")[by].mean()
    single = means[means.index.isin(singles)]
    best = single.idxmin()
    reason = f"{best}: the best single method ({by.upper()} {single[best]:.3f})"
    rivals = means[means.index.isin(list(members))].dropna()
    if len(rivals) and rivals.min() < single[best]:
        top = rivals.idxmin()
        gain, se = _paired_gain(window, by, top, best)
        combo = f"{top.replace('_', ' ')} ({'+'.join(members[top])})"
        if gain > se:
            return top, (f"{combo}: {by.upper()} {rivals[top]:.3f}, {gain:.3f} below the best single method "
                         f"{best}'s, more than one standard error ({se:.3f})")
        reason += f"; the {combo} was {gain:.3f} lower, inside one standard error ({se:.3f}), so not chosen"
    return best, reason


def _series_choice(window: pd.DataFrame, metric: str, singles: list[str], seasonal: pd.Series | None,
                   seasonal_methods: tuple[str, ...]) -> pd.Series:
    """Each series' best single method on ``window``; a strongly seasonal series
    (``seasonal``) takes a non-seasonal one only if it beats every seasonal method on each
    window."""
    table = window[window["method"].isin(singles)].pivot_table(index=["unique_id", "cutoff"], columns="method",
                                                               values=metric)
    mean = table.groupby(level="unique_id").mean()
    out = mean.idxmin(axis=1, skipna=True)
    if seasonal is not None and seasonal_methods:
        kept = [m for m in seasonal_methods if m in mean.columns]
        if kept:
            best_seasonal = mean[kept].idxmin(axis=1)
            wins = table.lt(table[kept].min(axis=1), axis=0).groupby(level="unique_id").all()
            override = seasonal.reindex(out.index, fill_value=False).to_numpy() & ~np.array(
                [m in kept or bool(wins.loc[u, m]) for u, m in out.items()])
            out[override] = best_seasonal[override]
    return out


def select(forecasts: pd.DataFrame, history: pd.DataFrame, groups: pd.Series, methods: list[str],
           season_length: int, metric: str = "mase", seasonal: pd.Series | None = None,
           seasonal_methods: tuple[str, ...] = ()) -> Selection:
    """Choose a method per group by mean ``metric`` on every window but the last; score the
    choice, and the naive and seasonal-naive benchmarks, on the last window only.

    Besides the single methods, each group's :data:`COMBINATIONS` of its best single
    methods on the selection windows (the naive benchmarks left out: averaging in a random
    walk flattens a seasonal forecast) compete on those same windows. A combination must
    earn its place: it is chosen only where it beats the group's best single method by
    more than one standard error of their paired differences over series and windows (the
    one-standard-error rule of Hastie, Tibshirani & Friedman, *Elements of Statistical
    Learning*, §7.10, the simpler model kept inside the noise): on the reference's GARDEN
    family the mean of three methods backtested at MASE 0.769 against the global model's
    0.772, then scored 1.52 against its 0.24 on the holdout.

    A group's series get a method each where the selection windows show that they differ:
    with at least two selection windows, the group's best single method and each series'
    own are both chosen on the earlier ones and scored on the last selection window; where
    the series' own choices beat the group's there by more than one standard error, each
    series takes its best method over all the selection windows.
    ``seasonal`` (``unique_id`` -> bool) marks strongly seasonal series, which then take
    one of ``seasonal_methods`` unless a non-seasonal method beats them all on every
    selection window. ``groups`` maps ``unique_id`` to its group (a product family, say)."""
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
        ranked = g[~g["method"].isin(BENCHMARKS)].sort_values([column, "method"])["method"].tolist()
        rows = (forecasts["unique_id"].map(groups) == group).to_numpy()
        for name, (k, _) in COMBINATIONS.items():
            if len(ranked) >= k:
                forecasts.loc[rows, name] = combine([forecasts.loc[rows, m].to_numpy() for m in ranked[:k]], name)
                members[group, name] = ranked[:k]
    combined = [c for c in COMBINATIONS if c in forecasts]
    if combined:
        e = scores(forecasts[forecasts[combined[0]].notna()], history, combined, season_length)
        e["group"] = e["unique_id"].map(groups)
        e = e[pd.MultiIndex.from_arrays([e["group"], e["method"]]).isin(list(members))]
        s = pd.concat([s, e], ignore_index=True)
    window = s[(s["cutoff"] < last) & s["method"].isin([*methods, *combined])]
    table = window.groupby(["group", "method"])[metric].mean().rename(column).reset_index()
    cutoffs = np.sort(window["cutoff"].unique())
    chosen, reasons, per_series = {}, {}, []
    for group, g in window.groupby("group"):
        own = {c: members[group, c] for c in combined if (group, c) in members}
        chosen[group], reasons[group] = _group_choice(g, metric, methods, own)
        if len(cutoffs) < 2 or g["unique_id"].nunique() < 2:
            continue
        early, check = g[g["cutoff"] < cutoffs[-1]], g[g["cutoff"] == cutoffs[-1]]
        # single against single: the combinations' members were ranked on every selection window
        family_method, _ = _group_choice(early, metric, methods, {})
        mine = _series_choice(early, metric, methods, seasonal, seasonal_methods)
        scored = check.set_index(["unique_id", "method"])[metric]
        own_scores = scored.reindex(list(mine.items())).to_numpy()
        group_scores = scored.reindex([(u, family_method) for u in mine.index]).to_numpy()
        diff = (group_scores - own_scores)[np.isfinite(group_scores - own_scores)]
        if len(diff) < 2:
            continue
        gain, se = float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))
        if gain > se:
            each = _series_choice(g, metric, methods, seasonal, seasonal_methods)
            per_series.append(each)
            counts = ", ".join(f"{m} {n}" for m, n in each.value_counts().items())
            chosen[group] = PER_SERIES
            reasons[group] = (f"a method per series ({counts}): chosen on the earlier selection windows, each "
                              f"series' own beat the family's best single method, {family_method}, on the last "
                              f"by {metric.upper()} {gain:.3f}, more than one standard error ({se:.3f})")
        elif gain > 0:
            reasons[group] += (f"; each series' own method beat the family's best single, {family_method}, by "
                               f"{gain:.3f} on the last selection window, inside one standard error ({se:.3f}), "
                               "so the family keeps one method")
        else:
            reasons[group] += (f"; each series' own method scored {-gain:.3f} worse than the family's best single, "
                               f"{family_method}, on the last selection window, so the family keeps one method")
    chosen = pd.Series(chosen, name="method").rename_axis("group")
    per_series = pd.concat(per_series) if per_series else pd.Series(dtype=object)
    # each row's chosen forecast, for the holdout and the errors
    method_of = forecasts["unique_id"].map(per_series).fillna(forecasts["unique_id"].map(groups).map(chosen))
    picked = np.full(len(forecasts), np.nan)
    for m in method_of.dropna().unique():
        rows = (method_of == m).to_numpy()
        picked[rows] = forecasts.loc[rows, m].to_numpy()
    forecasts["chosen"] = picked
    final = s[s["cutoff"] == last]
    table = table.merge(final.groupby(["group", "method"])[metric].mean().rename(f"holdout_{metric}").reset_index(),
                        on=["group", "method"], how="left")
    of_series = final["unique_id"].map(per_series).fillna(final["group"].map(chosen))
    holdout = pd.concat([final[final["method"] == of_series].assign(method="chosen"),
                         final[final["method"].isin(BENCHMARKS)]], ignore_index=True)
    used = {g: sorted(per_series[per_series.index.map(groups) == g].unique()) if m == PER_SERIES
            else members.get((g, m), [m]) for g, m in chosen.items()}
    return Selection(chosen=chosen, members=used,
                     per_series=per_series, reasons=pd.Series(reasons).rename_axis("group"), selection=table,
                     holdout=holdout, forecasts=forecasts)


def summary(holdout: pd.DataFrame, metric: str = "mase") -> pd.DataFrame:
    """Mean ``metric`` per group and method on the holdout window, and over all series."""
    by_group = holdout.pivot_table(index="group", columns="method", values=metric, aggfunc="mean")
    by_group.loc["all series"] = holdout.pivot_table(index="unique_id", columns="method", values=metric).mean()
    return by_group
