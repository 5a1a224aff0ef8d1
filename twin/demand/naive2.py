"""Naïve2, the M competitions' benchmark: the naive method on seasonally adjusted data.

As the M4 competition's benchmark code defines it (Makridakis, Spiliotis & Assimakopoulos,
2020, and its ``Benchmarks and Evaluation.R``): a series is seasonal if its
autocorrelation at the seasonal lag lies outside the 90 % limit of Bartlett's formula,
``1.645 / sqrt(n) * sqrt(1 + 2 * sum(r_k ** 2, k < m))``, and it has at least three
cycles; a seasonal series is adjusted by classical multiplicative decomposition (ratios
to a centred moving average of ``m`` terms, averaged per season and normalised to mean
one, as R's ``decompose``); the last adjusted value, times the seasonal indices, is the
forecast. Non-seasonal series get the naive forecast.
"""

from __future__ import annotations

import numpy as np
from statsforecast import models as sf

CRITICAL_Z = 1.645  # two-sided 90 %


def is_seasonal(y: np.ndarray, m: int) -> bool:
    """The M4 benchmark's seasonality test (module docstring)."""
    n = len(y)
    if m <= 1 or n < 3 * m:
        return False
    x = y - y.mean()
    denominator = float(x @ x)
    if denominator == 0.0:
        return False
    r = np.array([x[k:] @ x[:n - k] for k in range(1, m + 1)]) / denominator
    limit = CRITICAL_Z / np.sqrt(n) * np.sqrt(1.0 + 2.0 * np.sum(r[:m - 1] ** 2))
    return bool(abs(r[m - 1]) > limit)


def seasonal_indices(y: np.ndarray, m: int) -> np.ndarray:
    """Multiplicative seasonal index of every period of ``y`` (classical decomposition)."""
    n = len(y)
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.full(n, np.nan)
    trend[m // 2:n - m // 2] = np.convolve(y, weights, "valid")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = y / trend
    figure = np.array([np.nanmean(ratio[i::m]) for i in range(m)])
    return np.resize(figure / figure.mean(), n)


def naive2(y: np.ndarray, h: int, m: int) -> np.ndarray:
    """``h`` Naïve2 forecasts of ``y`` (module docstring)."""
    y = np.asarray(y, dtype=float)
    if not is_seasonal(y, m):
        return np.full(h, y[-1])
    index = seasonal_indices(y, m)
    if not np.all(np.isfinite(index)) or np.any(index <= 0):  # zeros or signs: no ratio to adjust by
        return np.full(h, y[-1])
    return y[-1] / index[-1] * np.resize(index[-m:], h)


class Naive2(sf._TS):
    """:func:`naive2` as a statsforecast model, so backtests and forecasts treat it as
    every other method (point forecasts only)."""

    def __init__(self, season_length: int, alias: str = "naive2") -> None:
        self.season_length = season_length
        self.alias = alias
        self.prediction_intervals = None

    def fit(self, y: np.ndarray, X: np.ndarray | None = None) -> Naive2:
        self.y_ = np.asarray(y, dtype=float)
        return self

    def predict(self, h: int, X: np.ndarray | None = None, level: list[int] | None = None) -> dict:
        _point_only(level)
        return {"mean": naive2(self.y_, h, self.season_length)}

    def forecast(self, y: np.ndarray, h: int, X: np.ndarray | None = None, X_future: np.ndarray | None = None,
                 level: list[int] | None = None, fitted: bool = False) -> dict:
        _point_only(level)
        if fitted:
            raise ValueError("naive2 gives no in-sample forecasts")
        return {"mean": naive2(y, h, self.season_length)}


def _point_only(level: list[int] | None) -> None:
    if level is not None:
        raise ValueError("naive2 gives point forecasts only, no intervals")
