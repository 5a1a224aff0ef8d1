"""The reconciled layer (twin.data): the shipped extracts, their planted disagreements found
where they were planted, a clean copy that flags nothing, the layer's demand equal to the
reference's history, GL revenue against ERP invoices to the cent, and hostile extracts."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from conftest import SCENARIOS
from twin.calendars import MONTH
from twin.data.extracts import EXTRACTS
from twin.data.layer import DATABASE, LAYER, PARQUET, demand_series
from twin.demand.forecast import SEASONAL_CANDIDATES
from twin.errors import InputError
from twin import pipeline
from twin.pipeline import reconcile
from twin.scenario import load_scenario

EXTRACTS_DIR = SCENARIOS / "reference" / "extracts"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_extracts", EXTRACTS_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The generator's output, with its plants and without (the clean copy)."""
    generate = _generator()
    planted, clean = tmp_path_factory.mktemp("planted"), tmp_path_factory.mktemp("clean")
    plants = generate.write(planted)
    assert generate.write(clean, plants=False) == []
    return planted, clean, plants


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    """The shipped extracts reconciled by the pipeline, into a layer folder."""
    return reconcile(EXTRACTS_DIR, tmp_path_factory.mktemp("layer") / "layer")


def _lines(rows: str) -> set[int]:
    return {int(n) for n in re.findall(r"\d+", rows.split("…")[0])}


def test_shipped_extracts_are_what_the_generator_writes(generated):
    planted, _, _ = generated
    for spec in EXTRACTS.values():
        if spec.name == "planner_adjustments":  # the planner's, not the systems': none shipped, none generated
            assert not (planted / spec.file).exists() and not (EXTRACTS_DIR / spec.file).exists()
            continue
        assert (planted / spec.file).read_text() == (EXTRACTS_DIR / spec.file).read_text(), spec.file
    assert (planted / "plants.csv").read_text() == (EXTRACTS_DIR / "plants.csv").read_text()


def test_every_planted_disagreement_is_found_where_it_was_planted(generated, tmp_path):
    planted, _, plants = generated
    v = reconcile(planted, tmp_path / "layer", network=SCENARIOS / "reference").variances
    assert len(plants) == 13
    located = {(r.check, Path(f).name, line) for r in v.itertuples()
               for f, rows in ((r.a_file, r.a_rows), (r.b_file, r.b_rows)) if f for line in _lines(rows)}
    for p in plants:
        assert (p.check, p.file, p.rows[0]) in located, f"{p.plant} ({p.file} line {p.rows[0]}) not found"
    # and nothing else: every variance names a planted line
    planted_lines = {(p.file, line) for p in plants for line in p.rows}
    for r in v.itertuples():
        named = {(Path(f).name, line) for f, rows in ((r.a_file, r.a_rows), (r.b_file, r.b_rows)) if f
                 for line in _lines(rows)}
        assert named & planted_lines, f"{r.check} {r.key}: {r.likely_cause}"


def test_the_clean_copy_flags_nothing(generated, tmp_path):
    _, clean, _ = generated
    done = reconcile(clean, tmp_path / "layer", network=SCENARIOS / "reference")
    assert done.variances.empty, done.variances.to_string()
    assert (done.revenue["difference_cents"] == 0).all()


def test_the_layer_is_one_duckdb_file_and_parquet_with_the_declared_columns(layer):
    with duckdb.connect(str(layer.folder / DATABASE), read_only=True) as con:
        for name, spec in LAYER.items():
            columns = [c[0] for c in con.execute(f'DESCRIBE "{name}"').fetchall()]
            assert columns == [c.name for c in spec.columns], name
            comments = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ?",
                                        [name]).fetchall())
            assert comments == {c.name: c.description for c in spec.columns}
            assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == layer.rows[name]
            parquet = pd.read_parquet(layer.folder / PARQUET / f"{name}.parquet")
            assert list(parquet.columns) == columns and len(parquet) == layer.rows[name]


def test_the_layers_demand_is_the_reference_history(layer):
    with duckdb.connect(str(layer.folder / DATABASE), read_only=True) as con:
        got = con.execute("SELECT sku, market, strftime(week, '%Y-%m-%d') AS week, qty FROM demand_history "
                          "ORDER BY sku, market, week").df()
    shipped = pd.read_csv(SCENARIOS / "reference" / "demand_history.csv").sort_values(
        ["sku", "market", "week"], ignore_index=True)
    assert got.equals(shipped)


def _from_layer(layer_folder: Path, tmp_path: Path) -> Path:
    scenario = tmp_path / "from_layer.yaml"
    scenario.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: Baseline from the layer\n"
                        f"demand:\n  history: {layer_folder}\n")
    return scenario


