"""The planner's adjustments: spread over the buckets as stated, applied to the forecast the
plan reads, measured as forecast value added, checked in one pass, and round-tripped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SCENARIOS

from twin.calendars import MONTH, WEEK
from twin.demand.adjustments import COLUMNS, apply_adjustments, empty_log
from twin.errors import InputError
from twin.scenario import load_scenario

LOG = SCENARIOS / "adjustments" / "planner_log.csv"


def _row(**values) -> dict:
    base = dict(adjustment_id="A", sku="S", market="M", status="accepted", source="planner", reason="other",
                rationale="", who="me", logged_on=pd.Timestamp("2026-01-01"), baseline_qty=np.nan)
    return {**base, **values}


def _log(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([_row(**r) for r in rows], columns=COLUMNS)


def test_a_month_override_is_spread_over_its_days_in_proportion_to_the_statistical_forecast():
    """March 2027 by week: the week of 1 March begins on that day, the week of 29 March has
    3 of its days in March. 700 units over March: the days of March hold exactly 700, in
    the shape of the statistical forecast, and the week of 29 March keeps its 4 April days'
    forecast as it was."""
    weeks = pd.date_range("2027-02-22", periods=7, freq="W-MON")
    stat = np.array([70.0, 70.0, 140.0, 70.0, 70.0, 70.0, 70.0])  # a promotion doubles the week of 8 March
    fc = pd.DataFrame({"sku": "S", "market": "M", "ds": weeks, "forecast": stat})
    log = _log(dict(start=pd.Timestamp("2027-03-01"), end=pd.Timestamp("2027-03-31"), adjusted_qty=700.0))
    adjusted, written = apply_adjustments(fc, log, WEEK)
    share = np.array([0, 1, 1, 1, 1, 3 / 7, 0])
    assert written["baseline_qty"].iloc[0] == pytest.approx(share @ stat)  # 70 + 140 + 70 + 70 + 30
    outside_march = (1 - share) * stat
    assert (adjusted - outside_march).sum() == pytest.approx(700.0, rel=1e-12)
    assert adjusted[0] == 70.0 and adjusted[6] == 70.0  # untouched weeks
    scale = 700.0 / (share @ stat)
    assert adjusted[1:5] == pytest.approx(stat[1:5] * scale, rel=1e-12)  # the statistical shape kept
    assert adjusted[5] == pytest.approx(70.0 * 4 / 7 + 70.0 * 3 / 7 * scale, rel=1e-12)


def test_where_the_statistical_forecast_is_zero_the_units_are_spread_evenly_and_months_work_too():
    months = pd.date_range("2027-01-01", periods=3, freq="MS")
    fc = pd.DataFrame({"sku": "S", "market": "M", "ds": months, "forecast": 0.0})
    log = _log(dict(start=pd.Timestamp("2027-01-01"), end=pd.Timestamp("2027-02-28"), adjusted_qty=59.0))
    adjusted, written = apply_adjustments(fc, log, MONTH)
    assert adjusted.tolist() == pytest.approx([29.5, 29.5, 0.0])
    assert written["baseline_qty"].iloc[0] == 0.0


def test_only_accepted_adjustments_change_the_forecast_but_every_row_gets_its_baseline():
    weeks = pd.date_range("2027-01-04", periods=4, freq="W-MON")
    fc = pd.DataFrame({"sku": "S", "market": "M", "ds": weeks, "forecast": [10.0, 20.0, 30.0, 40.0]})
    log = _log(dict(adjustment_id="A1", start=weeks[0], end=weeks[1] + pd.Timedelta(days=6), adjusted_qty=0.0,
                    status="rejected"),
               dict(adjustment_id="A2", start=weeks[2], end=weeks[3] + pd.Timedelta(days=6), adjusted_qty=0.0,
                    status="proposed"))
    adjusted, written = apply_adjustments(fc, log, WEEK)
    assert adjusted.tolist() == [10.0, 20.0, 30.0, 40.0]
    assert written["baseline_qty"].tolist() == [30.0, 70.0]


@pytest.fixture(scope="module")
def adjusted(tmp_path_factory):
    """``twin forecast`` of the baseline with the shipped planner's log, named by the
    scenario, then the same with the written log handed back on the command line."""
    tmp = tmp_path_factory.mktemp("adjusted")
    scenario = tmp / "adjusted.yaml"
    scenario.write_text(yaml.safe_dump({"extends": str(SCENARIOS / "baseline.yaml"), "name": "Adjusted",
                                        "forecasting": {"adjustments": str(LOG)}}))
    first, second = tmp / "first", tmp / "second"
    runs = [subprocess.run([sys.executable, "-m", "twin", "forecast", str(scenario), "--out", str(first)],
                           capture_output=True, text=True)]
    runs.append(subprocess.run([sys.executable, "-m", "twin", "forecast", str(scenario), "--out", str(second),
                                "--adjustments", str(first / "adjustments.csv")], capture_output=True, text=True))
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    return scenario, first, second, runs[0].stdout


def test_the_adjustment_log_round_trips_byte_for_byte(adjusted):
    _, first, second, _ = adjusted
    for name in ("adjustments.csv", "forecasts.csv", "fva.csv", "accuracy.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    written = pd.read_csv(first / "adjustments.csv")
    shipped = pd.read_csv(LOG)
    pd.testing.assert_frame_equal(written.drop(columns="baseline_qty"),
                                  shipped.sort_values("adjustment_id", ignore_index=True), check_dtype=False)
    assert (written["baseline_qty"] > 0).all()


def test_accepted_adjustments_reach_the_forecast_the_plan_reads(adjusted):
    """A-0103: LEG-08 discontinued in M12 from July 2027 (0 units, accepted); A-0101: COR-01
    in M01 780 units over March 2027 (about 500 more); A-0104, rejected, changes nothing."""
    from twin.demand.forecast import scenario_forecast
    from twin.pipeline import forecast

    scenario, first, _, _ = adjusted
    loaded = load_scenario(scenario)
    result = forecast(loaded)
    fc = result.forecasts.set_index(["sku", "market", "week"])
    pd.testing.assert_frame_equal(fc, pd.read_csv(first / "forecasts.csv", parse_dates=["week"]).set_index(
        ["sku", "market", "week"]), check_exact=False, rtol=1e-14)  # what twin forecast wrote, as CSV text
    legacy = fc.loc[("LEG-08", "M12")]
    gone = legacy.loc["2027-07-05":"2027-12-20"]
    assert (gone["qty"] == 0).all() and (gone["statistical_qty"] > 0).all()
    for week, kept in (("2027-06-28", 3 / 7), ("2027-12-27", 2 / 7)):  # 1 July to 31 December: part weeks
        assert legacy.loc[week, "qty"] == pytest.approx(legacy.loc[week, "statistical_qty"] * kept, rel=1e-12)
    march = fc.loc[("COR-01", "M01")]
    weeks = march.loc["2027-03-01":"2027-03-29"]  # the week of 29 March has 3 of its 7 days in March
    share = np.array([1, 1, 1, 1, 3 / 7])
    in_march = weeks["qty"].to_numpy() - (1 - share) * weeks["statistical_qty"].to_numpy()
    assert in_march.sum() == pytest.approx(780.0, rel=1e-12)
    assert march.loc["2027-02-22", "qty"] == march.loc["2027-02-22", "statistical_qty"]
    plain = scenario_forecast(loaded.network, loaded.scenario.horizon.end, loaded.scenario.forecasting)
    assert plain.forecasts["qty"].equals(plain.forecasts["statistical_qty"])  # the cache keeps the statistical one
    assert fc["statistical_qty"].to_numpy() == pytest.approx(plain.forecasts["qty"].to_numpy(), abs=0)
    rejected = fc.loc[("CUS-01", "M08")]
    assert rejected["qty"].equals(rejected["statistical_qty"])


def test_forecast_value_added_steps_sum_to_the_whole_and_match_the_accuracy_table(adjusted):
    _, first, _, stdout = adjusted
    fva = pd.read_csv(first / "fva.csv")
    acc = pd.read_csv(first / "accuracy.csv")
    assert list(fva["step"].unique()) == ["naive", "statistical", "adjusted"]
    for (level, entity), steps in fva.groupby(["level", "entity"]):
        s = steps.set_index("step")
        for metric in ("wape", "mase"):
            added = s[f"{metric}_added"].iloc[1:].sum()
            assert added == pytest.approx(s.loc["naive", metric] - s.loc["adjusted", metric], rel=1e-12, abs=1e-12)
        if level != "adjusted_series":
            scored = acc[(acc["level"] == level) & (acc["entity"] == entity)].set_index("method")
            for step, method in (("naive", "naive"), ("statistical", "chosen"), ("adjusted", "adjusted")):
                assert s.loc[step, "wape"] == pytest.approx(scored.loc[method, "wape"], rel=1e-12)
    # four accepted adjustments cover the holdout window (A-0001 to A-0004), one per family but SPARES
    counts = fva[fva["step"] == "adjusted"].set_index(["level", "entity"])["adjustments"]
    assert counts[("total", "all")] == counts[("adjusted_series", "all")] == 4
    assert counts[("family", "SPARES")] == 0
    touched = fva[fva["level"] == "adjusted_series"].set_index("step")
    assert touched.loc["adjusted", "wape"] != touched.loc["statistical", "wape"]
    assert "Forecast value added" in stdout and "series adjusted" in stdout


def test_a_bad_log_is_refused_in_one_pass_with_file_row_and_what_is_valid(tmp_path):
    log = pd.read_csv(LOG, dtype=str, keep_default_na=False)
    log.loc[0, "sku"] = "XXX-99"                    # unknown SKU
    log.loc[1, "status"] = "approved"               # not a status
    log.loc[2, "end"] = "2026-11-01"                # before its start (2026-12-01)
    log.loc[3, "start"] = "2026-01-05"              # before the holdout window
    log.loc[6, "status"] = "accepted"               # GAR-05 M04 May-June 2027, and again:
    log.loc[len(log)] = {**log.loc[6].to_dict(), "adjustment_id": "A-0201", "start": "2027-06-01"}
    log.loc[len(log)] = {**log.loc[5].to_dict()}    # A-0101 twice
    bad = tmp_path / "log.csv"
    log.to_csv(bad, index=False)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump({"extends": str(SCENARIOS / "baseline.yaml"), "name": "Bad log",
                                        "forecasting": {"adjustments": "log.csv"}}))
    with pytest.raises(InputError) as caught:
        load_scenario(scenario)
    text = str(caught.value)
    for expected in ("row 2, column sku", "'XXX-99'", "not in the demand history", "row 3, column status",
                     "'approved'", "accepted",
                     "row 4, column end", "before the row's start", "row 5, column start",
                     "between 2026-10-05", "2028-01-02", "A-0201", "covers days of accepted adjustment A-0102",
                     "A-0101"):
        assert expected in text, expected
    assert all(str(bad) in line for line in text.splitlines())
    run = subprocess.run([sys.executable, "-m", "twin", "forecast", str(SCENARIOS / "baseline.yaml"),
                          "--adjustments", str(bad), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode != 0 and "Traceback" not in run.stderr and "row 2, column sku" in run.stderr
    assert not (tmp_path / "out").exists()


def test_an_empty_log_changes_nothing():
    log = empty_log()
    fc = pd.DataFrame({"sku": "S", "market": "M", "ds": pd.date_range("2027-01-04", periods=2, freq="W-MON"),
                       "forecast": [1.0, 2.0]})
    adjusted, written = apply_adjustments(fc, log, WEEK)
    assert adjusted.tolist() == [1.0, 2.0] and written.empty and list(written.columns) == COLUMNS


def test_a_series_with_no_history_cannot_be_adjusted(tmp_path):
    """S2 is sold in M1 only: an adjustment of S2 in M2 has no forecast to change, and is
    refused rather than dropped without a word."""
    from twin.demand.adjustments import read_adjustments

    series = pd.MultiIndex.from_tuples([("S1", "M1"), ("S1", "M2"), ("S2", "M1")], names=["sku", "market"])
    path = tmp_path / "log.csv"
    path.write_text("adjustment_id,sku,market,start,end,adjusted_qty,status,source,reason,rationale,who,logged_on\n"
                    "A1,S2,M2,2027-01-04,2027-01-10,5,accepted,planner,new_customer,,me,2027-01-01\n"
                    "A2,S1,M2,2027-01-04,2027-01-10,5,accepted,planner,new_customer,,me,2027-01-01\n")
    problems = []
    assert read_adjustments(path, series, (pd.Timestamp("2026-10-05").date(), pd.Timestamp("2027-12-31").date()),
                            problems) is None
    assert [str(p) for p in problems] == [f"{path}: row 2, column market: 'M2': the SKU has no demand history in "
                                          "this market, so no forecast to adjust"]


def test_the_reconciled_layer_carries_the_planners_log_to_a_scenario_that_reads_the_layer(tmp_path):
    """The log as one more extract (planner_adjustments.csv) goes into the layer's
    adjustments table (DuckDB and Parquet, each row with its line) and reaches a scenario
    whose demand.history is that layer, as the same CSV named by the scenario would. A bad
    row is reported at its line of the extract."""
    import shutil

    import duckdb

    from twin.pipeline import reconcile

    extracts = tmp_path / "extracts"
    shutil.copytree(SCENARIOS / "reference" / "extracts", extracts)
    shutil.copy(LOG, extracts / "planner_adjustments.csv")
    layer = reconcile(extracts, tmp_path / "layer", SCENARIOS / "reference").folder
    with duckdb.connect(str(layer / "layer.duckdb"), read_only=True) as con:
        assert con.execute('SELECT count(*), min(source_row) FROM "adjustments"').fetchone() == (9, 2)

    def scenario(name: str, **forecasting) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"extends": str(SCENARIOS / "baseline.yaml"), "name": name,
                                        "demand": {"history": str(layer)}, **({"forecasting": forecasting}
                                                                              if forecasting else {})}))
        return path

    from_layer = load_scenario(scenario("layer")).adjustments
    from_csv = load_scenario(scenario("csv", adjustments=str(LOG))).adjustments
    pd.testing.assert_frame_equal(from_layer, from_csv)

    bad = pd.read_csv(LOG, dtype=str, keep_default_na=False)
    bad.loc[4, "end"] = "2026-10-01"  # before its start: line 6 of the extract
    bad.to_csv(extracts / "planner_adjustments.csv", index=False)
    broken = reconcile(extracts, tmp_path / "broken", SCENARIOS / "reference").folder
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump({"extends": str(SCENARIOS / "baseline.yaml"), "name": "broken",
                                    "demand": {"history": str(broken)}}))
    with pytest.raises(InputError, match=r"planner_adjustments\.csv\): row 6, column end"):
        load_scenario(path)
