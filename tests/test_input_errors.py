"""Bad input: every error names the file and the place, says what would be valid, and
never shows a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import SCENARIOS, write_scenario, write_single_hub
from twin.errors import InputError
from twin.scenario import load_scenario, validate_files


def problems_of(path: Path) -> str:
    result = validate_files([path])[str(path)]
    assert result, f"{path} should have been rejected"
    text = "\n".join(str(p) for p in result)
    assert ".yaml:" in text or ".csv:" in text, "every problem names its file"
    return text


@pytest.fixture
def net(tmp_path: Path) -> Path:
    return write_single_hub(tmp_path / "net")


ENTRY = {"type": "competitor_entry", "start": "2026-03-02", "share_loss_pct": 10, "elasticity": -2,
         "strategies": [{"name": "Hold"}, {"name": "Cut", "price_change_pct": -10}]}
RULE = {"name": "Small spike", "trigger": "demand_spike", "above": 2, "action": "approve_overtime", "mode": "auto"}

BROKEN_SCENARIOS = [
    ("wrong type", {"horizon": {"start": "2026-01-05", "weeks": "ten"}}, ["horizon.weeks", "'ten'", "integer"]),
    ("unknown key", {"horizn": 3}, ["horizn", "unknown key", "valid: ", "horizon"]),
    ("nested unknown key", {"demand": {"model": "poisson", "windw": 3}}, ["demand.windw", "valid: ", "history_weeks"]),
    ("bad choice", {"demand": {"model": "gaussian"}}, ["demand.model", "'gaussian'", "poisson"]),
    ("not a Monday", {"horizon": {"start": "2026-01-06", "weeks": 4}}, ["horizon.start", "Monday", "Tuesday"]),
    ("negative weeks", {"horizon": {"start": "2026-01-05", "weeks": -1}}, ["horizon.weeks", "greater than 0"]),
    ("unknown event type", {"events": [{"type": "alien_invasion", "start": "2026-02-02", "days": 3}]},
     ["events[0]", "alien_invasion", "unknown event type", "line_outage"]),
    ("event without type", {"events": [{"start": "2026-02-02", "days": 3}]},
     ["events[0]", "missing `type`", "demand_shock"]),
    ("unknown line", {"events": [{"type": "line_outage", "line": "L99", "start": "2026-02-02", "days": 3}]},
     ["events[0].line", "'L99'", "valid: L"]),
    ("unknown market", {"events": [{"type": "demand_shock", "change_pct": 5, "markets": ["Mars"],
                                    "start": "2026-02-02", "days": 3}]}, ["events[0].markets[0]", "'Mars'", "valid: M"]),
    ("both end and days", {"events": [{"type": "line_outage", "line": "L", "start": "2026-02-02", "days": 3,
                                       "end": "2026-02-09"}]}, ["events[0]", "exactly one of `days` or `end`"]),
    ("event outside horizon", {"events": [{"type": "line_outage", "line": "L", "start": "2030-02-04", "days": 3}]},
     ["events[0].start", "outside the simulated days"]),
    ("unknown lane", {"events": [{"type": "lane_closure", "lane": "XX", "start": "2026-02-02", "days": 3}]},
     ["events[0].lane", "'XX'", "valid: HM, PH"]),
    ("unknown port", {"events": [{"type": "port_closure", "port": "Dover", "start": "2026-02-02", "days": 3}]},
     ["events[0].port", "'Dover'", "unknown port", "there are none"]),
    ("outage of a market", {"events": [{"type": "site_outage", "site": "M", "start": "2026-02-02", "days": 3}]},
     ["events[0].site", "'M'", "not a plant, hub, supplier or partner", "valid: H, P"]),
    ("cost change without a target", {"events": [{"type": "cost_change", "change_pct": 5, "start": "2026-02-02",
                                                  "days": 3}]}, ["events[0]", "exactly one of `material` or `lane`"]),
    ("override unknown row", {"overrides": {"lines": {"L9": {"hours_per_week": 10}}}},
     ["overrides.lines.L9", "valid: L"]),
    ("override unknown column", {"overrides": {"lines": {"L": {"hours": 10}}}},
     ["overrides.lines.L.hours", "hours_per_week"]),
    ("override unknown table", {"overrides": {"machines": {"L": {"hours": 10}}}},
     ["overrides.machines", "unknown table", "lines"]),
    ("override bad value", {"overrides": {"lines": {"L": {"hours_per_week": -5}}}},
     ["lines.csv", "hours_per_week", "at least 0", "value set by", "overrides.lines.L.hours_per_week"]),
    ("missing network", {"network": "no/such/folder"}, ["network folder not found"]),
    ("bad supply", {"supply": "magic"}, ["supply", "'magic'", "'plan'", "'policy'"]),
    ("no demand at all", {"demand": {"model": "poisson", "scale": 0}}, ["demand.scale", "greater than 0"]),
    ("planning typo", {"planning": {"objectve": "cost"}}, ["planning.objectve", "unknown key", "objective"]),
    ("planning bad objective", {"planning": {"objective": "profit"}}, ["planning.objective", "'profit'", "'margin'"]),
    ("planning negative time limit", {"planning": {"time_limit_seconds": -1}},
     ["planning.time_limit_seconds", "greater than 0"]),
    ("too little history", {"demand": {"model": "poisson", "history_weeks": 500}},
     ["demand.history_weeks", "only 56 weeks", "first simulated day 2025-12-08"]),
    ("a warm-up the history does not cover", {"horizon": {"start": "2026-01-05", "weeks": 52, "warmup_weeks": 60},
                                              "demand": {"model": "normal", "history_weeks": 1}},
     ["demand.history_weeks", "only 0 weeks", "less 60 warm-up weeks", "shorten the warm-up"]),
    ("a horizon past the calendar's end", {"horizon": {"start": "9999-12-27", "weeks": 4}},
     ["horizon", "end after 2199-12-31"]),
    ("a warm-up before the calendar's start", {"horizon": {"start": "1900-01-08", "weeks": 4, "warmup_weeks": 2}},
     ["horizon", "begin before 1900-01-01"]),
    ("competitor in an unknown market", {"events": [dict(ENTRY, markets=["Mars"])]},
     ["events[0].markets[0]", "'Mars'", "valid: M"]),
    ("competitor in an unknown family", {"events": [dict(ENTRY, families=["TOYS"])]},
     ["events[0].families[0]", "'TOYS'", "valid: F"]),
    ("competitor gaining share", {"events": [dict(ENTRY, elasticity=1.5)]},
     ["events[0].elasticity", "1.5", "less than or equal to 0"]),
    ("competitor without strategies", {"events": [dict(ENTRY, strategies=[])]},
     ["events[0].strategies", "at least 1"]),
    ("competitor strategy not listed", {"events": [dict(ENTRY, strategy="Nope")]},
     ["events[0]", "'Nope'", "not one of the strategies", "Hold"]),
    ("competitor strategies one folder apart", {"events": [dict(ENTRY, strategies=[
        {"name": "Match at -8 %", "price_change_pct": -8}, {"name": "Match at +8 %", "price_change_pct": 8}])]},
     ["events[0]", "'Match at -8 %'", "'Match at +8 %'", "one run folder", "'match-at-8'"]),
    ("unknown rule trigger", {"policies": [dict(RULE, trigger="rain")]},
     ["policies[0].trigger", "'rain'", "'demand_spike'", "'supplier_delay'"]),
    ("unknown rule action", {"policies": [dict(RULE, action="panic")]},
     ["policies[0].action", "'panic'", "'approve_overtime'", "'escalate'"]),
    ("unknown rule mode", {"policies": [dict(RULE, mode="maybe")]}, ["policies[0].mode", "'maybe'", "'review'"]),
    ("rule action that cannot answer its trigger", {"policies": [dict(RULE, trigger="supplier_delay")]},
     ["policies[0]", "'approve_overtime' cannot answer trigger 'supplier_delay'", "reroute_stock"]),
    ("rule without a threshold", {"policies": [{k: v for k, v in RULE.items() if k != "above"}]},
     ["policies[0]", "give a threshold"]),
    ("rule thresholds the wrong way round", {"policies": [dict(RULE, above=5, below=2)]},
     ["policies[0]", "`above` (5.0) must be less than `below` (2.0)"]),
    ("rule typo", {"policies": [dict(RULE, treshold=3)]}, ["policies[0].treshold", "unknown key", "above"]),
    ("rule written for the fixed-window spike test", {"policies": [dict(RULE, window_weeks=4, min_z=3)]},
     ["policies[0]", "`window_weeks` and `min_z` no longer exist", "spike_detector:", "`confidence`", "delete them"]),
    ("rule confidence of 100 %", {"policies": [dict(RULE, confidence=100)]}, ["policies[0].confidence", "100"]),
    ("spike detector false-alarm rate of 0", {"spike_detector": {"false_alarm_pct": 0}},
     ["spike_detector.false_alarm_pct", "greater than 0"]),
]


@pytest.mark.parametrize("case, fields, expected", BROKEN_SCENARIOS, ids=[c[0] for c in BROKEN_SCENARIOS])
def test_broken_scenario_is_located(tmp_path, net, case, fields, expected):
    path = write_scenario(tmp_path / "s.yaml", net, **fields)
    text = problems_of(path)
    for fragment in expected:
        assert fragment in text, f"{case}: {fragment!r} not in:\n{text}"


@pytest.mark.parametrize("content, expected", [
    (b"", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe junk", "not a UTF-8 text file"),
    (b"name: [unclosed\nhorizon: 3\n", "not valid YAML"),
    (b"- a\n- b\n", "a scenario is a mapping"),
    (b"name: x\n", "missing; this key is required"),
    (b"!!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
    (b"name: x\nhorizon:\n  start: 2027-02-30\n  weeks: 4\n", "horizon.start: '2027-02-30': Input should be a valid "
                                                              "date"),
], ids=["empty", "binary", "syntax", "list", "missing keys", "unsafe tag", "impossible date"])
def test_unreadable_scenario_files(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    text = problems_of(path)
    assert expected in text


def test_a_network_table_saved_by_excel_reads_with_a_bom_and_crlf_and_another_encoding_is_located(tmp_path, net):
    """Excel's "CSV UTF-8" starts the file with a byte-order mark and ends lines with CRLF:
    both read as plain UTF-8. Its plain "CSV" is Windows-1252: named with its line and the fix."""
    products = net / "products.csv"
    products.write_bytes(b"\xef\xbb\xbf" + products.read_bytes().replace(b"\n", b"\r\n"))
    assert validate_files([write_scenario(tmp_path / "s.yaml", net)])[str(tmp_path / "s.yaml")] == []
    plants = net / "plants.csv"
    plants.write_bytes(plants.read_text().replace("Plant", "Pl\u00e4nt").encode("cp1252"))
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert f"{plants}: line 2: not UTF-8 text (byte 0xe4" in text and "CSV UTF-8" in text


def test_every_problem_is_listed_not_only_the_first(tmp_path, net):
    path = write_scenario(tmp_path / "s.yaml", net, horizn=1, demand={"model": "x", "cv": -1})
    text = problems_of(path)
    assert "horizn" in text and "demand.model" in text and "demand.cv" in text


def test_schema_overrides_ids_and_dates_in_one_pass(tmp_path, net):
    """Issue 18: one file with six mistakes took three rounds of `twin validate` (schema, then
    overrides, then IDs). A bad part of the schema no longer hides the others' checks."""
    path = write_scenario(tmp_path / "s.yaml", net,
                          demand={"model": "poisson", "history_weeks": 52, "scale": -1},  # schema
                          overrides={"lines": {"L9": {"hours_per_week": 10}}},  # an override's row
                          forecasting={"methods": {"NOPE": "ets"}},  # an ID
                          events=[{"type": "line_outage", "line": "L99", "start": "2026-02-02", "days": 3},  # an ID
                                  {"type": "line_outage", "line": "L", "start": "2031-02-03", "days": 3},  # a date
                                  {"type": "supplier_delay", "supplier": "S", "start": "2026-02-02", "days": 3,
                                   "delay_days": -3}])  # schema
    text = problems_of(path)
    for expected in ("demand.scale", "overrides.lines.L9", "forecasting.methods.NOPE", "events[0].line",
                     "events[1].start", "events[2].delay_days"):
        assert expected in text, f"{expected} missing from:\n{text}"
    assert len(validate_files([path])[str(path)]) == 6, text


