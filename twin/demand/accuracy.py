"""Forecast accuracy, measured honestly: scale-free and weighted errors per series.

Definitions follow Hyndman & Koehler (2006), "Another look at measures of forecast
accuracy", *International Journal of Forecasting* 22(4), and, for RMSSE, the M5
competition guidelines (Makridakis, Spiliotis & Assimakopoulos, 2022). With ``e = y - f``
over the test periods and the training series ``x``:

==========  ==============================================================================
ME / bias   mean(e); positive when the forecast is too low
RMSE        sqrt(mean(e^2))
MAE         mean(|e|)
MAPE        100 mean(|e / y|) over periods with y != 0 only. Zero actuals have no
            percentage error, so they are left out and counted (``mape_excluded``); a
            series whose test actuals are all zero has no MAPE (NaN). Use WAPE or MASE
            for intermittent series.
WAPE        100 sum(|e|) / sum(|y|): the volume-weighted percentage error
MASE        MAE / mean(|x_t - x_{t-m}|), scaled by the in-sample (seasonal) naive error
RMSSE       sqrt(mean(e^2) / mean((x_t - x_{t-m})^2))
==========  ==============================================================================

``m`` is the seasonal period of the naive scaling (1: the naive method).
"""

from __future__ import annotations

import warnings

import numpy as np

METRICS = ("me", "rmse", "mae", "mape", "wape", "mase", "rmsse")
BENCHMARKS = ("naive", "seasonal_naive")  # every forecast is scored beside these


def naive_scale(train: np.ndarray, m: int = 1, squared: bool = False) -> float:
    """Mean absolute (or squared) error of the in-sample naive forecast with lag ``m``."""
    return float(naive_scales(np.atleast_2d(np.asarray(train, float)), m, squared)[0])


def naive_scales(train: np.ndarray, m: int = 1, squared: bool = False) -> np.ndarray:
    """:func:`naive_scale` of each row of ``train`` (series x periods; NaN before a
    series begins, whose differences are left out)."""
    x = np.asarray(train, float)
    if x.shape[1] <= m:
        return np.full(len(x), np.nan)
    diff = x[:, m:] - x[:, :-m]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no difference yet: NaN, as documented
        return np.nanmean(diff ** 2 if squared else np.abs(diff), axis=1)


def accuracy(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, m: int = 1) -> dict[str, float]:
    """Every metric of the module docstring for one series.

    Parameters
    ----------
    actual, forecast : array
        Test-period actuals and forecasts, the same length.
    train : array
        The training series, for the MASE and RMSSE scales.
    m : int
        Seasonal period of the naive scaling.
    """
    rows = accuracy_rows(np.atleast_2d(actual), np.atleast_2d(forecast),
                         np.array([naive_scale(train, m)]), np.array([naive_scale(train, m, squared=True)]))
    return {k: (int(v[0]) if k == "mape_excluded" else float(v[0])) for k, v in rows.items()}


def accuracy_rows(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray,
                  scale_sq: np.ndarray) -> dict[str, np.ndarray]:
    """The metrics of many series at once: ``actual`` and ``forecast`` of shape (series,
    periods), with each series' MASE and RMSSE scales (:func:`naive_scale`)."""
    y, f = np.asarray(actual, float), np.asarray(forecast, float)
    e = y - f
    nonzero = y != 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ape = np.where(nonzero, np.abs(e) / np.where(nonzero, np.abs(y), 1.0), 0.0)
        counted = nonzero.sum(axis=1)
        total = np.abs(y).sum(axis=1)
        mae = np.abs(e).mean(axis=1)
        mse = (e ** 2).mean(axis=1)
        return dict(
            me=e.mean(axis=1), rmse=np.sqrt(mse), mae=mae,
            mape=np.where(counted > 0, 100 * ape.sum(axis=1) / np.maximum(counted, 1), np.nan),
            mape_excluded=(~nonzero).sum(axis=1),
            wape=np.where(total > 0, 100 * np.abs(e).sum(axis=1) / np.where(total > 0, total, 1.0), np.nan),
            mase=np.where(scale > 0, mae / np.where(scale > 0, scale, 1.0), np.nan),
            rmsse=np.where(scale_sq > 0, np.sqrt(mse / np.where(scale_sq > 0, scale_sq, 1.0)), np.nan),
        )


def beaten_by(chosen: float, benchmarks: dict[str, float]) -> str:
    """The benchmark with the lowest error, where it is lower than the chosen method's (the
    choice, made on earlier windows, did not hold on this one); "" where none is lower."""
    scored = {name: value for name, value in benchmarks.items() if np.isfinite(value)}
    if not scored or not np.isfinite(chosen):
        return ""
    best = min(scored, key=scored.get)
    return best if scored[best] < chosen else ""
