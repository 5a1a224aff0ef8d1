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

import numpy as np

METRICS = ("me", "rmse", "mae", "mape", "wape", "mase", "rmsse")


def naive_scale(train: np.ndarray, m: int = 1, squared: bool = False) -> float:
    """Mean absolute (or squared) error of the in-sample naive forecast with lag ``m``."""
    x = np.asarray(train, float)
    if len(x) <= m:
        return float("nan")
    diff = x[m:] - x[:-m]
    return float(np.mean(diff ** 2) if squared else np.mean(np.abs(diff)))


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
    y, f = np.asarray(actual, float), np.asarray(forecast, float)
    e = y - f
    nonzero = y != 0
    mae = float(np.mean(np.abs(e)))
    scale, scale_sq = naive_scale(train, m), naive_scale(train, m, squared=True)
    total = float(np.sum(np.abs(y)))
    return dict(
        me=float(np.mean(e)),
        rmse=float(np.sqrt(np.mean(e ** 2))),
        mae=mae,
        mape=float(100 * np.mean(np.abs(e[nonzero] / y[nonzero]))) if nonzero.any() else float("nan"),
        mape_excluded=int((~nonzero).sum()),
        wape=float(100 * np.sum(np.abs(e)) / total) if total > 0 else float("nan"),
        mase=mae / scale if scale > 0 else float("nan"),
        rmsse=float(np.sqrt(np.mean(e ** 2) / scale_sq)) if scale_sq > 0 else float("nan"),
    )