def test_unknown_key_of_an_event_lists_that_event_types_keys(tmp_path, net):
    path = write_scenario(tmp_path / "s.yaml", net, events=[{"type": "line_outage", "line": "L", "start": "2026-02-02",
                                                            "duration_days": 3}])
    text = problems_of(path)
    assert "events[0].duration_days: unknown key" in text and "line" in text.split("valid:")[1]
    assert "change_pct" not in text, "the keys of a line outage, not of a demand shock"


def test_schema_version_of_each_file(tmp_path, net):
    """A file written for an earlier schema loads where nothing it uses changed, else says
    what changed since; one for a newer sop-twin says so, alone; each file of an `extends:`
    chain has its own version."""
    base = write_scenario(tmp_path / "base.yaml", net, schema_version=2)
    old_ok = tmp_path / "old_ok.yaml"
    old_ok.write_text("schema_version: 1\nextends: base\nname: old but fine\n")
    assert load_scenario(old_ok).scenario.name == "old but fine"
    old = tmp_path / "old.yaml"
    old.write_text("schema_version: 1\nextends: base\npolicies:\n  - {name: S, trigger: demand_spike, above: 1, "
                   "action: approve_overtime, mode: auto, window_weeks: 4}\n")
    text = problems_of(old)
    assert "policies[0]: `window_weeks` no longer exists" in text
    assert f"{old}: schema_version: 1: the file is written for schema 1" in text and "set schema_version: 2" in text
    assert str(base) not in text, "the base file is written for the current schema"
    new = tmp_path / "new.yaml"
    new.write_text("schema_version: 3\nextends: base\nfuture_key: 1\n")
    problems = validate_files([new])[str(new)]
    assert len(problems) == 1 and "written for a newer sop-twin" in str(problems[0]), problems
    (tmp_path / "odd.yaml").write_text("schema_version: two\nextends: base\n")
    assert "schema_version: 'two': a whole number from 1 to 2" in problems_of(tmp_path / "odd.yaml")