def test_a_forecast_and_plan_from_the_layer_equal_those_from_the_csv_history(layer, tmp_path, monkeypatch):
    base, from_layer = load_scenario(SCENARIOS / "baseline.yaml"), load_scenario(_from_layer(layer.folder, tmp_path))
    assert from_layer.network.demand_history.equals(base.network.demand_history)
    expected = pipeline.forecast(base)
    monkeypatch.setenv("SOP_TWIN_CACHE", "off")  # made afresh from the layer, not the CSV's cached forecast
    got = pipeline.forecast(from_layer)
    assert got.forecasts.equals(expected.forecasts) and got.chosen.equals(expected.chosen)
    _, plan = pipeline.prepare(from_layer, result=got)
    _, base_plan = pipeline.prepare(base, result=expected)
    assert plan.objective_value == base_plan.objective_value
    assert plan.production.equals(base_plan.production)


def test_the_layers_daily_demand_in_monthly_buckets_totals_as_the_days(layer):
    """Whole months only (the CRM's days run from 8 January 2024 to 1 January 2027), each
    totalling as its days do."""
    monthly = demand_series(layer.folder, MONTH)
    months = monthly.index.get_level_values("month")
    assert (months.min(), months.max()) == (pd.Timestamp("2024-02-01"), pd.Timestamp("2026-12-01"))
    daily = pd.read_parquet(layer.folder / PARQUET / "demand.parquet")
    days = pd.to_datetime(daily["day"])
    inside = daily[(days >= "2024-02-01") & (days < "2027-01-01")]
    assert monthly.sum() == inside["qty_units"].sum()
    pd.testing.assert_series_equal(
        monthly.groupby(level="month").sum(),
        inside.groupby(days[inside.index].dt.to_period("M").dt.start_time.rename("month"))["qty_units"].sum()
        .astype(float).rename("qty"))


