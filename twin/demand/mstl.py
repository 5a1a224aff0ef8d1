"""statsforecast's MSTL for one seasonal period, its decomposition kept in arrays.

A backtest fits each series' MSTL twice and carries it forward three times
(:mod:`twin.demand.methods`). statsforecast wraps every decomposition in a DataFrame and
reads it back through column filters and row sums; on a weekly series of three years that
bookkeeping cost 1.4 of the 7.5 ms a fit took and 1.9 of the 2.6 ms a forward took.
:class:`MSTL` makes the same calls to statsmodels' STL and to the trend model on plain
arrays, with the same arithmetic in the same order, so its forecasts are the library's to
the last bit (``tests/test_forecast_methods.py``). It takes one seasonal period and no
exogenous regressors or conformal intervals, which is how the twin uses it.
"""

from __future__ import annotations

from math import trunc

import numpy as np
from statsforecast import models as sf
from statsmodels.tsa.seasonal import STL

# statsforecast.mstl.mstl's seasonal window for the first period: R's forecast::mstl (7 + 4k)
SEASONAL_WINDOW = 11


class MSTL(sf.MSTL):
    """``statsforecast.models.MSTL`` without its DataFrames (module docstring)."""

    def __init__(self, season_length: int, trend_forecaster: object, stl_kwargs: dict | None = None,
                 alias: str = "MSTL") -> None:
        if not isinstance(season_length, int) or season_length <= 1:
            raise ValueError(f"MSTL takes one seasonal period above 1, not {season_length!r}")
        if getattr(trend_forecaster, "prediction_intervals", None) is not None:
            raise ValueError("MSTL offers no conformal intervals: give a trend model without them")
        super().__init__(season_length=season_length, trend_forecaster=trend_forecaster, stl_kwargs=stl_kwargs,
                         alias=alias)
        self.period = season_length

    def fit(self, y: np.ndarray, X: np.ndarray | None = None) -> MSTL:
        _no_regressors(X)
        adjusted, self.seasonal_ = self._decompose(y)
        self.trend_forecaster = self.trend_forecaster.new().fit(y=adjusted)
        return self

    def predict(self, h: int, X: np.ndarray | None = None, level: list[int] | None = None) -> dict:
        _no_regressors(X)
        return self._reseasonalise(self.trend_forecaster.predict(h=h, level=level), self.seasonal_, h)

    def predict_in_sample(self, level: list[int] | None = None) -> dict:
        return self._reseasonalise(self.trend_forecaster.predict_in_sample(level=level), self.seasonal_, 0)

    def forecast(self, y: np.ndarray, h: int, X: np.ndarray | None = None, X_future: np.ndarray | None = None,
                 level: list[int] | None = None, fitted: bool = False) -> dict:
        _no_regressors(X, X_future)
        adjusted, seasonal = self._decompose(y)
        return self._reseasonalise(self.trend_forecaster.forecast(y=adjusted, h=h, level=level, fitted=fitted),
                                   seasonal, h)

    def forward(self, y: np.ndarray, h: int, X: np.ndarray | None = None, X_future: np.ndarray | None = None,
                level: list[int] | None = None, fitted: bool = False) -> dict:
        _no_regressors(X, X_future)
        if not hasattr(self.trend_forecaster, "model_"):
            raise RuntimeError("MSTL.forward needs a fitted model: call fit first")
        adjusted, seasonal = self._decompose(y)
        return self._reseasonalise(self.trend_forecaster.forward(y=adjusted, h=h, level=level, fitted=fitted),
                                   seasonal, h)

    def _decompose(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(seasonally adjusted series, seasonal component), as ``statsforecast.mstl.mstl``
        computes them for one period: trend + remainder, the remainder taken from x - seasonal."""
        y = np.asarray(y)
        if y.dtype not in (np.float32, np.float64):
            y = y.astype(np.float32)  # the library's _ensure_float
        x = y.astype(np.float64)
        stl = STL(x, period=self.period, seasonal=SEASONAL_WINDOW, **{"seasonal_deg": 0, **self.stl_kwargs}).fit()
        remainder = (x - stl.seasonal) - stl.trend
        return stl.trend + remainder, stl.seasonal

    def _reseasonalise(self, result: dict, seasonal: np.ndarray, h: int) -> dict:
        """The trend model's output plus the last season repeated ``h`` periods ahead (and
        the in-sample seasonal component on fitted values)."""
        ahead = np.tile(seasonal[-self.period:], trunc(1 + (h - 1) / self.period))[:h]
        return {key: value + (seasonal if "fitted" in key else ahead) for key, value in result.items()}


def _no_regressors(*arrays: np.ndarray | None) -> None:
    if any(a is not None for a in arrays):
        raise ValueError("the twin's MSTL takes no exogenous regressors")