def test_extends_merges_and_detects_cycles(tmp_path, net):
    base = write_scenario(tmp_path / "base.yaml", net)
    child = tmp_path / "child.yaml"
    child.write_text("extends: base\nname: child\nhorizon: {weeks: 8}\n")
    loaded = load_scenario(child)
    assert loaded.scenario.name == "child"
    assert loaded.scenario.horizon.weeks == 8 and str(loaded.scenario.horizon.start) == "2026-01-05"
    base.write_text(base.read_text() + "extends: child.yaml\n")
    assert "cycle" in problems_of(child)
    (tmp_path / "orphan.yaml").write_text("extends: nowhere\nname: x\n")
    assert "no such scenario file" in problems_of(tmp_path / "orphan.yaml")


def break_table(folder: Path, table: str, row: int, column: str, value) -> None:
    frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    frame.loc[row, column] = value
    frame.to_csv(folder / f"{table}.csv", index=False)


BROKEN_TABLES = [
    ("negative capacity", "lines", 0, "hours_per_week", "-3", ["lines.csv: row 2, column hours_per_week", "at least 0"]),
    ("not a number", "products", 0, "price_per_unit", "ten", ["products.csv: row 2, column price_per_unit", "not a number"]),
    ("unknown plant", "lines", 0, "plant", "PX", ["lines.csv: row 2, column plant", "'PX'", "valid: P"]),
    ("unknown lane end", "lanes", 0, "destination", "HX", ["lanes.csv: row 2, column destination", "'HX'"]),
    ("bad choice", "markets", 0, "unmet_demand", "maybe", ["markets.csv: row 2, column unmet_demand", "backorder"]),
    ("negative payment terms", "markets", 0, "payment_terms_days", "-30",
     ["markets.csv: row 2, column payment_terms_days", "at least 0"]),
    ("bad date", "demand_history", 3, "week", "2026-13-01", ["demand_history.csv: row 5, column week", "YYYY-MM-DD"]),
    ("unreachable market", "lanes", 1, "origin", "P", ["unreachable", "no lane from its hub H"]),
    ("empty required", "hubs", 0, "name", "", ["hubs.csv: row 2, column name", "must not be empty"]),
    ("policy needs S", "hub_policies", 0, "order_up_to_units", "", ["base_stock needs order_up_to_units"]),
    ("wrong lane direction", "lanes", 0, "destination", "M", ["a lane from a plant cannot go to a market"]),
    ("infinite capacity", "lines", 0, "hours_per_week", "inf", ["lines.csv: row 2, column hours_per_week", "finite"]),
    ("a price of 1e308", "products", 0, "price_per_unit", "1e308", ["products.csv: row 2, column price_per_unit",
                                                                  "at most 1e+12"]),
    ("nan for a cost", "lines", 0, "cost_per_hour", "nan", ["lines.csv: row 2, column cost_per_hour", "not a number"]),
    ("a breakdown every few milliseconds", "lines", 0, "mtbf_hours", "0.000001",
     ["lines.csv: row 2, column mtbf_hours", "at least 1"]),
    ("a formula for an ID", "lines", 0, "line", '=HYPERLINK("http://x","L")',
     ["lines.csv: row 2, column line", "run it as a formula"]),
    ("a formula for a family", "products", 0, "family", "@SUM(1)", ["products.csv: row 2, column family", "formula"]),
]