def test_twin_forecast_in_months_reads_the_layer_and_only_the_layer(layer, tmp_path):
    """Forecast in months (season 12) from the layer: seasonal families choose seasonal
    methods, and the 2027 total of the families without promotions lies within 5 % of the
    weekly forecast's over the same days (2.9 % below it on 2026-12-08, most of it the
    declining LEGACY family's trend, which DOT extrapolates more steeply from 36 months
    than from 156 weeks); the promoted GARDEN family is forecast lower by month, as the
    weekly forecast alone reads the promotion calendar, which is kept by week (10 % on
    2026-12-08). A scenario whose history is the weekly CSV is refused."""
    out = tmp_path / "monthly"
    run = subprocess.run([sys.executable, "-m", "twin", "forecast", str(_from_layer(layer.folder, tmp_path)),
                          "--bucket", "month", "--out", str(out), "-q"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((out / "forecast.json").read_text())
    # the months from the history's last (December 2026) to the horizon's last day, 2 January 2028
    assert manifest["bucket"] == "month" and manifest["periods"] == 13
    forecasts = pd.read_csv(out / "forecasts.csv", parse_dates=["month"])
    assert list(forecasts.columns) == ["sku", "market", "month", "qty", "statistical_qty"]
    by_month = forecasts.groupby("month")["qty"].sum()
    assert list(by_month.index) == list(pd.date_range("2027-01-01", periods=13, freq="MS"))
    chosen = pd.read_csv(out / "methods.csv").set_index("family")["method"]
    assert chosen["CORE"] in SEASONAL_CANDIDATES and chosen["GARDEN"] in SEASONAL_CANDIDATES

    baseline = load_scenario(SCENARIOS / "baseline.yaml")
    family = baseline.network.products["family"]
    weekly = pipeline.forecast(baseline).forecasts
    totals = {}
    for promoted in (False, True):  # GARDEN, the promoted family, apart
        w = weekly[(weekly["sku"].map(family) == "GARDEN") == promoted]
        m = forecasts[(forecasts["sku"].map(family) == "GARDEN") == promoted]
        per_week = w.groupby("week")["qty"].sum()
        weekly_days = pd.Series(np.repeat(per_week.to_numpy() / 7, 7),
                                index=pd.date_range(per_week.index.min(), periods=7 * len(per_week)))
        in_2027 = m.groupby("month")["qty"].sum().loc["2027"]
        monthly_days = pd.Series(np.concatenate([np.full(d.days_in_month, q / d.days_in_month)
                                                 for d, q in in_2027.items()]),
                                 index=pd.date_range("2027-01-01", "2027-12-31"))
        common = monthly_days.index.intersection(weekly_days.index)
        totals[promoted] = monthly_days[common].sum(), weekly_days[common].sum()
    assert totals[False][0] == pytest.approx(totals[False][1], rel=0.05)
    assert totals[True][0] < totals[True][1]  # the promotions lift the weekly forecast only

    csv_history = subprocess.run([sys.executable, "-m", "twin", "forecast", str(SCENARIOS / "baseline.yaml"),
                                  "--bucket", "month", "--out", str(tmp_path / "refused")],
                                 capture_output=True, text=True)
    assert csv_history.returncode == 2 and "demand.history" in csv_history.stderr
    assert "weeks do not add up to months" in csv_history.stderr and "Traceback" not in csv_history.stderr
    assert not (tmp_path / "refused").exists()


def test_a_scenario_naming_no_layer_or_another_networks_is_refused_where_it_says_so(layer, tmp_path):
    with pytest.raises(InputError) as info:
        load_scenario(_from_layer(tmp_path / "nowhere", tmp_path))
    assert [p.where for p in info.value.problems] == ["demand.history"]
    assert "no reconciled layer" in str(info.value)
    other = tmp_path / "other"
    shutil.copytree(layer.folder, other)
    history = pd.read_parquet(other / PARQUET / "demand_history.parquet")
    history.assign(sku=history["sku"].str.replace("COR-01", "XYZ-99")).to_parquet(
        other / PARQUET / "demand_history.parquet")
    with pytest.raises(InputError) as info:
        load_scenario(_from_layer(other, tmp_path))
    assert "has demand for sku(s) ['XYZ-99'] the network does not have" in str(info.value)


def test_gl_revenue_equals_erp_invoices_per_period_or_the_difference_is_flagged(layer):
    """ERP revenue recomputed here in exact decimals from the CSVs: per document, the lines'
    sum, converted at its month's rate and rounded half up to the cent."""
    inv = pd.read_csv(EXTRACTS_DIR / "erp_invoices.csv", dtype={"amount": str}, parse_dates=["invoice_date"])
    rates = pd.read_csv(EXTRACTS_DIR / "gl_fx_rates.csv", dtype={"rate": str}, parse_dates=["month"])
    rate = {(m.strftime("%Y-%m"), c): Decimal(r) for m, c, r in zip(rates["month"], rates["currency"], rates["rate"])}
    periods = pd.read_csv(EXTRACTS_DIR / "gl_periods.csv", parse_dates=["start", "end"])
    erp: dict[tuple[int, int], Decimal] = {}
    for doc, lines in inv.groupby("invoice_id"):
        day, cur = lines["invoice_date"].iloc[0], lines["currency"].iloc[0]
        total = sum(Decimal(a) for a in lines["amount"])
        if cur != "USD":
            total = (total * rate[(day.strftime("%Y-%m"), cur)]).quantize(Decimal("0.01"), ROUND_HALF_UP)
        p = periods[(periods["start"] <= day) & (periods["end"] >= day)].iloc[0]
        key = (int(p["fiscal_year"]), int(p["fiscal_period"]))
        erp[key] = erp.get(key, Decimal(0)) + total
    by_period = layer.revenue.set_index(["fiscal_year", "fiscal_period"])
    assert {k: Decimal(int(c)) / 100 for k, c in by_period["erp_cents"].items()} == erp
    assert (by_period["difference_cents"] == by_period["flagged_cents"]).all()
    assert (by_period["difference_cents"] != 0).sum() == 4  # the cut-off's two periods, the currency, the duplicate


def test_the_fiscal_calendar_of_the_gl_has_its_53_week_year_and_every_view_totals_the_same(layer):
    with duckdb.connect(str(layer.folder / DATABASE), read_only=True) as con:
        weeks = dict(con.execute("SELECT fiscal_year, count(*) / 7 FROM calendar WHERE fiscal_year IS NOT NULL "
                                 "GROUP BY 1").fetchall())
        assert weeks == {2025: 53, 2026: 52}
        iso = dict(con.execute("SELECT iso_year, max(iso_week) FROM calendar WHERE iso_year BETWEEN 2024 AND 2026 "
                               "GROUP BY 1").fetchall())
        assert iso == {2024: 52, 2025: 52, 2026: 53}
        totals = {view: con.execute(f"SELECT sum(q) FROM (SELECT {view}, sum(qty_units) AS q FROM demand "
                                    f"JOIN calendar USING (day) GROUP BY ALL)").fetchone()[0]
                  for view in ("day", "iso_year, iso_week", "year, month", "fiscal_year, fiscal_period")}
    assert len(set(totals.values())) == 1, totals


def test_twin_reconcile_prints_the_variances_and_where_they_are(tmp_path):
    out = tmp_path / "layer"
    done = subprocess.run([sys.executable, "-m", "twin", "reconcile", str(EXTRACTS_DIR), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "15 variance(s)" in done.stdout and "every cent of it flagged" in done.stdout
    assert pd.read_csv(out / "variances.csv")["a_file"].str.endswith(".csv").all()


# --- hostile extracts --------------------------------------------------------------------


@pytest.fixture()
def copy(tmp_path):
    folder = tmp_path / "extracts"
    shutil.copytree(EXTRACTS_DIR, folder, ignore=shutil.ignore_patterns("*.py"))
    return folder


def _refused(folder: Path, out: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        reconcile(folder, out, network=SCENARIOS / "reference")
    assert not out.exists() and not out.with_name(out.name + ".partial").exists(), "a half-written layer"
    return [str(p) for p in info.value.problems]


def test_a_bom_and_windows_line_ends_read_as_the_plain_file(copy, tmp_path, layer):
    orders = copy / "crm_orders.csv"
    orders.write_bytes(b"\xef\xbb\xbf" + orders.read_bytes().replace(b"\n", b"\r\n"))
    done = reconcile(copy, tmp_path / "layer", network=SCENARIOS / "reference")
    assert done.variances.equals(layer.variances.replace(str(EXTRACTS_DIR), str(copy), regex=True))


def test_hostile_extracts_give_located_errors_in_one_pass_and_write_nothing(copy, tmp_path):
    (copy / "crm_customers.csv").write_bytes((copy / "crm_customers.csv").read_text().replace(
        "UK North", "Zürich North").encode("cp1252"))
    stock = pd.read_csv(copy / "erp_stock.csv", dtype=str)
    stock.drop(columns="on_hand_units").to_csv(copy / "erp_stock.csv", index=False)
    ship = pd.read_csv(copy / "erp_shipments.csv", dtype=str, keep_default_na=False)
    ship.loc[4, "qty"] = "twelve"
    ship.loc[7, "ship_date"] = "07/01/2025"
    ship.to_csv(copy / "erp_shipments.csv", index=False)
    aliases = pd.read_csv(copy / "aliases.csv", dtype=str, keep_default_na=False)
    twin_row = aliases[aliases["code"] == "100101"].assign(maps_to="COR-02", valid_from="2025-03-01")
    pd.concat([aliases, twin_row]).to_csv(copy / "aliases.csv", index=False)
    problems = _refused(copy, tmp_path / "layer")
    assert any("crm_customers.csv: line 2: not UTF-8" in p for p in problems), problems
    assert any("erp_stock.csv: header: missing column(s) ['on_hand_units']" in p for p in problems)
    assert any("erp_shipments.csv: row 6, column qty: 'twelve': not a number" in p for p in problems)
    assert any("erp_shipments.csv: row 9, column ship_date: '07/01/2025': not a date YYYY-MM-DD" in p
               for p in problems)
    # the alias is read once the files read: a second pass finds the code that means two SKUs
    (copy / "crm_customers.csv").write_text((EXTRACTS_DIR / "crm_customers.csv").read_text())
    shutil.copy(EXTRACTS_DIR / "erp_stock.csv", copy / "erp_stock.csv")
    shutil.copy(EXTRACTS_DIR / "erp_shipments.csv", copy / "erp_shipments.csv")
    problems = _refused(copy, tmp_path / "layer")
    first = aliases.index[aliases["code"] == "100101"][0] + 2
    assert problems == [f"{copy / 'aliases.csv'}: row {len(aliases) + 2}, column code: '100101' (erp) already means "
                        f"'COR-01' on row {first} from 2024-12-29: a code maps to one sku on any day; end the first row "
                        "(valid_to) before the second begins"], problems


def test_a_million_row_extract_is_read_and_its_bad_row_located(copy, tmp_path):
    orders = pd.read_csv(copy / "crm_orders.csv", dtype=str, keep_default_na=False)
    big = orders.sample(1_000_000, replace=True, random_state=1).reset_index(drop=True)
    big["order_id"] = "SO-X" + big.index.astype(str)
    big.loc[999_999, "qty"] = "1O"
    big.to_csv(copy / "crm_orders.csv", index=False)
    problems = _refused(copy, tmp_path / "layer")
    assert problems == [f"{copy / 'crm_orders.csv'}: row 1000001, column qty: '1O': not a number (quantity in uom)"]


def test_without_the_plants_and_purchasing_extracts_the_rest_reconciles(copy, tmp_path, layer):
    for optional in ("mes_production", "mes_downtime", "erp_purchase_orders", "erp_receipts"):
        (copy / f"{optional}.csv").unlink()
    done = reconcile(copy, tmp_path / "layer", network=SCENARIOS / "reference")
    assert done.rows["production"] == done.rows["receipts"] == 0
    kept = ~layer.variances["check"].isin(["production_vs_receipts", "receipts_vs_orders"])
    assert done.variances["key"].tolist() == layer.variances.loc[kept, "key"].tolist()