@pytest.mark.parametrize("case, table, row, column, value, expected", BROKEN_TABLES, ids=[c[0] for c in BROKEN_TABLES])
def test_broken_network_table_is_located(tmp_path, net, case, table, row, column, value, expected):
    break_table(net, table, row, column, value)
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    for fragment in expected:
        assert fragment in text, f"{case}: {fragment!r} not in:\n{text}"


def test_a_family_target_for_no_family_or_beyond_one_is_located(tmp_path, net):
    """families.csv is optional (each family's target then 0.95); a row for a family no
    product is of, or a target above 1, is named with its row and what would be valid."""
    (net / "families.csv").write_text("family,name,fill_rate_target\nF,Widgets,0.98\nTOYS,Toys,0.9\n")
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert "families.csv: row 3, column family" in text and "'TOYS': no product is of this family; valid: F" in text
    (net / "families.csv").write_text("family,name,fill_rate_target\nF,Widgets,1.5\n")
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert "families.csv: row 2, column fill_rate_target" in text and "at most 1" in text


def test_a_budget_row_for_no_family_or_not_on_a_months_first_day_is_located(tmp_path, net):
    """budget.csv is optional; its rows are checked like any table's (a value out of range),
    then against the network (a family no product is of, a month given by another day than
    its first), each problem named with its row."""
    header = "family,month,volume_units,price_per_unit,cost_per_unit\n"
    (net / "budget.csv").write_text(header + "F,2026-01-01,-5,10,6\n")
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert "budget.csv: row 2, column volume_units" in text and "at least 0" in text
    (net / "budget.csv").write_text(header + "F,2026-01-01,100,10,6\nTOYS,2026-02-01,100,10,6\nF,2026-03-15,100,10,6\n")
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert "budget.csv: row 3, column family" in text and "'TOYS': no product is of this family; valid: F" in text
    assert "budget.csv: row 4, column month" in text and "2026-03-15 is not a month's first day" in text


def test_a_budget_by_fiscal_period_must_begin_its_periods(tmp_path, net):
    """With fiscal_calendar.csv a budget row names the fiscal period by its first day; a
    row on another day is located, with the day its period begins; two calendars are one
    too many."""
    (net / "fiscal_calendar.csv").write_text("year_end_month,week_ends_on,rule,pattern,label\n12,saturday,last,4-4-5,end\n")
    header = "family,month,volume_units,price_per_unit,cost_per_unit\n"
    (net / "budget.csv").write_text(header + "F,2026-12-27,100,10,6\nF,2027-02-01,100,10,6\n")
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert "budget.csv: row 3, column month" in text and "the period it falls in begins on 2027-01-24" in text
    assert "row 2" not in text
    (net / "fiscal_calendar.csv").write_text("year_end_month,week_ends_on\n12,saturday\n6,sunday\n")
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert "fiscal_calendar.csv: row 3, column year_end_month" in text and "one fiscal calendar only" in text


def test_an_opening_balance_of_no_known_kind_twice_or_below_zero_is_located(tmp_path, net):
    """opening_balances.csv: a balance other than cash, receivables or payables, then one
    given twice and a negative receivable are each named with its row (cash may be negative)."""
    (net / "opening_balances.csv").write_text("balance,amount\ncash,-500\ninventory,10\n")
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert "opening_balances.csv: row 3, column balance" in text and "valid: cash, payables, receivables" in text
    assert "row 2" not in text
    (net / "opening_balances.csv").write_text("balance,amount\ncash,-500\nreceivables,-1\npayables,5\npayables,6\n")
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert "opening_balances.csv: row 5, column balance" in text and "duplicate ID" in text
    (net / "opening_balances.csv").write_text("balance,amount\ncash,-500\nreceivables,-1\npayables,5\n")
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert "opening_balances.csv: row 3, column amount" in text and "-1: receivables cannot be below 0" in text
    assert "row 2" not in text


def test_sku_no_line_can_make(tmp_path, net):
    (net / "routings.csv").write_text("line,sku,hours_per_unit\n")
    assert "no line can make this SKU" in problems_of(write_scenario(tmp_path / "s.yaml", net))


def test_missing_table_and_column(tmp_path, net):
    (net / "ports.csv").unlink()
    frame = pd.read_csv(net / "hubs.csv").drop(columns="review_period_days")
    frame.to_csv(net / "hubs.csv", index=False)
    text = problems_of(write_scenario(tmp_path / "s.yaml", net))
    assert "ports.csv: missing" in text and "hubs.csv: header: missing column(s) ['review_period_days']" in text


def test_reference_network_copy_with_typo_in_column(tmp_path):
    """A planner's copy of the shipped network with a misspelt column."""
    shutil.copytree(SCENARIOS / "reference", tmp_path / "reference")
    frame = pd.read_csv(tmp_path / "reference" / "lines.csv").rename(columns={"mttr_hours": "mtr_hours"})
    frame.to_csv(tmp_path / "reference" / "lines.csv", index=False)
    shutil.copy(SCENARIOS / "baseline.yaml", tmp_path / "baseline.yaml")
    with pytest.raises(InputError) as err:
        load_scenario(tmp_path / "baseline.yaml")
    assert "unknown column(s) ['mtr_hours']" in str(err.value) and "mttr_hours" in str(err.value)


def test_cli_validate_lists_problems_without_traceback(tmp_path, net):
    good = write_scenario(tmp_path / "good.yaml", net)
    bad = write_scenario(tmp_path / "bad.yaml", net, horizn=1)
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(bytes(range(256)))
    out = subprocess.run([sys.executable, "-m", "twin", "validate", str(good), str(bad), str(junk)],
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert f"{good}: OK" in out.stdout and "horizn" in out.stdout and "not a UTF-8" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_history_too_short_for_the_backtests_is_located_before_any_forecast(tmp_path):
    """30 weeks of history cannot hold 4 backtest windows of 13 weeks (53 weeks at least):
    statsforecast's cross-validation would stop `twin forecast` with an internal error.
    Validation names the series and the settings instead, and `twin forecast` (whatever
    the scenario's demand model) says the same before it forecasts; fewer, shorter windows
    fit."""
    net = write_single_hub(tmp_path / "net", history_weeks=30)
    fields = dict(demand={"model": "forecast", "history_weeks": 8})
    bad = write_scenario(tmp_path / "bad.yaml", net, **fields)
    [problem] = validate_files([bad])[str(bad)]
    assert problem.where == "forecasting.backtest_windows"
    assert "need at least 53 weeks of history per series; 1 series have fewer (weeks): A/M (30)" in problem.message
    empirical = write_scenario(tmp_path / "empirical.yaml", net, demand={"model": "empirical", "history_weeks": 8})
    assert validate_files([empirical])[str(empirical)] == []
    out = subprocess.run([sys.executable, "-m", "twin", "forecast", str(empirical), "--out", str(tmp_path / "f")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "A/M (30)" in out.stderr and "internal error" not in out.stderr, out.stderr
    assert not (tmp_path / "f").exists()
    fits = write_scenario(tmp_path / "fits.yaml", net, forecasting={"backtest_windows": 2, "window_weeks": 8},
                          **fields)
    assert validate_files([fits])[str(fits)] == []
